"""Command-line groups registered by ``manage.py``."""
