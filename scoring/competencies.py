"""A3 multi-competency scoring: competency and overall raw scores from item POMPs, and whole attempts.

- ``R_c = sum_i w_ic p_i / sum_i w_ic`` over items with ``w_ic > 0`` and a non-missing ``p_i``.
- ``R_SJT = sum_i a_i p_i / sum_i a_i`` over items with a non-missing ``p_i``.
- The 20% rule (A0): a scale is None with ``insufficient_data`` when more than 20% of its items are
  missing, counting items (not weights) among those with a positive weight on that scale.
- The minimum content rule (A3.4, DECISIONS): a competency is reported when the *form* keys at least 4
  items to it with a weight sum of at least 3.0 (counted on the form, not on the answered items).
  A reported competency is "indicative only" unless its reliability is at least .60.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from scoring.conventions import ALGORITHM_VERSION, ScoreFlag, as_finite_float, is_insufficient_data
from scoring.errors import InvalidInputError
from scoring.items import Form, Response
from scoring.rules import FormItemScores, ProfileScore, score_form_items

__all__ = [
    "INDICATIVE_RELIABILITY",
    "MIN_COMPETENCY_ITEMS",
    "MIN_COMPETENCY_WEIGHT",
    "AttemptScore",
    "CompetencyScore",
    "CompetencyStatus",
    "ScaleScore",
    "competency_scores",
    "competency_status",
    "meets_minimum_content",
    "overall_score",
    "score_attempt",
    "weighted_pomp_score",
]

MIN_COMPETENCY_ITEMS: Final = 4
MIN_COMPETENCY_WEIGHT: Final = 3.0
INDICATIVE_RELIABILITY: Final = 0.60


class CompetencyStatus(StrEnum):
    """How a competency may be shown: not reported, indicative only, or reported."""

    NOT_REPORTED = "not_reported"
    INDICATIVE = "indicative"
    REPORTED = "reported"


@dataclass(frozen=True)
class ScaleScore:
    """A weighted mean of item POMPs (None with ``insufficient_data`` under the 20% rule)."""

    raw: float | None
    n_items: int
    n_missing: int
    weight_sum: float
    flags: frozenset[ScoreFlag] = frozenset()


@dataclass(frozen=True)
class CompetencyScore:
    """One competency's raw score and whether the form carries enough content to report it."""

    competency: str
    score: ScaleScore
    meets_minimum_content: bool

    @property
    def raw(self) -> float | None:
        """``R_c``, or None when the 20% rule applies."""
        return self.score.raw


@dataclass(frozen=True)
class AttemptScore:
    """Everything A2-A3 gives for one attempt, with the algorithm version that produced it."""

    items: FormItemScores
    competencies: tuple[CompetencyScore, ...]
    overall: ScaleScore
    algorithm_version: str = ALGORITHM_VERSION

    @property
    def profile(self) -> ProfileScore | None:
        """The rate_std profile score (None when the form has no rate items)."""
        return self.items.profile


def weighted_pomp_score(weights: Sequence[float], pomps: Sequence[float | None]) -> ScaleScore:
    """``sum w p / sum w`` over items with ``w > 0`` and a POMP, with the 20% rule.

    Raises InvalidInputError for unequal lengths, a negative or non-finite weight, or a POMP outside [0, 1].
    """
    if len(weights) != len(pomps):
        raise InvalidInputError(f"{len(weights)} weights for {len(pomps)} item scores")
    numerator = denominator = form_weight = 0.0
    n_items = n_missing = 0
    for given_weight, given_value in zip(weights, pomps, strict=True):
        weight = as_finite_float(given_weight, "weight")
        value = None if given_value is None else as_finite_float(given_value, "item POMP")
        if weight < 0:
            raise InvalidInputError(f"weights must be finite and >= 0, got {weight}")
        if value is not None and not 0.0 <= value <= 1.0:
            raise InvalidInputError(f"an item POMP must lie in [0, 1], got {value}")
        if weight == 0:
            continue
        n_items += 1
        form_weight += weight
        if value is None:
            n_missing += 1
        else:
            numerator += weight * value
            denominator += weight
    if is_insufficient_data(n_missing, n_items):
        return ScaleScore(None, n_items, n_missing, form_weight, frozenset({ScoreFlag.INSUFFICIENT_DATA}))
    return ScaleScore(numerator / denominator, n_items, n_missing, form_weight)


def meets_minimum_content(n_items: int, weight_sum: float) -> bool:
    """A3.4: at least 4 items and a weight sum of at least 3.0."""
    return n_items >= MIN_COMPETENCY_ITEMS and weight_sum >= MIN_COMPETENCY_WEIGHT


def competency_status(n_items: int, weight_sum: float, reliability: float | None) -> CompetencyStatus:
    """Not reported below the minimum content; indicative unless the reliability is >= .60."""
    if not meets_minimum_content(n_items, weight_sum):
        return CompetencyStatus.NOT_REPORTED
    if reliability is None or not as_finite_float(reliability, "reliability") >= INDICATIVE_RELIABILITY:
        return CompetencyStatus.INDICATIVE
    return CompetencyStatus.REPORTED


def competency_scores(form: Form, pomps: Sequence[float | None]) -> tuple[CompetencyScore, ...]:
    """``R_c`` for every competency in the form's order; raises InvalidInputError for a length mismatch."""
    if len(pomps) != len(form.items):
        raise InvalidInputError(f"{len(pomps)} item scores for {len(form.items)} items")
    results = []
    for competency in form.competency_order:
        weights = [item.weights.get(competency, 0.0) for item in form.items]
        score = weighted_pomp_score(weights, pomps)
        results.append(CompetencyScore(competency, score, meets_minimum_content(score.n_items, score.weight_sum)))
    return tuple(results)


def overall_score(form: Form, pomps: Sequence[float | None]) -> ScaleScore:
    """``R_SJT`` with the item weights ``a_i``; raises InvalidInputError for a length mismatch."""
    if len(pomps) != len(form.items):
        raise InvalidInputError(f"{len(pomps)} item scores for {len(form.items)} items")
    return weighted_pomp_score([item.item_weight for item in form.items], pomps)


def score_attempt(form: Form, responses: Mapping[str, Response | None]) -> AttemptScore:
    """Score one attempt: items (A2), competencies and overall (A3).

    Unanswered items are absent or None. Raises InvalidInputError for a response to an unknown item and
    a ResponseError for a response that does not fit its item.
    """
    items = score_form_items(form, responses)
    pomps = items.pomps()
    return AttemptScore(items, competency_scores(form, pomps), overall_score(form, pomps))
