"""Read models for the results pages: every invited candidate's scores for one assessment, or for all the
assessments of a position, beside the fit, the integrity context and the invitation's status.

Scores are shown under each assessment's current score version (``scoring_adapter.current_score_version``),
against the latest norm table frozen for that version: the sten with its 90% interval and the percentile
A4 allows, or, before any table, the provisional score (0-100) with "no norm group yet". An attempt
without a row under the current version (submitted after a re-score) shows its latest row, named with its
own version and never banded against a table of another version. A pilot assessment's rows carry
"Pilot". Reads only, inside the caller's scope; demographic answers are never read.

The CSV export has the page's columns, one value a cell; a cell that a spreadsheet would read as a
formula (= + - @, tab, carriage return) starts with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.access import scoped_select
from accounts.models import Scope
from assessments import delivery, fit_queries, scoring_adapter
from assessments.models import Assessment, AttemptResult, Invitation, InvitationStatus, NormTable
from assessments.scoring_adapter import BandedScore, NormGroup
from database import db
from positions.models import Position

PILOT_LABEL: Final = "Pilot"
MOVED_POINTS: Final = 5.0
"""A change of score version "moves" an attempt whose overall score changes by more than this (0-100)."""
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
PILOT_CHOICES: Final = {"pilot": "Pilot only", "not-pilot": "Not pilot"}
SORT_NAMES: Final = {"name": "Name", "overall": "Overall score, highest first", "fit": "Fit, highest first"}
COMPETENCY_SORT: Final = "c:"
SIGNAL_KINDS: Final = ("focus_lost", "paste", "reload")


@dataclass(frozen=True)
class VersionChange:
    """How the overall scores moved from the previous score version to the current one (0-100 points)."""

    previous: str
    current: str
    compared: int
    mean_change: float | None
    moved: int


@dataclass(frozen=True)
class AssessmentResults:
    """One assessment on a results page: its current score version, the versions it has, its norm group."""

    assessment: Assessment
    score_version: str
    versions: tuple[str, ...]
    change: VersionChange | None
    norm: NormGroup | None
    competencies: tuple[tuple[str, str], ...]

    @property
    def pilot(self) -> bool:
        return self.assessment.pilot


@dataclass(frozen=True)
class ResultRow:
    """One invitation: the candidate, status, scores (banded or provisional), fit and integrity context."""

    invitation_public_id: str
    candidate_name: str
    candidate_public_id: str
    block: AssessmentResults
    status: InvitationStatus
    started: bool
    submitted_at: datetime | None
    seconds_taken: int | None
    signals: Mapping[str, int]
    score_version: str | None
    overall: BandedScore | None
    competencies: Mapping[str, BandedScore]
    fit: int | None
    fit_raw: float | None
    fit_note: str | None

    @property
    def pilot(self) -> bool:
        return self.block.pilot

    @property
    def stale(self) -> bool:
        """True when the scores shown are not under the assessment's current score version."""
        return self.score_version is not None and self.score_version != self.block.score_version

    @property
    def norm(self) -> NormGroup | None:
        """The norm group the row's scores are banded against (None when provisional)."""
        return None if self.stale else self.block.norm


@dataclass(frozen=True)
class ResultFilters:
    """Status, pilot and minimum-overall filters and the sort, from the query string; ``errors`` says what
    was ignored. The minimum applies to the overall score (0-100), the sort puts rows without a value last."""

    status: str | None = None
    pilot: str | None = None
    min_overall: int | None = None
    sort: str = "name"
    errors: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, Any], competency_codes: Iterable[str] = ()) -> ResultFilters:
        """Filters from request arguments; a value out of shape is ignored and named in ``errors``."""
        errors: list[str] = []
        status = str(args.get("status", "") or "").strip() or None
        if status is not None and status not in {s.value for s in InvitationStatus}:
            errors.append("That status is not one of the list; every status is shown.")
            status = None
        pilot = str(args.get("pilot", "") or "").strip() or None
        if pilot is not None and pilot not in PILOT_CHOICES:
            errors.append("Choose pilot or not pilot; both are shown.")
            pilot = None
        min_overall: int | None = None
        text = str(args.get("min", "") or "").strip()
        if text:
            if text.isdigit() and 0 <= int(text) <= 100:
                min_overall = int(text)
            else:
                errors.append("The minimum overall score must be a whole number from 0 to 100; it was ignored.")
        sort = str(args.get("sort", "") or "name")
        allowed = set(SORT_NAMES) | {COMPETENCY_SORT + code for code in competency_codes}
        if sort not in allowed:
            errors.append("That sort is not available; the list is sorted by name.")
            sort = "name"
        return cls(status=status, pilot=pilot, min_overall=min_overall, sort=sort, errors=tuple(errors))

    @property
    def active(self) -> bool:
        return self.status is not None or self.pilot is not None or self.min_overall is not None

    def query(self) -> dict[str, str]:
        """The filters and sort as query arguments (for the CSV link and sort links)."""
        values = {"status": self.status, "pilot": self.pilot, "sort": self.sort if self.sort != "name" else None}
        values["min"] = None if self.min_overall is None else str(self.min_overall)
        return {key: value for key, value in values.items() if value}

    def keep(self, row: ResultRow) -> bool:
        """True when the row passes every filter (a row without an overall score fails a minimum)."""
        if self.status is not None and row.status.value != self.status:
            return False
        if self.pilot is not None and row.pilot != (self.pilot == "pilot"):
            return False
        return self.min_overall is None or (row.overall is not None and row.overall.provisional >= self.min_overall)


@dataclass(frozen=True)
class ResultsPage:
    """A results page: its assessments, the competency columns, the rows after the filters, in order."""

    title: str
    position: Position
    blocks: tuple[AssessmentResults, ...]
    competencies: tuple[tuple[str, str], ...]
    rows: tuple[ResultRow, ...]
    total: int
    filters: ResultFilters
    per_position: bool = False

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)

    @property
    def any_pilot(self) -> bool:
        return any(block.pilot for block in self.blocks)

    @property
    def mixed_pilot(self) -> bool:
        """True when some assessments are pilots and some are not (the pilot filter is offered then)."""
        return self.any_pilot and not all(block.pilot for block in self.blocks)

    @property
    def sorts(self) -> dict[str, str]:
        """Every available sort and its label."""
        names = dict(SORT_NAMES)
        names.update({COMPETENCY_SORT + code: f"{name}, highest first" for code, name in self.competencies})
        return names


# --- Reading -------------------------------------------------------------------------------------


def assessment_results(assessment: Assessment, args: Mapping[str, Any], now: datetime) -> ResultsPage:
    """The results page of one assessment (already scoped), filtered and sorted by ``args``."""
    return _page(assessment.title, assessment.position, [assessment], args, now, per_position=False)


def position_results(position: Position, scope: Scope, args: Mapping[str, Any], now: datetime) -> ResultsPage:
    """The results page of every assessment of the position (already scoped) that the scope can see."""
    assessments = list(
        db.session.scalars(
            scoped_select(Assessment, scope)
            .where(Assessment.position_id == position.id)
            .order_by(Assessment.created_at, Assessment.id)
        )
    )
    return _page(position.title, position, assessments, args, now, per_position=True)


def _page(
    title: str,
    position: Position,
    assessments: Sequence[Assessment],
    args: Mapping[str, Any],
    now: datetime,
    *,
    per_position: bool,
) -> ResultsPage:
    columns = _competency_columns(assessments)
    filters = ResultFilters.from_args(args, (code for code, _ in columns))
    invitations = _invitations([a.id for a in assessments])
    attempt_ids = [i.attempt.id for i in invitations if i.attempt is not None]
    results = _results(attempt_ids)
    attempts_of: dict[int, list[int]] = {a.id: [] for a in assessments}
    for invitation in invitations:
        if invitation.attempt is not None:
            attempts_of[invitation.assessment_id].append(invitation.attempt.id)
    blocks = {a.id: _block(a, attempts_of[a.id], results) for a in assessments}
    fits = _fits(position, {i.candidate.public_id for i in invitations}, now)
    signals = delivery.signal_counts(attempt_ids) if attempt_ids else {}
    chosen = {
        attempt_id: row
        for invitation in invitations
        if invitation.attempt is not None
        and (row := _chosen(results.get(attempt_id := invitation.attempt.id, []), blocks[invitation.assessment_id]))
        is not None
    }
    details = _details([row.id for row in chosen.values()])
    rows = [
        _row(invitation, blocks[invitation.assessment_id], chosen, details, signals, fits, now)
        for invitation in invitations
    ]
    rows.sort(key=lambda row: (row.candidate_name.casefold(), row.candidate_public_id, row.block.assessment.id))
    kept = [row for row in rows if filters.keep(row)]
    if filters.sort != "name":
        kept.sort(key=lambda row: _sort_value(row, filters.sort))  # stable: ties stay in name order
    return ResultsPage(
        title=title,
        position=position,
        blocks=tuple(blocks[a.id] for a in assessments),
        competencies=columns,
        rows=tuple(kept),
        total=len(rows),
        filters=filters,
        per_position=per_position,
    )


@dataclass(frozen=True)
class _Stored:
    id: int
    score_version: str
    overall: float | None
    computed_at: datetime


def _invitations(assessment_ids: list[int]) -> list[Invitation]:
    if not assessment_ids:
        return []
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.assessment_id.in_(assessment_ids))
            .options(
                selectinload(Invitation.candidate),
                selectinload(Invitation.attempt),
                selectinload(Invitation.email_message),
            )
            .order_by(Invitation.id)
        )
    )


def _results(attempt_ids: list[int]) -> dict[int, list[_Stored]]:
    """Per attempt, its stored results (every score version), oldest first; the detail is read later."""
    found: dict[int, list[_Stored]] = {}
    if not attempt_ids:
        return found
    rows = db.session.execute(
        select(
            AttemptResult.id,
            AttemptResult.attempt_id,
            AttemptResult.score_version,
            AttemptResult.overall_pomp,
            AttemptResult.computed_at,
        )
        .where(AttemptResult.attempt_id.in_(attempt_ids))
        .order_by(AttemptResult.computed_at, AttemptResult.id)
    )
    for row_id, attempt_id, version, overall, computed_at in rows:
        found.setdefault(attempt_id, []).append(_Stored(row_id, version, overall, computed_at))
    return found


def _details(row_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not row_ids:
        return {}
    rows = db.session.execute(select(AttemptResult.id, AttemptResult.detail).where(AttemptResult.id.in_(row_ids)))
    return {row_id: detail or {} for row_id, detail in rows}


def _chosen(stored: list[_Stored], block: AssessmentResults) -> _Stored | None:
    """The result row to show: the one under the assessment's current score version, else the latest computed."""
    for row in stored:
        if row.score_version == block.score_version:
            return row
    return stored[-1] if stored else None


def _block(assessment: Assessment, attempt_ids: list[int], results: Mapping[int, list[_Stored]]) -> AssessmentResults:
    current = scoring_adapter.current_score_version(assessment)
    mine = [row for attempt_id in attempt_ids for row in results.get(attempt_id, [])]
    first_seen: dict[str, datetime] = {}
    for row in mine:
        seen = first_seen.get(row.score_version)
        if seen is None or row.computed_at < seen:
            first_seen[row.score_version] = row.computed_at
    versions = tuple(sorted(first_seen, key=lambda v: (first_seen[v], v)))
    return AssessmentResults(
        assessment=assessment,
        score_version=current,
        versions=versions,
        change=_change(versions, current, attempt_ids, results),
        norm=latest_norm_group(assessment),
        competencies=tuple((c.code, c.name) for c in assessment.reported),
    )


def _change(
    versions: tuple[str, ...], current: str, attempt_ids: list[int], results: Mapping[int, list[_Stored]]
) -> VersionChange | None:
    """The previous version (the one first computed before the current one) and how the overall moved."""
    if current not in versions or versions.index(current) == 0:
        return None
    previous = versions[versions.index(current) - 1]
    changes = []
    for attempt_id in attempt_ids:
        by_version = {row.score_version: row.overall for row in results.get(attempt_id, [])}
        before, after = by_version.get(previous), by_version.get(current)
        if before is not None and after is not None:
            changes.append((after - before) * 100.0)
    return VersionChange(
        previous=previous,
        current=current,
        compared=len(changes),
        mean_change=statistics.fmean(changes) if changes else None,
        moved=sum(1 for change in changes if abs(change) > MOVED_POINTS),
    )


def latest_norm_group(assessment: Assessment) -> NormGroup | None:
    """The assessment's latest norm table frozen for its current score version, ready for banding; or None."""
    table = db.session.scalars(
        select(NormTable)
        .where(
            NormTable.assessment_id == assessment.id,
            NormTable.agency_id == assessment.agency_id,
            NormTable.score_version == scoring_adapter.current_score_version(assessment),
        )
        .order_by(NormTable.version.desc())
        .limit(1)
    ).first()
    if table is None:
        return None
    return scoring_adapter.norm_group(
        public_id=table.public_id,
        label=table.label,
        version=table.version,
        n=table.n,
        score_version=table.score_version,
        frozen_at=table.frozen_at,
        stats=table.stats,
        reliability=table.reliability,
    )


def _fits(position: Position, public_ids: set[str], now: datetime) -> dict[str, fit_queries.CandidateFit]:
    if not public_ids:
        return {}
    _, fits = fit_queries.candidate_fits(position, now.date(), public_ids=public_ids)
    return {row.candidate.public_id: row for row in fits}


def _row(
    invitation: Invitation,
    block: AssessmentResults,
    chosen_rows: Mapping[int, _Stored],
    details: Mapping[int, dict[str, Any]],
    signals: Mapping[int, Mapping[str, int]],
    fits: Mapping[str, fit_queries.CandidateFit],
    now: datetime,
) -> ResultRow:
    attempt = invitation.attempt
    overall: BandedScore | None = None
    competencies: dict[str, BandedScore] = {}
    version: str | None = None
    seconds: int | None = None
    if attempt is not None and attempt.submitted_at is not None:
        seconds = max(0, int((attempt.submitted_at - attempt.started_at).total_seconds()))
        chosen = chosen_rows.get(attempt.id)
        if chosen is not None:
            version = chosen.score_version
            norm = block.norm if version == block.score_version else None
            if chosen.overall is not None:
                overall = _band(chosen.overall, norm, scoring_adapter.OVERALL_SCOPE)
            for code, pomp in scoring_adapter.competency_pomp(details.get(chosen.id, {})).items():
                competencies[code] = _band(pomp, norm, code)
    fit = fits.get(invitation.candidate.public_id)
    fit_note = None
    if fit is not None and fit.result is None and fit.unavailable is not None:
        fit_note = fit.unavailable.text
    return ResultRow(
        invitation_public_id=invitation.public_id,
        candidate_name=invitation.candidate.name,
        candidate_public_id=invitation.candidate.public_id,
        block=block,
        status=invitation.status(now),
        started=attempt is not None,
        submitted_at=None if attempt is None else attempt.submitted_at,
        seconds_taken=seconds,
        signals=dict(signals.get(attempt.id, {})) if attempt is not None else {},
        score_version=version,
        overall=overall,
        competencies=competencies,
        fit=None if fit is None else fit.display,
        fit_raw=None if fit is None or fit.result is None else fit.result.overall,
        fit_note=fit_note,
    )


def _band(pomp: float, norm: NormGroup | None, scope: str) -> BandedScore:
    return scoring_adapter.band_score(pomp, None if norm is None else norm.scope(scope))


def _competency_columns(assessments: Sequence[Assessment]) -> tuple[tuple[str, str], ...]:
    """The competencies any of the assessments reports, in the agency's order."""
    seen: dict[str, tuple[int, str]] = {}
    for assessment in assessments:
        for competency in assessment.reported:
            seen[competency.code] = (competency.position, competency.name)
    return tuple((code, name) for code, (_, name) in sorted(seen.items(), key=lambda kv: (kv[1][0], kv[0])))


def _sort_value(row: ResultRow, sort: str) -> tuple[bool, float]:
    """Highest first, rows without a value last."""
    value: float | None
    if sort == "overall":
        value = None if row.overall is None else row.overall.pomp
    elif sort == "fit":
        value = row.fit_raw
    else:
        score = row.competencies.get(sort.removeprefix(COMPETENCY_SORT))
        value = None if score is None else score.pomp
    return (value is None, -(value or 0.0))


# --- CSV -----------------------------------------------------------------------------------------


def neutralise(cell: object) -> str:
    """The cell as text, with a leading apostrophe when a spreadsheet would read it as a formula."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def score_notes(score: BandedScore) -> list[str]:
    """The words that go with a score: "no norm group yet", the small group, the precision, an estimated percentile."""
    notes = list(score.notes)
    if score.percentile_kind == scoring_adapter.ESTIMATED_PERCENTILE:
        notes.append("estimated percentile")
    return notes


def _score_cells(score: BandedScore | None) -> list[object]:
    if score is None:
        return ["", "", "", "", "", "", "", ""]
    low, high = score.interval if score.interval is not None else (None, None)
    sten_low, sten_high = score.sten_range if score.sten_range is not None else (None, None)
    percentile = score.percentile
    return [
        score.provisional,
        score.sten,
        score.t,
        low,
        high,
        "" if sten_low is None else f"{sten_low} to {sten_high}",
        "" if percentile is None else f"{percentile:.1f}",
        "; ".join(score_notes(score)),
    ]


SCORE_HEADERS: Final = (
    "score (0-100)",
    "sten",
    "T",
    "90% interval T from",
    "90% interval T to",
    "90% interval stens",
    "percentile",
    "notes",
)


def csv_header(page: ResultsPage) -> list[str]:
    """The CSV's header row: the page's columns, one value each."""
    header = ["Assessment", "Pilot", "Candidate", "Status", "Submitted (UTC)"]
    header += [f"Overall {name}" for name in SCORE_HEADERS]
    for _, competency in page.competencies:
        header += [f"{competency} {name}" for name in SCORE_HEADERS]
    header += ["Fit (0-100)", "Fit note", "Left the page", "Pasted", "Reloaded", "Time taken (seconds)"]
    header += ["Score version", "Current score version", "Norm group", "Norm version", "Norm group N"]
    return header


def csv_rows(page: ResultsPage) -> list[list[object]]:
    """The page's rows as CSV values (before neutralising), in the page's order."""
    rows: list[list[object]] = []
    for row in page.rows:
        norm = row.norm if row.overall is not None or row.competencies else None
        values: list[object] = [
            row.block.assessment.title,
            PILOT_LABEL if row.pilot else "",
            row.candidate_name,
            row.status.value,
            "" if row.submitted_at is None else row.submitted_at.strftime("%Y-%m-%d %H:%M"),
        ]
        values += _score_cells(row.overall)
        for code, _ in page.competencies:
            values += _score_cells(row.competencies.get(code))
        values += [
            row.fit,
            row.fit_note,
            *(row.signals.get(kind, 0) if row.started else None for kind in SIGNAL_KINDS),
            row.seconds_taken,
            row.score_version,
            row.block.score_version,
            None if norm is None else norm.label,
            None if norm is None else norm.norm_version,
            None if norm is None else norm.n,
        ]
        rows.append(values)
    return rows


def export_csv(page: ResultsPage) -> str:
    """The results page as CSV text, every cell neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(cell) for cell in csv_header(page)])
    for values in csv_rows(page):
        writer.writerow([neutralise(cell) for cell in values])
    return buffer.getvalue()
