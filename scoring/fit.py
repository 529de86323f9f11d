"""Candidate-to-position fit (skills-and-fit.md §4.4-§4.6, settled by DECISIONS "Scoring, bands and fit").

Every component C_c lies in [0, 1]; ``overall = sum_c W_c C_c / sum_c W_c`` over the components the
position uses, so the weights of the used components are rescaled to sum to 1 (``effective_weight``).

- **Skills** (required and desired, one component each). For requirement r with minimum level L_r:
  direct ``d_r = min(1, level(r) / L_r)``; transfer ``t_r = max_s T(s->r) min(1, level(s) / L_r)`` over
  the candidate's skills s and the reviewed, *directed* transfer rows T (a missing row gives no credit);
  ``credit_r = max(d_r, t_r)``, a tie going to the direct path.
  ``C = sum w_r credit_r / sum w_r``. Evidence sources are shown, never multiplied in (v1).
- **People skills** use the competencies' provisional scores (POMP, 0..1):
  ``C_ppl = sum w_d min(1, POMP_d / min_d) / sum w_d``. A competency without a score for the candidate
  gets credit 0 and the path ``not_assessed`` (listed in ``FitResult.not_assessed``). When *no*
  competency of the position has a score, the component drops out like an unused one and is reported
  with the status ``not_yet_assessed`` instead of counting as 0.
- **Education**: ``gap = max(0, min_level - level)`` on the 0..8 scale, the candidate's highest
  *completed* level (0 when none is recorded); with substitution,
  ``sub = floor(excess / substitution_years_per_level)`` where ``excess`` is the relevant years (capped
  at ``cap_years``) above the experience minimum (0 when the position sets none), and
  ``C_edu = max(0, 1 - 0.25 max(0, gap - sub))``.
- **Experience**: ``relevant = sum_j years_j fte_j rel_j`` with :func:`occupation_relevance`
  (1.0 same ESCO occupation, 0.8 same ISCO unit group, else ``0.2 + 0.6 x`` the share of the target's
  essential skills that the job's occupation lists, at most 0.8; 0.2 for a job of unknown occupation).
  When the position names no occupation every job counts at 1.0. ``C_exp = min(1, min(relevant, cap) /
  min_years)``, 1 when ``min_years = 0``; years beyond the cap are never rewarded.
- **Industry** (NACE Rev.2 sections A-U): mode ``none`` leaves the component unused; ``bonus`` and
  ``required`` give 1 when any job is in a preferred section, else 0 (no adjacency in v1).

Gates are listed apart and never change a number: a knockout skill is met when its credit is 1, a
knockout competency when its POMP reaches the minimum (``not_assessed`` without a score), education when
``C_edu = 1`` (substitution included), experience when the capped relevant years reach the minimum, and
industry in ``required`` mode when a job is in a preferred section.

Gaps: every skill or competency line with ``credit < gap_below``, and each of education, experience and
industry when below 1, with ``gain`` = how much ``overall`` would rise if that credit (component) were 1:
``W_c / sum W x w_r / sum w x (1 - credit)``, sorted by gain, largest first (ties keep component order).

Surprising match: ``overall >= surprising_min_overall`` and (no job in the position's ESCO occupation or
ISCO unit group, or ``C_ind = 0`` when the position uses industry) and ``transfer_share >=
surprising_transfer_share``, where ``transfer_share`` = the part of ``sum w_r credit_r`` over required
and desired skills (raw requirement weights, as in §4.6's 1.6/5.6) that came through transfer paths (0
when there is no skill credit). Without a position occupation only the industry condition can hold.

Threshold comparisons (gates, gaps, the flag) allow a float slack of ``POMP_TOLERANCE`` (1e-9).
``overall`` is exact and unrounded; ``overall_display`` is ``100 x overall`` rounded half up.

There is no input for age, sex, nationality, photos or any other demographic data, by design: the
candidate is described only by skills, education levels, jobs and competency scores. Pure: no Flask,
no database, no clock (the caller computes years from dates), no randomness, no import of the app.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeVar

from scoring.conventions import ALGORITHM_VERSION, POMP_TOLERANCE, as_finite_float, round_half_up
from scoring.errors import InsufficientDataError, InvalidInputError

__all__ = [
    "DEFAULT_FIT_WEIGHTS",
    "DEFAULT_GAP_BELOW",
    "DEFAULT_MIN_POMP",
    "DEFAULT_SURPRISING_MIN_OVERALL",
    "DEFAULT_SURPRISING_TRANSFER_SHARE",
    "EDUCATION_PENALTY_PER_LEVEL",
    "WEIGHT_SUM_TOLERANCE",
    "CandidateProfile",
    "CandidateSkill",
    "CompetencyRequirement",
    "ComponentResult",
    "ComponentStatus",
    "EducationRecord",
    "EducationRequirement",
    "EvidenceSource",
    "ExperienceRequirement",
    "FitComponent",
    "FitInputError",
    "FitLine",
    "FitPath",
    "FitResult",
    "Gap",
    "Gate",
    "GateStatus",
    "IndustryMode",
    "IndustryRequirement",
    "Job",
    "Occupation",
    "PositionProfile",
    "SkillRequirement",
    "TransferRow",
    "compute_fit",
    "occupation_relevance",
]

DEFAULT_MIN_POMP: Final = 0.6
DEFAULT_GAP_BELOW: Final = 0.5
DEFAULT_SURPRISING_MIN_OVERALL: Final = 0.70
DEFAULT_SURPRISING_TRANSFER_SHARE: Final = 0.25
EDUCATION_PENALTY_PER_LEVEL: Final = 0.25
WEIGHT_SUM_TOLERANCE: Final = 1e-6
SAME_OCCUPATION: Final = 1.0
SAME_ISCO_GROUP: Final = 0.8
GENERAL_WORK: Final = 0.2
SKILL_OVERLAP_SLOPE: Final = 0.6
OVERLAP_MAX: Final = 0.8
MIN_SKILL_LEVEL: Final = 1
MAX_SKILL_LEVEL: Final = 5
MIN_EDUCATION_LEVEL: Final = 0
MAX_EDUCATION_LEVEL: Final = 8

_NACE_SECTION = re.compile(r"[A-U]")
_ISCO_UNIT_GROUP = re.compile(r"[0-9]{4}")


class FitInputError(InvalidInputError):
    """A position profile, candidate profile or transfer row breaks the fit's input rules."""


class FitComponent(StrEnum):
    """The six components of the fit, in report order."""

    REQUIRED_SKILLS = "required_skills"
    DESIRED_SKILLS = "desired_skills"
    PEOPLE_SKILLS = "people_skills"
    EDUCATION = "education"
    EXPERIENCE = "experience"
    INDUSTRY = "industry"


DEFAULT_FIT_WEIGHTS: Final[Mapping[str, float]] = MappingProxyType(
    {
        FitComponent.REQUIRED_SKILLS: 0.35,
        FitComponent.DESIRED_SKILLS: 0.10,
        FitComponent.PEOPLE_SKILLS: 0.25,
        FitComponent.EDUCATION: 0.10,
        FitComponent.EXPERIENCE: 0.15,
        FitComponent.INDUSTRY: 0.05,
    }
)
"""§4.2's default weights (they sum to 1)."""


class ComponentStatus(StrEnum):
    """Whether a component counts: scored, not used by the position, or not yet assessed (people skills)."""

    SCORED = "scored"
    NOT_USED = "not_used"
    NOT_YET_ASSESSED = "not_yet_assessed"


class FitPath(StrEnum):
    """The rule that produced a line's credit."""

    DIRECT = "direct"
    TRANSFER = "transfer"
    NONE = "none"
    MEASURED = "measured"
    NOT_ASSESSED = "not_assessed"
    MET = "met"
    SUBSTITUTION = "substitution"
    SHORTFALL = "shortfall"
    SAME_OCCUPATION = "same_occupation"
    SAME_ISCO_GROUP = "same_isco_group"
    SKILL_OVERLAP = "skill_overlap"
    UNKNOWN_OCCUPATION = "unknown_occupation"
    ANY_WORK = "any_work"
    MATCH = "match"
    NO_MATCH = "no_match"


class GateStatus(StrEnum):
    """A knockout requirement's state; ``not_assessed`` when the competency has no score yet."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_ASSESSED = "not_assessed"


class EvidenceSource(StrEnum):
    """Where a candidate's skill level comes from (shown on the line, never multiplied in)."""

    ASSESSMENT = "assessment"
    CERTIFICATE = "certificate"
    INTERVIEW = "interview"
    CV = "cv"
    SELF = "self"


class IndustryMode(StrEnum):
    """How the position uses industry: not at all, as a bonus component, or also as a gate."""

    NONE = "none"
    BONUS = "bonus"
    REQUIRED = "required"


_SOURCE_LABEL: Final = {
    EvidenceSource.ASSESSMENT: "assessment",
    EvidenceSource.CERTIFICATE: "certificate",
    EvidenceSource.INTERVIEW: "interview",
    EvidenceSource.CV: "CV",
    EvidenceSource.SELF: "self-declared",
}
# Between equal credits, the stronger evidence is shown (then the input order).
_SOURCE_RANK: Final = {source: rank for rank, source in enumerate(EvidenceSource)}


# --- inputs: the position -------------------------------------------------------------------------


@dataclass(frozen=True)
class Occupation:
    """An ESCO occupation: its URI, ISCO-08 unit group (4 digits, or None) and skill URIs.

    ``all_skills`` holds the essential and optional skills; ``essential`` is added to it if missing.
    """

    uri: str
    isco_code: str | None
    essential: frozenset[str] = frozenset()
    all_skills: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _text(self.uri, "occupation uri")
        if self.isco_code is not None and not (
            isinstance(self.isco_code, str) and _ISCO_UNIT_GROUP.fullmatch(self.isco_code)
        ):
            raise FitInputError(f"{self.uri}: isco_code must be a 4-digit ISCO-08 unit group, got {self.isco_code!r}")
        essential = _skill_set(self.essential, f"{self.uri}: essential skills")
        object.__setattr__(self, "essential", essential)
        object.__setattr__(self, "all_skills", _skill_set(self.all_skills, f"{self.uri}: skills") | essential)


@dataclass(frozen=True)
class SkillRequirement:
    """A required or desired skill: minimum level 1..5, weight > 0, knockout makes it a gate too."""

    skill: str
    min_level: int
    weight: float = 1.0
    knockout: bool = False

    def __post_init__(self) -> None:
        _text(self.skill, "skill")
        _integer(self.min_level, MIN_SKILL_LEVEL, MAX_SKILL_LEVEL, f"{self.skill}: min_level")
        object.__setattr__(self, "weight", _positive(self.weight, f"{self.skill}: weight"))
        _flag(self.knockout, f"{self.skill}: knockout")


@dataclass(frozen=True)
class CompetencyRequirement:
    """A people skill measured by the SJT: minimum POMP in (0, 1] (default 0.6), weight > 0.

    ``knockout`` makes a POMP below the minimum a gate.
    """

    competency: str
    min_pomp: float = DEFAULT_MIN_POMP
    weight: float = 1.0
    knockout: bool = False

    def __post_init__(self) -> None:
        _text(self.competency, "competency")
        minimum = _number(self.min_pomp, f"{self.competency}: min_pomp")
        if not 0.0 < minimum <= 1.0:
            raise FitInputError(f"{self.competency}: min_pomp must lie in (0, 1], got {minimum}")
        object.__setattr__(self, "min_pomp", minimum)
        object.__setattr__(self, "weight", _positive(self.weight, f"{self.competency}: weight"))
        _flag(self.knockout, f"{self.competency}: knockout")


@dataclass(frozen=True)
class EducationRequirement:
    """A minimum education level 0..8; ``substitution_years_per_level`` None forbids substitution."""

    min_level: int
    substitution_years_per_level: float | None = None
    knockout: bool = False

    def __post_init__(self) -> None:
        _integer(self.min_level, MIN_EDUCATION_LEVEL, MAX_EDUCATION_LEVEL, "education min_level")
        if self.substitution_years_per_level is not None:
            years = _positive(self.substitution_years_per_level, "substitution_years_per_level")
            object.__setattr__(self, "substitution_years_per_level", years)
        _flag(self.knockout, "education knockout")


@dataclass(frozen=True)
class ExperienceRequirement:
    """Minimum relevant years (>= 0) and a cap (>= the minimum and > 0, or None for no cap)."""

    min_years: float
    cap_years: float | None = None
    knockout: bool = False

    def __post_init__(self) -> None:
        minimum = _non_negative(self.min_years, "min_years")
        object.__setattr__(self, "min_years", minimum)
        if self.cap_years is not None:
            cap = _positive(self.cap_years, "cap_years")
            if cap < minimum:
                raise FitInputError(f"cap_years ({cap}) must not be below min_years ({minimum})")
            object.__setattr__(self, "cap_years", cap)
        _flag(self.knockout, "experience knockout")


@dataclass(frozen=True)
class IndustryRequirement:
    """Preferred NACE Rev.2 sections (letters A-U) and the mode: none, bonus or required (also a gate)."""

    preferred: frozenset[str]
    mode: IndustryMode = IndustryMode.BONUS

    def __post_init__(self) -> None:
        try:
            mode = IndustryMode(self.mode)
        except ValueError:
            raise FitInputError(f"unknown industry mode {self.mode!r} (none, bonus or required)") from None
        object.__setattr__(self, "mode", mode)
        if isinstance(self.preferred, str):
            raise FitInputError("preferred industries must be a set of NACE section letters, not a string")
        preferred = frozenset(_industry(code, "preferred industry") for code in self.preferred)
        if mode is not IndustryMode.NONE and not preferred:
            raise FitInputError(f"industry mode {mode} needs at least one preferred section")
        object.__setattr__(self, "preferred", preferred)


@dataclass(frozen=True)
class PositionProfile:
    """What the client signed off: requirements, component weights (summing to 1) and thresholds.

    ``weights`` maps :class:`FitComponent` names to weights >= 0 summing to 1 within 1e-6 (a missing
    component weighs 0). Skills must be unique across required and desired, competencies unique.
    """

    required_skills: tuple[SkillRequirement, ...] = ()
    desired_skills: tuple[SkillRequirement, ...] = ()
    competencies: tuple[CompetencyRequirement, ...] = ()
    education: EducationRequirement | None = None
    experience: ExperienceRequirement | None = None
    industry: IndustryRequirement | None = None
    occupation: Occupation | None = None
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FIT_WEIGHTS))
    gap_below: float = DEFAULT_GAP_BELOW
    surprising_min_overall: float = DEFAULT_SURPRISING_MIN_OVERALL
    surprising_transfer_share: float = DEFAULT_SURPRISING_TRANSFER_SHARE

    def __post_init__(self) -> None:
        required = _tuple_of(self.required_skills, SkillRequirement, "required_skills")
        desired = _tuple_of(self.desired_skills, SkillRequirement, "desired_skills")
        competencies = _tuple_of(self.competencies, CompetencyRequirement, "competencies")
        _unique([r.skill for r in (*required, *desired)], "skill requirement")
        _unique([c.competency for c in competencies], "competency requirement")
        object.__setattr__(self, "required_skills", required)
        object.__setattr__(self, "desired_skills", desired)
        object.__setattr__(self, "competencies", competencies)
        for name, kind in (
            ("education", EducationRequirement),
            ("experience", ExperienceRequirement),
            ("industry", IndustryRequirement),
            ("occupation", Occupation),
        ):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                raise FitInputError(f"{name} must be a {kind.__name__} or None, got {type(value).__name__}")
        object.__setattr__(self, "weights", _weights(self.weights))
        object.__setattr__(self, "gap_below", _unit(self.gap_below, "gap_below"))
        object.__setattr__(self, "surprising_min_overall", _unit(self.surprising_min_overall, "surprising_min_overall"))
        share = _unit(self.surprising_transfer_share, "surprising_transfer_share")
        if share == 0.0:
            raise FitInputError("surprising_transfer_share must lie in (0, 1]")
        object.__setattr__(self, "surprising_transfer_share", share)

    def weight(self, component: FitComponent | str) -> float:
        """The configured weight of ``component`` (0 when the profile gives none)."""
        return self.weights[FitComponent(component)]


# --- inputs: the candidate and the transfer table -------------------------------------------------


@dataclass(frozen=True)
class CandidateSkill:
    """A skill the candidate holds at level 1..5, with its source and the evidence text to quote.

    A skill may appear several times (one per source); the line uses the entry giving the most credit.
    """

    skill: str
    level: int
    source: EvidenceSource = EvidenceSource.CV
    evidence: str = ""

    def __post_init__(self) -> None:
        _text(self.skill, "candidate skill")
        _integer(self.level, MIN_SKILL_LEVEL, MAX_SKILL_LEVEL, f"{self.skill}: level")
        try:
            source = EvidenceSource(self.source)
        except ValueError:
            choices = ", ".join(EvidenceSource)
            raise FitInputError(f"{self.skill}: unknown evidence source {self.source!r} ({choices})") from None
        object.__setattr__(self, "source", source)
        if not isinstance(self.evidence, str):
            raise FitInputError(f"{self.skill}: evidence must be text")


@dataclass(frozen=True)
class EducationRecord:
    """An education level 0..8 (ISCED-based scale); only completed records count."""

    level: int
    field: str = ""
    completed: bool = True
    text: str = ""

    def __post_init__(self) -> None:
        _integer(self.level, MIN_EDUCATION_LEVEL, MAX_EDUCATION_LEVEL, "education level")
        _flag(self.completed, "education completed")
        if not isinstance(self.field, str) or not isinstance(self.text, str):
            raise FitInputError("education field and text must be text")


@dataclass(frozen=True)
class Job:
    """A job: its ESCO occupation (or None), NACE section (or None), years (>= 0) and FTE in [0, 1].

    The caller computes ``years`` from the dates; this module has no clock.
    """

    title: str
    occupation: Occupation | None
    industry: str | None
    years: float
    fte: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.title, str):
            raise FitInputError("a job title must be text")
        if self.occupation is not None and not isinstance(self.occupation, Occupation):
            raise FitInputError(f"{self.title}: occupation must be an Occupation or None")
        if self.industry is not None:
            _industry(self.industry, f"{self.title}: industry")
        object.__setattr__(self, "years", _non_negative(self.years, f"{self.title}: years"))
        fte = _number(self.fte, f"{self.title}: fte")
        if not 0.0 <= fte <= 1.0:
            raise FitInputError(f"{self.title}: fte must lie in [0, 1], got {fte}")
        object.__setattr__(self, "fte", fte)


@dataclass(frozen=True)
class CandidateProfile:
    """Skills, education, jobs and the competencies' provisional scores (POMP in [0, 1], or None).

    There is deliberately no field for demographic data.
    """

    skills: tuple[CandidateSkill, ...] = ()
    education: tuple[EducationRecord, ...] = ()
    jobs: tuple[Job, ...] = ()
    pomp: Mapping[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", _tuple_of(self.skills, CandidateSkill, "candidate skills"))
        object.__setattr__(self, "education", _tuple_of(self.education, EducationRecord, "education"))
        object.__setattr__(self, "jobs", _tuple_of(self.jobs, Job, "jobs"))
        if not isinstance(self.pomp, Mapping):
            raise FitInputError("pomp must map competency -> provisional score or None")
        scores: dict[str, float | None] = {}
        for competency, value in self.pomp.items():
            _text(competency, "competency")
            if value is None:
                scores[competency] = None
                continue
            number = _number(value, f"{competency}: POMP")
            if not 0.0 <= number <= 1.0:
                raise FitInputError(f"{competency}: POMP must lie in [0, 1], got {number}")
            scores[competency] = number
        object.__setattr__(self, "pomp", MappingProxyType(scores))


@dataclass(frozen=True)
class TransferRow:
    """A reviewed, directed transfer ``from_skill -> to_skill`` with credit in [0, 1] and its rationale.

    ``reviewed_on`` is an ISO date as text (not parsed). A missing row means no credit.
    """

    from_skill: str
    to_skill: str
    credit: float
    rationale: str
    source: str
    reviewer: str
    reviewed_on: str

    def __post_init__(self) -> None:
        for name in ("from_skill", "to_skill", "rationale", "source", "reviewer", "reviewed_on"):
            _text(getattr(self, name), f"transfer row {name}")
        if self.from_skill == self.to_skill:
            raise FitInputError(f"a transfer row cannot lead from {self.from_skill} to itself")
        credit = _unit(self.credit, f"transfer {self.from_skill} -> {self.to_skill}: credit")
        object.__setattr__(self, "credit", credit)


# --- outputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitLine:
    """One row of a component's table: requirement -> evidence -> source -> credit -> rule.

    For skill and competency lines ``weight`` is the requirement's weight w_r and ``credit`` in [0, 1].
    For experience lines (one per job) ``weight`` is ``years x fte`` and ``credit`` the relevance, so
    ``contribution`` is the job's relevant years. ``transfer`` is the winning row of a transfer path.
    """

    component: FitComponent
    key: str
    requirement: str
    evidence: str
    source: str
    credit: float
    path: FitPath
    text: str
    weight: float = 1.0
    knockout: bool = False
    transfer: TransferRow | None = None
    evidence_skill: str | None = None
    evidence_level: int | None = None

    @property
    def contribution(self) -> float:
        """``weight x credit`` (weighted credit; relevant years for a job)."""
        return self.weight * self.credit


@dataclass(frozen=True)
class ComponentResult:
    """One component: configured and effective (rescaled) weight, value (None when not counted), lines."""

    name: FitComponent
    status: ComponentStatus
    weight: float
    effective_weight: float
    value: float | None
    lines: tuple[FitLine, ...]
    rule_text: str

    @property
    def used(self) -> bool:
        """True when the component counts in the overall."""
        return self.status is ComponentStatus.SCORED

    @property
    def contribution(self) -> float:
        """``effective_weight x value`` (0 when unused)."""
        return 0.0 if self.value is None else self.effective_weight * self.value


@dataclass(frozen=True)
class Gate:
    """A knockout requirement's status. Listed apart; a gate never changes the score."""

    component: FitComponent
    key: str
    name: str
    status: GateStatus
    message: str

    @property
    def met(self) -> bool:
        """True only when the requirement is met (not when it is not yet assessed)."""
        return self.status is GateStatus.MET


@dataclass(frozen=True)
class Gap:
    """A line (``key``) or a whole component (``key`` None) below target, with the overall's exact gain."""

    component: FitComponent
    key: str | None
    requirement: str
    credit: float
    gain: float
    text: str


@dataclass(frozen=True)
class FitResult:
    """The fit with its full breakdown; ``overall`` is exact, ``overall_display`` an int 0..100."""

    overall: float
    overall_display: int
    overall_text: str
    components: tuple[ComponentResult, ...]
    gates: tuple[Gate, ...]
    gaps: tuple[Gap, ...]
    transfer_share: float
    surprising: bool
    surprising_paths: tuple[FitLine, ...]
    surprising_text: str
    not_assessed: tuple[str, ...]
    algorithm_version: str = ALGORITHM_VERSION

    def component(self, name: FitComponent | str) -> ComponentResult:
        """The result of one component by name."""
        wanted = FitComponent(name)
        return next(result for result in self.components if result.name is wanted)

    @property
    def gates_met(self) -> bool:
        """True when every gate is met (also when there is none)."""
        return all(gate.met for gate in self.gates)


# --- occupation relevance -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Relevance:
    value: float
    path: FitPath
    text: str


def occupation_relevance(target: Occupation, other: Occupation | None) -> float:
    """Relevance of work in ``other`` to the ``target`` occupation, from ESCO data.

    1.0 for the same ESCO occupation (URI), 0.8 for the same ISCO unit group, otherwise
    ``min(0.8, 0.2 + 0.6 x shared / essential)`` where ``shared`` counts the target's essential skills
    that ``other`` lists (essential or optional); 0.2 when ``other`` is None (general work habits) or
    the target lists no essential skill. Raises FitInputError unless both are Occupations (or None).
    """
    return _relevance(target, other).value


def _relevance(target: Occupation, other: Occupation | None) -> _Relevance:
    if not isinstance(target, Occupation) or (other is not None and not isinstance(other, Occupation)):
        raise FitInputError("occupation_relevance takes Occupation objects (other may be None)")
    if other is None:
        return _Relevance(GENERAL_WORK, FitPath.UNKNOWN_OCCUPATION, "occupation unknown: 0.2 (general work habits)")
    if other.uri == target.uri:
        return _Relevance(SAME_OCCUPATION, FitPath.SAME_OCCUPATION, "same ESCO occupation: 1.0")
    if target.isco_code is not None and other.isco_code == target.isco_code:
        return _Relevance(SAME_ISCO_GROUP, FitPath.SAME_ISCO_GROUP, f"same ISCO unit group {target.isco_code}: 0.8")
    total = len(target.essential)
    shared = len(target.essential & other.all_skills)
    value = min(OVERLAP_MAX, GENERAL_WORK + SKILL_OVERLAP_SLOPE * shared / total) if total else GENERAL_WORK
    text = f"other occupation: 0.2 + 0.6 x {shared}/{total} essential skills shared = {_fmt(value)}"
    return _Relevance(value, FitPath.SKILL_OVERLAP, text)


# --- the fit --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """A component computed before weighting."""

    status: ComponentStatus
    value: float | None
    lines: tuple[FitLine, ...]
    rule_text: str


def compute_fit(
    position: PositionProfile,
    candidate: CandidateProfile,
    transfers: Iterable[TransferRow] = (),
    *,
    labels: Mapping[str, str] | None = None,
) -> FitResult:
    """The fit of ``candidate`` to ``position`` with every credit traced (§4.4, DECISIONS).

    ``transfers`` are the reviewed transfer rows (directed; unique per ``(from_skill, to_skill)``);
    ``labels`` maps skill and competency ids to the names printed in the texts (default: the id).
    Raises FitInputError for wrong input types or duplicate transfer rows, and InsufficientDataError
    when no used component carries weight (e.g. only people skills, not yet assessed).
    """
    if not isinstance(position, PositionProfile) or not isinstance(candidate, CandidateProfile):
        raise FitInputError("compute_fit takes a PositionProfile and a CandidateProfile")
    if labels is not None and not isinstance(labels, Mapping):
        raise FitInputError("labels must map skill and competency ids to names")
    names: Mapping[str, str] = {} if labels is None else labels
    table = _transfer_table(transfers)
    experience = _experience(position, candidate)
    parts = {
        FitComponent.REQUIRED_SKILLS: _skills(
            FitComponent.REQUIRED_SKILLS, position.required_skills, candidate, table, names
        ),
        FitComponent.DESIRED_SKILLS: _skills(
            FitComponent.DESIRED_SKILLS, position.desired_skills, candidate, table, names
        ),
        FitComponent.PEOPLE_SKILLS: _people(position, candidate, names),
        FitComponent.EDUCATION: _education(position, candidate, experience.excess_years),
        FitComponent.EXPERIENCE: experience.part,
        FitComponent.INDUSTRY: _industry_part(position, candidate),
    }
    used_weight = math.fsum(position.weight(name) for name, part in parts.items() if _counts(part))
    if not used_weight > 0.0:
        raise InsufficientDataError("no component used by this position carries weight: nothing to score")
    components = tuple(
        ComponentResult(
            name=name,
            status=part.status,
            weight=position.weight(name),
            effective_weight=position.weight(name) / used_weight if _counts(part) else 0.0,
            value=part.value if _counts(part) else None,
            lines=part.lines,
            rule_text=part.rule_text,
        )
        for name, part in parts.items()
    )
    weighted = math.fsum(position.weight(c.name) * c.value for c in components if c.value is not None)
    overall = _clip(weighted / used_weight)
    skill_lines = parts[FitComponent.REQUIRED_SKILLS].lines + parts[FitComponent.DESIRED_SKILLS].lines
    total_credit = math.fsum(line.contribution for line in skill_lines)
    transfer_lines = tuple(line for line in skill_lines if line.path is FitPath.TRANSFER)
    transfer_credit = math.fsum(line.contribution for line in transfer_lines)
    transfer_share = _clip(transfer_credit / total_credit) if total_credit > 0 else 0.0
    surprising, surprising_text = _surprising(position, experience.jobs_in_occupation, parts, overall, transfer_share)
    display = round(round_half_up(overall, 2) * 100)
    terms = " + ".join(f"{_fmt(position.weight(c.name))}x{_fmt(c.value)}" for c in components if c.value is not None)
    overall_text = (
        f"Overall = ({terms}) / {_fmt(used_weight)} = {_fmt(overall)} (shown {display})"
        if not math.isclose(used_weight, 1.0, abs_tol=WEIGHT_SUM_TOLERANCE)
        else f"Overall = {terms} = {_fmt(overall)} (shown {display})"
    )
    return FitResult(
        overall=overall,
        overall_display=display,
        overall_text=overall_text,
        components=components,
        gates=_gates(position, candidate, parts, experience.capped_years),
        gaps=_gaps(position, components, used_weight),
        transfer_share=transfer_share,
        surprising=surprising,
        surprising_paths=transfer_lines if surprising else (),
        surprising_text=surprising_text,
        not_assessed=tuple(c.competency for c in position.competencies if candidate.pomp.get(c.competency) is None),
    )


def _counts(part: _Part) -> bool:
    return part.status is ComponentStatus.SCORED


def _transfer_table(transfers: Iterable[TransferRow]) -> dict[str, list[TransferRow]]:
    """Rows by target skill; raises FitInputError for a non-row or a duplicate (from, to) pair."""
    seen: set[tuple[str, str]] = set()
    table: dict[str, list[TransferRow]] = {}
    if isinstance(transfers, TransferRow) or not isinstance(transfers, Iterable):
        raise FitInputError("transfers must be an iterable of TransferRow objects")
    for row in transfers:
        if not isinstance(row, TransferRow):
            raise FitInputError(f"transfers must be TransferRow objects, got {type(row).__name__}")
        pair = (row.from_skill, row.to_skill)
        if pair in seen:
            raise FitInputError(f"duplicate transfer row {row.from_skill} -> {row.to_skill}")
        seen.add(pair)
        table.setdefault(row.to_skill, []).append(row)
    return table


def _skills(
    component: FitComponent,
    requirements: tuple[SkillRequirement, ...],
    candidate: CandidateProfile,
    table: Mapping[str, list[TransferRow]],
    labels: Mapping[str, str],
) -> _Part:
    kind = "required" if component is FitComponent.REQUIRED_SKILLS else "desired"
    symbol = "C_req" if component is FitComponent.REQUIRED_SKILLS else "C_des"
    if not requirements:
        return _Part(
            ComponentStatus.NOT_USED,
            None,
            (),
            f"not used: the position lists no {kind} skills, so its weight is shared among the other components",
        )
    lines = tuple(_skill_line(component, requirement, candidate, table, labels) for requirement in requirements)
    value = _weighted_mean(lines)
    return _Part(ComponentStatus.SCORED, value, lines, _mean_text(symbol, lines, value))


def _skill_line(
    component: FitComponent,
    requirement: SkillRequirement,
    candidate: CandidateProfile,
    table: Mapping[str, list[TransferRow]],
    labels: Mapping[str, str],
) -> FitLine:
    target = requirement.skill
    minimum = requirement.min_level
    label = labels.get(target, target)
    requirement_text = f"{label} (min level {minimum})"
    # Direct: the best entry of the skill itself (stronger source, then input order, between equals).
    direct: tuple[float, CandidateSkill] | None = None
    for held in candidate.skills:
        if held.skill == target:
            credit = min(1.0, held.level / minimum)
            if direct is None or _better(credit, held, *direct):
                direct = (credit, held)
    # Transfer: the best row x level over the candidate's other skills.
    transfer: tuple[float, CandidateSkill, TransferRow] | None = None
    rows = {row.from_skill: row for row in table.get(target, ())}
    for held in candidate.skills:
        row = rows.get(held.skill)
        if row is None:
            continue
        credit = row.credit * min(1.0, held.level / minimum)
        if transfer is None or _better(credit, held, transfer[0], transfer[1]):
            transfer = (credit, held, row)
    direct_credit = 0.0 if direct is None else direct[0]
    transfer_credit = 0.0 if transfer is None else transfer[0]
    if direct is not None and direct_credit > 0.0 and direct_credit >= transfer_credit:
        credit, held = direct
        text = (
            f"{_capital(label)} (min level {minimum}): level {held.level} ({_SOURCE_LABEL[held.source]}), "
            f"direct: min(1, {held.level}/{minimum}) = {credit:.2f}"
        )
        if transfer is not None and transfer_credit == direct_credit:
            text += "; a transfer path gives the same credit, the direct path is preferred"
        return FitLine(
            component=component,
            key=target,
            requirement=requirement_text,
            evidence=_skill_evidence(held, labels),
            source=str(held.source),
            credit=credit,
            path=FitPath.DIRECT,
            text=text,
            weight=requirement.weight,
            knockout=requirement.knockout,
            evidence_skill=held.skill,
            evidence_level=held.level,
        )
    if transfer is not None and transfer_credit > 0.0:
        credit, held, row = transfer
        from_label = labels.get(held.skill, held.skill)
        text = (
            f"{_capital(label)} credited {credit:.2f} via '{from_label}' (level {held.level}, "
            f"{_SOURCE_LABEL[held.source]}). Transfer {_fmt(row.credit)}: {row.rationale} "
            f"({row.source}, reviewed by {row.reviewer} on {row.reviewed_on}). "
            f"Credit = {_fmt(row.credit)} x min(1, {held.level}/{minimum}) = {credit:.2f}"
        )
        if direct is not None:
            text += f"; direct evidence (level {direct[1].level}) gives only {direct_credit:.2f}"
        return FitLine(
            component=component,
            key=target,
            requirement=requirement_text,
            evidence=_skill_evidence(held, labels),
            source=str(held.source),
            credit=credit,
            path=FitPath.TRANSFER,
            text=text,
            weight=requirement.weight,
            knockout=requirement.knockout,
            transfer=row,
            evidence_skill=held.skill,
            evidence_level=held.level,
        )
    return FitLine(
        component=component,
        key=target,
        requirement=requirement_text,
        evidence="no evidence",
        source="",
        credit=0.0,
        path=FitPath.NONE,
        text=f"{_capital(label)} (min level {minimum}): no evidence of this skill and no reviewed transfer "
        "row from the candidate's skills: 0.00",
        weight=requirement.weight,
        knockout=requirement.knockout,
    )


def _better(credit: float, held: CandidateSkill, best_credit: float, best: CandidateSkill) -> bool:
    """True when ``held`` beats the best so far: more credit, then stronger evidence, else keep the first."""
    if credit != best_credit:
        return credit > best_credit
    return _SOURCE_RANK[held.source] < _SOURCE_RANK[best.source]


def _skill_evidence(held: CandidateSkill, labels: Mapping[str, str]) -> str:
    name = labels.get(held.skill, held.skill)
    base = f"'{name}' level {held.level} ({_SOURCE_LABEL[held.source]})"
    return f"{base}: {held.evidence}" if held.evidence else base


def _people(position: PositionProfile, candidate: CandidateProfile, labels: Mapping[str, str]) -> _Part:
    if not position.competencies:
        return _Part(
            ComponentStatus.NOT_USED,
            None,
            (),
            "not used: the position lists no people skills, so its weight is shared among the other components",
        )
    lines: list[FitLine] = []
    for requirement in position.competencies:
        key = requirement.competency
        label = labels.get(key, key)
        minimum = requirement.min_pomp
        score = candidate.pomp.get(key)
        requirement_text = f"{label} (minimum {_fmt(minimum)})"
        if score is None:
            lines.append(
                FitLine(
                    component=FitComponent.PEOPLE_SKILLS,
                    key=key,
                    requirement=requirement_text,
                    evidence="not yet assessed",
                    source="",
                    credit=0.0,
                    path=FitPath.NOT_ASSESSED,
                    text=f"{_capital(label)} (minimum {_fmt(minimum)}): not yet assessed: 0.00",
                    weight=requirement.weight,
                    knockout=requirement.knockout,
                )
            )
            continue
        credit = min(1.0, score / minimum)
        lines.append(
            FitLine(
                component=FitComponent.PEOPLE_SKILLS,
                key=key,
                requirement=requirement_text,
                evidence=f"provisional score {_fmt(score)}",
                source=str(EvidenceSource.ASSESSMENT),
                credit=credit,
                path=FitPath.MEASURED,
                text=f"{_capital(label)} (minimum {_fmt(minimum)}): provisional score {_fmt(score)}, "
                f"min(1, {_fmt(score)}/{_fmt(minimum)}) = {credit:.2f}",
                weight=requirement.weight,
                knockout=requirement.knockout,
            )
        )
    if all(line.path is FitPath.NOT_ASSESSED for line in lines):
        return _Part(
            ComponentStatus.NOT_YET_ASSESSED,
            None,
            tuple(lines),
            "not yet assessed: no people skill of this position has a score yet, so the component is left "
            "out (not counted as 0) and its weight is shared among the other components",
        )
    value = _weighted_mean(lines)
    text = _mean_text("C_ppl", lines, value)
    if any(line.path is FitPath.NOT_ASSESSED for line in lines):
        text += "; a competency not yet assessed counts 0"
    return _Part(ComponentStatus.SCORED, value, tuple(lines), text)


@dataclass(frozen=True)
class _Experience:
    part: _Part
    capped_years: float
    excess_years: float
    jobs_in_occupation: bool


def _experience(position: PositionProfile, candidate: CandidateProfile) -> _Experience:
    """Relevant years over every job (also used by education's substitution and the flag)."""
    target = position.occupation
    lines: list[FitLine] = []
    in_occupation = False
    for index, job in enumerate(candidate.jobs, start=1):
        if target is None:
            relevance = _Relevance(1.0, FitPath.ANY_WORK, "the position names no occupation: all work counts 1.0")
        else:
            relevance = _relevance(target, job.occupation)
            in_occupation |= relevance.path in (FitPath.SAME_OCCUPATION, FitPath.SAME_ISCO_GROUP)
        fte_years = job.years * job.fte
        years = fte_years * relevance.value
        lines.append(
            FitLine(
                component=FitComponent.EXPERIENCE,
                key=f"job {index}",
                requirement=job.title,
                evidence=f"{_fmt(job.years)} years at {_fmt(job.fte)} FTE"
                + (f", industry {job.industry}" if job.industry else ""),
                source="",
                credit=relevance.value,
                path=relevance.path,
                text=f"{job.title}: {_fmt(job.years)} years x {_fmt(job.fte)} FTE x {_fmt(relevance.value)} "
                f"({relevance.text}) = {_fmt(years)} relevant years",
                weight=fte_years,
            )
        )
    relevant = math.fsum(line.contribution for line in lines)
    requirement = position.experience
    minimum = 0.0 if requirement is None else requirement.min_years
    cap = None if requirement is None else requirement.cap_years
    capped = relevant if cap is None else min(relevant, cap)
    excess = max(0.0, capped - minimum)
    if requirement is None:
        part = _Part(ComponentStatus.NOT_USED, None, (), "not used: the position sets no experience requirement")
        return _Experience(part, capped, excess, in_occupation)
    value = 1.0 if minimum == 0 else _clip(min(1.0, capped / minimum))
    cap_text = "" if cap is None else f", capped at {_fmt(cap)}: {_fmt(capped)}"
    if minimum == 0:
        rule = f"relevant years = {_fmt(relevant)}{cap_text}; no minimum, so C_exp = 1"
    else:
        ratio = f"min(1, {_fmt(capped)}/{_fmt(minimum)})"
        rule = f"relevant years = {_fmt(relevant)}{cap_text}; C_exp = {ratio} = {_fmt(value)}"
    part = _Part(ComponentStatus.SCORED, value, tuple(lines), rule)
    return _Experience(part, capped, excess, in_occupation)


def _education(position: PositionProfile, candidate: CandidateProfile, excess_years: float) -> _Part:
    requirement = position.education
    if requirement is None:
        return _Part(ComponentStatus.NOT_USED, None, (), "not used: the position sets no education requirement")
    completed = [record for record in candidate.education if record.completed]
    best = max(completed, key=lambda record: record.level, default=None)
    level = 0 if best is None else best.level
    evidence = "no completed education recorded (level 0)" if best is None else _education_evidence(best)
    minimum = requirement.min_level
    gap = max(0, minimum - level)
    per_level = requirement.substitution_years_per_level
    without = max(0.0, 1.0 - EDUCATION_PENALTY_PER_LEVEL * gap)
    head = f"Level {level} vs required {minimum}"
    if gap == 0:
        value, path, text = 1.0, FitPath.MET, f"{head}: met"
    elif per_level is not None and (substituted := min(gap, _floor(excess_years / per_level))) > 0:
        value = max(0.0, 1.0 - EDUCATION_PENALTY_PER_LEVEL * (gap - substituted))
        path = FitPath.SUBSTITUTION
        text = (
            f"{head}; {_fmt(excess_years)} extra years of relevant experience substituted for {substituted} "
            f"level{'s' if substituted > 1 else ''} ({_fmt(per_level)} years per level): "
            f"1 - 0.25 x max(0, {gap} - {substituted}) = {_fmt(value)} (without it: {_fmt(without)})"
        )
    else:
        value, path = without, FitPath.SHORTFALL
        text = f"{head}: {gap} level{'s' if gap > 1 else ''} short, 1 - 0.25 x {gap} = {_fmt(value)}"
        if per_level is not None:
            text += f" ({_fmt(excess_years)} extra years of relevant experience; {_fmt(per_level)} needed per level)"
    line = FitLine(
        component=FitComponent.EDUCATION,
        key="education",
        requirement=f"education level {minimum}",
        evidence=evidence,
        source="",
        credit=value,
        path=path,
        text=text,
        knockout=requirement.knockout,
    )
    return _Part(ComponentStatus.SCORED, value, (line,), f"C_edu = {_fmt(value)}: {text}")


def _education_evidence(record: EducationRecord) -> str:
    detail = record.text or record.field
    return f"level {record.level}" + (f" ({detail})" if detail else "")


def _industry_part(position: PositionProfile, candidate: CandidateProfile) -> _Part:
    requirement = position.industry
    if requirement is None or requirement.mode is IndustryMode.NONE:
        return _Part(ComponentStatus.NOT_USED, None, (), "not used: the position does not weigh industry")
    preferred = ", ".join(sorted(requirement.preferred))
    matches = [job for job in candidate.jobs if job.industry in requirement.preferred]
    if matches:
        evidence = "; ".join(f"{job.title} ({job.industry})" for job in matches)
        value, path, text = 1.0, FitPath.MATCH, f"a job in a preferred section ({preferred}): {evidence}: 1"
    else:
        held = sorted({job.industry for job in candidate.jobs if job.industry})
        evidence = "jobs in " + ", ".join(held) if held else "no job with a known industry"
        value, path, text = 0.0, FitPath.NO_MATCH, f"no job in a preferred section ({preferred}); {evidence}: 0"
    line = FitLine(
        component=FitComponent.INDUSTRY,
        key="industry",
        requirement=f"preferred industry: {preferred} ({requirement.mode})",
        evidence=evidence,
        source="",
        credit=value,
        path=path,
        text=text,
        knockout=requirement.mode is IndustryMode.REQUIRED,
    )
    return _Part(ComponentStatus.SCORED, value, (line,), f"C_ind = {_fmt(value)}: {text}")


def _gates(
    position: PositionProfile, candidate: CandidateProfile, parts: Mapping[FitComponent, _Part], capped_years: float
) -> tuple[Gate, ...]:
    gates: list[Gate] = []
    for component in (FitComponent.REQUIRED_SKILLS, FitComponent.DESIRED_SKILLS, FitComponent.PEOPLE_SKILLS):
        for line in parts[component].lines:
            if not line.knockout:
                continue
            if line.path is FitPath.NOT_ASSESSED:
                status = GateStatus.NOT_ASSESSED
            else:
                score = candidate.pomp.get(line.key)
                met = (
                    score is not None and score >= _minimum_pomp(position, line.key) - POMP_TOLERANCE
                    if component is FitComponent.PEOPLE_SKILLS
                    else line.credit >= 1.0 - POMP_TOLERANCE
                )
                status = GateStatus.MET if met else GateStatus.NOT_MET
            gates.append(_gate(component, line.key, line.requirement, status))
    education = parts[FitComponent.EDUCATION]
    if position.education is not None and position.education.knockout:
        met = education.value is not None and education.value >= 1.0 - POMP_TOLERANCE
        gates.append(_gate(FitComponent.EDUCATION, "education", education.lines[0].requirement, _status(met)))
    experience = position.experience
    if experience is not None and experience.knockout:
        met = capped_years >= experience.min_years - POMP_TOLERANCE
        name = f"at least {_fmt(experience.min_years)} years of relevant experience"
        gates.append(_gate(FitComponent.EXPERIENCE, "experience", name, _status(met)))
    industry = position.industry
    if industry is not None and industry.mode is IndustryMode.REQUIRED:
        line = parts[FitComponent.INDUSTRY].lines[0]
        gates.append(_gate(FitComponent.INDUSTRY, "industry", line.requirement, _status(line.credit >= 1.0)))
    return tuple(gates)


def _minimum_pomp(position: PositionProfile, competency: str) -> float:
    return next(c.min_pomp for c in position.competencies if c.competency == competency)


def _status(met: bool) -> GateStatus:
    return GateStatus.MET if met else GateStatus.NOT_MET


def _gate(component: FitComponent, key: str, name: str, status: GateStatus) -> Gate:
    message = {
        GateStatus.MET: f"meets mandatory requirement: {name}",
        GateStatus.NOT_MET: f"does not meet mandatory requirement: {name}",
        GateStatus.NOT_ASSESSED: f"mandatory requirement not yet assessed: {name}",
    }[status]
    return Gate(component=component, key=key, name=name, status=status, message=message)


_LINE_GAP_COMPONENTS: Final = (FitComponent.REQUIRED_SKILLS, FitComponent.DESIRED_SKILLS, FitComponent.PEOPLE_SKILLS)


def _gaps(position: PositionProfile, components: tuple[ComponentResult, ...], used_weight: float) -> tuple[Gap, ...]:
    gaps: list[Gap] = []
    for component in components:
        if component.value is None:
            continue
        weight = position.weight(component.name)
        if component.name in _LINE_GAP_COMPONENTS:
            total = math.fsum(line.weight for line in component.lines)
            for line in component.lines:
                if line.credit < position.gap_below - POMP_TOLERANCE:
                    gain = weight * line.weight * (1.0 - line.credit) / (used_weight * total)
                    text = (
                        f"{line.requirement}: credit {line.credit:.2f}; at 1.00 the overall would rise by {_fmt(gain)}"
                    )
                    gaps.append(Gap(component.name, line.key, line.requirement, line.credit, gain, text))
        elif component.value < 1.0 - POMP_TOLERANCE:
            gain = weight * (1.0 - component.value) / used_weight
            if component.name is FitComponent.EXPERIENCE and position.experience is not None:
                requirement = f"at least {_fmt(position.experience.min_years)} years of relevant experience"
            else:
                requirement = component.lines[0].requirement
            text = f"{component.name}: {_fmt(component.value)}; at 1 the overall would rise by {_fmt(gain)}"
            gaps.append(Gap(component.name, None, requirement, component.value, gain, text))
    return tuple(sorted(gaps, key=lambda gap: -gap.gain))


def _surprising(
    position: PositionProfile,
    in_occupation: bool,
    parts: Mapping[FitComponent, _Part],
    overall: float,
    transfer_share: float,
) -> tuple[bool, str]:
    high = overall >= position.surprising_min_overall - POMP_TOLERANCE
    target = position.occupation
    industry = parts[FitComponent.INDUSTRY]
    other_industry = industry.status is ComponentStatus.SCORED and industry.value == 0.0
    other_background = (target is not None and not in_occupation) or other_industry
    transferred = transfer_share >= position.surprising_transfer_share - POMP_TOLERANCE
    reasons = [
        f"overall {_fmt(overall)} {'>=' if high else '<'} {_fmt(position.surprising_min_overall)}",
        (
            "no job in the position's occupation or ISCO unit group"
            if target is not None and not in_occupation
            else "a job in the position's occupation or ISCO unit group"
            if target is not None
            else "the position names no occupation"
        ),
        "no job in a preferred industry" if other_industry else "industry matched or not used",
        f"transfer share of weighted skill credit {_fmt(transfer_share)} "
        f"{'>=' if transferred else '<'} {_fmt(position.surprising_transfer_share)}",
    ]
    surprising = high and other_background and transferred
    return surprising, ("surprising match: " if surprising else "not a surprising match: ") + "; ".join(reasons)


# --- helpers --------------------------------------------------------------------------------------


def _weighted_mean(lines: tuple[FitLine, ...] | list[FitLine]) -> float:
    return _clip(math.fsum(line.contribution for line in lines) / math.fsum(line.weight for line in lines))


def _mean_text(symbol: str, lines: tuple[FitLine, ...] | list[FitLine], value: float) -> str:
    numerator = " + ".join(f"{_fmt(line.weight)}x{_fmt(line.credit)}" for line in lines)
    denominator = _fmt(math.fsum(line.weight for line in lines))
    return f"{symbol} = sum w x credit / sum w = ({numerator}) / {denominator} = {_fmt(value)}"


def _fmt(value: float, ndigits: int = 4) -> str:
    """``value`` rounded half up to ``ndigits`` decimals, without trailing zeros (1, 0.8, 0.9333)."""
    text = f"{round_half_up(value, ndigits):.{ndigits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _floor(value: float) -> int:
    """``floor`` with a float slack, so that 0.6 / 0.2 = 2.9999999999999996 counts as 3."""
    return math.floor(value + POMP_TOLERANCE)


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


_T = TypeVar("_T")


def _tuple_of(values: Iterable[_T], kind: type[_T], name: str) -> tuple[_T, ...]:
    if isinstance(values, (str, bytes, Mapping)):
        raise FitInputError(f"{name} must be a sequence of {kind.__name__}")
    try:
        items = tuple(values)
    except TypeError:
        raise FitInputError(f"{name} must be a sequence of {kind.__name__}") from None
    for item in items:
        if not isinstance(item, kind):
            raise FitInputError(f"{name} must hold {kind.__name__} objects, got {type(item).__name__}")
    return items


def _unique(keys: list[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise FitInputError(f"duplicate {what}: {key}")
        seen.add(key)


def _weights(given: Mapping[str, float]) -> Mapping[str, float]:
    if not isinstance(given, Mapping):
        raise FitInputError("weights must map component -> weight")
    weights: dict[str, float] = dict.fromkeys(FitComponent, 0.0)
    for name, value in given.items():
        try:
            component = FitComponent(name)
        except ValueError:
            choices = ", ".join(FitComponent)
            raise FitInputError(f"unknown fit component {name!r} in weights ({choices})") from None
        weights[component] = _non_negative(value, f"weight of {component}")
    total = math.fsum(weights.values())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise FitInputError(f"the component weights must sum to 1, got {total}")
    return MappingProxyType(weights)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FitInputError(f"{name} must be non-empty text, got {value!r}")
    return value


def _flag(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise FitInputError(f"{name} must be True or False, got {value!r}")


def _integer(value: object, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FitInputError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _number(value: object, name: str) -> float:
    try:
        return as_finite_float(value, name)  # type: ignore[arg-type]
    except InvalidInputError as error:
        raise FitInputError(str(error)) from None


def _non_negative(value: object, name: str) -> float:
    number = _number(value, name)
    if number < 0:
        raise FitInputError(f"{name} must be >= 0, got {number}")
    return number


def _positive(value: object, name: str) -> float:
    number = _number(value, name)
    if not number > 0:
        raise FitInputError(f"{name} must be > 0, got {number}")
    return number


def _unit(value: object, name: str) -> float:
    number = _number(value, name)
    if not 0.0 <= number <= 1.0:
        raise FitInputError(f"{name} must lie in [0, 1], got {number}")
    return number


def _industry(value: object, name: str) -> str:
    if not isinstance(value, str) or not _NACE_SECTION.fullmatch(value):
        raise FitInputError(f"{name} must be a NACE Rev.2 section letter A-U, got {value!r}")
    return value


def _skill_set(values: object, name: str) -> frozenset[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise FitInputError(f"{name} must be a set of skill ids")
    result = frozenset(values)
    for skill in result:
        _text(skill, name)
    return result
