"""Meta-analytic estimators."""

from __future__ import annotations
