"""Helpers the tests share (imported, unlike fixtures, which live in conftest modules)."""
