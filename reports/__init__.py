"""Conformance reports: the report model and its renderers."""
