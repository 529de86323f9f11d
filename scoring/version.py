"""The version of the scoring algorithms, on its own so that code storing it need not import numpy."""

from __future__ import annotations

from typing import Final

__all__ = ["ALGORITHM_VERSION"]

ALGORITHM_VERSION: Final = "1.0.0"
"""Version of the scoring algorithms; stored with every score row. Bump on any change of a result."""
