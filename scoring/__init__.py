"""Rapport's scoring library (scoring.md Part A): pure functions over frozen dataclasses and numpy arrays."""

from __future__ import annotations

from scoring.conventions import ALGORITHM_VERSION

__all__ = ["ALGORITHM_VERSION"]
