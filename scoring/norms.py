"""A4 norms: z, T, sten, stanine and percentiles against a frozen norm table.

Scalar functions take one raw score; the ``*_array`` functions take a float array (NaN = no score)
and return arrays with NaN where there is no score (stens and stanines too, as float64).

Percentile policy (A4 and DECISIONS): N >= 300 reports the empirical mid-rank percentile; 100 <= N < 300
reports the normal-theory percentile labelled "estimated"; below 100 no percentile (flag
``small_norm_group``). A norm table is frozen from at least 30 attempts (:data:`NORM_MIN_N`); the
library computes for any N >= 2 and leaves that gate to the caller, flagging N < 100.
Where a table of N >= 300 holds only summary statistics, the estimated percentile is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import special

from scoring.conventions import (
    DDOF_SAMPLE,
    FloatArray,
    ScoreFlag,
    as_finite_float,
    as_float_array,
    display_t,
    round_half_up_to_int,
)
from scoring.errors import EmptyNormGroupError, InvalidInputError, ZeroVarianceError

__all__ = [
    "NORM_EMPIRICAL_N",
    "NORM_MIN_N",
    "NORM_PERCENTILE_N",
    "T_DISPLAY_MAX",
    "T_DISPLAY_MIN",
    "NormScore",
    "NormScores",
    "NormTable",
    "PercentileKind",
    "build_norm_table",
    "empirical_percentile",
    "empirical_percentile_array",
    "norm_score",
    "norm_scores",
    "normal_percentile",
    "normal_percentile_array",
    "stanine",
    "stanine_array",
    "sten",
    "sten_array",
    "t_for_display",
    "t_score",
    "z_score",
    "z_score_array",
]

NORM_MIN_N: Final = 30
"""DECISIONS: a norm table is frozen from at least 30 completed attempts (enforced by the caller)."""

NORM_PERCENTILE_N: Final = 100
"""A4: below N = 100 no percentile is reported (and the group is labelled small)."""

NORM_EMPIRICAL_N: Final = 300
"""A4: from N = 300 the empirical percentile is reported; below, the normal one, "estimated"."""

T_DISPLAY_MIN: Final = 20.0
T_DISPLAY_MAX: Final = 80.0


class PercentileKind(StrEnum):
    """Which percentile a NormScore reports."""

    EMPIRICAL = "empirical"
    ESTIMATED = "estimated"


@dataclass(frozen=True, eq=False)
class NormTable:
    """A frozen norm table: version, N, mean, sample SD and (optionally) the sorted raw scores.

    Validates on construction: raises EmptyNormGroupError for N < 2, ZeroVarianceError for SD == 0,
    InvalidInputError for other bad values or a score vector whose length is not N.
    ``scores`` is stored sorted and read-only.
    """

    norm_version: str
    n: int
    mean: float
    sd: float
    scores: FloatArray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)):
            raise InvalidInputError("n must be an integer")
        if self.n < 2:
            raise EmptyNormGroupError(f"a norm group needs at least 2 scores, got {self.n}")
        if not (math.isfinite(self.mean) and math.isfinite(self.sd)) or self.sd < 0:
            raise InvalidInputError("mean and sd must be finite, sd >= 0")
        if self.sd == 0.0:
            raise ZeroVarianceError("a norm group with zero SD cannot standardize scores")
        if self.scores is not None:
            scores = np.sort(as_float_array(self.scores, name="scores").ravel())
            if scores.size != self.n:
                raise InvalidInputError(f"{scores.size} scores for n = {self.n}")
            scores.flags.writeable = False
            object.__setattr__(self, "scores", scores)


@dataclass(frozen=True)
class NormScore:
    """One raw score against a norm table (A4); ``percentile`` is None below N = 100."""

    raw: float
    z: float
    t: float
    sten: int
    stanine: int
    percentile: float | None
    percentile_kind: PercentileKind | None
    norm_version: str
    flags: frozenset[ScoreFlag] = frozenset()


@dataclass(frozen=True, eq=False)
class NormScores:
    """Many raw scores against one norm table; arrays of float64 with NaN where the raw score is NaN."""

    z: FloatArray
    t: FloatArray
    sten: FloatArray
    stanine: FloatArray
    percentile: FloatArray
    percentile_kind: PercentileKind | None
    norm_version: str
    flags: frozenset[ScoreFlag] = frozenset()


def build_norm_table(scores: npt.ArrayLike, norm_version: str) -> NormTable:
    """Freeze a norm table from raw scores (mean, ddof=1 SD, sorted vector).

    Raises EmptyNormGroupError for fewer than 2 scores, InvalidInputError for NaN or infinity,
    ZeroVarianceError when all scores are equal.
    """
    values = as_float_array(scores, name="norm scores").ravel()
    if values.size < 2:
        raise EmptyNormGroupError(f"a norm group needs at least 2 scores, got {values.size}")
    sd = float(np.std(values, ddof=DDOF_SAMPLE))
    return NormTable(norm_version, int(values.size), float(values.mean()), sd, values)


def z_score(raw: float, table: NormTable) -> float:
    """``z = (R - M) / SD``; raises InvalidInputError for a non-finite raw score."""
    return (_finite(raw) - table.mean) / table.sd


def t_score(z: float) -> float:
    """``T = 50 + 10 z`` (unclipped; see :func:`t_for_display`); raises InvalidInputError if not finite."""
    return 50.0 + 10.0 * _finite(z)


def t_for_display(t: float) -> float:
    """T clipped to [20, 80] and rounded half up to 1 dp, for display only."""
    return display_t(min(T_DISPLAY_MAX, max(T_DISPLAY_MIN, _finite(t))))


def sten(z: float) -> int:
    """``clip(floor(5.5 + 2z + 0.5), 1, 10)``; raises InvalidInputError if z is not finite."""
    return min(10, max(1, round_half_up_to_int(5.5 + 2.0 * _finite(z))))


def stanine(z: float) -> int:
    """``clip(floor(5 + 2z + 0.5), 1, 9)``; raises InvalidInputError if z is not finite."""
    return min(9, max(1, round_half_up_to_int(5.0 + 2.0 * _finite(z))))


def normal_percentile(z: float) -> float:
    """``100 Phi(z)``; raises InvalidInputError if z is not finite."""
    return 100.0 * float(special.ndtr(_finite(z)))


def empirical_percentile(raw: float, table: NormTable) -> float:
    """Mid-rank ``100 (count(< R) + 0.5 count(== R)) / N`` (= scipy percentileofscore kind='mean').

    Raises EmptyNormGroupError when the table holds no score vector, InvalidInputError for a
    non-finite raw score.
    """
    return float(empirical_percentile_array(np.array([_finite(raw)]), table)[0])


def z_score_array(raw: npt.ArrayLike, table: NormTable) -> FloatArray:
    """Vectorized :func:`z_score`; NaN stays NaN. Raises InvalidInputError for infinity."""
    values = as_float_array(raw, name="raw", allow_nan=True)
    return (values - table.mean) / table.sd


def sten_array(z: npt.ArrayLike) -> FloatArray:
    """Vectorized :func:`sten` as float64 (NaN where z is NaN)."""
    values = as_float_array(z, name="z", allow_nan=True)
    return np.clip(np.floor(5.5 + 2.0 * values + 0.5), 1.0, 10.0)


def stanine_array(z: npt.ArrayLike) -> FloatArray:
    """Vectorized :func:`stanine` as float64 (NaN where z is NaN)."""
    values = as_float_array(z, name="z", allow_nan=True)
    return np.clip(np.floor(5.0 + 2.0 * values + 0.5), 1.0, 9.0)


def normal_percentile_array(z: npt.ArrayLike) -> FloatArray:
    """Vectorized :func:`normal_percentile` (NaN where z is NaN)."""
    values = as_float_array(z, name="z", allow_nan=True)
    result: FloatArray = 100.0 * special.ndtr(values)
    return result


def empirical_percentile_array(raw: npt.ArrayLike, table: NormTable) -> FloatArray:
    """Vectorized :func:`empirical_percentile` by binary search (NaN stays NaN).

    Raises EmptyNormGroupError when the table holds no score vector.
    """
    if table.scores is None:
        raise EmptyNormGroupError(f"norm table {table.norm_version} holds no score vector")
    values = as_float_array(raw, name="raw", allow_nan=True)
    below = np.searchsorted(table.scores, values, side="left")
    at_or_below = np.searchsorted(table.scores, values, side="right")
    result: FloatArray = 100.0 * (below + 0.5 * (at_or_below - below)) / table.n
    result[np.isnan(values)] = np.nan
    return result


def norm_score(raw: float, table: NormTable) -> NormScore:
    """z, T, sten, stanine and the percentile the N thresholds allow; raises InvalidInputError if not finite."""
    z = z_score(raw, table)
    kind, flags = _percentile_policy(table)
    percentile: float | None = None
    if kind is PercentileKind.EMPIRICAL:
        percentile = empirical_percentile(raw, table)
    elif kind is PercentileKind.ESTIMATED:
        percentile = normal_percentile(z)
    return NormScore(float(raw), z, t_score(z), sten(z), stanine(z), percentile, kind, table.norm_version, flags)


def norm_scores(raw: npt.ArrayLike, table: NormTable) -> NormScores:
    """Vectorized :func:`norm_score`; percentiles are all NaN below N = 100. Raises InvalidInputError for infinity."""
    z = z_score_array(raw, table)
    kind, flags = _percentile_policy(table)
    if kind is PercentileKind.EMPIRICAL:
        percentile = empirical_percentile_array(raw, table)
    elif kind is PercentileKind.ESTIMATED:
        percentile = normal_percentile_array(z)
    else:
        percentile = np.full(z.shape, np.nan)
    return NormScores(z, 50.0 + 10.0 * z, sten_array(z), stanine_array(z), percentile, kind, table.norm_version, flags)


def _percentile_policy(table: NormTable) -> tuple[PercentileKind | None, frozenset[ScoreFlag]]:
    if table.n < NORM_PERCENTILE_N:
        return None, frozenset({ScoreFlag.SMALL_NORM_GROUP, ScoreFlag.NO_PERCENTILE})
    if table.n >= NORM_EMPIRICAL_N and table.scores is not None:
        return PercentileKind.EMPIRICAL, frozenset()
    return PercentileKind.ESTIMATED, frozenset({ScoreFlag.ESTIMATED_PERCENTILE})


def _finite(value: float) -> float:
    return as_finite_float(value, "score")
