"""SQL expressions the search indexes are built on, shared by the models and the queries.

A query only uses an expression index when it repeats the indexed expression, so both
sides take the text from here. The text is written the way PostgreSQL prints it back
(``pg_get_indexdef`` of one column: explicit casts, CASE over several lines), which
is what lets ``alembic check`` see that models and migrations agree.
"""

from __future__ import annotations

# Lancaster et al. (2007) icbm_other2tal (analysis.meta.space.ICBM_OTHER_TO_TAL), inverted
# to the eight significant digits the migrated index holds: Talairach -> MNI (ICBM152) in mm.
# tests/neurostore/test_talairach.py checks that it is that inverse.
TAL_TO_MNI = (
    (1.0686002, -0.0039592069, 0.008259711, 1.0781555),
    (0.006402499, 1.057407, 0.085662813, 1.1682435),
    (-0.012811475, -0.0886319, 1.1079214, -4.1780494),
)


def _const(value: float) -> str:
    # PostgreSQL keeps a negative literal as a quoted numeric, then casts it.
    if value < 0:
        return f"'{value!r}'::numeric::double precision"
    return f"{value!r}::double precision"


def _mni(axis: int) -> str:
    a, b, c, d = TAL_TO_MNI[axis]
    linear = f"{_const(a)} * x + {_const(b)} * y + {_const(c)} * z + {_const(d)}"
    return (
        f"\nCASE\n    WHEN space::text = 'TAL'::text THEN {linear}\n"
        f"    ELSE {'xyz'[axis]}\nEND"
    )


MNI_X, MNI_Y, MNI_Z = (_mni(axis) for axis in range(3))
"""A point's coordinate in MNI: Talairach points converted, others as stored."""

MNI_XY_POINT = f"point({MNI_X},{MNI_Y})"
"""The GiST-indexed 2-D point of a peak's MNI x and y; z is checked on the rows found."""

TEXT_SEARCH_CONFIG = "english"
FULLTEXT_DOCUMENT = (
    "to_tsvector('english'::regconfig, (((((COALESCE(name, ''::text) || ' '::text) || "
    "COALESCE(description, ''::text)) || ' '::text) || COALESCE(authors, ''::text)) || "
    "' '::text) || COALESCE(publication, ''::text))"
)
"""The searchable text of a publication: title, abstract, authors and journal."""
