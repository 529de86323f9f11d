"""A6 item analysis: the statistics and flags of scoring.md's A6 table, per item and per option.

Input is a respondents x items matrix of item POMP scores (NaN = missing; rows with a NaN are dropped,
listwise deletion as in A0) with, per column, the keyed item and optionally its responses, the SME
panel's ratings and response times. Every SD uses ``ddof=1``. A statistic that cannot be computed
(zero variance, too few respondents or items) is None, listed in ``undefined`` with its reason and
flagged; nothing returns NaN. Bad input raises a :class:`~scoring.errors.ScoringError`.

Choices where scoring.md is silent:
- The total score is the sum of the item POMPs; the rest score of item i is ``total - p_i``. To analyse
  a competency, pass the columns of that competency's items, so that its rest score is used.
- An item with r < 0 gets ``negative_item_total_r`` (revise or remove) and not also
  ``low_item_total_r`` (review).
- Difficulty flags: pick formats (single best, most/least, rank) are flagged when the mean POMP is
  above .95 or below .10; rate items only above .95, as the table says.
- Upper-lower index: the groups are the round-half-up(27% of N) highest and lowest totals (at least 1).
  Respondents tied at a group's boundary share the remaining places equally (fractional weights), so the
  index does not depend on row order.
- Options: for most/least items, endorsement and point-biserial are computed separately for the "most"
  pick (keyed option: the best) and the "least" pick (keyed option: the worst); for single best, the
  pick is "best". A response left blank in a row that has a score is left out of that option's
  statistics (pairwise). Option statistics are not defined for rank items.
- Rate items: an option whose key equals the scale midpoint has no expected sign and is never flagged
  for it; a correlation of exactly 0 does not have the expected sign. "Midrange" (McDaniel et al. 2011
  treat each rated option as an item) is per option: the option's mean rating within 0.5 of the
  scale midpoint. Pick formats are midrange when the keyed option's endorsement (best, or most for
  most/least) lies in [0.40, 0.60]; rank items have no midrange check.
- An item carries every flag of its options.
- Subgroup d is (mean_reference - mean_focal) / pooled SD, positive when the reference group scores
  higher (as in scoring.md B3). Mantel-Haenszel DIF is computed for dichotomous items only (every POMP
  is 0 or 1), on ``dif_strata`` (default 5) equal-count strata of the total score (ties kept together),
  with the continuity correction clipped at 0. Its odds ratio is above 1 when the reference group has
  the higher odds of a keyed answer. Bonferroni: an item is flagged when p < .01 / (number of items
  tested).
- ICC(2,k) is None when every SME gives the same rating (``zero_variance``) or when the SMEs disagree
  more than the options differ, so the formula's denominator is not positive (then ``low_sme_agreement``).
- Response times: the median over the analysed rows with a known time.
- Sample status: below 100 respondents the flags are shown but are not stable; 100-199 provisional;
  200 or more enough for decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from scoring.conventions import FloatArray, as_float_array, pearson_r, round_half_up_to_int
from scoring.errors import (
    InsufficientDataError,
    InvalidInputError,
    RatingOutOfScaleError,
    ResponseFormatError,
    UndefinedStatisticError,
    UnknownOptionError,
    ZeroVarianceError,
)
from scoring.fairness import standardized_mean_difference
from scoring.items import (
    KeyedItem,
    MostLeastResponse,
    RankResponse,
    RatingResponse,
    Response,
    ResponseFormat,
    SingleBestResponse,
)
from scoring.reliability import cronbach_alpha

__all__ = [
    "ALPHA_IF_DELETED_MARGIN",
    "DIF_ALPHA",
    "DIF_STRATA",
    "EASY_ABOVE",
    "FAST_SECONDS",
    "HARD_BELOW",
    "ICC_MIN",
    "ITEM_DECISION_N",
    "ITEM_PROVISIONAL_N",
    "ITEM_TOTAL_R_REVIEW",
    "KEY_SD_MAX",
    "MIDRANGE_HALF_WIDTH",
    "MIDRANGE_P",
    "NON_FUNCTIONING_BELOW",
    "SUBGROUP_D_MAX",
    "UPPER_LOWER_D_MIN",
    "UPPER_LOWER_FRACTION",
    "ItemAnalysis",
    "ItemFlag",
    "ItemResponses",
    "ItemSampleStatus",
    "ItemStatistics",
    "MantelHaenszel",
    "OptionStatistics",
    "analyze_items",
    "icc2k",
    "mantel_haenszel",
]

EASY_ABOVE: Final = 0.95
HARD_BELOW: Final = 0.10
ITEM_TOTAL_R_REVIEW: Final = 0.10
ALPHA_IF_DELETED_MARGIN: Final = 0.01
UPPER_LOWER_FRACTION: Final = 0.27
UPPER_LOWER_D_MIN: Final = 0.10
NON_FUNCTIONING_BELOW: Final = 0.05
MIDRANGE_HALF_WIDTH: Final = 0.5
MIDRANGE_P: Final = (0.40, 0.60)
KEY_SD_MAX: Final = 1.0
ICC_MIN: Final = 0.70
SUBGROUP_D_MAX: Final = 0.5
DIF_ALPHA: Final = 0.01
DIF_STRATA: Final = 5
FAST_SECONDS: Final = 5.0
ITEM_PROVISIONAL_N: Final = 100
ITEM_DECISION_N: Final = 200

_TIE_TOLERANCE: Final = 1e-9

PickKind = Literal["best", "most", "least", "rating"]


class ItemFlag(StrEnum):
    """A6 flags (what to review) and the reasons a statistic is undefined."""

    TOO_EASY = "too_easy"
    TOO_HARD = "too_hard"
    LOW_ITEM_TOTAL_R = "low_item_total_r"
    NEGATIVE_ITEM_TOTAL_R = "negative_item_total_r"
    ALPHA_RISES_IF_DELETED = "alpha_rises_if_deleted"
    LOW_UPPER_LOWER_D = "low_upper_lower_d"
    NON_FUNCTIONING_DISTRACTOR = "non_functioning_distractor"
    KEY_CHECK = "key_check"
    MIDRANGE = "midrange"
    KEY_UNCERTAIN = "key_uncertain"
    LOW_SME_AGREEMENT = "low_sme_agreement"
    SUBGROUP_DIFFERENCE = "subgroup_difference"
    DIF = "dif"
    FAST_RESPONSES = "fast_responses"
    ZERO_VARIANCE = "zero_variance"
    TOO_FEW_RESPONDENTS = "too_few_respondents"
    TOO_FEW_ITEMS = "too_few_items"


class ItemSampleStatus(StrEnum):
    """How far the item statistics can be trusted, by the number of analysed respondents (A6)."""

    BELOW_MINIMUM = "below_minimum"
    PROVISIONAL = "provisional"
    SUFFICIENT_FOR_DECISIONS = "sufficient_for_decisions"


@dataclass(frozen=True, eq=False)
class ItemResponses:
    """One column of the score matrix: the keyed item and, optionally, data for the option statistics.

    ``responses`` has one entry per row of the score matrix (None = unanswered); ``sme_ratings`` is an
    options x SMEs matrix in the item's option order; ``response_seconds`` has one time per row (NaN =
    unknown). Validated by :func:`analyze_items`.
    """

    item: KeyedItem
    responses: tuple[Response | None, ...] | None = None
    sme_ratings: npt.ArrayLike | None = None
    response_seconds: npt.ArrayLike | None = None


@dataclass(frozen=True)
class OptionStatistics:
    """One option under one kind of pick: endorsement, correlation with the rest score, and flags.

    ``rest_r`` is the point-biserial r for picks and r(rating, rest) for rate items.
    """

    option_id: str
    pick: PickKind
    keyed: bool
    endorsement: float | None
    rest_r: float | None
    mean_rating: float | None
    expected_sign: int | None
    flags: tuple[ItemFlag, ...]


@dataclass(frozen=True)
class ItemStatistics:
    """The A6 statistics of one item; ``undefined`` lists ``(statistic, reason)`` for every None."""

    item_id: str
    response_format: ResponseFormat
    n: int
    mean: float
    keyed_endorsement: float | None
    corrected_item_total_r: float | None
    alpha_if_deleted: float | None
    upper_lower_d: float
    subgroup_d: float | None
    mh_p: float | None
    mh_odds_ratio: float | None
    icc2k: float | None
    key_uncertain_options: tuple[str, ...]
    median_seconds: float | None
    options: tuple[OptionStatistics, ...]
    flags: tuple[ItemFlag, ...]
    undefined: tuple[tuple[str, str], ...]

    def option(self, option_id: str, pick: PickKind) -> OptionStatistics:
        """The statistics of one option under one pick; raises InvalidInputError if there are none."""
        for line in self.options:
            if line.option_id == option_id and line.pick == pick:
                return line
        raise InvalidInputError(f"{self.item_id}: no {pick} statistics for option {option_id!r}")


@dataclass(frozen=True)
class ItemAnalysis:
    """Item analysis of one scale: alpha, the sample status and every item's statistics."""

    n_respondents: int
    n_excluded: int
    alpha: float | None
    sample_status: ItemSampleStatus
    items: tuple[ItemStatistics, ...]
    flags: tuple[ItemFlag, ...]

    def item(self, item_id: str) -> ItemStatistics:
        """The statistics of one item; raises InvalidInputError if it was not analysed."""
        for line in self.items:
            if line.item_id == item_id:
                return line
        raise InvalidInputError(f"no item {item_id!r} in the analysis")


@dataclass(frozen=True)
class MantelHaenszel:
    """Mantel-Haenszel chi-square (1 df, continuity-corrected), its p value and the common odds ratio."""

    statistic: float
    p_value: float
    odds_ratio: float | None
    strata_used: int


def analyze_items(
    scores: npt.ArrayLike,
    items: Sequence[ItemResponses],
    *,
    groups: Sequence[str | None] | None = None,
    focal_group: str | None = None,
    reference_group: str | None = None,
    dif_strata: int = DIF_STRATA,
) -> ItemAnalysis:
    """A6 statistics and flags for every item (column) of ``scores``.

    ``groups`` (one label per row, None = unknown) with ``focal_group`` and ``reference_group`` turns on
    the subgroup checks. Raises InvalidInputError for a matrix that is not 2-D, POMPs outside [0, 1],
    lengths that do not match, duplicate item ids or bad group arguments; ResponseError subclasses for
    responses that do not fit their item; InsufficientDataError below 2 items or 2 complete rows.
    """
    data = as_float_array(scores, name="scores", allow_nan=True)
    if data.ndim != 2:
        raise InvalidInputError(f"scores must be 2-D (respondents x items), got {data.ndim}-D")
    n_rows, k = data.shape
    if k != len(items):
        raise InvalidInputError(f"scores has {k} columns for {len(items)} items")
    if k < 2:
        raise InsufficientDataError(f"item analysis needs at least 2 items, got {k}")
    ids = [entry.item.item_id for entry in items]
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"duplicate item ids: {ids}")
    present = data[~np.isnan(data)]
    if ((present < 0.0) | (present > 1.0)).any():
        raise InvalidInputError("item scores must be POMPs in [0, 1]")
    if dif_strata < 1:
        raise InvalidInputError("dif_strata must be at least 1")
    prepared = [_prepare(entry, n_rows) for entry in items]
    group_labels = _group_labels(groups, focal_group, reference_group, n_rows)

    keep: npt.NDArray[np.bool_] = np.asarray(~np.isnan(data).any(axis=1), dtype=np.bool_)
    complete = data[keep]
    n = int(complete.shape[0])
    if n < 2:
        raise InsufficientDataError(f"item analysis needs at least 2 complete respondents, got {n}")
    total = complete.sum(axis=1)
    scale_flags: list[ItemFlag] = []
    alpha = _alpha_or_none(complete)
    if alpha is None:
        scale_flags.append(ItemFlag.ZERO_VARIANCE)

    labels = None if group_labels is None else [label for label, kept in zip(group_labels, keep, strict=True) if kept]
    strata = _strata(total, dif_strata)
    statistics = [
        _item_statistics(i, entry, complete, total, keep, alpha, labels, focal_group, reference_group, strata)
        for i, entry in enumerate(prepared)
    ]
    statistics = _apply_dif_threshold(statistics)
    return ItemAnalysis(
        n_respondents=n,
        n_excluded=n_rows - n,
        alpha=alpha,
        sample_status=_sample_status(n),
        items=tuple(statistics),
        flags=tuple(scale_flags),
    )


def icc2k(ratings: npt.ArrayLike) -> float:
    """ICC(2,k) (two-way random, average of k raters; Shrout & Fleiss 1979) of a targets x raters matrix.

    Raises InvalidInputError unless 2-D and finite, InsufficientDataError below 2 targets or 2 raters,
    ZeroVarianceError when every rating is the same, UndefinedStatisticError when the formula's
    denominator is not positive (the raters disagree more than the targets differ).
    """
    x = as_float_array(ratings, name="ratings")
    if x.ndim != 2:
        raise InvalidInputError(f"ratings must be 2-D (targets x raters), got {x.ndim}-D")
    n, k = x.shape
    if n < 2 or k < 2:
        raise InsufficientDataError(f"ICC(2,k) needs at least 2 targets and 2 raters, got {n} x {k}")
    grand = x.mean()
    ss_rows = k * float(((x.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((x.mean(axis=0) - grand) ** 2).sum())
    ss_error = float(((x - grand) ** 2).sum()) - ss_rows - ss_cols
    ms_rows = ss_rows / (n - 1)
    ms_cols = ss_cols / (k - 1)
    ms_error = max(0.0, ss_error) / ((n - 1) * (k - 1))
    denominator = ms_rows + (ms_cols - ms_error) / n
    if ss_rows == 0.0 and ss_cols == 0.0 and ss_error <= 0.0:
        raise ZeroVarianceError("ICC(2,k) is undefined when every rating is the same")
    if denominator <= 0.0:
        raise UndefinedStatisticError("ICC(2,k) is undefined: the raters disagree more than the targets differ")
    return float((ms_rows - ms_error) / denominator)


def mantel_haenszel(correct: npt.ArrayLike, is_focal: npt.ArrayLike, strata: npt.ArrayLike) -> MantelHaenszel:
    """Mantel-Haenszel test that the reference/focal odds ratio of a keyed answer is 1 in every stratum.

    Tables are [[ref keyed, ref not], [focal keyed, focal not]]; the continuity correction 0.5 is clipped
    at 0. Strata with fewer than 2 people add nothing. Raises InvalidInputError for non-0/1 outcomes or
    mismatched lengths, InsufficientDataError when no stratum has both groups and both outcomes.
    """
    y = as_float_array(correct, name="correct").ravel()
    focal = np.asarray(is_focal)
    layer = np.asarray(strata)
    if focal.shape != y.shape or layer.shape != y.shape:
        raise InvalidInputError("correct, is_focal and strata must have the same length")
    if not np.isin(y, (0.0, 1.0)).all() or not np.isin(focal, (0, 1, False, True)).all():
        raise InvalidInputError("correct and is_focal must be 0/1")
    focal = focal.astype(bool)
    observed = expected = variance = numerator = denominator = 0.0
    used = 0
    for value in np.unique(layer):
        members = layer == value
        t = int(members.sum())
        if t < 2:
            continue
        a = float(np.sum((y == 1) & ~focal & members))
        b = float(np.sum((y == 0) & ~focal & members))
        c = float(np.sum((y == 1) & focal & members))
        d = float(np.sum((y == 0) & focal & members))
        n_ref, n_focal, m_keyed, m_not = a + b, c + d, a + c, b + d
        term = n_ref * n_focal * m_keyed * m_not / (t * t * (t - 1))
        if term == 0.0:
            continue
        used += 1
        observed += a
        expected += n_ref * m_keyed / t
        variance += term
        numerator += a * d / t
        denominator += b * c / t
    if used == 0:
        raise InsufficientDataError("no stratum has both groups and both outcomes")
    statistic = max(0.0, abs(observed - expected) - 0.5) ** 2 / variance
    return MantelHaenszel(
        statistic=statistic,
        p_value=float(special.chdtrc(1, statistic)),
        odds_ratio=numerator / denominator if denominator > 0.0 else None,
        strata_used=used,
    )


@dataclass(frozen=True)
class _Prepared:
    item: KeyedItem
    most: tuple[str | None, ...] | None
    least: tuple[str | None, ...] | None
    ratings: FloatArray | None
    sme_ratings: FloatArray | None
    seconds: FloatArray | None


def _prepare(entry: ItemResponses, n_rows: int) -> _Prepared:
    item = entry.item
    if not isinstance(item, KeyedItem):
        raise InvalidInputError("each ItemResponses needs a KeyedItem")
    name = item.item_id
    most: tuple[str | None, ...] | None = None
    least: tuple[str | None, ...] | None = None
    ratings: FloatArray | None = None
    if entry.responses is not None:
        responses = tuple(entry.responses)
        if len(responses) != n_rows:
            raise InvalidInputError(f"{name}: {len(responses)} responses for {n_rows} rows of scores")
        fmt = item.response_format
        if fmt is ResponseFormat.SINGLE_BEST:
            most = tuple(_pick(item, r, SingleBestResponse, "choice") for r in responses)
        elif fmt is ResponseFormat.MOST_LEAST:
            most = tuple(_pick(item, r, MostLeastResponse, "most") for r in responses)
            least = tuple(_pick(item, r, MostLeastResponse, "least") for r in responses)
        elif fmt is ResponseFormat.RATE:
            ratings = np.vstack([_rating_row(item, r) for r in responses]) if responses else None
        else:
            for r in responses:
                if r is not None and not isinstance(r, RankResponse):
                    raise ResponseFormatError(f"{name}: a rank item needs RankResponse answers")
    sme: FloatArray | None = None
    if entry.sme_ratings is not None:
        sme = as_float_array(entry.sme_ratings, name=f"{name} sme_ratings")
        if sme.ndim != 2 or sme.shape[0] != len(item.options):
            raise InvalidInputError(f"{name}: sme_ratings must be options x SMEs ({len(item.options)} rows)")
    seconds: FloatArray | None = None
    if entry.response_seconds is not None:
        seconds = as_float_array(entry.response_seconds, name=f"{name} response_seconds", allow_nan=True).ravel()
        if seconds.size != n_rows:
            raise InvalidInputError(f"{name}: {seconds.size} response times for {n_rows} rows of scores")
        if (seconds[~np.isnan(seconds)] < 0).any():
            raise InvalidInputError(f"{name}: response times must be >= 0")
    return _Prepared(item, most, least, ratings, sme, seconds)


def _pick(
    item: KeyedItem,
    response: Response | None,
    kind: type[SingleBestResponse] | type[MostLeastResponse],
    attribute: str,
) -> str | None:
    if response is None:
        return None
    if not isinstance(response, kind):
        raise ResponseFormatError(f"{item.item_id}: a {item.response_format} item needs {kind.__name__} answers")
    option = str(getattr(response, attribute))
    if option not in item.option_ids:
        raise UnknownOptionError(f"{item.item_id}: no option {option!r}")
    return option


def _rating_row(item: KeyedItem, response: Response | None) -> FloatArray:
    row = np.full(len(item.options), np.nan)
    if response is None:
        return row
    if not isinstance(response, RatingResponse):
        raise ResponseFormatError(f"{item.item_id}: a rate item needs RatingResponse answers")
    position = {option: j for j, option in enumerate(item.option_ids)}
    for option, rating in response.ratings:
        if option not in position:
            raise UnknownOptionError(f"{item.item_id}: no option {option!r}")
        if not item.scale.min <= rating <= item.scale.max:
            raise RatingOutOfScaleError(f"{item.item_id}: rating {rating} of {option} is off the scale")
        row[position[option]] = rating
    return row


def _group_labels(
    groups: Sequence[str | None] | None, focal: str | None, reference: str | None, n_rows: int
) -> list[str | None] | None:
    if groups is None:
        if focal is not None or reference is not None:
            raise InvalidInputError("focal_group and reference_group need groups")
        return None
    labels = list(groups)
    if len(labels) != n_rows:
        raise InvalidInputError(f"groups has {len(labels)} labels for {n_rows} rows of scores")
    if focal is None or reference is None or focal == reference:
        raise InvalidInputError("groups needs two different group names: focal_group and reference_group")
    return labels


def _item_statistics(
    i: int,
    entry: _Prepared,
    complete: FloatArray,
    total: FloatArray,
    keep: npt.NDArray[np.bool_],
    alpha: float | None,
    labels: list[str | None] | None,
    focal: str | None,
    reference: str | None,
    strata: npt.NDArray[np.int64],
) -> ItemStatistics:
    item = entry.item
    fmt = item.response_format
    p = complete[:, i]
    rest = total - p
    n = int(p.size)
    flags: list[ItemFlag] = []
    undefined: list[tuple[str, str]] = []

    def undefined_because(statistic: str, reason: ItemFlag) -> None:
        flags.append(reason)
        undefined.append((statistic, reason.value))

    mean = float(p.mean())
    if mean > EASY_ABOVE:
        flags.append(ItemFlag.TOO_EASY)
    if fmt is not ResponseFormat.RATE and mean < HARD_BELOW:
        flags.append(ItemFlag.TOO_HARD)

    item_total_r: float | None = None
    try:
        item_total_r = pearson_r(p, rest)
    except ZeroVarianceError:
        undefined_because("corrected_item_total_r", ItemFlag.ZERO_VARIANCE)
    if item_total_r is not None:
        if item_total_r < 0:
            flags.append(ItemFlag.NEGATIVE_ITEM_TOTAL_R)
        elif item_total_r < ITEM_TOTAL_R_REVIEW:
            flags.append(ItemFlag.LOW_ITEM_TOTAL_R)

    alpha_if_deleted: float | None = None
    if complete.shape[1] < 3:
        undefined_because("alpha_if_deleted", ItemFlag.TOO_FEW_ITEMS)
    else:
        alpha_if_deleted = _alpha_or_none(np.delete(complete, i, axis=1))
        if alpha_if_deleted is None:
            undefined_because("alpha_if_deleted", ItemFlag.ZERO_VARIANCE)
    if alpha is not None and alpha_if_deleted is not None and alpha_if_deleted > alpha + ALPHA_IF_DELETED_MARGIN:
        flags.append(ItemFlag.ALPHA_RISES_IF_DELETED)

    upper_lower = _upper_lower_index(p, total)
    if upper_lower < UPPER_LOWER_D_MIN:
        flags.append(ItemFlag.LOW_UPPER_LOWER_D)

    options: list[OptionStatistics] = []
    keyed_endorsement: float | None = None
    if entry.most is not None:
        most = [choice for choice, kept in zip(entry.most, keep, strict=True) if kept]
        pick: PickKind = "best" if fmt is ResponseFormat.SINGLE_BEST else "most"
        options += _pick_options(item, item.best_option, most, rest, pick)
        keyed_endorsement = next(o.endorsement for o in options if o.keyed)
        low, high = MIDRANGE_P
        if keyed_endorsement is not None and low <= keyed_endorsement <= high:
            flags.append(ItemFlag.MIDRANGE)
    if entry.least is not None:
        least = [choice for choice, kept in zip(entry.least, keep, strict=True) if kept]
        options += _pick_options(item, item.worst_option, least, rest, "least")
    if entry.ratings is not None:
        options += _rating_options(item, entry.ratings[keep], rest)
    for option in options:
        flags += option.flags

    key_uncertain = tuple(o.option_id for o in item.options if o.key_sd is not None and float(o.key_sd) > KEY_SD_MAX)
    if key_uncertain:
        flags.append(ItemFlag.KEY_UNCERTAIN)
    agreement: float | None = None
    if entry.sme_ratings is not None:
        try:
            agreement = icc2k(entry.sme_ratings)
        except ZeroVarianceError:
            undefined_because("icc2k", ItemFlag.ZERO_VARIANCE)
        except UndefinedStatisticError:
            undefined_because("icc2k", ItemFlag.LOW_SME_AGREEMENT)
        except InsufficientDataError:
            undefined_because("icc2k", ItemFlag.TOO_FEW_RESPONDENTS)
        if agreement is not None and agreement < ICC_MIN:
            flags.append(ItemFlag.LOW_SME_AGREEMENT)

    subgroup_d: float | None = None
    mh: MantelHaenszel | None = None
    if labels is not None:
        in_reference = np.array([label == reference for label in labels])
        in_focal = np.array([label == focal for label in labels])
        try:
            subgroup_d = standardized_mean_difference(p[in_reference], p[in_focal])
        except InsufficientDataError:
            undefined_because("subgroup_d", ItemFlag.TOO_FEW_RESPONDENTS)
        except ZeroVarianceError:
            undefined_because("subgroup_d", ItemFlag.ZERO_VARIANCE)
        if subgroup_d is not None and abs(subgroup_d) > SUBGROUP_D_MAX:
            flags.append(ItemFlag.SUBGROUP_DIFFERENCE)
        if np.isin(p, (0.0, 1.0)).all():
            both = in_reference | in_focal
            try:
                mh = mantel_haenszel(p[both], in_focal[both], strata[both])
            except InsufficientDataError:
                undefined_because("mh_p", ItemFlag.TOO_FEW_RESPONDENTS)
            if mh is not None and mh.odds_ratio is None:
                undefined_because("mh_odds_ratio", ItemFlag.ZERO_VARIANCE)

    median_seconds: float | None = None
    if entry.seconds is not None:
        known = entry.seconds[keep]
        known = known[~np.isnan(known)]
        if known.size == 0:
            undefined_because("median_seconds", ItemFlag.TOO_FEW_RESPONDENTS)
        else:
            median_seconds = float(np.median(known))
            if median_seconds < FAST_SECONDS:
                flags.append(ItemFlag.FAST_RESPONSES)

    return ItemStatistics(
        item_id=item.item_id,
        response_format=fmt,
        n=n,
        mean=mean,
        keyed_endorsement=keyed_endorsement,
        corrected_item_total_r=item_total_r,
        alpha_if_deleted=alpha_if_deleted,
        upper_lower_d=upper_lower,
        subgroup_d=subgroup_d,
        mh_p=None if mh is None else mh.p_value,
        mh_odds_ratio=None if mh is None else mh.odds_ratio,
        icc2k=agreement,
        key_uncertain_options=key_uncertain,
        median_seconds=median_seconds,
        options=tuple(options),
        flags=_ordered(flags),
        undefined=tuple(undefined),
    )


def _pick_options(
    item: KeyedItem, keyed_id: str, choices: list[str | None], rest: FloatArray, pick: PickKind
) -> list[OptionStatistics]:
    answered = np.array([choice is not None for choice in choices], dtype=bool)
    n_answered = int(answered.sum())
    rest_answered = rest[answered]
    endorsement: dict[str, float | None] = {}
    rest_r: dict[str, float | None] = {}
    for option in item.option_ids:
        chosen = np.array([choice == option for choice in choices], dtype=float)[answered]
        endorsement[option] = float(chosen.mean()) if n_answered else None
        try:
            rest_r[option] = pearson_r(chosen, rest_answered)
        except (ZeroVarianceError, InsufficientDataError):
            rest_r[option] = None
    keyed_share, keyed_r = endorsement[keyed_id], rest_r[keyed_id]
    lines = []
    for option in item.option_ids:
        flags: list[ItemFlag] = []
        share, r = endorsement[option], rest_r[option]
        if option == keyed_id:
            if r is not None and r <= 0:
                flags.append(ItemFlag.KEY_CHECK)
        else:
            if share is not None and share < NON_FUNCTIONING_BELOW:
                flags.append(ItemFlag.NON_FUNCTIONING_DISTRACTOR)
            if share is not None and keyed_share is not None and share > keyed_share:
                flags.append(ItemFlag.KEY_CHECK)
            if r is not None and keyed_r is not None and r > keyed_r and ItemFlag.KEY_CHECK not in flags:
                flags.append(ItemFlag.KEY_CHECK)
        lines.append(OptionStatistics(option, pick, option == keyed_id, share, r, None, None, tuple(flags)))
    return lines


def _rating_options(item: KeyedItem, ratings: FloatArray, rest: FloatArray) -> list[OptionStatistics]:
    midpoint = item.scale.midpoint
    lines = []
    for j, option in enumerate(item.options):
        column = ratings[:, j]
        rated = ~np.isnan(column)
        flags: list[ItemFlag] = []
        expected = int(np.sign(float(option.key_value) - midpoint))
        mean_rating = float(column[rated].mean()) if rated.any() else None
        r: float | None
        try:
            r = pearson_r(column[rated], rest[rated])
        except (ZeroVarianceError, InsufficientDataError):
            r = None
        if r is not None and expected != 0 and int(np.sign(r)) != expected:
            flags.append(ItemFlag.KEY_CHECK)
        if mean_rating is not None and abs(mean_rating - midpoint) <= MIDRANGE_HALF_WIDTH:
            flags.append(ItemFlag.MIDRANGE)
        lines.append(OptionStatistics(option.option_id, "rating", False, None, r, mean_rating, expected, tuple(flags)))
    return lines


def _apply_dif_threshold(statistics: list[ItemStatistics]) -> list[ItemStatistics]:
    tested = [s for s in statistics if s.mh_p is not None]
    if not tested:
        return statistics
    threshold = DIF_ALPHA / len(tested)
    result = []
    for s in statistics:
        if s.mh_p is not None and s.mh_p < threshold:
            s = replace(s, flags=_ordered([*s.flags, ItemFlag.DIF]))
        result.append(s)
    return result


def _alpha_or_none(data: FloatArray) -> float | None:
    try:
        return cronbach_alpha(data)
    except ZeroVarianceError:
        return None


def _upper_lower_index(p: FloatArray, total: FloatArray) -> float:
    n = total.size
    size = max(1, round_half_up_to_int(UPPER_LOWER_FRACTION * n))
    upper = _group_weights(total, size)
    lower = _group_weights(-total, size)
    return float(np.dot(upper, p) / size - np.dot(lower, p) / size)


def _group_weights(total: FloatArray, size: int) -> FloatArray:
    """Weights of the ``size`` highest totals; ties at the boundary share the remaining places."""
    boundary = float(np.sort(total)[::-1][size - 1])
    above = total > boundary + _TIE_TOLERANCE
    tied = np.abs(total - boundary) <= _TIE_TOLERANCE
    weights = above.astype(np.float64)
    weights[tied] = (size - int(above.sum())) / int(tied.sum())
    return weights


def _strata(total: FloatArray, n_strata: int) -> npt.NDArray[np.int64]:
    _, inverse, counts = np.unique(total, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    ranks: FloatArray = (below + (counts + 1) / 2.0)[inverse].astype(np.float64)  # average ranks, 1-based
    layer: npt.NDArray[np.int64] = np.minimum(n_strata - 1, np.floor((ranks - 0.5) / total.size * n_strata)).astype(
        np.int64
    )
    return layer


def _sample_status(n: int) -> ItemSampleStatus:
    if n < ITEM_PROVISIONAL_N:
        return ItemSampleStatus.BELOW_MINIMUM
    if n < ITEM_DECISION_N:
        return ItemSampleStatus.PROVISIONAL
    return ItemSampleStatus.SUFFICIENT_FOR_DECISIONS


def _ordered(flags: Iterable[ItemFlag]) -> tuple[ItemFlag, ...]:
    present = set(flags)
    return tuple(flag for flag in ItemFlag if flag in present)
