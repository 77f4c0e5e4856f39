"""Meta-analytic estimators."""
