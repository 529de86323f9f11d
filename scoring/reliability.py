"""A5 reliability: Cronbach's alpha with the Feldt interval, split-half, stratified alpha, SEM and bands.

Inputs are respondents x items matrices of item POMP scores; NaN marks a missing item and the row is
dropped (listwise deletion, A0). Every variance uses ``ddof=1``.

Choices where scoring.md is silent:
- A stratum of one item has no alpha; stratified alpha counts its whole variance as error
  (``alpha_c = 0``), the conservative choice. A stratum whose sum has zero variance adds no error.
- Items with no positive competency weight form their own stratum, named ``""`` by
  :func:`assign_strata`.
- SEM and bands need a reliability in [0, 1]; a negative alpha is not a usable reliability
  (InvalidInputError).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import special

from scoring.conventions import DDOF_SAMPLE, FloatArray, as_finite_float, complete_rows, pearson_r
from scoring.errors import InsufficientDataError, InvalidInputError, UndefinedStatisticError, ZeroVarianceError
from scoring.items import Form
from scoring.norms import sten

__all__ = [
    "BAND_CONFIDENCE",
    "CONFIDENCE_Z",
    "RELIABILITY_ESTABLISHED_N",
    "RELIABILITY_MIN_N",
    "AlphaResult",
    "Band",
    "ReliabilityStatus",
    "SplitHalfResult",
    "StratifiedAlphaResult",
    "TBand",
    "alpha_with_interval",
    "assign_strata",
    "classify_reliability_sample",
    "cronbach_alpha",
    "feldt_interval",
    "score_band",
    "sem",
    "spearman_brown",
    "split_half",
    "stratified_alpha",
    "t_band",
    "t_sem",
]

CONFIDENCE_Z: Final[Mapping[float, float]] = {0.68: 1.0, 0.90: 1.645, 0.95: 1.96}
"""A5: the z multipliers of the 68%, 90% and 95% bands, as printed in the spec."""

BAND_CONFIDENCE: Final = 0.90
"""DECISIONS: the interval shown is 90%."""

RELIABILITY_MIN_N: Final = 100
"""DECISIONS: an interval needs a reliability computed on at least 100 attempts of the form."""

RELIABILITY_ESTABLISHED_N: Final = 200
"""DECISIONS: below 200 attempts the reliability (and its interval) is labelled provisional."""


class ReliabilityStatus(StrEnum):
    """Whether a reliability may carry an interval: none (< 100), provisional (< 200), established."""

    NONE = "none"
    PROVISIONAL = "provisional"
    ESTABLISHED = "established"


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha with its Feldt interval, on ``n`` complete respondents and ``k`` items."""

    alpha: float
    lower: float
    upper: float
    confidence: float
    n: int
    k: int


@dataclass(frozen=True)
class SplitHalfResult:
    """Odd-even split: the correlation of the half sums and its Spearman-Brown step-up."""

    r_halves: float
    spearman_brown: float
    n: int


@dataclass(frozen=True)
class StratifiedAlphaResult:
    """Stratified alpha with, per stratum (in first-appearance order), its alpha and sum-score variance.

    ``stratum_alphas`` holds None for a single-item stratum (counted with alpha 0, see module notes).
    """

    alpha: float
    strata: tuple[Hashable, ...]
    stratum_alphas: tuple[float | None, ...]
    stratum_variances: tuple[float, ...]
    n: int


@dataclass(frozen=True)
class Band:
    """A confidence band ``score +/- z * SEM``."""

    score: float
    lower: float
    upper: float
    confidence: float


@dataclass(frozen=True)
class TBand:
    """A band on the T metric with the sten range it spans (e.g. "T 53 (90% band 44-62)")."""

    t: float
    lower: float
    upper: float
    confidence: float
    sten_lower: int
    sten_upper: int


def cronbach_alpha(scores: npt.ArrayLike) -> float:
    """Alpha ``k/(k-1) (1 - sum var_i / var(total))``, ddof=1, listwise.

    Raises InvalidInputError unless 2-D and finite-or-NaN, InsufficientDataError below 2 items or 2
    complete rows, ZeroVarianceError when the total score has zero variance.
    """
    data = _complete(scores, min_items=2)
    return _alpha(data)


def feldt_interval(alpha: float, n: int, k: int, confidence: float = 0.95) -> tuple[float, float]:
    """Feldt's interval ``1 - (1 - alpha) F.isf(...)`` with df ``(n-1, (n-1)(k-1))``.

    Raises InvalidInputError for a non-finite alpha, n < 2, k < 2 or a confidence outside (0, 1).
    """
    alpha, confidence = as_finite_float(alpha, "alpha"), as_finite_float(confidence, "confidence")
    if not (_is_count(n) and _is_count(k)) or n < 2 or k < 2 or not 0.0 < confidence < 1.0:
        raise InvalidInputError("Feldt interval needs finite alpha, n >= 2, k >= 2, 0 < confidence < 1")
    tail = (1.0 - confidence) / 2.0
    df1, df2 = n - 1, (n - 1) * (k - 1)
    # F.isf(q) = fdtri(df1, df2, 1 - q), as scipy.stats.f computes it (without importing scipy.stats).
    lower = 1.0 - (1.0 - alpha) * float(special.fdtri(df1, df2, 1.0 - tail))
    upper = 1.0 - (1.0 - alpha) * float(special.fdtri(df1, df2, tail))
    return lower, upper


def alpha_with_interval(scores: npt.ArrayLike, confidence: float = 0.95) -> AlphaResult:
    """Alpha and its Feldt interval (listwise); raises as :func:`cronbach_alpha` and :func:`feldt_interval`."""
    data = _complete(scores, min_items=2)
    alpha = _alpha(data)
    n, k = data.shape
    lower, upper = feldt_interval(alpha, n, k, confidence)
    return AlphaResult(alpha, lower, upper, confidence, n, k)


def spearman_brown(r: float, factor: float = 2.0) -> float:
    """Spearman-Brown ``factor r / (1 + (factor - 1) r)``; raises InvalidInputError or UndefinedStatisticError.

    InvalidInputError: r outside [-1, 1] or factor <= 0. UndefinedStatisticError: zero denominator.
    """
    r, factor = as_finite_float(r, "r"), as_finite_float(factor, "factor")
    if not -1.0 <= r <= 1.0 or not factor > 0:
        raise InvalidInputError(f"spearman_brown needs -1 <= r <= 1 and factor > 0, got r={r}, factor={factor}")
    denominator = 1.0 + (factor - 1.0) * r
    if denominator == 0.0:
        raise UndefinedStatisticError("Spearman-Brown is undefined here (zero denominator)")
    return factor * r / denominator


def split_half(scores: npt.ArrayLike) -> SplitHalfResult:
    """Odd-even split-half: items 1, 3, 5... vs 2, 4, 6... (odd half gets the extra item), Spearman-Brown.

    Raises InsufficientDataError below 2 items or 2 complete rows, ZeroVarianceError when a half sum is
    constant, UndefinedStatisticError when the halves correlate at exactly -1.
    """
    data = _complete(scores, min_items=2)
    odd, even = data[:, 0::2].sum(axis=1), data[:, 1::2].sum(axis=1)
    r = pearson_r(odd, even)
    return SplitHalfResult(r, spearman_brown(r), data.shape[0])


def stratified_alpha(scores: npt.ArrayLike, strata: Sequence[Hashable]) -> StratifiedAlphaResult:
    """Stratified alpha ``1 - sum_c var_c (1 - alpha_c) / var_X`` (Cronbach, Schonemann & McKie 1965).

    ``strata`` names each column's stratum. Raises InvalidInputError when its length differs from the
    number of items, InsufficientDataError below 2 complete rows, ZeroVarianceError for a constant total.
    """
    data = _complete(scores, min_items=1)
    if len(strata) != data.shape[1]:
        raise InvalidInputError(f"{len(strata)} strata for {data.shape[1]} items")
    total_variance = float(np.var(data.sum(axis=1), ddof=DDOF_SAMPLE))
    if total_variance == 0.0:
        raise ZeroVarianceError("stratified alpha is undefined when the total score is constant")
    names = tuple(dict.fromkeys(strata))
    columns = np.asarray([names.index(name) for name in strata])
    alphas: list[float | None] = []
    variances: list[float] = []
    error = 0.0
    for index in range(len(names)):
        block = data[:, columns == index]
        variance = float(np.var(block.sum(axis=1), ddof=DDOF_SAMPLE))
        variances.append(variance)
        if block.shape[1] < 2:
            alphas.append(None)
            error += variance
        elif variance == 0.0:
            alphas.append(None)
        else:
            stratum_alpha = _alpha(block)
            alphas.append(stratum_alpha)
            error += variance * (1.0 - stratum_alpha)
    return StratifiedAlphaResult(1.0 - error / total_variance, names, tuple(alphas), tuple(variances), data.shape[0])


def assign_strata(form: Form) -> tuple[str, ...]:
    """Each item's stratum: its max-weight competency, a tie going to the first in the form's order.

    Items without a positive weight get the stratum ``""``.
    """
    order = {name: position for position, name in enumerate(form.competency_order)}
    strata: list[str] = []
    for item in form.items:
        positive = [(name, weight) for name, weight in item.competency_weights if weight > 0]
        if not positive:
            strata.append("")
            continue
        top = max(weight for _, weight in positive)
        strata.append(min((name for name, weight in positive if weight == top), key=order.__getitem__))
    return tuple(strata)


def sem(sd: float, reliability: float) -> float:
    """SEM ``SD sqrt(1 - r_xx)`` on the metric of ``sd``; raises InvalidInputError for sd < 0 or r_xx outside [0, 1]."""
    if not as_finite_float(sd, "sd") >= 0:
        raise InvalidInputError(f"sd must be finite and >= 0, got {sd}")
    return sd * math.sqrt(1.0 - _reliability(reliability))


def t_sem(reliability: float) -> float:
    """SEM on the T metric, ``10 sqrt(1 - r_xx)``; raises InvalidInputError for r_xx outside [0, 1]."""
    return sem(10.0, reliability)


def score_band(score: float, standard_error: float, confidence: float = BAND_CONFIDENCE) -> Band:
    """``score +/- z SEM`` with z 1.00, 1.645 or 1.96; raises InvalidInputError for another confidence."""
    z = _confidence_z(confidence)
    score, standard_error = as_finite_float(score, "score"), as_finite_float(standard_error, "SEM")
    if standard_error < 0:
        raise InvalidInputError("the SEM must be >= 0")
    return Band(score, score - z * standard_error, score + z * standard_error, confidence)


def t_band(t: float, reliability: float, confidence: float = BAND_CONFIDENCE) -> TBand:
    """The band ``T +/- z SEM_T`` and the stens it spans; raises InvalidInputError for bad input."""
    band = score_band(t, t_sem(reliability), confidence)
    return TBand(t, band.lower, band.upper, confidence, _sten_of_t(band.lower), _sten_of_t(band.upper))


def classify_reliability_sample(n: int | None) -> ReliabilityStatus:
    """Whether a reliability from ``n`` attempts supports an interval; raises InvalidInputError if n < 0."""
    if n is not None and (not _is_count(n) or n < 0):
        raise InvalidInputError("n must be an integer >= 0")
    if n is None or n < RELIABILITY_MIN_N:
        return ReliabilityStatus.NONE
    return ReliabilityStatus.PROVISIONAL if n < RELIABILITY_ESTABLISHED_N else ReliabilityStatus.ESTABLISHED


def _complete(scores: npt.ArrayLike, *, min_items: int) -> FloatArray:
    data = complete_rows(scores, name="scores")
    if data.shape[1] < min_items:
        raise InsufficientDataError(f"needs at least {min_items} items, got {data.shape[1]}")
    if data.shape[0] < 2:
        raise InsufficientDataError(f"needs at least 2 complete respondents, got {data.shape[0]}")
    return data


def _alpha(data: FloatArray) -> float:
    k = int(data.shape[1])
    total_variance = float(np.var(data.sum(axis=1), ddof=DDOF_SAMPLE))
    if total_variance == 0.0:
        raise ZeroVarianceError("alpha is undefined when the total score is constant")
    item_variances = float(np.var(data, axis=0, ddof=DDOF_SAMPLE).sum())
    return k / (k - 1) * (1.0 - item_variances / total_variance)


def _is_count(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _reliability(value: float) -> float:
    value = as_finite_float(value, "reliability")
    if not 0.0 <= value <= 1.0:
        raise InvalidInputError(f"a reliability must lie in [0, 1], got {value}")
    return value


def _confidence_z(confidence: float) -> float:
    confidence = as_finite_float(confidence, "confidence")
    for level, z in CONFIDENCE_Z.items():
        if math.isclose(confidence, level, abs_tol=1e-12):
            return z
    raise InvalidInputError(f"confidence must be one of {sorted(CONFIDENCE_Z)}, got {confidence}")


def _sten_of_t(t: float) -> int:
    return sten((t - 50.0) / 10.0)
