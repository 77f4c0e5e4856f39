"""SQL expressions the search indexes are built on, shared by the models and the queries.

A query only uses an expression index when it repeats the indexed expression, so both
sides take the text from here. The text is written the way PostgreSQL prints it back
(``pg_get_indexdef`` of one column: explicit casts, CASE over several lines), which
is what lets ``alembic check`` see that models and migrations agree.
"""

from __future__ import annotations

import numpy as np

#: Lancaster et al. (2007) ``icbm_other2tal``: MNI (ICBM152, "other" normalisation
#: software) -> Talairach in mm, the top three rows of the affine. The same published matrix
#: as :data:`analysis.meta.space.ICBM_OTHER_TO_TAL` (which the store cannot import; a test
#: checks that they agree).
ICBM_OTHER_TO_TAL = (
    (0.9357, 0.0029, -0.0072, -1.0423),
    (-0.0065, 0.9396, -0.0726, -1.3940),
    (0.0103, 0.0752, 0.8967, 3.6475),
)


def _inverse(rows: tuple[tuple[float, ...], ...]) -> tuple[tuple[float, ...], ...]:
    # Eight significant digits: the literals the search index was built with (0002, 0007);
    # more would change the indexed expression.
    inverse = np.linalg.inv(np.vstack([rows, (0.0, 0.0, 0.0, 1.0)]))[:3]
    return tuple(tuple(float(f"{value:.8g}") for value in row) for row in inverse)


#: Talairach -> MNI in mm: the inverse of :data:`ICBM_OTHER_TO_TAL`.
TAL_TO_MNI = _inverse(ICBM_OTHER_TO_TAL)


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
