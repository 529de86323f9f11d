"""A2 scoring rules for one attempt: raw item scores, their bounds and POMP.

These are the reference (one attempt at a time) implementations; :mod:`scoring.batch` computes the
same numbers for many attempts at once and is tested against them.

Choices where scoring.md is silent:
- A rate item may be partly answered (some options unrated). ``rate_abs_distance`` and
  ``rate_sq_distance`` then sum over the rated options only, and their ``s_min`` over the same options,
  so POMP stays in [0, 1]. An empty rating response is a ResponseFormatError: pass None for an
  unanswered item.
- ``rate_std`` pools every rated option of every rate-format item of the form (whatever rule scores
  the other rate items). The profile correlation ``S_std`` follows the 20% rule over the form's rate
  items (None, flag ``insufficient_data``); the item scores ``s_i`` of the answered items are still
  computed (the 20% rule then applies to the competency and overall scales that use them). When the
  key values of the rated options are all equal (possible only for a tiny partial profile) ``S_std``
  and the item scores are None with ``insufficient_data``. A flat profile (``sd0(X_all) == 0``) gives
  ``S_std = 0`` and the flag ``flat_profile``; its rate_std item scores are None (not 0).
- For ``rate_std`` the item score ``s_i = -mean((zx - zk)^2)`` is unbounded below; ``ItemScore``
  reports the POMP mapping bounds ``(-4, 0)`` and ``p_i = clip(1 + s_i/4, 0, 1)`` (A3.1).
- A rank response must rank every option of the item (else ResponseFormatError).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.conventions import (
    DDOF_PROFILE,
    FloatArray,
    ScoreFlag,
    as_float_array,
    is_insufficient_data,
    pearson_r,
    pomp,
)
from scoring.errors import (
    InsufficientDataError,
    InvalidInputError,
    RatingOutOfScaleError,
    ResponseFormatError,
    UnknownOptionError,
    ZeroVarianceError,
)
from scoring.items import (
    Form,
    KeyedItem,
    MostLeastResponse,
    RankResponse,
    RatingResponse,
    Response,
    ResponseFormat,
    ScoringRule,
    SingleBestResponse,
)

__all__ = [
    "RATE_STD_POMP_SPAN",
    "FormItemScores",
    "ItemScore",
    "ProfileDecomposition",
    "ProfileScore",
    "check_response",
    "decompose_profile_distance",
    "rate_distance_maxima",
    "rate_std_pomp",
    "score_bounds",
    "score_form_items",
    "score_item",
    "score_most_least",
    "score_most_least_keydiff",
    "score_rank_abs",
    "score_rank_rho",
    "score_rate_abs_distance",
    "score_rate_sq_distance",
    "score_rate_std",
    "score_single_best",
    "score_single_best_partial",
]

RATE_STD_POMP_SPAN = 4.0
"""A3.1: ``p_i = 1 + s_i/4`` for rate_std items, clipped to [0, 1]."""

_RESPONSE_TYPES: dict[ResponseFormat, type] = {
    ResponseFormat.SINGLE_BEST: SingleBestResponse,
    ResponseFormat.MOST_LEAST: MostLeastResponse,
    ResponseFormat.RATE: RatingResponse,
    ResponseFormat.RANK: RankResponse,
}


@dataclass(frozen=True)
class ItemScore:
    """One item's raw score ``s`` (None if unanswered or undefined), its bounds and its POMP."""

    item_id: str
    rule: ScoringRule
    score: float | None
    s_min: float
    s_max: float
    pomp: float | None
    flags: frozenset[ScoreFlag] = frozenset()

    @property
    def missing(self) -> bool:
        """True when the item has no score (unanswered, or a flat rate_std profile)."""
        return self.pomp is None


@dataclass(frozen=True)
class ProfileScore:
    """The test-level rate_std score ``S_std = pearson_r(X_all, K_all)`` (A2.3.c) and its flags."""

    r: float | None
    n_ratings: int
    n_items: int
    n_missing_items: int
    flags: frozenset[ScoreFlag] = frozenset()


@dataclass(frozen=True)
class FormItemScores:
    """Item scores of one attempt in form order, and the rate_std profile (None without rate items)."""

    items: tuple[ItemScore, ...]
    profile: ProfileScore | None

    def pomps(self) -> tuple[float | None, ...]:
        """The item POMPs in form order (None for a missing item)."""
        return tuple(item.pomp for item in self.items)


@dataclass(frozen=True)
class ProfileDecomposition:
    """Legree et al. (2010): ``mean((x-k)^2) = elevation + scatter + shape``, with profile r."""

    mean_squared_distance: float
    elevation: float
    scatter: float
    shape: float
    r: float


def check_response(item: KeyedItem, response: Response) -> None:
    """Check that ``response`` fits ``item``; raises a ResponseError subclass if it does not.

    ResponseFormatError: wrong response type, empty ratings, incomplete ranking.
    UnknownOptionError: an option the item does not have. RatingOutOfScaleError: a rating off the scale.
    DuplicateRankError is raised when a RankResponse is built with a repeated option.
    """
    expected = _RESPONSE_TYPES[item.response_format]
    if not isinstance(response, expected):
        raise ResponseFormatError(
            f"{item.item_id}: a {item.response_format} item needs a {expected.__name__}, got {type(response).__name__}"
        )
    ids = set(item.option_ids)
    if isinstance(response, SingleBestResponse):
        _check_known(item, [response.choice], ids)
    elif isinstance(response, MostLeastResponse):
        _check_known(item, [response.most, response.least], ids)
    elif isinstance(response, RatingResponse):
        if not response.ratings:
            raise ResponseFormatError(f"{item.item_id}: no option rated (pass None for an unanswered item)")
        _check_known(item, [option for option, _ in response.ratings], ids)
        for option, rating in response.ratings:
            if not item.scale.min <= rating <= item.scale.max:
                raise RatingOutOfScaleError(
                    f"{item.item_id}: rating {rating} of {option} is outside {item.scale.min}..{item.scale.max}"
                )
    else:
        assert isinstance(response, RankResponse)
        _check_known(item, list(response.order), ids)
        if len(response.order) != len(ids):
            raise ResponseFormatError(f"{item.item_id}: rank all {len(ids)} options, got {len(response.order)}")


def score_single_best(item: KeyedItem, response: SingleBestResponse) -> float:
    """A2.1 dichotomous: 1 if the choice is the best option, else 0; raises a ResponseError if invalid."""
    _check(item, response, ResponseFormat.SINGLE_BEST)
    return 1.0 if response.choice == item.best_option else 0.0


def score_single_best_partial(item: KeyedItem, response: SingleBestResponse) -> float:
    """A2.1 partial credit ``(K_chosen - K_min)/(K_max - K_min)``; raises a ResponseError if invalid."""
    _check(item, response, ResponseFormat.SINGLE_BEST)
    keys = _keys(item)
    low, high = min(keys.values()), max(keys.values())
    return (keys[response.choice] - low) / (high - low)


def score_most_least(item: KeyedItem, response: MostLeastResponse) -> float:
    """A2.2 +1/-1 scheme in -2..+2; raises a ResponseError if invalid."""
    _check(item, response, ResponseFormat.MOST_LEAST)
    best, worst = item.best_option, item.worst_option
    hits = (response.most == best) + (response.least == worst)
    misses = (response.most == worst) + (response.least == best)
    return float(hits - misses)


def score_most_least_keydiff(item: KeyedItem, response: MostLeastResponse) -> float:
    """A2.2 key difference ``K_most - K_least``; raises a ResponseError if invalid."""
    _check(item, response, ResponseFormat.MOST_LEAST)
    keys = _keys(item)
    return keys[response.most] - keys[response.least]


def score_rate_abs_distance(item: KeyedItem, response: RatingResponse) -> float:
    """A2.3.a ``-sum |x_j - k_j|`` over the rated options; raises a ResponseError if invalid."""
    _check(item, response, ResponseFormat.RATE)
    keys = _keys(item)
    return -math.fsum(abs(rating - keys[option]) for option, rating in response.ratings)


def score_rate_sq_distance(item: KeyedItem, response: RatingResponse) -> float:
    """A2.3.b ``-sum (x_j - k_j)^2`` over the rated options; raises a ResponseError if invalid."""
    _check(item, response, ResponseFormat.RATE)
    keys = _keys(item)
    return -math.fsum((rating - keys[option]) ** 2 for option, rating in response.ratings)


def score_rank_abs(item: KeyedItem, response: RankResponse) -> float:
    """A2.4 ``-sum |c_j - k_j|`` against the key ranks; raises a ResponseError if invalid."""
    _check(item, response, ResponseFormat.RANK)
    key_ranks, ranks = item.key_ranks, response.ranks
    return -float(sum(abs(ranks[option] - key_ranks[option]) for option in key_ranks))


def score_rank_rho(item: KeyedItem, response: RankResponse) -> float:
    """A2.4 Spearman rho ``1 - 6 sum d^2 / (m (m^2 - 1))`` in -1..1; raises a ResponseError if invalid."""
    _check(item, response, ResponseFormat.RANK)
    key_ranks, ranks = item.key_ranks, response.ranks
    m = len(key_ranks)
    d2 = sum((ranks[option] - key_ranks[option]) ** 2 for option in key_ranks)
    return 1.0 - 6.0 * d2 / (m * (m * m - 1))


def rate_distance_maxima(item: KeyedItem) -> tuple[float, ...]:
    """Per-option largest possible distance ``max(k - scale.min, scale.max - k)`` in display order."""
    low, high = item.scale.min, item.scale.max
    return tuple(max(k - low, high - k) for k in item.key_values)


def score_bounds(item: KeyedItem, response: Response | None = None) -> tuple[float, float]:
    """``(s_min, s_max)`` of the item's rule; for rate distances, over the rated options of ``response``.

    Without a response, rate distance bounds cover every option. For rate_std the POMP mapping
    bounds ``(-4, 0)`` are returned. Raises a ResponseError if ``response`` does not fit the item.
    """
    rule = item.rule
    if rule in (ScoringRule.SINGLE_BEST, ScoringRule.SINGLE_BEST_PARTIAL):
        return 0.0, 1.0
    if rule is ScoringRule.MOST_LEAST:
        return -2.0, 2.0
    if rule is ScoringRule.MOST_LEAST_KEYDIFF:
        span = max(item.key_values) - min(item.key_values)
        return -span, span
    if rule is ScoringRule.RATE_STD:
        return -RATE_STD_POMP_SPAN, 0.0
    if rule in (ScoringRule.RATE_ABS_DISTANCE, ScoringRule.RATE_SQ_DISTANCE):
        maxima = dict(zip(item.option_ids, rate_distance_maxima(item), strict=True))
        options = list(item.option_ids)
        if response is not None:
            check_response(item, response)
            assert isinstance(response, RatingResponse)
            options = [option for option, _ in response.ratings]
        power = 1 if rule is ScoringRule.RATE_ABS_DISTANCE else 2
        return -math.fsum(maxima[option] ** power for option in options), 0.0
    m = len(item.options)
    if rule is ScoringRule.RANK_ABS:
        return -float(m * m // 2), 0.0
    return -1.0, 1.0


def rate_std_pomp(score: float) -> float:
    """A3.1: ``clip(1 + s_i/4, 0, 1)`` for a rate_std item score; raises InvalidInputError if not finite."""
    if not math.isfinite(score):
        raise InvalidInputError("a rate_std item score must be finite")
    return min(1.0, max(0.0, 1.0 + score / RATE_STD_POMP_SPAN))


def score_item(item: KeyedItem, response: Response | None) -> ItemScore:
    """Score one item by its rule (None response: missing item); raises a ResponseError if invalid.

    rate_std needs the whole form: use :func:`score_form_items` (InvalidInputError here).
    """
    rule = item.rule
    if rule is ScoringRule.RATE_STD:
        raise InvalidInputError(f"{item.item_id}: rate_std standardizes over the form; use score_form_items")
    if response is None:
        s_min, s_max = score_bounds(item)
        return ItemScore(item.item_id, rule, None, s_min, s_max, None)
    check_response(item, response)
    score = _RAW_RULES[rule](item, response)
    s_min, s_max = score_bounds(item, response)
    return ItemScore(item.item_id, rule, score, s_min, s_max, pomp(score, s_min, s_max))


def score_rate_std(
    items: Sequence[KeyedItem], responses: Sequence[RatingResponse | None]
) -> tuple[ProfileScore, tuple[float | None, ...]]:
    """A2.3.c over all rate items of a form: the profile score and each item's ``s_i`` (None if missing).

    Raises InvalidInputError unless every item is rate-format and lengths match, and a ResponseError
    if a response does not fit its item.
    """
    if len(items) != len(responses):
        raise InvalidInputError("items and responses differ in length")
    x_all: list[float] = []
    k_all: list[float] = []
    spans: list[tuple[int, int] | None] = []
    for item, response in zip(items, responses, strict=True):
        if item.response_format is not ResponseFormat.RATE:
            raise InvalidInputError(f"{item.item_id}: rate_std pools rate-format items only")
        if response is None:
            spans.append(None)
            continue
        check_response(item, response)
        keys = _keys(item)
        start = len(x_all)
        for option, rating in response.ratings:
            x_all.append(float(rating))
            k_all.append(keys[option])
        spans.append((start, len(x_all)))
    n_missing = sum(span is None for span in spans)
    missing_items: tuple[float | None, ...] = (None,) * len(items)
    insufficient = is_insufficient_data(n_missing, len(items))

    def profile(r: float | None, *flags: ScoreFlag) -> ProfileScore:
        if insufficient:
            r, flags = None, (*flags, ScoreFlag.INSUFFICIENT_DATA)
        return ProfileScore(r, len(x_all), len(items), n_missing, frozenset(flags))

    if not x_all:
        return profile(None, ScoreFlag.INSUFFICIENT_DATA), missing_items
    x, k = np.array(x_all), np.array(k_all)
    sd_x, sd_k = float(np.std(x, ddof=DDOF_PROFILE)), float(np.std(k, ddof=DDOF_PROFILE))
    if sd_x == 0.0:
        return profile(0.0, ScoreFlag.FLAT_PROFILE), missing_items
    if sd_k == 0.0:
        return profile(None, ScoreFlag.INSUFFICIENT_DATA), missing_items
    zx = (x - x.mean()) / sd_x
    zk = (k - k.mean()) / sd_k
    sq = (zx - zk) ** 2
    item_scores = tuple(None if span is None else -float(sq[span[0] : span[1]].mean()) for span in spans)
    return profile(min(1.0, max(-1.0, 1.0 - float(sq.mean()) / 2.0))), item_scores


def score_form_items(form: Form, responses: Mapping[str, Response | None]) -> FormItemScores:
    """Score every item of ``form`` (rate_std pooled over the form's rate items), in form order.

    Items absent from ``responses`` are unanswered. Raises InvalidInputError for a response to an item
    the form does not have, and a ResponseError for a response that does not fit its item.
    """
    unknown = set(responses) - set(form.item_ids)
    if unknown:
        raise InvalidInputError(f"responses to items not on the form: {sorted(unknown)}")
    rate_items = [item for item in form.items if item.response_format is ResponseFormat.RATE]
    profile: ProfileScore | None = None
    std_scores: dict[str, float | None] = {}
    if rate_items:
        rate_responses: list[RatingResponse | None] = []
        for item in rate_items:
            response = responses.get(item.item_id)
            if response is not None:
                check_response(item, response)
                assert isinstance(response, RatingResponse)
            rate_responses.append(response)
        profile, item_values = score_rate_std(rate_items, rate_responses)
        std_scores = dict(zip((item.item_id for item in rate_items), item_values, strict=True))
    scores: list[ItemScore] = []
    for item in form.items:
        if item.rule is ScoringRule.RATE_STD:
            value = std_scores[item.item_id]
            assert profile is not None
            answered = responses.get(item.item_id) is not None
            lost = {ScoreFlag.FLAT_PROFILE, ScoreFlag.INSUFFICIENT_DATA}
            flags = profile.flags & lost if answered and value is None else frozenset()
            scores.append(
                ItemScore(
                    item.item_id,
                    item.rule,
                    value,
                    -RATE_STD_POMP_SPAN,
                    0.0,
                    None if value is None else rate_std_pomp(value),
                    frozenset(flags),
                )
            )
        else:
            scores.append(score_item(item, responses.get(item.item_id)))
    return FormItemScores(tuple(scores), profile)


def decompose_profile_distance(ratings: npt.ArrayLike, keys: npt.ArrayLike) -> ProfileDecomposition:
    """Legree et al. (2010) decomposition of ``mean((x-k)^2)`` with ddof=0 SDs and profile r.

    Raises InvalidInputError for unequal lengths or non-finite values, InsufficientDataError below 2
    values and ZeroVarianceError when either profile is flat.
    """
    x: FloatArray = as_float_array(ratings, name="ratings").ravel()
    k: FloatArray = as_float_array(keys, name="keys").ravel()
    if x.size != k.size:
        raise InvalidInputError("ratings and keys differ in length")
    if x.size < 2:
        raise InsufficientDataError("a profile needs at least 2 values")
    sd_x, sd_k = float(np.std(x, ddof=DDOF_PROFILE)), float(np.std(k, ddof=DDOF_PROFILE))
    if sd_x == 0.0 or sd_k == 0.0:
        raise ZeroVarianceError("a flat profile has no shape component")
    r = pearson_r(x, k)
    return ProfileDecomposition(
        mean_squared_distance=float(np.mean((x - k) ** 2)),
        elevation=float((x.mean() - k.mean()) ** 2),
        scatter=(sd_x - sd_k) ** 2,
        shape=2.0 * sd_x * sd_k * (1.0 - r),
        r=r,
    )


def _keys(item: KeyedItem) -> dict[str, float]:
    return {option.option_id: float(option.key_value) for option in item.options}


def _check(item: KeyedItem, response: Response, response_format: ResponseFormat) -> None:
    if item.response_format is not response_format:
        raise ResponseFormatError(f"{item.item_id}: a {item.response_format} item, not {response_format}")
    check_response(item, response)


def _check_known(item: KeyedItem, options: Sequence[str], ids: set[str]) -> None:
    unknown = [option for option in options if option not in ids]
    if unknown:
        raise UnknownOptionError(f"{item.item_id}: no option {unknown[0]!r} (options {sorted(ids)})")


def _raw_single_best(item: KeyedItem, response: Response) -> float:
    assert isinstance(response, SingleBestResponse)
    return score_single_best(item, response)


def _raw_single_best_partial(item: KeyedItem, response: Response) -> float:
    assert isinstance(response, SingleBestResponse)
    return score_single_best_partial(item, response)


def _raw_most_least(item: KeyedItem, response: Response) -> float:
    assert isinstance(response, MostLeastResponse)
    return score_most_least(item, response)


def _raw_most_least_keydiff(item: KeyedItem, response: Response) -> float:
    assert isinstance(response, MostLeastResponse)
    return score_most_least_keydiff(item, response)


def _raw_rate_abs(item: KeyedItem, response: Response) -> float:
    assert isinstance(response, RatingResponse)
    return score_rate_abs_distance(item, response)


def _raw_rate_sq(item: KeyedItem, response: Response) -> float:
    assert isinstance(response, RatingResponse)
    return score_rate_sq_distance(item, response)


def _raw_rank_abs(item: KeyedItem, response: Response) -> float:
    assert isinstance(response, RankResponse)
    return score_rank_abs(item, response)


def _raw_rank_rho(item: KeyedItem, response: Response) -> float:
    assert isinstance(response, RankResponse)
    return score_rank_rho(item, response)


_RAW_RULES = {
    ScoringRule.SINGLE_BEST: _raw_single_best,
    ScoringRule.SINGLE_BEST_PARTIAL: _raw_single_best_partial,
    ScoringRule.MOST_LEAST: _raw_most_least,
    ScoringRule.MOST_LEAST_KEYDIFF: _raw_most_least_keydiff,
    ScoringRule.RATE_ABS_DISTANCE: _raw_rate_abs,
    ScoringRule.RATE_SQ_DISTANCE: _raw_rate_sq,
    ScoringRule.RANK_ABS: _raw_rank_abs,
    ScoringRule.RANK_RHO: _raw_rank_rho,
}
