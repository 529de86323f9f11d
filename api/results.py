"""API resource module: results (filled in by its owner)."""

from __future__ import annotations
