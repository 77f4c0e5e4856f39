"""Study trees: their canonical state, the ids of their children, and how they are
written (:mod:`.write`) and read back (:mod:`.read`) as whole sets."""
