"""API resource module: invitations (filled in by its owner)."""

from __future__ import annotations
