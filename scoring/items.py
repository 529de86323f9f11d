"""A1 data model: keyed items, forms and candidate responses, as frozen dataclasses.

Construction validates the A1 rules that block scoring (raising InvalidItemError); the rules that only
warn authors ("key uncertain") are reported by :func:`key_uncertain_options`.

Choices where scoring.md is silent:
- A tie in ``key_value`` between the two best options blocks the ``single_best`` format; for
  ``most_least`` a tie between the two best *or* the two worst options blocks it (both ``is_best`` and
  ``is_worst`` must be unique). Rate and rank items accept ties (key ranks break them by option_id).
- ``key_value`` must lie on the item's scale for every format (SMEs rate options on that scale).
- Competency weights and the item weight are finite and >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from scoring.conventions import DDOF_SAMPLE, as_float_array
from scoring.errors import (
    DuplicateRankError,
    InsufficientDataError,
    InvalidItemError,
    RatingOutOfScaleError,
    ResponseFormatError,
    ScoringError,
)

__all__ = [
    "DEFAULT_RULE",
    "MIN_OPTIONS",
    "RULES_BY_FORMAT",
    "Form",
    "KeyEstimate",
    "KeyedItem",
    "KeyedOption",
    "MostLeastResponse",
    "RankResponse",
    "RatingResponse",
    "Response",
    "ResponseFormat",
    "Scale",
    "ScoringRule",
    "SingleBestResponse",
    "estimate_expert_key",
    "key_uncertain_options",
]

MIN_OPTIONS: Final = 3
"""A1: at least 3 options (4 or 5 recommended)."""

KEY_MAX_SD: Final = 1.0
KEY_MIN_N: Final = 5
KEY_MIN_BEST_GAP: Final = 0.5


class ResponseFormat(StrEnum):
    """How the candidate answers an item (A1 ``response_format``)."""

    SINGLE_BEST = "single_best"
    MOST_LEAST = "most_least"
    RATE = "rate"
    RANK = "rank"


class ScoringRule(StrEnum):
    """The A2 scoring rules; each item version is scored by exactly one."""

    SINGLE_BEST = "single_best"
    SINGLE_BEST_PARTIAL = "single_best_partial"
    MOST_LEAST = "most_least"
    MOST_LEAST_KEYDIFF = "most_least_keydiff"
    RATE_ABS_DISTANCE = "rate_abs_distance"
    RATE_SQ_DISTANCE = "rate_sq_distance"
    RATE_STD = "rate_std"
    RANK_ABS = "rank_abs"
    RANK_RHO = "rank_rho"


RULES_BY_FORMAT: Final[Mapping[ResponseFormat, frozenset[ScoringRule]]] = {
    ResponseFormat.SINGLE_BEST: frozenset({ScoringRule.SINGLE_BEST, ScoringRule.SINGLE_BEST_PARTIAL}),
    ResponseFormat.MOST_LEAST: frozenset({ScoringRule.MOST_LEAST, ScoringRule.MOST_LEAST_KEYDIFF}),
    ResponseFormat.RATE: frozenset({ScoringRule.RATE_STD, ScoringRule.RATE_ABS_DISTANCE, ScoringRule.RATE_SQ_DISTANCE}),
    ResponseFormat.RANK: frozenset({ScoringRule.RANK_RHO, ScoringRule.RANK_ABS}),
}
"""The rules allowed for each response format."""

DEFAULT_RULE: Final[Mapping[ResponseFormat, ScoringRule]] = {
    ResponseFormat.SINGLE_BEST: ScoringRule.SINGLE_BEST,
    ResponseFormat.MOST_LEAST: ScoringRule.MOST_LEAST,
    ResponseFormat.RATE: ScoringRule.RATE_STD,
    ResponseFormat.RANK: ScoringRule.RANK_RHO,
}
"""The rule an item gets when its version names none (DECISIONS: rate -> rate_std, ...)."""


@dataclass(frozen=True)
class Scale:
    """The integer rating scale of an item (default 1..6); raises InvalidItemError unless min < max."""

    min: int = 1
    max: int = 6

    def __post_init__(self) -> None:
        if not (_is_int(self.min) and _is_int(self.max)) or self.min >= self.max:
            raise InvalidItemError(f"a scale needs integer bounds with min < max, got {self.min}..{self.max}")

    @property
    def midpoint(self) -> float:
        """The middle of the scale (3.5 on 1..6)."""
        return (self.min + self.max) / 2


@dataclass(frozen=True)
class KeyedOption:
    """One option of an item with its key effectiveness (``key_sd``/``key_n`` describe the SME panel)."""

    option_id: str
    key_value: float
    key_sd: float | None = None
    key_n: int | None = None


@dataclass(frozen=True)
class KeyedItem:
    """A keyed item version (A1). Validates on construction; raises InvalidItemError.

    ``competency_weights`` is stored as a tuple of ``(competency, weight)`` pairs in the given order;
    pass a mapping or pairs. ``scoring_rule`` None means the format's default rule.
    """

    item_id: str
    response_format: ResponseFormat
    options: tuple[KeyedOption, ...]
    scoring_rule: ScoringRule | None = None
    scale: Scale = field(default_factory=Scale)
    competency_weights: tuple[tuple[str, float], ...] = ()
    item_weight: float = 1.0
    version: int = 1
    key_version: str = ""

    def __post_init__(self) -> None:
        response_format = _coerce_format(self.response_format, self.item_id)
        object.__setattr__(self, "response_format", response_format)
        rule = (
            DEFAULT_RULE[response_format]
            if self.scoring_rule is None
            else _coerce_rule(self.scoring_rule, self.item_id)
        )
        if rule not in RULES_BY_FORMAT[response_format]:
            raise InvalidItemError(f"{self.item_id}: rule {rule} does not score the {response_format} format")
        object.__setattr__(self, "scoring_rule", rule)
        object.__setattr__(self, "options", tuple(self.options))
        pairs = _pairs(self.competency_weights, InvalidItemError)
        if any(not _is_number(w) for _, w in pairs):
            raise InvalidItemError(f"{self.item_id}: competency weights must be numbers")
        object.__setattr__(self, "competency_weights", tuple((c, float(w)) for c, w in pairs))
        self._validate()

    def _validate(self) -> None:
        name = self.item_id
        if not isinstance(name, str) or not name:
            raise InvalidItemError("an item needs a non-empty item_id")
        if len(self.options) < MIN_OPTIONS:
            raise InvalidItemError(f"{name}: at least {MIN_OPTIONS} options, got {len(self.options)}")
        ids = [option.option_id for option in self.options]
        if any(not isinstance(option, KeyedOption) for option in self.options):
            raise InvalidItemError(f"{name}: options must be KeyedOption objects")
        if any(not isinstance(i, str) or not i for i in ids) or len(set(ids)) != len(ids):
            raise InvalidItemError(f"{name}: option ids must be non-empty and unique, got {ids}")
        for option in self.options:
            value = option.key_value
            if not _is_number(value) or not self.scale.min <= value <= self.scale.max:
                raise InvalidItemError(f"{name}: key_value of {option.option_id} ({value}) is off the scale")
        competencies = [c for c, _ in self.competency_weights]
        if len(set(competencies)) != len(competencies) or any(not isinstance(c, str) or not c for c in competencies):
            raise InvalidItemError(f"{name}: competency names must be non-empty and unique")
        if any(not math.isfinite(w) or w < 0 for _, w in self.competency_weights):
            raise InvalidItemError(f"{name}: competency weights must be finite and >= 0")
        if not _is_number(self.item_weight) or self.item_weight < 0:
            raise InvalidItemError(f"{name}: item_weight must be finite and >= 0")
        values = sorted(option.key_value for option in self.options)
        if self.response_format in (ResponseFormat.SINGLE_BEST, ResponseFormat.MOST_LEAST) and values[-1] == values[-2]:
            raise InvalidItemError(f"{name}: a tie between the two best options blocks {self.response_format}")
        if self.response_format is ResponseFormat.MOST_LEAST and values[0] == values[1]:
            raise InvalidItemError(f"{name}: a tie between the two worst options blocks most_least")
        if values[0] == values[-1]:
            raise InvalidItemError(f"{name}: every option has the same key value")

    @classmethod
    def create(
        cls,
        item_id: str,
        response_format: ResponseFormat | str,
        keys: Mapping[str, float],
        *,
        rule: ScoringRule | str | None = None,
        weights: Mapping[str, float] | None = None,
        item_weight: float = 1.0,
        scale: tuple[int, int] = (1, 6),
        version: int = 1,
        key_version: str = "",
    ) -> KeyedItem:
        """Build an item from ``{option_id: key_value}`` in display order; raises InvalidItemError."""
        return cls(
            item_id=item_id,
            response_format=_coerce_format(response_format, item_id),
            options=tuple(KeyedOption(option, value) for option, value in keys.items()),
            scoring_rule=None if rule is None else _coerce_rule(rule, item_id),
            scale=Scale(*scale),
            competency_weights=tuple((weights or {}).items()),
            item_weight=item_weight,
            version=version,
            key_version=key_version,
        )

    @property
    def rule(self) -> ScoringRule:
        """The item's scoring rule (never None after construction)."""
        assert isinstance(self.scoring_rule, ScoringRule)
        return self.scoring_rule

    @property
    def option_ids(self) -> tuple[str, ...]:
        """The option ids in the item's display order."""
        return tuple(option.option_id for option in self.options)

    @property
    def key_values(self) -> tuple[float, ...]:
        """The key values in the item's display order."""
        return tuple(float(option.key_value) for option in self.options)

    @property
    def key_ranks(self) -> dict[str, int]:
        """Key rank per option: 1 = highest key_value, ties broken by option_id (order-independent)."""
        ordered = sorted(self.options, key=lambda option: (-option.key_value, option.option_id))
        return {option.option_id: rank for rank, option in enumerate(ordered, start=1)}

    @property
    def best_option(self) -> str:
        """The ``is_best`` option: argmax of key_value (ties broken by option_id)."""
        return min(self.options, key=lambda option: (-option.key_value, option.option_id)).option_id

    @property
    def worst_option(self) -> str:
        """The ``is_worst`` option: argmin of key_value (ties broken by option_id)."""
        return min(self.options, key=lambda option: (option.key_value, option.option_id)).option_id

    @property
    def weights(self) -> dict[str, float]:
        """Competency weights as a dict."""
        return dict(self.competency_weights)


@dataclass(frozen=True)
class Form:
    """The items of one form version in order, and its competency order; raises InvalidItemError.

    ``competencies`` None derives the order from first appearance (items in form order, each item's
    weights in their given order). An explicit order must list every competency an item is keyed to.
    """

    items: tuple[KeyedItem, ...]
    competencies: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        items = tuple(self.items)
        object.__setattr__(self, "items", items)
        if not items:
            raise InvalidItemError("a form needs at least one item")
        if any(not isinstance(item, KeyedItem) for item in items):
            raise InvalidItemError("a form holds KeyedItem objects only")
        ids = [item.item_id for item in items]
        if len(set(ids)) != len(ids):
            raise InvalidItemError("item ids of a form must be unique")
        seen = list(dict.fromkeys(c for item in items for c, _ in item.competency_weights))
        if self.competencies is None:
            object.__setattr__(self, "competencies", tuple(seen))
        else:
            order = tuple(self.competencies)
            if len(set(order)) != len(order) or not set(seen) <= set(order):
                raise InvalidItemError("competencies must be unique and include every keyed competency")
            object.__setattr__(self, "competencies", order)

    @property
    def competency_order(self) -> tuple[str, ...]:
        """The form's competency order (never None after construction)."""
        assert self.competencies is not None
        return self.competencies

    @property
    def item_ids(self) -> tuple[str, ...]:
        """The item ids in form order."""
        return tuple(item.item_id for item in self.items)


@dataclass(frozen=True)
class SingleBestResponse:
    """A pick of the single best option."""

    choice: str


@dataclass(frozen=True)
class MostLeastResponse:
    """A pick of the most and the least effective option; raises ResponseFormatError if they coincide."""

    most: str
    least: str

    def __post_init__(self) -> None:
        if self.most == self.least:
            raise ResponseFormatError("most and least effective must be different options")


@dataclass(frozen=True)
class RatingResponse:
    """Ratings per option; options left out are unrated. Raises RatingOutOfScaleError for non-integers.

    Stored as ``(option_id, rating)`` pairs; pass a mapping or pairs.
    """

    ratings: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        pairs = _pairs(self.ratings, ResponseFormatError)
        ids = [option for option, _ in pairs]
        if len(set(ids)) != len(ids):
            raise ResponseFormatError("an option is rated twice")
        for option, rating in pairs:
            if not _is_int(rating):
                raise RatingOutOfScaleError(f"rating of {option} must be a whole number, got {rating!r}")
        object.__setattr__(self, "ratings", tuple((o, int(r)) for o, r in pairs))

    @classmethod
    def of(cls, ratings: Mapping[str, int]) -> RatingResponse:
        """Build from ``{option_id: rating}``; raises RatingOutOfScaleError for non-integers."""
        return cls(tuple(ratings.items()))

    @property
    def as_dict(self) -> dict[str, int]:
        """The ratings as a dict."""
        return dict(self.ratings)


@dataclass(frozen=True)
class RankResponse:
    """Options in the candidate's order, most effective first; raises DuplicateRankError on a repeat."""

    order: tuple[str, ...]

    def __post_init__(self) -> None:
        order = tuple(self.order)
        if len(set(order)) != len(order):
            raise DuplicateRankError(f"an option is ranked twice: {order}")
        object.__setattr__(self, "order", order)

    @classmethod
    def from_ranks(cls, ranks: Mapping[str, int]) -> RankResponse:
        """Build from ``{option_id: rank}``; raises DuplicateRankError unless the ranks are 1..m once each."""
        values = list(ranks.values())
        if any(not _is_int(v) for v in values) or sorted(int(v) for v in values) != list(range(1, len(values) + 1)):
            raise DuplicateRankError(f"ranks must be 1..{len(values)} once each, got {sorted(values)}")
        return cls(tuple(sorted(ranks, key=lambda option: ranks[option])))

    @property
    def ranks(self) -> dict[str, int]:
        """Rank per option (1 = most effective)."""
        return {option: rank for rank, option in enumerate(self.order, start=1)}


Response = SingleBestResponse | MostLeastResponse | RatingResponse | RankResponse
"""Any candidate response; ``None`` stands for an unanswered item."""


@dataclass(frozen=True)
class KeyEstimate:
    """An expert (or consensus) key of one option: the mean rating, its sample SD and the panel size."""

    key_value: float
    key_sd: float
    key_n: int


def estimate_expert_key(ratings: Iterable[float]) -> KeyEstimate:
    """A2.0: key_value = mean of the SME ratings, key_sd with ddof=1; raises InsufficientDataError below 2."""
    values: npt.NDArray[np.float64] = as_float_array(list(ratings), name="ratings").ravel()
    if values.size < 2:
        raise InsufficientDataError("an expert key needs at least 2 ratings")
    return KeyEstimate(float(values.mean()), float(values.std(ddof=DDOF_SAMPLE)), int(values.size))


def key_uncertain_options(item: KeyedItem) -> tuple[str, ...]:
    """Option ids whose key is uncertain (A1 warnings, not blocks): key_sd > 1.0 or key_n < 5.

    For the pick formats the best option is also listed when its key_value exceeds the second best's
    by less than 0.5. Unknown ``key_sd``/``key_n`` count as uncertain.
    """
    uncertain = [
        option.option_id
        for option in item.options
        if option.key_sd is None or option.key_sd > KEY_MAX_SD or option.key_n is None or option.key_n < KEY_MIN_N
    ]
    if item.response_format in (ResponseFormat.SINGLE_BEST, ResponseFormat.MOST_LEAST):
        top, second = sorted(item.key_values, reverse=True)[:2]
        if top - second < KEY_MIN_BEST_GAP and item.best_option not in uncertain:
            uncertain.append(item.best_option)
    order = item.option_ids
    return tuple(sorted(uncertain, key=order.index))


def _coerce_format(value: object, item_id: str) -> ResponseFormat:
    try:
        return ResponseFormat(str(value) if isinstance(value, str) else "")
    except ValueError as error:
        raise InvalidItemError(f"{item_id}: unknown response format {value!r}") from error


def _coerce_rule(value: object, item_id: str) -> ScoringRule:
    try:
        return ScoringRule(str(value) if isinstance(value, str) else "")
    except ValueError as error:
        raise InvalidItemError(f"{item_id}: unknown scoring rule {value!r}") from error


def _pairs(given: object, error: type[ScoringError]) -> tuple[tuple[Any, Any], ...]:
    """``(key, value)`` pairs from a mapping or an iterable of pairs; raises ``error`` otherwise."""
    items = given.items() if isinstance(given, Mapping) else given
    try:
        pairs = tuple((key, value) for key, value in items)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise error(f"expected a mapping or (key, value) pairs, got {given!r}") from exc
    return pairs


def _is_number(value: object) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and (math.isfinite(float(value)))
    )


def _is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer()
