"""Competencies, scenarios, options and keys, versions, checks, import/export, the starter library."""
