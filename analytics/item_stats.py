"""Reads for the analytics pages: an assessment's completed attempts under one score version, their score
distributions, reliability per scope, the A6 item analysis, and the norm tables frozen so far.

Every number comes from ``scoring`` (scoring.md A4-A6) applied to the stored scores (``AttemptResult``);
this module only gathers and labels. All reads start from an assessment the caller has already loaded
through the tenant scope, and filter on its id and agency.

Choices where the spec and the brief are silent:

- "Completed" means submitted and scored under the score version the assessment shows
  (``Assessment.score_version``, or the algorithm version when None: as scored at submission).
- A scope is "overall" or a competency the assessment reports. Its items are those with a positive
  weight on it; alpha and the item analysis use their item POMPs, unweighted (A5: alpha is on the item
  matrix), with listwise deletion, on every completed attempt of the form.
- A reliability that cannot be computed (fewer than 2 items or 2 complete attempts, or everyone with the
  same total) is stored with alpha, low and high None and status "none".
- Option statistics use each attempt's latest saved answer; an answer that is incomplete, or no longer
  fits its item, counts as blank. The expert panel's agreement (ICC) is computed only when at least two
  experts rated every option; response times come from the "time" signals of the candidate's page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from markupsafe import Markup
from sqlalchemy import and_, func, select

import scoring
from accounts.models import User
from analytics import charts
from assessments import delivery, scoring_adapter
from assessments import services as assessment_services
from assessments.models import Answer, Assessment, Attempt, AttemptResult, Invitation, NormTable
from candidates.models import Candidate
from database import db
from scenarios.models import ResponseFormat, ScenarioVersion
from scoring.reliability import RELIABILITY_ESTABLISHED_N, RELIABILITY_MIN_N

__all__ = [
    "FLAG_WORDS",
    "OVERALL",
    "PICK_WORDS",
    "AnalyticsPage",
    "CompletedAttempt",
    "ItemAnalysisView",
    "ItemRow",
    "NormScopeRow",
    "NormTableRow",
    "OptionRow",
    "ScopeReliability",
    "ScopeSummary",
    "ScoreScope",
    "analytics_page",
    "completed_attempts",
    "current_score_version",
    "item_analysis",
    "item_matrix",
    "norm_table_rows",
    "reliability_label",
    "scope_reliability",
    "scope_scores",
    "score_scopes",
    "small_group_label",
]

OVERALL: Final = "overall"
"""The scope of the overall score; the other scopes are competency codes."""

SMALL_NORM_GROUP_N: Final = 100
"""DECISIONS: a norm table of fewer than 100 attempts is labelled "small norm group (N = ...)"."""

FLAG_WORDS: Final[Mapping[scoring.ItemFlag, str]] = {
    scoring.ItemFlag.TOO_EASY: "Too easy: almost everyone scores full marks (mean above 0.95).",
    scoring.ItemFlag.TOO_HARD: "Too hard: hardly anyone picks the keyed answer (mean below 0.10).",
    scoring.ItemFlag.LOW_ITEM_TOTAL_R: "Weak link with the rest of the test (item-total r below .10): review it.",
    scoring.ItemFlag.NEGATIVE_ITEM_TOTAL_R: (
        "Runs against the rest of the test (item-total r below 0): revise or remove it."
    ),
    scoring.ItemFlag.ALPHA_RISES_IF_DELETED: "Reliability would rise by more than .01 without this item.",
    scoring.ItemFlag.LOW_UPPER_LOWER_D: (
        "Does not separate high from low scorers (upper-lower index below .10: top 27% against bottom 27%)."
    ),
    scoring.ItemFlag.NON_FUNCTIONING_DISTRACTOR: "A wrong option almost nobody chooses (under 5%): it does no work.",
    scoring.ItemFlag.KEY_CHECK: (
        "Check the key: a wrong option is chosen more often, or by stronger candidates, than the keyed one, "
        "or a rating runs against its key."
    ),
    scoring.ItemFlag.MIDRANGE: (
        "Middle-of-the-range item: a candidate for removal to shorten the test, if validity data agree."
    ),
    scoring.ItemFlag.KEY_UNCERTAIN: "The experts disagree on an option's effectiveness (key SD above 1.0).",
    scoring.ItemFlag.LOW_SME_AGREEMENT: "Low agreement among the experts who keyed it (ICC(2,k) below .70).",
    scoring.ItemFlag.SUBGROUP_DIFFERENCE: "Groups score differently on this item (|d| above 0.5): panel review.",
    scoring.ItemFlag.DIF: "Works differently for groups of equal overall score (Mantel-Haenszel): panel review.",
    scoring.ItemFlag.FAST_RESPONSES: "Answered fast (median under 5 seconds): possible careless responding.",
    scoring.ItemFlag.ZERO_VARIANCE: "Everyone scored the same, so some statistics cannot be computed.",
    scoring.ItemFlag.TOO_FEW_RESPONDENTS: "Too few candidates to compute some statistics.",
    scoring.ItemFlag.TOO_FEW_ITEMS: "Too few items to compute reliability without this one.",
}
"""Every A6 flag in plain words (scoring.md A6's table; the last three name statistics that are undefined)."""

PICK_WORDS: Final[Mapping[str, str]] = {
    "best": "chosen as best",
    "most": "chosen as most effective",
    "least": "chosen as least effective",
    "rating": "rated",
}

SAMPLE_WORDS: Final[Mapping[scoring.ItemSampleStatus, str]] = {
    scoring.ItemSampleStatus.BELOW_MINIMUM: (
        "too few to judge. The flags are shown, but item statistics need at least 100 candidates to be stable."
    ),
    scoring.ItemSampleStatus.PROVISIONAL: "provisional flags; decisions about items need 200 or more.",
    scoring.ItemSampleStatus.SUFFICIENT_FOR_DECISIONS: "enough for decisions about items.",
}


# --- Completed attempts --------------------------------------------------------------------------


@dataclass(frozen=True)
class CompletedAttempt:
    """A submitted attempt scored under one score version: its provisional scores (POMP 0-1)."""

    id: int
    public_id: str
    candidate_name: str
    submitted_at: datetime
    overall: float | None
    competencies: Mapping[str, float]
    item_pomps: Mapping[int, float]
    item_order: tuple[int, ...]


@dataclass(frozen=True)
class ScoreScope:
    """ "overall" or a reported competency, with the scenario versions (items) that count towards it."""

    code: str
    name: str
    version_ids: tuple[int, ...]


def current_score_version(assessment: Assessment) -> str:
    """The score version the assessment's pages show: its own, or the algorithm's (as scored at submission)."""
    return assessment.score_version or scoring_adapter.ALGORITHM_VERSION


def completed_attempts(assessment: Assessment, score_version: str) -> list[CompletedAttempt]:
    """The assessment's submitted attempts scored under ``score_version``, oldest first."""
    rows = db.session.execute(
        select(Attempt, AttemptResult, Candidate.name)
        .join(Invitation, Invitation.id == Attempt.invitation_id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .join(
            AttemptResult,
            and_(AttemptResult.attempt_id == Attempt.id, AttemptResult.score_version == score_version),
        )
        .where(
            Invitation.assessment_id == assessment.id,
            Attempt.agency_id == assessment.agency_id,
            Attempt.submitted_at.is_not(None),
        )
        .order_by(Attempt.submitted_at, Attempt.id)
    ).all()
    found = []
    for attempt, result, name in rows:
        assert attempt.submitted_at is not None  # filtered above
        detail = result.detail if isinstance(result.detail, Mapping) else {}
        found.append(
            CompletedAttempt(
                id=attempt.id,
                public_id=attempt.public_id,
                candidate_name=name,
                submitted_at=attempt.submitted_at,
                overall=_pomp_or_none(result.overall_pomp),
                competencies=scoring_adapter.competency_pomp(detail),
                item_pomps=_item_pomps(detail),
                item_order=tuple(v for v in attempt.item_order if isinstance(v, int)),
            )
        )
    return found


def _pomp_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def _item_pomps(detail: Mapping[str, Any]) -> dict[int, float]:
    """Version id -> item POMP from a stored detail; unanswered items and malformed rows are left out."""
    pomps: dict[int, float] = {}
    rows = detail.get("items")
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, Mapping):
            continue
        version_id, value = row.get("version_id"), _pomp_or_none(row.get("pomp"))
        if isinstance(version_id, int) and not isinstance(version_id, bool) and value is not None:
            pomps[version_id] = value
    return pomps


def score_scopes(assessment: Assessment) -> list[ScoreScope]:
    """ "overall" (every scored item) and each reported competency (items weighted on it), in report order."""
    versions = [item.version for item in assessment.items]
    scopes = [ScoreScope(OVERALL, "Overall", tuple(v.id for v in versions))]
    for competency in assessment.reported:
        ids = tuple(v.id for v in versions if any(w.competency_id == competency.id and w.weight > 0 for w in v.weights))
        scopes.append(ScoreScope(competency.code, competency.name, ids))
    return scopes


def scope_scores(attempts: Sequence[CompletedAttempt], scope: str) -> list[float]:
    """The provisional scores (POMP 0-1) of the attempts that have one in the scope, in attempt order."""
    if scope == OVERALL:
        return [a.overall for a in attempts if a.overall is not None]
    return [a.competencies[scope] for a in attempts if scope in a.competencies]


def item_matrix(attempts: Sequence[CompletedAttempt], version_ids: Sequence[int]) -> npt.NDArray[np.float64]:
    """Attempts x items matrix of item POMPs, NaN where an item has no score."""
    matrix = np.full((len(attempts), len(version_ids)), np.nan)
    for row, attempt in enumerate(attempts):
        for column, version_id in enumerate(version_ids):
            value = attempt.item_pomps.get(version_id)
            if value is not None:
                matrix[row, column] = value
    return matrix


# --- Reliability ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeReliability:
    """Cronbach's alpha with its 95% Feldt interval on ``n`` complete attempts, and why it is missing."""

    alpha: float | None
    low: float | None
    high: float | None
    n: int
    status: str
    problem: str | None = None

    def stored(self) -> dict[str, Any]:
        """The shape a NormTable keeps: {"alpha", "low", "high", "n", "status"}."""
        return {"alpha": self.alpha, "low": self.low, "high": self.high, "n": self.n, "status": self.status}


def scope_reliability(attempts: Sequence[CompletedAttempt], version_ids: Sequence[int]) -> ScopeReliability:
    """Alpha (scoring.alpha_with_interval, 95%) of the scope's items over the attempts, listwise.

    ``status`` is scoring.classify_reliability_sample of the N used: none (< 100), provisional (< 200),
    established; "none" whenever alpha cannot be computed.
    """
    matrix = item_matrix(attempts, version_ids)
    complete = int((~np.isnan(matrix).any(axis=1)).sum()) if matrix.shape[1] else 0
    none = scoring.ReliabilityStatus.NONE.value
    if len(version_ids) < 2:
        return ScopeReliability(None, None, None, complete, none, "needs at least 2 items")
    try:
        result = scoring.alpha_with_interval(matrix, confidence=0.95)
    except scoring.ZeroVarianceError:
        return ScopeReliability(None, None, None, complete, none, "every candidate has the same total")
    except scoring.InsufficientDataError:
        return ScopeReliability(None, None, None, complete, none, "needs at least 2 attempts with every item answered")
    status = scoring.classify_reliability_sample(result.n).value
    return ScopeReliability(result.alpha, result.lower, result.upper, result.n, status)


def reliability_label(reliability: Mapping[str, Any]) -> str:
    """The status in words, with its N: "not yet established (N = 45; an interval needs 100)", ..."""
    n = reliability.get("n") or 0
    status = reliability.get("status")
    if reliability.get("alpha") is None or status == scoring.ReliabilityStatus.NONE.value:
        return f"not yet established (N = {n}; an interval needs {RELIABILITY_MIN_N})"
    if status == scoring.ReliabilityStatus.PROVISIONAL.value:
        return f"provisional (N = {n}; established from {RELIABILITY_ESTABLISHED_N})"
    return f"established (N = {n})"


def small_group_label(n: int) -> str | None:
    """DECISIONS: "small norm group (N = ...)" below 100 attempts; None from 100."""
    return f"small norm group (N = {n})" if n < SMALL_NORM_GROUP_N else None


# --- Item analysis (A6) --------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionRow:
    """One option under one kind of pick, with its flags in words."""

    label: str
    pick: str
    keyed: bool
    endorsement: float | None
    mean_rating: float | None
    rest_r: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ItemRow:
    """One item's A6 statistics with its flags in words and the scenario it comes from."""

    version: ScenarioVersion
    stats: scoring.ItemStatistics
    flags: tuple[str, ...]
    options: tuple[OptionRow, ...]

    @property
    def flagged(self) -> bool:
        """True when the item carries any flag."""
        return bool(self.flags)


@dataclass(frozen=True)
class ItemAnalysisView:
    """The item analysis of one scope, or the reason there is none (``problem``)."""

    scope: ScoreScope
    n: int
    n_excluded: int
    alpha: float | None
    sample_status: scoring.ItemSampleStatus | None
    rows: tuple[ItemRow, ...]
    problem: str | None = None

    @property
    def has_options(self) -> bool:
        """True when any item has option statistics (rank items have none)."""
        return any(row.options for row in self.rows)

    @property
    def sample_label(self) -> str:
        """ "N = 12: too few to judge. ...", "N = 150: provisional flags; ...", "N = 250: enough for decisions ..."."""
        status = self.sample_status or scoring.ItemSampleStatus.BELOW_MINIMUM
        return f"N = {self.n}: {SAMPLE_WORDS[status]}"


def item_analysis(assessment: Assessment, attempts: Sequence[CompletedAttempt], scope: ScoreScope) -> ItemAnalysisView:
    """scoring.analyze_items on the scope's items over the attempts, with the option and timing data."""
    versions = {item.version.id: item.version for item in assessment.items}
    chosen = [versions[i] for i in scope.version_ids if i in versions]
    empty = ItemAnalysisView(scope, 0, len(attempts), None, None, ())
    if len(chosen) < 2:
        return _with_problem(empty, "The item analysis needs at least 2 items in this scope.")
    if len(attempts) < 2:
        return _with_problem(empty, "The item analysis needs at least 2 completed attempts.")
    answers = _answers([a.id for a in attempts], [v.id for v in chosen])
    times = delivery.item_times([a.id for a in attempts])
    entries = []
    try:
        for version in chosen:
            item = scoring_adapter.keyed_item(version, assessment_services.rule_for(assessment, version))
            responses = tuple(_response(version, answers.get((a.id, version.id))) for a in attempts)
            entries.append(
                scoring.ItemResponses(item, responses, _sme_ratings(version), _seconds(attempts, version.id, times))
            )
        analysis = scoring.analyze_items(item_matrix(attempts, [v.id for v in chosen]), entries)
    except scoring_adapter.NotScorable as error:
        return _with_problem(empty, f"An item cannot be analysed: {error}")
    except scoring.InsufficientDataError:
        return _with_problem(empty, "The item analysis needs at least 2 attempts with every item in this scope scored.")
    except scoring.ScoringError as error:
        return _with_problem(empty, f"The item analysis refused the data: {error}")
    rows = tuple(
        ItemRow(
            version=version,
            stats=stats,
            flags=tuple(FLAG_WORDS[flag] for flag in stats.flags),
            options=tuple(
                OptionRow(
                    label=o.option_id,
                    pick=PICK_WORDS[o.pick],
                    keyed=o.keyed,
                    endorsement=o.endorsement,
                    mean_rating=o.mean_rating,
                    rest_r=o.rest_r,
                    flags=tuple(FLAG_WORDS[flag] for flag in o.flags),
                )
                for o in stats.options
            ),
        )
        for version, stats in zip(chosen, analysis.items, strict=True)
    )
    return ItemAnalysisView(
        scope, analysis.n_respondents, analysis.n_excluded, analysis.alpha, analysis.sample_status, rows
    )


def _with_problem(view: ItemAnalysisView, problem: str) -> ItemAnalysisView:
    return ItemAnalysisView(view.scope, view.n, view.n_excluded, view.alpha, view.sample_status, view.rows, problem)


def _answers(attempt_ids: Sequence[int], version_ids: Sequence[int]) -> dict[tuple[int, int], object]:
    rows = db.session.execute(
        select(Answer.attempt_id, Answer.version_id, Answer.answer).where(
            Answer.attempt_id.in_(attempt_ids), Answer.version_id.in_(version_ids)
        )
    )
    return {(attempt_id, version_id): answer for attempt_id, version_id, answer in rows}


def _response(version: ScenarioVersion, answer: object) -> scoring.Response | None:
    """The library's response for a complete saved answer; None for a blank, partial or unreadable one."""
    if answer is None:
        return None
    try:
        if not scoring_adapter.is_complete(version, answer):
            return None
        normal = scoring_adapter.check_answer(version, answer)
    except scoring_adapter.InvalidAnswer:
        return None
    fmt = ResponseFormat(version.response_format)
    if fmt is ResponseFormat.RATE:
        return scoring.RatingResponse.of(normal["ratings"])
    if fmt is ResponseFormat.RANK:
        return scoring.RankResponse.from_ranks(normal["ranks"])
    if fmt is ResponseFormat.MOST_LEAST:
        return scoring.MostLeastResponse(normal["most"], normal["least"])
    return scoring.SingleBestResponse(normal["choice"])


def _sme_ratings(version: ScenarioVersion) -> list[list[float]] | None:
    """Options x experts, when at least two experts rated every option; else None (no ICC)."""
    by_option = [{rating.rater: rating.value for rating in option.ratings} for option in version.options]
    raters = sorted(set().union(*by_option)) if by_option else []
    if len(raters) < 2 or any(set(ratings) != set(raters) for ratings in by_option):
        return None
    return [[ratings[rater] for rater in raters] for ratings in by_option]


def _seconds(
    attempts: Sequence[CompletedAttempt], version_id: int, times: Mapping[int, Mapping[int, int]]
) -> list[float] | None:
    """Seconds on the item's page per attempt (NaN if unknown); None when no attempt has a time for it."""
    seconds = []
    for attempt in attempts:
        number = attempt.item_order.index(version_id) + 1 if version_id in attempt.item_order else None
        value = times.get(attempt.id, {}).get(number) if number is not None else None
        seconds.append(float(value) if value is not None else math.nan)
    return None if all(math.isnan(s) for s in seconds) else seconds


# --- The analytics page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeSummary:
    """One scope's score distribution (0-100), its chart and its reliability."""

    scope: ScoreScope
    histogram: charts.Histogram
    svg: Markup
    reliability: ScopeReliability

    @property
    def reliability_label(self) -> str:
        """The reliability's status in words with its N."""
        return reliability_label(self.reliability.stored())


@dataclass(frozen=True)
class AnalyticsPage:
    """Everything the analytics page shows for one assessment under one score version."""

    assessment: Assessment
    score_version: str
    as_scored_at_submission: bool
    attempts: int
    scopes: tuple[ScopeSummary, ...]
    items: ItemAnalysisView
    norm_tables: int


def analytics_page(assessment: Assessment, scope_code: str | None) -> AnalyticsPage:
    """The page's read model; the item analysis covers ``scope_code`` (a listed scope) or the overall score."""
    version = current_score_version(assessment)
    attempts = completed_attempts(assessment, version)
    scopes = score_scopes(assessment)
    summaries = []
    for position, scope in enumerate(scopes):
        chart = charts.histogram([100.0 * score for score in scope_scores(attempts, scope.code)])
        svg = charts.histogram_svg(chart, chart_id=f"chart-{position}", title=f"{scope.name}: distribution of scores")
        summaries.append(ScopeSummary(scope, chart, svg, scope_reliability(attempts, scope.version_ids)))
    chosen = next((s for s in scopes if s.code == scope_code), scopes[0])
    tables = db.session.scalar(
        select(func.count()).select_from(NormTable).where(NormTable.assessment_id == assessment.id)
    )
    return AnalyticsPage(
        assessment=assessment,
        score_version=version,
        as_scored_at_submission=assessment.score_version is None,
        attempts=len(attempts),
        scopes=tuple(summaries),
        items=item_analysis(assessment, attempts, chosen),
        norm_tables=tables or 0,
    )


# --- Norm tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormScopeRow:
    """One scope of a frozen norm table: its stats (POMP 0-1; None when the scope was not normed) and its
    stored reliability."""

    code: str
    name: str
    n: int | None
    mean: float | None
    sd: float | None
    reliability: Mapping[str, Any]

    @property
    def reliability_label(self) -> str:
        """The stored reliability's status in words with its N."""
        return reliability_label(self.reliability)


@dataclass(frozen=True)
class NormTableRow:
    """A frozen norm table as the norms page lists it."""

    table: NormTable
    frozen_by: str | None
    scopes: tuple[NormScopeRow, ...]

    @property
    def small_label(self) -> str | None:
        """ "small norm group (N = ...)" below 100 attempts."""
        return small_group_label(self.table.n)


def norm_table_rows(assessment: Assessment) -> list[NormTableRow]:
    """The assessment's norm tables, newest version first, with who froze them and their scopes named."""
    tables = db.session.scalars(
        select(NormTable)
        .where(NormTable.assessment_id == assessment.id, NormTable.agency_id == assessment.agency_id)
        .order_by(NormTable.version.desc())
    ).all()
    user_ids = {t.frozen_by_id for t in tables if t.frozen_by_id is not None}
    query = select(User.id, User.name).where(User.id.in_(user_ids), User.agency_id == assessment.agency_id)
    names: dict[int, str] = {row.id: row.name for row in db.session.execute(query)}
    scope_names = {OVERALL: "Overall", **{c.code: c.name for c in assessment.reported}}
    rows = []
    for table in tables:
        scopes = []
        for code in dict.fromkeys([*table.stats, *table.reliability]):
            stats = table.stats.get(code)
            reliability = table.reliability.get(code)
            n, mean, sd = (None, None, None)
            if isinstance(stats, Mapping):
                n, mean, sd = int(stats["n"]), float(stats["mean"]), float(stats["sd"])
            scopes.append(
                NormScopeRow(
                    code=code,
                    name=scope_names.get(code, code),
                    n=n,
                    mean=mean,
                    sd=sd,
                    reliability=reliability if isinstance(reliability, Mapping) else {"n": 0, "status": "none"},
                )
            )
        frozen_by = names.get(table.frozen_by_id) if table.frozen_by_id is not None else None
        rows.append(NormTableRow(table, frozen_by, tuple(scopes)))
    return rows
