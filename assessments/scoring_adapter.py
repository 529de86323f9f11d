"""The only bridge between the app and the ``scoring`` library (DECISIONS.md, "Scoring, bands and fit").

It checks a candidate's stored answers against the pinned scenario version, turns versions into keyed
items, and scores an attempt with scoring.md Part A. Every number comes from ``scoring``; this module
only translates.

Stored answers (JSON, one per item):

- rate: ``{"ratings": {"A": 5, "B": 2, "C": 3, "D": 1}}``, integers 1-6;
- most_least: ``{"most": "A", "least": "C"}``;
- rank: ``{"ranks": {"A": 1, "B": 3, "C": 2, "D": 4}}``, each rank 1..n used once;
- single_best: ``{"choice": "B"}``.

Choices:

- Partial answers may be saved while answering: a rate item with some options rated (or none), a rank
  item with some options ranked (distinct ranks in 1..n), a most/least item with one pick, a single
  best item with no choice (``{}``). A missing pick is left out, never null. Only a complete answer
  is scored: an incomplete one counts as unanswered and is listed (item status ``incomplete``).
- Types are exact: ratings and ranks are ``int`` (not bool, not float, not a string); labels are the
  version's option labels; a key the format does not use is refused.
- A key value is the mean of the option's expert ratings (``scenarios.checks.option_key``, the same
  number the bank shows and publishes with).
- An item is ``scoring``'s item ``str(version.id)``; its key version is the version's ``key_label``.
- Competencies are every competency of the agency, in the agency's order. The minimum content rule
  is ``scoring.meets_minimum_content`` applied to the weight sum at the 4-dp display precision, so
  float noise (0.7 + 0.8 + ... = 2.9999999999999996) does not undo what the builder's coverage check
  (which allows 1e-9) accepted. A competency that is not reported, or misses the minimum content,
  carries the flag ``not_reported``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol

import scoring
from assessments import services
from assessments.models import Assessment
from scenarios.checks import OptionDraft, option_key
from scenarios.models import ResponseFormat, ScenarioVersion
from scenarios.services import competencies_of

__all__ = [
    "ALGORITHM_VERSION",
    "NO_NORM_GROUP",
    "RATING_MAX",
    "RATING_MIN",
    "AnswerStatus",
    "AttemptScore",
    "CompetencyResult",
    "InvalidAnswer",
    "ItemResult",
    "NotScorable",
    "check_answer",
    "is_complete",
    "keyed_item",
    "provisional_percent",
    "score_attempt",
]

ALGORITHM_VERSION: Final = scoring.ALGORITHM_VERSION
"""The version of the scoring algorithms; store it with every score."""

NO_NORM_GROUP: Final = "no norm group yet"
"""Shown beside a provisional score (POMP as 0-100) until the assessment has a norm table."""

RATING_MIN: Final = 1
RATING_MAX: Final = 6

_UNREADABLE = "We could not read this answer. Please answer the question again."
_RATING_RANGE = f"Give each response a rating from {RATING_MIN} to {RATING_MAX}."
_SAME_PICK = "Choose a different response for most and least effective."
_DIFFERENT_RANKS = "Give each response a different rank."


class InvalidAnswer(ValueError):
    """An answer that does not fit its item; the message is plain English, safe to show a candidate."""


class NotScorable(ValueError):
    """The assessment or one of its items cannot be scored (a missing key, an unknown rule, stray answers)."""


class AnswerStatus(StrEnum):
    """Whether an item was answered for scoring."""

    ANSWERED = "answered"
    INCOMPLETE = "incomplete"
    UNANSWERED = "unanswered"


@dataclass(frozen=True)
class ItemResult:
    """One scored item: its raw score and POMP (None if not answered), rule and key version."""

    version_id: int
    scenario_code: str
    response_format: str
    rule: str
    status: AnswerStatus
    raw: float | None
    pomp: float | None
    key_version: str
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CompetencyResult:
    """One competency of the agency: ``R_c`` as POMP 0-1 (None under the 20% rule or without items)."""

    code: str
    name: str
    raw: float | None
    items: int
    missing: int
    weight_sum: float
    reported: bool
    meets_minimum_content: bool
    flags: frozenset[str] = frozenset()

    @property
    def shown(self) -> bool:
        """True when the assessment reports this competency and its content meets the minimum rule."""
        return self.reported and self.meets_minimum_content


@dataclass(frozen=True)
class AttemptScore:
    """The scores of one attempt (scoring.md A2-A3) with the versions that reproduce them.

    ``key_versions`` maps each scored item's version id to its key version label; ``unanswered`` and
    ``incomplete`` list version ids. Every field survives ``dataclasses.asdict`` for storage.
    """

    items: tuple[ItemResult, ...]
    competencies: tuple[CompetencyResult, ...]
    overall: float | None
    overall_items: int
    overall_missing: int
    overall_flags: frozenset[str]
    profile_r: float | None
    profile_flags: frozenset[str]
    key_versions: dict[int, str]
    unanswered: tuple[int, ...]
    incomplete: tuple[int, ...]
    algorithm_version: str = ALGORITHM_VERSION

    def competency(self, code: str) -> CompetencyResult:
        """The result for one competency code; raises KeyError if the agency has no such competency."""
        for result in self.competencies:
            if result.code == code:
                return result
        raise KeyError(code)


# --- Answers -------------------------------------------------------------------------------------


class _Labelled(Protocol):
    @property
    def label(self) -> str: ...


class AnswerShape(Protocol):
    """What checking an answer needs of an item: its format and its options' labels (a ScenarioVersion has both)."""

    @property
    def response_format(self) -> Any: ...

    @property
    def options(self) -> Sequence[_Labelled]: ...


def check_answer(version: AnswerShape, answer: object) -> dict[str, Any]:
    """The answer normalised (option order, partial answers allowed); raises InvalidAnswer, never anything else."""
    labels = tuple(option.label for option in version.options)
    fmt = ResponseFormat(version.response_format)
    if not isinstance(answer, dict) or any(not isinstance(key, str) for key in answer):
        raise InvalidAnswer(_UNREADABLE)
    if fmt is ResponseFormat.RATE:
        return {"ratings": _check_ratings(_only(answer, "ratings", required=True), labels)}
    if fmt is ResponseFormat.RANK:
        return {"ranks": _check_ranks(_only(answer, "ranks", required=True), labels)}
    if fmt is ResponseFormat.MOST_LEAST:
        if set(answer) - {"most", "least"}:
            raise InvalidAnswer(_UNREADABLE)
        picks = {key: _check_label(answer[key], labels) for key in ("most", "least") if key in answer}
        if len(picks) == 2 and picks["most"] == picks["least"]:
            raise InvalidAnswer(_SAME_PICK)
        return picks
    if set(answer) - {"choice"}:
        raise InvalidAnswer(_UNREADABLE)
    return {"choice": _check_label(answer["choice"], labels)} if "choice" in answer else {}


def is_complete(version: ScenarioVersion, answer: object) -> bool:
    """True when the answer can be scored (every option rated or ranked, both picks, a choice); raises InvalidAnswer."""
    if answer is None:
        return False
    return _complete(version, check_answer(version, answer))


def _complete(version: ScenarioVersion, normal: dict[str, Any]) -> bool:
    n = len(version.options)
    fmt = ResponseFormat(version.response_format)
    if fmt is ResponseFormat.RATE:
        return len(normal["ratings"]) == n
    if fmt is ResponseFormat.RANK:
        return len(normal["ranks"]) == n
    if fmt is ResponseFormat.MOST_LEAST:
        return len(normal) == 2
    return "choice" in normal


def _only(answer: dict[str, Any], key: str, *, required: bool) -> object:
    if set(answer) - {key} or (required and key not in answer):
        raise InvalidAnswer(_UNREADABLE)
    return answer.get(key)


def _options_message(labels: tuple[str, ...]) -> str:
    return "Choose from the responses shown: " + ", ".join(labels) + "."


def _check_label(value: object, labels: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in labels:
        raise InvalidAnswer(_options_message(labels))
    return value


def _check_values(given: object, labels: tuple[str, ...], low: int, high: int, message: str) -> dict[str, int]:
    """``{label: int}`` with known labels and exact ints in low..high, in option order."""
    if not isinstance(given, dict):
        raise InvalidAnswer(_UNREADABLE)
    for label, value in given.items():
        _check_label(label, labels)
        if type(value) is not int or not low <= value <= high:
            raise InvalidAnswer(message)
    return {label: given[label] for label in labels if label in given}


def _check_ratings(given: object, labels: tuple[str, ...]) -> dict[str, int]:
    return _check_values(given, labels, RATING_MIN, RATING_MAX, _RATING_RANGE)


def _check_ranks(given: object, labels: tuple[str, ...]) -> dict[str, int]:
    ranks = _check_values(given, labels, 1, len(labels), f"Give each response a rank from 1 to {len(labels)}.")
    if len(set(ranks.values())) != len(ranks):
        raise InvalidAnswer(_DIFFERENT_RANKS)
    return ranks


def _response(version: ScenarioVersion, normal: dict[str, Any]) -> scoring.Response:
    """The library's response for a complete, checked answer."""
    fmt = ResponseFormat(version.response_format)
    if fmt is ResponseFormat.RATE:
        return scoring.RatingResponse.of(normal["ratings"])
    if fmt is ResponseFormat.RANK:
        return scoring.RankResponse.from_ranks(normal["ranks"])
    if fmt is ResponseFormat.MOST_LEAST:
        return scoring.MostLeastResponse(normal["most"], normal["least"])
    return scoring.SingleBestResponse(normal["choice"])


# --- Items and attempts --------------------------------------------------------------------------


def keyed_item(version: ScenarioVersion, rule: str) -> scoring.KeyedItem:
    """The version as a keyed item scored by ``rule`` (key value = mean expert rating); raises NotScorable."""
    options = []
    for option in version.options:
        key = option_key(OptionDraft(option.label, option.text, tuple(r.value for r in option.ratings)))
        if key.value is None:
            raise NotScorable(f"{version.key_label}: option {option.label} has no expert rating.")
        options.append(scoring.KeyedOption(option.label, key.value, key.sd, key.n))
    try:
        return scoring.KeyedItem(
            item_id=str(version.id),
            response_format=scoring.ResponseFormat(ResponseFormat(version.response_format).value),
            options=tuple(options),
            scoring_rule=scoring.ScoringRule(rule),
            scale=scoring.Scale(RATING_MIN, RATING_MAX),
            competency_weights=tuple((w.competency.code, w.weight) for w in version.weights),
            item_weight=version.item_weight,
            version=version.version,
            key_version=version.key_label,
        )
    except ValueError as error:  # an unknown rule, or scoring.InvalidItemError
        raise NotScorable(f"{version.key_label}: {error}") from error


def score_attempt(assessment: Assessment, answers: Mapping[int, object]) -> AttemptScore:
    """Score an attempt from answers by version id, practice item ignored; raises InvalidAnswer, NotScorable."""
    versions = [item.version for item in assessment.items]
    stray = set(answers) - {v.id for v in versions} - {assessment.practice_version_id}
    if stray:
        raise NotScorable(f"Answers to scenario versions that are not scored items: {sorted(stray)}.")
    keyed: list[scoring.KeyedItem] = []
    statuses: list[AnswerStatus] = []
    responses: dict[str, scoring.Response] = {}
    for version in versions:
        item = keyed_item(version, services.rule_for(assessment, version))
        keyed.append(item)
        answer = answers.get(version.id)
        if answer is None:
            statuses.append(AnswerStatus.UNANSWERED)
            continue
        normal = check_answer(version, answer)
        if not _complete(version, normal):
            statuses.append(AnswerStatus.INCOMPLETE)
            continue
        statuses.append(AnswerStatus.ANSWERED)
        responses[item.item_id] = _response(version, normal)
    agency_competencies = competencies_of(assessment.agency_id)
    try:
        form = scoring.Form(tuple(keyed), competencies=tuple(c.code for c in agency_competencies))
        result = scoring.score_attempt(form, responses)
    except scoring.ScoringError as error:
        raise NotScorable(str(error)) from error
    items = tuple(
        ItemResult(
            version_id=version.id,
            scenario_code=version.scenario.code,
            response_format=ResponseFormat(version.response_format).value,
            rule=score.rule.value,
            status=status,
            raw=score.score,
            pomp=score.pomp,
            key_version=item.key_version,
            flags=_flags(score.flags),
        )
        for version, item, status, score in zip(versions, keyed, statuses, result.items.items, strict=True)
    )
    reported = {c.code for c in assessment.reported}
    competencies = tuple(
        _competency_result(c.code, c.name, c.code in reported, s)
        for c, s in zip(agency_competencies, result.competencies, strict=True)
    )
    profile = result.profile
    return AttemptScore(
        items=items,
        competencies=competencies,
        overall=result.overall.raw,
        overall_items=result.overall.n_items,
        overall_missing=result.overall.n_missing,
        overall_flags=_flags(result.overall.flags),
        profile_r=None if profile is None else profile.r,
        profile_flags=frozenset() if profile is None else _flags(profile.flags),
        key_versions={i.version_id: i.key_version for i in items},
        unanswered=tuple(i.version_id for i in items if i.status is AnswerStatus.UNANSWERED),
        incomplete=tuple(i.version_id for i in items if i.status is AnswerStatus.INCOMPLETE),
        algorithm_version=result.algorithm_version,
    )


def _competency_result(code: str, name: str, reported: bool, score: scoring.CompetencyScore) -> CompetencyResult:
    scale = score.score
    meets = scoring.meets_minimum_content(scale.n_items, scoring.display_score(scale.weight_sum))
    flags = set(scale.flags)
    if not (reported and meets):
        flags.add(scoring.ScoreFlag.NOT_REPORTED)
    return CompetencyResult(
        code=code,
        name=name,
        raw=scale.raw,
        items=scale.n_items,
        missing=scale.n_missing,
        weight_sum=scale.weight_sum,
        reported=reported,
        meets_minimum_content=meets,
        flags=_flags(flags),
    )


def _flags(flags: frozenset[scoring.ScoreFlag] | set[scoring.ScoreFlag]) -> frozenset[str]:
    return frozenset(flag.value for flag in flags)


# --- Display -------------------------------------------------------------------------------------


def provisional_percent(pomp: float | None) -> int | None:
    """A POMP in [0, 1] as a whole 0-100 score, half up (None stays None); raises ValueError outside [0, 1]."""
    if pomp is None:
        return None
    if isinstance(pomp, bool) or not isinstance(pomp, (int, float)) or not (math.isfinite(pomp) and 0 <= pomp <= 1):
        raise ValueError(f"a POMP lies in [0, 1], got {pomp!r}")
    # Hundredths of the POMP's shortest decimal, half up (scoring's rule); the second call drops float noise.
    return int(scoring.round_half_up(scoring.round_half_up(pomp, 2) * 100))
