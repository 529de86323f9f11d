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

The fit section (skills-and-fit.md §4.4-§4.6) translates a position's job profile, a candidate's
profile and the agency's transfer table into ``scoring.fit``'s inputs, and returns ``FitResult`` or a
``FitUnavailable`` with the reason: a profile that cannot be scored never becomes a 500. Demographic
answers are never read here.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Protocol

from sqlalchemy import select

import scoring
import taxonomy
from assessments import services
from assessments.models import Assessment
from candidates.models import Candidate, CandidateExperience
from database import db
from positions.models import Position, SkillTransfer
from scenarios.checks import OptionDraft, option_key
from scenarios.models import ResponseFormat, ScenarioVersion
from scenarios.services import competencies_of
from scoring.version import ALGORITHM_VERSION as _ALGORITHM_VERSION

__all__ = [
    "ALGORITHM_VERSION",
    "FIT_COMPONENT_NAMES",
    "NO_NORM_GROUP",
    "RATING_MAX",
    "RATING_MIN",
    "AnswerStatus",
    "AttemptScore",
    "CompetencyResult",
    "FitContext",
    "FitLine",
    "FitResult",
    "FitUnavailable",
    "Gap",
    "Gate",
    "InvalidAnswer",
    "ItemResult",
    "NotScorable",
    "agency_transfers",
    "candidate_profile",
    "check_answer",
    "competency_pomp",
    "fit_context",
    "fit_for",
    "is_complete",
    "job_title",
    "job_years",
    "keyed_item",
    "occupation_label",
    "position_profile",
    "provisional_percent",
    "score_attempt",
    "skill_label",
    "transfers_version",
    "used_components",
]

ALGORITHM_VERSION: Final = _ALGORITHM_VERSION
"""The version of the scoring algorithms; store it with every score."""

NO_NORM_GROUP: Final = "no norm group yet"
# The fit's components in report order, in plain English (pages and PDF reports).
FIT_COMPONENT_NAMES: Final = {
    "required_skills": "Required skills",
    "desired_skills": "Desired skills",
    "people_skills": "People skills",
    "education": "Education",
    "experience": "Experience",
    "industry": "Industry",
}
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


# --- Fit (skills-and-fit.md §4.4-§4.6) -----------------------------------------------------------

DAYS_PER_YEAR: Final = 365.25
NO_REQUIREMENTS: Final = (
    "the position has no requirements yet. Add required or desired skills, people skills, a minimum "
    "education level, a minimum number of years of experience or preferred industries to its profile"
)
NO_WEIGHT: Final = "every part of the fit this position uses has weight 0. Give at least one of them a weight"
# The fit's result types, for the pages' read models (only this module imports ``scoring``).
if TYPE_CHECKING:  # scoring's own types, named here for the pages; at run time scoring loads on first use
    from scoring import FitLine, FitResult, Gap, Gate

NOT_YET_ASSESSED: Final = (
    "the position weighs only people skills, and this candidate has no people-skill score for it yet"
)


@dataclass(frozen=True)
class FitUnavailable:
    """A fit that cannot be computed, with the reason in plain English (shown instead of a number)."""

    reason: str

    @property
    def text(self) -> str:
        """The sentence a page shows."""
        return f"Fit cannot be computed: {self.reason}."


@dataclass(frozen=True)
class FitContext:
    """What the fits of one position's candidates share, built once per page by :func:`fit_context`.

    ``profile`` is None exactly when ``problem`` says why the position cannot be scored. ``weights`` are
    the configured component weights (before unused components drop out).
    """

    position_id: int
    profile: scoring.PositionProfile | None
    problem: str | None
    transfers: tuple[scoring.TransferRow, ...]
    labels: Mapping[str, str]
    weights: Mapping[str, float]
    profile_version: int
    transfer_table_version: str
    notes: tuple[str, ...] = ()
    algorithm_version: str = ALGORITHM_VERSION

    @property
    def used(self) -> tuple[str, ...]:
        """The components the position uses, in report order (none when it cannot be scored)."""
        return () if self.profile is None else used_components(self.profile)


def competency_pomp(detail: Mapping[str, Any]) -> dict[str, float]:
    """Competency code -> provisional score (POMP 0-1) from a stored ``AttemptResult.detail``.

    Only competencies the assessment reports and whose content meets the minimum rule (``shown``) count;
    the others are "not yet assessed". A malformed row is skipped, never an error.
    """
    scores: dict[str, float] = {}
    rows = detail.get("competencies")
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, Mapping):
            continue
        code, raw = row.get("code"), row.get("raw")
        if not isinstance(code, str) or isinstance(raw, bool) or not isinstance(raw, (int, float)):
            continue
        if row.get("reported") is True and row.get("meets_minimum_content") is True and 0 <= raw <= 1:
            scores[code] = float(raw)
    return scores


def position_profile(position: Position) -> scoring.PositionProfile:
    """The position's job profile as scoring's input; raises scoring.ScoringError for a profile it refuses.

    Experience counts only with a minimum above 0 (a minimum of 0 would give everyone full credit).
    Without substitution years (None or 0) a missing education level cannot be made up by experience.
    An occupation outside the vocabulary is left out (every job then counts in full).
    """
    required = tuple(
        _skill_requirement(row.skill_key, row.min_level, row.weight, row.knockout)
        for row in position.skills
        if row.kind == "required"
    )
    desired = tuple(
        _skill_requirement(row.skill_key, row.min_level, row.weight, row.knockout)
        for row in position.skills
        if row.kind != "required"
    )
    competencies = tuple(
        scoring.CompetencyRequirement(row.competency.code, row.min_score, row.weight, row.knockout)
        for row in position.competencies
    )
    education = None
    if position.education_min_level is not None:
        education = scoring.EducationRequirement(
            position.education_min_level, position.education_substitution_years or None, position.education_knockout
        )
    experience = None
    if position.experience_min_years > 0:
        experience = scoring.ExperienceRequirement(
            position.experience_min_years, position.experience_cap_years, position.experience_knockout
        )
    industry = None
    if position.industry_mode != scoring.IndustryMode.NONE.value:
        try:
            mode = scoring.IndustryMode(position.industry_mode)
        except ValueError:
            raise scoring.FitInputError(f"unknown industry mode {position.industry_mode!r}") from None
        codes = frozenset(code.strip() for code in position.industry_code_list if code.strip())
        industry = scoring.IndustryRequirement(codes, mode)
    return scoring.PositionProfile(
        required_skills=required,
        desired_skills=desired,
        competencies=competencies,
        education=education,
        experience=experience,
        industry=industry,
        occupation=_occupation(position.occupation_uri),
        weights=dict(position.fit_weights),
    )


def _skill_requirement(key: str, min_level: int, weight: float, knockout: bool) -> scoring.SkillRequirement:
    return scoring.SkillRequirement(key, min_level, weight, knockout)


def candidate_profile(candidate: Candidate, pomp: Mapping[str, float | None], as_of: date) -> scoring.CandidateProfile:
    """The candidate's confirmed skills, education, jobs (years up to ``as_of``) and ``pomp`` as scoring's input.

    A skill without a vocabulary key is not confirmed yet and never counts. Jobs keep the profile's order
    (by start date), so the fit's "job N" lines follow ``candidate.experience``. Nothing else of the
    candidate is read: no name, no email, no demographic answer. Raises scoring.ScoringError.
    """
    skills = tuple(
        scoring.CandidateSkill(row.skill_key, row.level, _evidence_source(row.evidence_type), row.evidence)
        for row in candidate.skills
        if row.skill_key is not None
    )
    education = tuple(
        scoring.EducationRecord(row.isced_level, row.field, True, row.original_text) for row in candidate.education
    )
    jobs = tuple(
        scoring.Job(
            job_title(row), _occupation(row.occupation_uri), row.industry or None, job_years(row, as_of), row.fte
        )
        for row in candidate.experience
    )
    return scoring.CandidateProfile(skills=skills, education=education, jobs=jobs, pomp=dict(pomp))


def _evidence_source(value: str) -> scoring.EvidenceSource:
    try:
        return scoring.EvidenceSource(value)
    except ValueError:
        raise scoring.FitInputError(f"unknown skill evidence {value!r}") from None


def job_title(job: CandidateExperience) -> str:
    """The job as the fit names it: the role, and the employer when known."""
    return f"{job.role} ({job.employer})" if job.employer else job.role


def job_years(job: CandidateExperience, as_of: date) -> float:
    """Years in the job up to ``as_of``: (end, or ``as_of`` while current) - start, in days / 365.25, at least 0."""
    end = as_of if job.end_date is None else min(job.end_date, as_of)
    return max(0, (end - job.start_date).days) / DAYS_PER_YEAR


@functools.lru_cache(maxsize=1024)
def _occupation(uri: str | None) -> scoring.Occupation | None:
    """The ESCO occupation with its essential keys and all its skill keys; None without one in the vocabulary."""
    if not uri:
        return None
    try:
        found = taxonomy.occupation(uri)
    except KeyError:
        return None
    return scoring.Occupation(
        found.uri, found.isco_code or None, frozenset(found.essential_keys), frozenset(found.skill_keys)
    )


def occupation_label(uri: str | None) -> str | None:
    """The ESCO label of an occupation URI; None when there is none or it is not in the vocabulary."""
    if not uri:
        return None
    try:
        return taxonomy.occupation(uri).label
    except KeyError:
        return None


@functools.lru_cache(maxsize=8192)
def skill_label(key: str) -> str:
    """The vocabulary label of a skill key (the key itself outside the vocabulary)."""
    try:
        return taxonomy.skill(key).label
    except KeyError:
        return key


def agency_transfers(agency_id: int) -> tuple[scoring.TransferRow, ...]:
    """The agency's reviewed transfer rows as scoring's input, in a stable order; raises scoring.ScoringError."""
    rows = db.session.execute(
        select(
            SkillTransfer.from_skill,
            SkillTransfer.to_skill,
            SkillTransfer.credit,
            SkillTransfer.rationale,
            SkillTransfer.source,
            SkillTransfer.reviewer,
            SkillTransfer.reviewed_on,
        )
        .where(SkillTransfer.agency_id == agency_id)
        .order_by(SkillTransfer.from_skill, SkillTransfer.to_skill, SkillTransfer.id)
    )
    return _transfer_rows(tuple(tuple(row) for row in rows))


@functools.lru_cache(maxsize=32)
def _transfer_rows(rows: tuple[tuple[Any, ...], ...]) -> tuple[scoring.TransferRow, ...]:
    """Scoring's checked rows for a table's content. Keyed by the content itself, so an edit is never missed; a
    list of 50 API results or a shortlist reads the table once a row but builds and checks it once."""
    return tuple(
        scoring.TransferRow(from_skill, to_skill, credit, rationale, source, reviewer, reviewed_on.isoformat())
        for from_skill, to_skill, credit, rationale, source, reviewer, reviewed_on in rows
    )


def transfers_version(rows: Sequence[scoring.TransferRow]) -> str:
    """A short content hash of a transfer table (order-independent), printed beside every fit."""
    lines = sorted(
        "\t".join((r.from_skill, r.to_skill, repr(r.credit), r.rationale, r.source, r.reviewer, r.reviewed_on))
        for r in rows
    )
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]


def fit_context(position: Position) -> FitContext:
    """The position's side of every fit: its profile (or the problem with it), the agency's transfers, labels."""
    notes: list[str] = []
    if position.occupation_uri and _occupation(position.occupation_uri) is None:
        notes.append(
            f"The position's occupation ({position.occupation_uri}) is not in the vocabulary, "
            "so every job counts in full."
        )
    transfers: tuple[scoring.TransferRow, ...] = ()
    profile: scoring.PositionProfile | None = None
    problem: str | None = None
    try:
        transfers = agency_transfers(position.agency_id)
    except scoring.ScoringError as error:
        problem = f"the agency's transfer table cannot be used ({error})"
    if problem is None:
        try:
            profile = position_profile(position)
        except scoring.ScoringError as error:
            problem = f"the position's profile cannot be scored ({error})"
    if profile is not None:
        problem = _profile_problem(profile)
    labels = {row.skill_key: skill_label(row.skill_key) for row in position.skills}
    labels.update({row.competency.code: row.competency.name for row in position.competencies})
    return FitContext(
        position_id=position.id,
        profile=profile if problem is None else None,
        problem=problem,
        transfers=transfers,
        labels=labels,
        weights=dict(profile.weights) if profile is not None else dict(position.fit_weights),
        profile_version=position.profile_version,
        transfer_table_version=transfers_version(transfers),
        notes=tuple(notes),
    )


def used_components(profile: scoring.PositionProfile) -> tuple[str, ...]:
    """The components the profile uses, in report order (people skills even before anyone is assessed)."""
    component = scoring.FitComponent
    industry = profile.industry
    return tuple(
        str(name)
        for name, present in (
            (component.REQUIRED_SKILLS, bool(profile.required_skills)),
            (component.DESIRED_SKILLS, bool(profile.desired_skills)),
            (component.PEOPLE_SKILLS, bool(profile.competencies)),
            (component.EDUCATION, profile.education is not None),
            (component.EXPERIENCE, profile.experience is not None),
            (component.INDUSTRY, industry is not None and industry.mode is not scoring.IndustryMode.NONE),
        )
        if present
    )


def _profile_problem(profile: scoring.PositionProfile) -> str | None:
    """Why no candidate could get a number for this profile, or None."""
    used = used_components(profile)
    if not used:
        return NO_REQUIREMENTS
    if not any(profile.weight(name) > 0 for name in used):
        return NO_WEIGHT
    return None


def fit_for(
    position: Position,
    candidate: Candidate,
    pomp: Mapping[str, float | None],
    as_of: date,
    *,
    context: FitContext | None = None,
) -> scoring.FitResult | FitUnavailable:
    """The candidate's fit to the position (§4.4, DECISIONS), or why it cannot be computed; never raises ScoringError.

    ``pomp`` maps competency codes to provisional scores (see :func:`competency_pomp`); ``context`` (from
    :func:`fit_context` for this position) saves rebuilding the position's side for every candidate.
    Raises ValueError for a context built for another position.
    """
    if context is None:
        context = fit_context(position)
    elif context.position_id != position.id:
        raise ValueError("the fit context belongs to another position")
    if context.profile is None:
        return FitUnavailable(context.problem or NO_REQUIREMENTS)
    try:
        profile = candidate_profile(candidate, pomp, as_of)
    except scoring.ScoringError as error:
        return FitUnavailable(f"the candidate's profile cannot be scored ({error})")
    labels = {skill.skill: skill_label(skill.skill) for skill in profile.skills}
    labels.update(context.labels)
    try:
        return scoring.compute_fit(context.profile, profile, context.transfers, labels=labels)
    except scoring.InsufficientDataError:
        return FitUnavailable(NOT_YET_ASSESSED)
    except scoring.ScoringError as error:
        return FitUnavailable(f"the fit refused its inputs ({error})")


# --- Norms and bands (scoring.md A4-A5, DECISIONS "Scoring, bands and fit") ------------------------
#
# A stored norm table (``assessments.models.NormTable``) holds, per scope ("overall" and each competency
# code), ``stats`` {n, mean, sd, sorted} on the provisional score (POMP 0-1) and ``reliability``
# {alpha, low, high, n, status}. Pages show, against the latest table for the assessment's current
# score version, the sten with its 90% interval T +/- 1.645 SEM_T (SEM_T from that scope's reliability)
# and the percentile A4's thresholds allow; before any table, the provisional score (0-100) with the
# words "no norm group yet". Choices: a scope whose stored numbers scoring refuses (N < 2, SD 0, a NaN)
# is left out, so its scores stay provisional; a sorted vector whose length is not N is dropped (the
# percentile is then "estimated"); the precision follows the stored reliability's N (the thresholds of
# ``scoring.classify_reliability_sample``), never its stored status; an alpha outside [0, 1] is not a
# usable reliability, so that scope carries "precision not yet established".

OVERALL_SCOPE: Final = "overall"
"""The norm-table scope of the overall score (the others are competency codes)."""

PRECISION_NOT_ESTABLISHED: Final = "precision not yet established"
"""Shown instead of an interval when the scope has no reliability on at least 100 attempts."""

PROVISIONAL_PRECISION: Final = "provisional"
"""Shown beside an interval whose reliability rests on 100 to 199 attempts."""

ESTIMATED_PERCENTILE: Final = "estimated"
"""Shown beside a normal-theory percentile (norm groups of 100 to 299, or without a score vector)."""


def small_norm_group(n: int) -> str:
    """The label of a norm group below N = 100: "small norm group (N = 45)"."""
    return f"small norm group (N = {n})"


def current_score_version(assessment: Assessment) -> str:
    """The score version an assessment's pages show: its re-scored version, else the one scored at submission."""
    return assessment.score_version or ALGORITHM_VERSION


@dataclass(frozen=True)
class ScopeNorm:
    """One scope of a frozen norm table as scoring's input, with the reliability an interval may use.

    ``reliability`` is None unless the stored alpha lies in [0, 1] and rests on at least 100 attempts;
    ``precision`` is "none", "provisional" (100-199 attempts) or "established".
    """

    scope: str
    table: scoring.NormTable
    reliability: float | None
    reliability_n: int | None
    precision: str


@dataclass(frozen=True)
class NormGroup:
    """A frozen norm table named for pages (label, version, N) with its usable scopes."""

    public_id: str
    label: str
    version: int
    n: int
    score_version: str
    frozen_at: datetime
    scopes: Mapping[str, ScopeNorm]

    @property
    def name(self) -> str:
        """The group as pages name it: "Applicants 2026 (version 2, N = 140)"."""
        return f"{self.label} (version {self.version}, N = {self.n})"

    @property
    def norm_version(self) -> str:
        """The version printed with every normed score: "v2"."""
        return f"v{self.version}"

    def scope(self, code: str) -> ScopeNorm | None:
        """The scope's norms (``OVERALL_SCOPE`` or a competency code), or None when the table has none usable."""
        return self.scopes.get(code)


@dataclass(frozen=True)
class BandedScore:
    """A score as pages show it: the provisional score (POMP), and against a norm group its sten, T,
    90% interval (T and the stens it spans) and percentile, with the words that must go beside them.

    Without a norm group only ``pomp``/``provisional`` are set and ``notes`` holds "no norm group yet".
    """

    pomp: float
    provisional: int
    normed: bool = False
    z: float | None = None
    t: float | None = None
    sten: int | None = None
    interval: tuple[float, float] | None = None
    sten_range: tuple[int, int] | None = None
    percentile: float | None = None
    percentile_kind: str | None = None
    precision: str | None = None
    norm_n: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def small_norm_group(self) -> bool:
        """True when the norm group of this scope has fewer than 100 members (no percentile)."""
        return self.norm_n is not None and self.norm_n < scoring.norms.NORM_PERCENTILE_N


def norm_group(
    *,
    public_id: str,
    label: str,
    version: int,
    n: int,
    score_version: str,
    frozen_at: datetime,
    stats: Mapping[str, Any],
    reliability: Mapping[str, Any],
) -> NormGroup:
    """A stored norm table's columns as a NormGroup; a scope scoring refuses is left out, never an error."""
    scopes: dict[str, ScopeNorm] = {}
    for scope, entry in stats.items() if isinstance(stats, Mapping) else ():
        table = _norm_table(f"v{version}", entry)
        if table is not None:
            scopes[str(scope)] = _scope_norm(str(scope), table, reliability.get(scope) if reliability else None)
    return NormGroup(public_id, label, version, n, score_version, frozen_at, scopes)


def _norm_table(version: str, entry: object) -> scoring.NormTable | None:
    if not isinstance(entry, Mapping):
        return None
    n, mean, sd = _count(entry.get("n")), _number(entry.get("mean")), _number(entry.get("sd"))
    if n is None or mean is None or sd is None:
        return None
    stored = entry.get("sorted")
    values = [_number(v) for v in stored] if isinstance(stored, list) else []
    scores = [v for v in values if v is not None]
    import numpy as np  # here, not at import: the candidates' pages never need it

    vector = np.asarray(scores, dtype=np.float64) if len(scores) == len(values) == n else None
    try:
        return scoring.NormTable(version, n, mean, sd, vector)
    except scoring.ScoringError:
        return None


def _scope_norm(scope: str, table: scoring.NormTable, stored: object) -> ScopeNorm:
    alpha = _number(stored.get("alpha")) if isinstance(stored, Mapping) else None
    n = _count(stored.get("n")) if isinstance(stored, Mapping) else None
    precision = scoring.classify_reliability_sample(n)
    if alpha is None or not 0.0 <= alpha <= 1.0 or precision is scoring.ReliabilityStatus.NONE:
        return ScopeNorm(scope, table, None, n, scoring.ReliabilityStatus.NONE.value)
    return ScopeNorm(scope, table, alpha, n, precision.value)


def _number(value: object) -> float | None:
    """A finite JSON number as a float, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: object) -> int | None:
    """A JSON integer >= 0, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def band_score(pomp: float, norms: ScopeNorm | None) -> BandedScore:
    """The score as pages show it: provisional with "no norm group yet" without norms, else sten, T, the 90%
    interval T +/- 1.645 SEM_T (or "precision not yet established"), the percentile (or the small-group label).

    Raises ValueError for a POMP outside [0, 1].
    """
    provisional = provisional_percent(pomp) or 0  # never None for a float
    if norms is None:
        return BandedScore(pomp=pomp, provisional=provisional, notes=(NO_NORM_GROUP,))
    normed = scoring.norm_score(pomp, norms.table)
    notes: list[str] = []
    if normed.percentile is None:
        notes.append(small_norm_group(norms.table.n))
    percentile = None if normed.percentile is None else scoring.display_percentile(normed.percentile)
    kind = None if normed.percentile_kind is None else normed.percentile_kind.value
    interval: tuple[float, float] | None = None
    sten_range: tuple[int, int] | None = None
    if norms.reliability is None:
        notes.append(PRECISION_NOT_ESTABLISHED)
    else:
        band = scoring.t_band(normed.t, norms.reliability)  # 90%, DECISIONS
        interval = (scoring.t_for_display(band.lower), scoring.t_for_display(band.upper))
        sten_range = (band.sten_lower, band.sten_upper)
        if norms.precision == scoring.ReliabilityStatus.PROVISIONAL.value:
            notes.append(PROVISIONAL_PRECISION)
    return BandedScore(
        pomp=pomp,
        provisional=provisional,
        normed=True,
        z=normed.z,
        t=scoring.t_for_display(normed.t),
        sten=normed.sten,
        interval=interval,
        sten_range=sten_range,
        percentile=percentile,
        percentile_kind=kind,
        precision=norms.precision,
        norm_n=norms.table.n,
        notes=tuple(notes),
    )


__all__ += [
    "ESTIMATED_PERCENTILE",
    "OVERALL_SCOPE",
    "PRECISION_NOT_ESTABLISHED",
    "PROVISIONAL_PRECISION",
    "BandedScore",
    "NormGroup",
    "ScopeNorm",
    "band_score",
    "current_score_version",
    "norm_group",
    "small_norm_group",
]
