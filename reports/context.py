"""The report context: one frozen dataclass per report kind, assembled from the database, and the only
thing the print templates read.

A context holds plain values (text, numbers, tuples), never ORM objects, so it can be unit-tested without
WeasyPrint, serialised, and hashed: the PDF cache keys each rendered file by :func:`context_hash`, and a
report is rendered again only when its context (or the templates) change.

What the dossier may show follows DECISIONS.md: against a norm group the sten with its 90% interval
(T +/- 1.645 SEM_T) and the norm group named; before one, the provisional score (0-100) with the words
"no norm group yet" and nothing else. Item text, options and keys never enter a context. Demographic
answers are never read. A pilot's context is marked ``pilot`` and the services refuse to release it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, select

from accounts.models import Agency, Client
from assessments import scoring_adapter
from assessments.models import Assessment, Attempt, AttemptResult, IntegrityEvent, Invitation
from assessments.results import latest_norm_group
from assessments.scoring_adapter import BandedScore, NormGroup
from database import db
from positions.models import Position
from reports import branding, guide
from reports.models import Report, ReportKind
from reports.sections import SECTIONS, disclosed
from scenarios.models import SITUATION_TYPES, CompetencyWeight, ScenarioVersion
from taxonomy import ESCO_ATTRIBUTION

_HERE = Path(__file__).resolve().parent
_TEMPLATE_FILES: Final = (
    *sorted((_HERE.parent / "templates" / "reports" / "print").glob("*.html")),
    _HERE / "assets" / "report.css",
    _HERE / "assets" / "fonts.css",
    _HERE / "charts.py",
    _HERE / "render.py",
)

CONFIDENTIAL: Final = (
    "Confidential. Prepared for {client} to support a hiring decision for this position only. "
    "Do not share it beyond the people making that decision."
)
DECISION_SUPPORT: Final = (
    "This report supports a human decision; it does not replace one. No one should be hired or turned down "
    "on a score alone: weigh it with the interview, references and the other evidence."
)
PREDICTS: Final = (
    "Situational judgment tests like this one predict later job performance modestly (a validity of about .26 "
    "in published meta-analyses) and add to what interviews and experience tell you. Scores describe the "
    "choices the candidate made in written work situations like those of the role."
)
DOES_NOT_PREDICT: Final = (
    "They do not measure personality, intelligence, technical knowledge or motivation, and they do not show "
    "how the candidate behaves in every situation. Competency scores rest on fewer situations than the overall "
    "score, so they are less precise: read them with their intervals and never use one alone."
)
SCORING_METHOD: Final = (
    "Each situation's answer was compared with a scoring key built from ratings of how effective each response "
    "is. Each competency score is the weighted average of the situations that measure it, as a percentage of the "
    "maximum (0-100). Against a norm group the score becomes a sten (1-10, average 5.5) and a T score (average "
    "50, standard deviation 10); the 90% interval is T +/- 1.645 standard errors of measurement."
)
INTEGRITY_NOTE: Final = (
    "These signals are context, never a score or a finding. Leaving the page can mean a phone call, a "
    "notification or a slow connection."
)
SIGNAL_WORDS: Final = {
    "focus_lost": "Left the test page",
    "paste": "Pasted text into an answer",
    "reload": "Reloaded a page",
}
COMPONENT_NAMES: Final = scoring_adapter.FIT_COMPONENT_NAMES
STRONG_STEN: Final = 7
WEAK_STEN: Final = 4


@dataclass(frozen=True)
class Branding:
    """Names, colours (#rrggbb, checked) and logos (PNG data URIs) on a report."""

    agency_name: str
    client_name: str
    brand: str
    accent: str
    agency_logo: str | None
    client_logo: str | None


@dataclass(frozen=True)
class Score:
    """A score as a report prints it: banded against a norm group, or provisional with what is missing."""

    provisional: int
    normed: bool
    sten: int | None
    t: float | None
    interval: tuple[float, float] | None
    sten_range: tuple[int, int] | None
    percentile: float | None
    percentile_kind: str | None
    notes: tuple[str, ...]

    @property
    def text(self) -> str:
        """ "Sten 7 (90% interval: stens 6-8)" or "Provisional score 64 of 100 (no norm group yet)"."""
        if not self.normed or self.sten is None:
            return f"Provisional score {self.provisional} of 100 ({'; '.join(self.notes) or 'no norm group yet'})"
        if self.sten_range is not None:
            low, high = self.sten_range
            span = f"stens {low}-{high}" if low != high else f"sten {low}"
            return f"Sten {self.sten} (90% interval: {span})"
        return f"Sten {self.sten} ({'; '.join(self.notes)})"


@dataclass(frozen=True)
class CompetencyLine:
    """One competency the assessment reports: its score (None when its content is too thin to report)."""

    code: str
    name: str
    definition: str
    score: Score | None
    items: int
    weight_sum: float
    situation_types: tuple[str, ...]


@dataclass(frozen=True)
class Behaviour:
    """A strength or a development area in behavioural terms."""

    competency: str
    text: str


@dataclass(frozen=True)
class InterviewPrompt:
    competency: str
    questions: tuple[tuple[str, str], ...]
    listen_for: tuple[str, ...]
    warning_signs: tuple[str, ...]


@dataclass(frozen=True)
class FitRow:
    requirement: str
    evidence: str
    source: str
    credit: int
    rule: str


@dataclass(frozen=True)
class FitComponentLine:
    name: str
    value: int | None
    weight: int
    status: str
    rule: str
    rows: tuple[FitRow, ...]


@dataclass(frozen=True)
class Fit:
    """The fit to the position (skills-and-fit.md §4.4), or why there is none."""

    overall: int | None
    overall_text: str
    unavailable: str | None
    components: tuple[FitComponentLine, ...]
    gates: tuple[tuple[str, bool, str], ...]
    gaps: tuple[str, ...]
    surprising: str | None


@dataclass(frozen=True)
class Methodology:
    assessment_title: str
    scoring_method: str
    rules: tuple[str, ...]
    algorithm_version: str
    score_version: str
    key_versions: str
    key_types: tuple[str, ...]
    norm_group: str | None
    norm_version: str | None
    reliability: str
    sem: str | None
    predicts: str
    does_not_predict: str
    decision_support: str
    fit_algorithm: str | None
    esco_attribution: str


@dataclass(frozen=True)
class DossierContext:
    """Everything the client dossier of one candidate shows, for one client's disclosure rules."""

    kind: str
    branding: Branding
    candidate_name: str
    position_title: str
    assessment_title: str
    report_date: date | None
    submitted_on: date
    confidentiality: str
    sections: tuple[str, ...]
    pilot: bool
    overall: Score | None
    norm_group: str | None
    competencies: tuple[CompetencyLine, ...]
    strengths: tuple[Behaviour, ...]
    development: tuple[Behaviour, ...]
    fit: Fit | None
    interview: tuple[InterviewPrompt, ...]
    integrity: tuple[tuple[str, int], ...]
    integrity_note: str
    minutes_taken: int | None
    notes: str
    missing: tuple[str, ...]
    methodology: Methodology
    guide_version: str

    def shows(self, section: str) -> bool:
        return section in self.sections


@dataclass(frozen=True)
class FeedbackContext:
    """The candidate's own feedback: plain-language strengths and tips, no scores and no norms."""

    kind: str
    branding: Branding
    first_name: str
    assessment_title: str
    position_title: str
    strengths: tuple[Behaviour, ...]
    tips: tuple[Behaviour, ...]
    guide_version: str


@dataclass(frozen=True)
class ShortlistRow:
    candidate_name: str
    overall: Score | None
    competencies: tuple[Score | None, ...]
    fit: int | None
    fit_components: tuple[int | None, ...]
    gates_met: bool | None


@dataclass(frozen=True)
class ShortlistContext:
    """The released candidates of one position side by side."""

    kind: str
    branding: Branding
    position_title: str
    report_date: date
    confidentiality: str
    competency_names: tuple[str, ...]
    component_names: tuple[str, ...]
    rows: tuple[ShortlistRow, ...]
    norm_groups: tuple[str, ...]
    decision_support: str
    missing: tuple[str, ...]


ReportContext = DossierContext | FeedbackContext | ShortlistContext


# --- Hashing --------------------------------------------------------------------------------------


def template_version() -> str:
    """A hash of the print templates, CSS, fonts rules and chart code: a change re-renders every report."""
    digest = hashlib.sha256()
    for path in _TEMPLATE_FILES:
        if path.exists():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def context_hash(context: ReportContext) -> str:
    """The cache key of a context's PDF: its values, its kind and the template version."""
    payload = json.dumps(dataclasses.asdict(context), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{template_version()}\n{payload}".encode()).hexdigest()


# --- Building -------------------------------------------------------------------------------------


def branding_for(agency: Agency, client: Client) -> Branding:
    colours = branding.brand_colours(agency, client)
    return Branding(
        agency_name=agency.name,
        client_name=client.name,
        brand=colours["--brand"],
        accent=colours["--accent"],
        agency_logo=branding.logo_data_uri(agency.logo_png) if agency.logo_png else None,
        client_logo=branding.logo_data_uri(client.logo_png) if client.logo_png else None,
    )


def _score(banded: BandedScore) -> Score:
    return Score(
        provisional=banded.provisional,
        normed=banded.normed,
        sten=banded.sten,
        t=banded.t,
        interval=banded.interval,
        sten_range=banded.sten_range,
        percentile=banded.percentile,
        percentile_kind=banded.percentile_kind,
        notes=banded.notes,
    )


def current_result(assessment: Assessment, attempt: Attempt) -> AttemptResult | None:
    """The attempt's scores under the assessment's current score version, else its latest row."""
    rows = list(
        db.session.scalars(
            select(AttemptResult).where(AttemptResult.attempt_id == attempt.id).order_by(AttemptResult.id.desc())
        )
    )
    current = scoring_adapter.current_score_version(assessment)
    for row in rows:
        if row.score_version == current:
            return row
    return rows[0] if rows else None


def _evidence(assessment: Assessment) -> dict[int, tuple[int, float, tuple[str, ...]]]:
    """Competency id -> (items, weight sum, situation types) over the assessment's scored items."""
    version_ids = [item.version_id for item in assessment.items]
    found: dict[int, tuple[int, float, set[str]]] = {}
    rows = db.session.execute(
        select(CompetencyWeight.competency_id, CompetencyWeight.weight, ScenarioVersion.situation_type)
        .join(ScenarioVersion, ScenarioVersion.id == CompetencyWeight.version_id)
        .where(CompetencyWeight.version_id.in_(version_ids), CompetencyWeight.weight > 0)
    )
    for competency_id, weight, situation in rows:
        items, total, types = found.get(competency_id, (0, 0.0, set()))
        types.add(situation)
        found[competency_id] = (items + 1, total + weight, types)
    return {
        cid: (items, total, tuple(SITUATION_TYPES.get(t, t) for t in sorted(types)))
        for cid, (items, total, types) in found.items()
    }


def _competency_lines(
    assessment: Assessment, detail: Mapping[str, Any] | None, norm: NormGroup | None
) -> tuple[CompetencyLine, ...]:
    pomp = scoring_adapter.competency_pomp(detail or {})
    evidence = _evidence(assessment)
    lines = []
    for competency in assessment.reported:
        items, weight_sum, types = evidence.get(competency.id, (0, 0.0, ()))
        score = None
        if competency.code in pomp:
            scope = None if norm is None else norm.scope(competency.code)
            score = _score(scoring_adapter.band_score(pomp[competency.code], scope))
        lines.append(
            CompetencyLine(
                code=competency.code,
                name=competency.name,
                definition=competency.definition,
                score=score,
                items=items,
                weight_sum=round(weight_sum, 2),
                situation_types=types,
            )
        )
    return tuple(lines)


def _rank_value(score: Score) -> float:
    return score.t if score.normed and score.t is not None else float(score.provisional)


def _split(scored: Sequence[CompetencyLine]) -> tuple[list[CompetencyLine], list[CompetencyLine]]:
    """Top and bottom of a profile sorted low to high: up to two each, never the same line in both."""
    top_n = min(2, len(scored) // 2)
    bottom_n = min(2, len(scored) - top_n)
    return list(reversed(scored[len(scored) - top_n :])), list(scored[:bottom_n])


def _comparable(lines: Sequence[CompetencyLine]) -> list[CompetencyLine]:
    """The scored lines that share one scale, sorted low to high: the normed ones by T when there are any
    (a T score and a provisional 0-100 score cannot be ranked together), else the provisional ones."""
    scored = [line for line in lines if line.score is not None]
    normed = [line for line in scored if line.score is not None and line.score.normed and line.score.t is not None]
    if normed:
        return sorted(normed, key=lambda line: line.score.t)  # type: ignore[union-attr, return-value, arg-type]
    return sorted(scored, key=lambda line: line.score.provisional)  # type: ignore[union-attr]


def strengths_and_development(
    lines: Sequence[CompetencyLine],
) -> tuple[tuple[CompetencyLine, ...], tuple[CompetencyLine, ...]]:
    """The (up to) two strongest and two weakest competencies, relative to the candidate's own profile.

    Against a norm group a strength needs a sten of at least 7 and a development area at most 4, and only
    normed competencies are ranked; without one, the provisional profile's top and bottom are used (and
    the report says the scores are provisional).
    """
    ranked = _comparable(lines)
    if len(ranked) < 2:
        return (), ()
    top, bottom = _split(ranked)
    if ranked[0].score is not None and ranked[0].score.normed:
        top = [line for line in top if (line.score.sten or 0) >= STRONG_STEN]  # type: ignore[union-attr]
        bottom = [line for line in bottom if (line.score.sten or 11) <= WEAK_STEN]  # type: ignore[union-attr]
    return tuple(top), tuple(bottom)


def two_weakest(lines: Sequence[CompetencyLine]) -> tuple[CompetencyLine, ...]:
    """The two lowest competencies on one scale, whatever their level: the interview guide probes them."""
    return tuple(_comparable(lines)[:2])


def _fit(position: Position, invitation: Invitation, detail: Mapping[str, Any] | None, as_of: date) -> Fit:
    pomp: dict[str, float | None] = dict(scoring_adapter.competency_pomp(detail or {}))
    outcome = scoring_adapter.fit_for(position, invitation.candidate, pomp, as_of)
    if isinstance(outcome, scoring_adapter.FitUnavailable):
        return Fit(None, "", outcome.text, (), (), (), None)
    components = tuple(
        FitComponentLine(
            name=COMPONENT_NAMES.get(str(component.name), str(component.name)),
            value=None if component.value is None else round(component.value * 100),
            weight=round(component.effective_weight * 100),
            status=str(component.status),
            rule=component.rule_text,
            rows=tuple(
                FitRow(line.requirement, line.evidence, line.source, round(line.credit * 100), line.text)
                for line in component.lines
            ),
        )
        for component in outcome.components
        if component.used
    )
    return Fit(
        overall=outcome.overall_display,
        overall_text=outcome.overall_text,
        unavailable=None,
        components=components,
        gates=tuple((gate.name, gate.met, gate.message) for gate in outcome.gates),
        gaps=tuple(gap.text for gap in outcome.gaps[:3]),
        surprising=outcome.surprising_text if outcome.surprising else None,
    )


def _integrity(attempt: Attempt) -> tuple[tuple[str, int], ...]:
    counts = dict(
        db.session.execute(
            select(IntegrityEvent.kind, func.count())
            .where(IntegrityEvent.attempt_id == attempt.id, IntegrityEvent.kind.in_(tuple(SIGNAL_WORDS)))
            .group_by(IntegrityEvent.kind)
        ).all()
    )
    return tuple((words, int(counts.get(kind, 0))) for kind, words in SIGNAL_WORDS.items())


def _methodology(
    assessment: Assessment, result: AttemptResult | None, norm: NormGroup | None, fit: Fit | None
) -> Methodology:
    detail = result.detail if result is not None else {}
    items = detail.get("items") if isinstance(detail, Mapping) else None
    rules = sorted({str(item.get("rule")) for item in items or () if isinstance(item, Mapping) and item.get("rule")})
    keys = sorted({str(item.get("key_version")) for item in items or () if isinstance(item, Mapping)})
    key_types = sorted({item.version.key_type.label for item in assessment.items})
    reliability = "Not yet established: fewer than 100 completed tests of this form."
    sem: str | None = None
    overall = norm.scope(scoring_adapter.OVERALL_SCOPE) if norm is not None else None
    if overall is not None and overall.reliability is not None:
        status = "provisional, " if overall.precision == "provisional" else ""
        reliability = f"Cronbach's alpha {overall.reliability:.2f} ({status}N = {overall.reliability_n})"
        sem_t = 10 * (1 - overall.reliability) ** 0.5
        sem = f"SEM {sem_t:.1f} T points; 90% interval = T +/- {1.645 * sem_t:.1f}"
    return Methodology(
        assessment_title=assessment.title,
        scoring_method=SCORING_METHOD,
        rules=tuple(rules),
        algorithm_version=result.algorithm_version if result is not None else scoring_adapter.ALGORITHM_VERSION,
        score_version=result.score_version if result is not None else "not scored",
        key_versions=", ".join(keys) if keys else "none",
        key_types=tuple(key_types),
        norm_group=norm.name if norm is not None else None,
        norm_version=norm.norm_version if norm is not None else None,
        reliability=reliability,
        sem=sem,
        predicts=PREDICTS,
        does_not_predict=DOES_NOT_PREDICT,
        decision_support=DECISION_SUPPORT,
        fit_algorithm=None if fit is None or fit.unavailable else "Transparent fit (skills-and-fit §4.4), unit rules",
        esco_attribution=ESCO_ATTRIBUTION,
    )


def _content_rule(detail: Mapping[str, Any] | None) -> dict[str, bool]:
    """Competency code -> whether the assessment's content met the minimum rule (stored with the scores)."""
    rows = (detail or {}).get("competencies")
    listed = rows if isinstance(rows, list) else []
    return {
        str(row.get("code")): row.get("meets_minimum_content") is True for row in listed if isinstance(row, Mapping)
    }


def _has_profile(invitation: Invitation) -> bool:
    candidate = invitation.candidate
    return bool(candidate.skills or candidate.education or candidate.experience)


def dossier_context(report: Report) -> DossierContext:
    """The client dossier of one report, for the client's disclosure rules. Says what is missing, never fails
    for missing data: no norm table, no candidate profile, no scores, a thin competency."""
    invitation = db.session.get_one(Invitation, report.invitation_id)
    assessment = invitation.assessment
    attempt = invitation.attempt
    position = assessment.position
    client = db.session.get_one(Client, report.client_id)
    agency = db.session.get_one(Agency, report.agency_id)
    result = current_result(assessment, attempt) if attempt is not None else None
    norm = latest_norm_group(assessment)
    if result is not None and norm is not None and result.score_version != norm.score_version:
        norm = None
    detail = result.detail if result is not None else None
    missing: list[str] = []
    if result is None:
        missing.append("The candidate's test has not been scored, so the report has no results.")
    if norm is None:
        missing.append(
            "There is no norm group for this test yet: scores are provisional (0-100), with no sten, "
            "percentile or interval."
        )
    elif (scope := norm.scope(scoring_adapter.OVERALL_SCOPE)) is None or scope.reliability is None:
        missing.append("The test's precision is not yet established, so scores carry no interval.")
    if not _has_profile(invitation):
        missing.append(
            "The candidate has no skills, education or experience on record, so the fit covers the assessment only."
        )
    overall = None
    if result is not None and result.overall_pomp is not None:
        scope = None if norm is None else norm.scope(scoring_adapter.OVERALL_SCOPE)
        overall = _score(scoring_adapter.band_score(result.overall_pomp, scope))
    lines = _competency_lines(assessment, detail, norm)
    unscored = [line for line in lines if line.score is None and result is not None]
    content = _content_rule(detail)
    thin = [line.name for line in unscored if not content.get(line.code, False)]
    unanswered = [line.name for line in unscored if content.get(line.code, False)]
    if thin:
        missing.append("Not reported, because too few situations measured them: " + ", ".join(thin) + ".")
    if unanswered:
        missing.append(
            "Not reported, because too many of their situations were left unanswered: " + ", ".join(unanswered) + "."
        )
    top, bottom = strengths_and_development(lines)
    as_of = (attempt.submitted_at or attempt.started_at).date() if attempt is not None else report.created_at.date()
    fit = _fit(position, invitation, detail, as_of) if result is not None else None
    interview = []
    for line in two_weakest(lines):
        entry = guide.guide_for(line.code, line.name)
        interview.append(
            InterviewPrompt(line.name, tuple(entry.questions), tuple(entry.listen_for), tuple(entry.warning_signs))
        )
    minutes = None
    if attempt is not None and attempt.submitted_at is not None:
        minutes = max(1, round((attempt.submitted_at - attempt.started_at).total_seconds() / 60))
    return DossierContext(
        kind=ReportKind.DOSSIER.value,
        branding=branding_for(agency, client),
        candidate_name=invitation.candidate.name,
        position_title=position.title,
        assessment_title=assessment.title,
        report_date=report.released_at.date() if report.released_at else None,
        submitted_on=(attempt.submitted_at or attempt.started_at).date() if attempt else invitation.created_at.date(),
        confidentiality=CONFIDENTIAL.replace("{client}", client.name),
        sections=tuple(key for key in SECTIONS if key in disclosed(client.disclosure)),
        pilot=assessment.pilot,
        overall=overall,
        norm_group=norm.name if norm is not None else None,
        competencies=lines,
        strengths=tuple(Behaviour(line.name, guide.guide_for(line.code, line.name).strength) for line in top),
        development=tuple(Behaviour(line.name, guide.guide_for(line.code, line.name).development) for line in bottom),
        fit=fit,
        interview=tuple(interview),
        integrity=_integrity(attempt) if attempt is not None else (),
        integrity_note=INTEGRITY_NOTE,
        minutes_taken=minutes,
        notes=report.notes,
        missing=tuple(missing),
        methodology=_methodology(assessment, result, norm, fit),
        guide_version=guide.GUIDE_VERSION,
    )


def feedback_context(report: Report) -> FeedbackContext:
    """The candidate's feedback: their two relatively strongest and two weakest areas in plain words."""
    invitation = db.session.get_one(Invitation, report.invitation_id)
    assessment = invitation.assessment
    attempt = invitation.attempt
    result = current_result(assessment, attempt) if attempt is not None else None
    lines = _competency_lines(assessment, result.detail if result else None, None)
    scored = sorted((line for line in lines if line.score is not None), key=lambda line: line.score.provisional)  # type: ignore[union-attr]
    top, bottom = _split(scored) if len(scored) >= 2 else (scored, [])
    client = db.session.get_one(Client, report.client_id)
    agency = db.session.get_one(Agency, report.agency_id)
    return FeedbackContext(
        kind=ReportKind.FEEDBACK.value,
        branding=branding_for(agency, client),
        first_name=invitation.candidate.name.split()[0] if invitation.candidate.name.split() else "",
        assessment_title=assessment.title,
        position_title=assessment.position.title,
        strengths=tuple(Behaviour(line.name, guide.guide_for(line.code, line.name).feedback_strength) for line in top),
        tips=tuple(Behaviour(line.name, guide.guide_for(line.code, line.name).feedback_tip) for line in bottom),
        guide_version=guide.GUIDE_VERSION,
    )


def released_reports(position: Position) -> list[Report]:
    """The position's released (and not withdrawn) reports, candidates in name order; never a pilot's, even one
    made a pilot after its reports were released."""
    from candidates.models import Candidate

    return list(
        db.session.scalars(
            select(Report)
            .join(Invitation, Invitation.id == Report.invitation_id)
            .join(Candidate, Candidate.id == Invitation.candidate_id)
            .join(Assessment, Assessment.id == Invitation.assessment_id)
            .where(Report.position_id == position.id, Report.released_at.is_not(None), Report.withdrawn_at.is_(None))
            .where(Assessment.pilot.is_(False))
            .order_by(Candidate.name, Report.id)
        )
    )


def shortlist_context(position: Position, today: date) -> ShortlistContext:
    """The position's released candidates side by side: competency results and fit components."""
    reports = released_reports(position)
    dossiers = [dossier_context(report) for report in reports]
    names = _union(line.name for dossier in dossiers for line in dossier.competencies)
    component_names = _union(c.name for d in dossiers if d.fit for c in d.fit.components)
    rows = []
    for dossier in dossiers:
        by_name = {line.name: line.score for line in dossier.competencies}
        fit_by_name = {c.name: c.value for c in dossier.fit.components} if dossier.fit else {}
        rows.append(
            ShortlistRow(
                candidate_name=dossier.candidate_name,
                overall=dossier.overall,
                competencies=tuple(by_name.get(name) for name in names),
                fit=dossier.fit.overall if dossier.fit else None,
                fit_components=tuple(fit_by_name.get(name) for name in component_names),
                gates_met=None if not dossier.fit or dossier.fit.unavailable else all(g[1] for g in dossier.fit.gates),
            )
        )
    client = db.session.get_one(Client, position.client_id)
    agency = db.session.get_one(Agency, position.agency_id)
    missing = []
    if not rows:
        missing.append("No candidate's report has been released for this position yet.")
    return ShortlistContext(
        kind=ReportKind.SHORTLIST.value,
        branding=branding_for(agency, client),
        position_title=position.title,
        report_date=today,
        confidentiality=CONFIDENTIAL.replace("{client}", client.name),
        competency_names=names,
        component_names=component_names,
        rows=tuple(rows),
        norm_groups=_union(d.norm_group for d in dossiers if d.norm_group),
        decision_support=DECISION_SUPPORT,
        missing=tuple(missing),
    )


def _union(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return tuple(seen)
