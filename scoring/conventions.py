"""A0 global conventions shared by every scoring module.

- Compute in float64 and never round intermediate values; round only for display (scores 4 dp,
  T and percentiles 1 dp), always half **up**.
- Sample SD (``ddof=1``) for norms, alpha and item statistics; population SD (``ddof=0``) inside a
  respondent's profile (``rate_std``).
- An unanswered item scores ``None`` (``NaN`` inside arrays). A scale with more than 20% of its items
  missing scores ``None`` and is flagged ``insufficient_data``.
- Every item score is also expressed as POMP in [0, 1].

Nothing here reads a clock, draws a random number or imports the app.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal, localcontext
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from scoring.errors import InsufficientDataError, InvalidInputError, ZeroVarianceError
from scoring.version import ALGORITHM_VERSION

__all__ = [
    "ALGORITHM_VERSION",
    "DDOF_PROFILE",
    "DDOF_SAMPLE",
    "MAX_MISSING_SHARE",
    "PERCENTILE_DECIMALS",
    "POMP_TOLERANCE",
    "SCORE_DECIMALS",
    "T_DECIMALS",
    "FloatArray",
    "ScoreFlag",
    "as_finite_float",
    "as_float_array",
    "complete_rows",
    "display_percentile",
    "display_score",
    "display_t",
    "is_insufficient_data",
    "pearson_r",
    "pomp",
    "population_sd",
    "round_half_up",
    "round_half_up_to_int",
    "sample_sd",
    "sample_variance",
]


DDOF_SAMPLE: Final = 1
"""Delta degrees of freedom for norms, alpha and item statistics (sample SD)."""

DDOF_PROFILE: Final = 0
"""Delta degrees of freedom inside a respondent's profile (rate_std; population SD)."""

MAX_MISSING_SHARE: Final = 0.20
"""A scale with more than this share of its items missing scores None (flag insufficient_data)."""

SCORE_DECIMALS: Final = 4
T_DECIMALS: Final = 1
PERCENTILE_DECIMALS: Final = 1

POMP_TOLERANCE: Final = 1e-9
"""Float slack allowed when a score sits on its bound; values within it are clipped into [0, 1]."""

FloatArray = npt.NDArray[np.float64]


class ScoreFlag(StrEnum):
    """Flags attached to a score that is None or needs a caveat."""

    INSUFFICIENT_DATA = "insufficient_data"
    FLAT_PROFILE = "flat_profile"
    NOT_REPORTED = "not_reported"
    SMALL_NORM_GROUP = "small_norm_group"
    ESTIMATED_PERCENTILE = "estimated_percentile"
    NO_PERCENTILE = "no_percentile"


def round_half_up(value: float, ndigits: int = 0) -> float:
    """Round ``value`` half up (away from minus infinity at .5) to ``ndigits`` decimals, for display.

    The decimal shown by ``repr(value)`` is rounded, so ``round_half_up(2.675, 2) == 2.68`` and
    ``round_half_up(0.5) == 1.0`` (Python's ``round`` gives 2.67 and 0.0). Negative halves round up
    too: ``round_half_up(-2.5) == -2.0``. Raises InvalidInputError for NaN or infinity.
    """
    number = _finite(value, "value")
    with localcontext() as context:
        context.prec = 80
        decimal = Decimal(repr(number))
        # floor(x + 0.5) is half *up* for both signs; decimal's ROUND_HALF_UP is half away from zero.
        rounded = (decimal.scaleb(ndigits) + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)
        return float(rounded.scaleb(-ndigits))


def round_half_up_to_int(value: float) -> int:
    """Return ``floor(value + 0.5)`` as an int (sten, stanine, bands); raises InvalidInputError if not finite."""
    return math.floor(_finite(value, "value") + 0.5)


def display_score(value: float) -> float:
    """Round a score (POMP, raw, z) to 4 dp half up for display."""
    return round_half_up(value, SCORE_DECIMALS)


def display_t(value: float) -> float:
    """Round a T score to 1 dp half up for display (clipping to [20, 80] is the caller's choice)."""
    return round_half_up(value, T_DECIMALS)


def display_percentile(value: float) -> float:
    """Round a percentile to 1 dp half up for display."""
    return round_half_up(value, PERCENTILE_DECIMALS)


def as_float_array(values: npt.ArrayLike, *, name: str = "values", allow_nan: bool = False) -> FloatArray:
    """Return ``values`` as a float64 array; raises InvalidInputError if not numeric or not finite.

    With ``allow_nan=True``, NaN (a missing value) is accepted but infinity is not.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{name} must be numeric") from error
    bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
    if bad.any():
        raise InvalidInputError(f"{name} must be finite" + (" or NaN" if allow_nan else ""))
    return array


def sample_variance(values: npt.ArrayLike) -> float:
    """Sample variance (ddof=1) of finite values; raises InsufficientDataError below 2 values."""
    array = as_float_array(values).ravel()
    if array.size < 2:
        raise InsufficientDataError("a sample variance needs at least 2 values")
    return float(np.var(array, ddof=DDOF_SAMPLE))


def sample_sd(values: npt.ArrayLike) -> float:
    """Sample SD (ddof=1) of finite values; raises InsufficientDataError below 2 values."""
    return math.sqrt(sample_variance(values))


def population_sd(values: npt.ArrayLike) -> float:
    """Population SD (ddof=0) of finite values; raises InsufficientDataError for an empty sample."""
    array = as_float_array(values).ravel()
    if array.size == 0:
        raise InsufficientDataError("a population SD needs at least 1 value")
    return float(np.std(array, ddof=DDOF_PROFILE))


def pomp(score: float, s_min: float, s_max: float) -> float:
    """POMP ``(s - s_min)/(s_max - s_min)`` in [0, 1].

    Raises InvalidInputError when ``s_max <= s_min`` or the score lies outside [s_min, s_max]
    (beyond a float slack of POMP_TOLERANCE, inside which it is clipped).
    """
    s, low, high = _finite(score, "score"), _finite(s_min, "s_min"), _finite(s_max, "s_max")
    if not high > low:
        raise InvalidInputError(f"s_max ({high}) must exceed s_min ({low})")
    value = (s - low) / (high - low)
    if value < -POMP_TOLERANCE or value > 1 + POMP_TOLERANCE:
        raise InvalidInputError(f"score {s} lies outside [{low}, {high}]")
    return min(1.0, max(0.0, value))


def is_insufficient_data(n_missing: int, n_items: int) -> bool:
    """True when more than 20% of a scale's ``n_items`` are missing (or the scale has no item).

    Exact integer arithmetic: 1 missing of 5 (20%) is sufficient, 2 of 9 (22%) is not.
    Raises InvalidInputError for negative counts or ``n_missing > n_items``.
    """
    if n_items < 0 or n_missing < 0 or n_missing > n_items:
        raise InvalidInputError(f"invalid counts: {n_missing} missing of {n_items}")
    return n_items == 0 or n_missing * 5 > n_items


def complete_rows(matrix: npt.ArrayLike, *, name: str = "matrix") -> FloatArray:
    """Listwise deletion: the rows of a 2-D float matrix without NaN; raises InvalidInputError if not 2-D."""
    array = as_float_array(matrix, name=name, allow_nan=True)
    if array.ndim != 2:
        raise InvalidInputError(f"{name} must be 2-D (respondents x items), got {array.ndim}-D")
    return array[~np.isnan(array).any(axis=1)]


def pearson_r(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Pearson correlation of two equal-length finite vectors (float64, no rounding).

    Raises InvalidInputError for unequal lengths, InsufficientDataError below 2 pairs and
    ZeroVarianceError when either vector is constant.
    """
    a = as_float_array(x, name="x").ravel()
    b = as_float_array(y, name="y").ravel()
    if a.size != b.size:
        raise InvalidInputError(f"x and y differ in length ({a.size} != {b.size})")
    if a.size < 2:
        raise InsufficientDataError("a correlation needs at least 2 pairs")
    da = a - a.mean()
    db = b - b.mean()
    ssa = float(np.dot(da, da))
    ssb = float(np.dot(db, db))
    if ssa == 0.0 or ssb == 0.0:
        raise ZeroVarianceError("a correlation is undefined when one vector is constant")
    r = float(np.dot(da, db)) / math.sqrt(ssa * ssb)
    return min(1.0, max(-1.0, r))


def as_finite_float(value: float, name: str = "value") -> float:
    """``value`` as a finite float; raises InvalidInputError for NaN, infinity, str, bool or non-numbers."""
    return _finite(value, name)


def _finite(value: float, name: str) -> float:
    if isinstance(value, (str, bytes, bool)):
        raise InvalidInputError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{name} must be a number") from error
    if not math.isfinite(number):
        raise InvalidInputError(f"{name} must be finite")
    return number
