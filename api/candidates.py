"""API resource module: candidates (filled in by its owner)."""

from __future__ import annotations
