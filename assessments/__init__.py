"""Assessments for a client's position: the scenarios, their order and settings, coverage, publishing."""
