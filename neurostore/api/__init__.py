"""The HTTP API: one blueprint per resource; errors map to problem details in errors.py."""
