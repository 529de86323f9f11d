"""Read models for the fit pages: a position's candidates, their latest people-skill scores and their fits.

A position's candidates are the people invited to any of its assessments (revoked invitations
included: the person was considered). Their people-skill scores come from the latest submitted and
scored attempt for the position (its result under the assessment's current score version when there is one); a
candidate without one is "not yet assessed". Every number comes from ``scoring_adapter.fit_for``.
Reads only, inside the position's agency; demographic answers are never read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from assessments import scoring_adapter
from assessments.models import Assessment, Attempt, AttemptResult, Invitation
from assessments.scoring_adapter import FitContext, FitUnavailable
from candidates.models import Candidate, CandidateExperience
from database import db
from positions.models import Position

if TYPE_CHECKING:
    from scoring import FitLine, FitResult, Gap, Gate

SORTS: Final = ("fit", "name")
COMPARE_MIN: Final = 2
COMPARE_MAX: Final = 4
_TRUE: Final = frozenset({"1", "on", "y", "yes", "true"})


@dataclass(frozen=True)
class ScoreSource:
    """The attempt a candidate's people-skill scores come from, and those scores (POMP 0-1 by competency code)."""

    assessment_title: str
    submitted_at: datetime
    algorithm_version: str
    pomp: Mapping[str, float]


@dataclass(frozen=True)
class JobRow:
    """One job of the candidate beside its experience line (None when the position weighs no experience)."""

    job: CandidateExperience
    occupation: str | None
    years: float
    line: FitLine | None


@dataclass(frozen=True)
class CandidateFit:
    """One candidate's fit to the position: the result, or why it cannot be computed, and its sources."""

    candidate: Candidate
    result: FitResult | None
    unavailable: FitUnavailable | None
    scores: ScoreSource | None
    unconfirmed_skills: int
    as_of: date

    @property
    def assessed(self) -> bool:
        """True when a submitted, scored attempt for the position exists."""
        return self.scores is not None

    @property
    def display(self) -> int | None:
        """The overall fit as a whole number 0-100, or None."""
        return None if self.result is None else self.result.overall_display

    @property
    def gates_met(self) -> bool:
        """True when the fit exists and every mandatory requirement is met (also when there is none)."""
        return self.result is not None and self.result.gates_met

    @property
    def flagged_gates(self) -> tuple[Gate, ...]:
        """Mandatory requirements not met or not yet assessed: flagged, never a reason to hide anyone."""
        return () if self.result is None else tuple(gate for gate in self.result.gates if not gate.met)

    @property
    def surprising(self) -> bool:
        return self.result is not None and self.result.surprising

    @property
    def top_gaps(self) -> tuple[Gap, ...]:
        """The two gaps whose closing would add the most to the overall."""
        return () if self.result is None else self.result.gaps[:2]

    @property
    def jobs(self) -> tuple[JobRow, ...]:
        """The candidate's jobs in profile order, each with its experience line ("job N" follows that order)."""
        lines: dict[str, FitLine] = {}
        if self.result is not None:
            lines = {line.key: line for line in self.result.component("experience").lines}
        return tuple(
            JobRow(
                job,
                scoring_adapter.occupation_label(job.occupation_uri),
                scoring_adapter.job_years(job, self.as_of),
                lines.get(f"job {number}"),
            )
            for number, job in enumerate(self.candidate.experience, start=1)
        )


@dataclass(frozen=True)
class RankingFilters:
    """The ranking's filters and sort, read from the query string; ``errors`` says what was ignored."""

    min_fit: int | None = None
    gates_met: bool = False
    surprising: bool = False
    assessed: bool = False
    sort: str = "fit"
    errors: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> RankingFilters:
        """Filters from request arguments; a value out of shape is ignored and named in ``errors``."""
        errors: list[str] = []
        min_fit: int | None = None
        text = str(args.get("min", "") or "").strip()
        if text:
            if text.isdigit() and 0 <= int(text) <= 100:
                min_fit = int(text)
            else:
                errors.append("The minimum fit must be a whole number from 0 to 100; it was ignored.")
        sort = str(args.get("sort", "") or "fit")
        if sort not in SORTS:
            errors.append("Sort by fit or by name; the list is sorted by fit.")
            sort = "fit"
        return cls(
            min_fit=min_fit,
            gates_met=_flag(args.get("gates")),
            surprising=_flag(args.get("surprising")),
            assessed=_flag(args.get("assessed")),
            sort=sort,
            errors=tuple(errors),
        )

    @property
    def active(self) -> bool:
        return self.min_fit is not None or self.gates_met or self.surprising or self.assessed

    def keep(self, row: CandidateFit) -> bool:
        """True when the row passes every filter (a fit that cannot be computed fails a minimum fit)."""
        if self.min_fit is not None and (row.display is None or row.display < self.min_fit):
            return False
        if self.gates_met and not row.gates_met:
            return False
        if self.surprising and not row.surprising:
            return False
        return not (self.assessed and not row.assessed)


def _flag(value: object) -> bool:
    return str(value or "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Ranking:
    """The position's candidates after the filters, in order, out of ``total``."""

    context: FitContext
    rows: tuple[CandidateFit, ...]
    total: int
    flagged: int
    filters: RankingFilters

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


def position_candidates(position: Position, public_ids: Collection[str] | None = None) -> list[Candidate]:
    """The people invited to any assessment of the position (optionally only these public ids)."""
    invited = (
        select(Invitation.candidate_id)
        .join(Assessment, Assessment.id == Invitation.assessment_id)
        .where(Assessment.position_id == position.id, Invitation.agency_id == position.agency_id)
    )
    query = (
        select(Candidate)
        .where(Candidate.agency_id == position.agency_id, Candidate.id.in_(invited))
        .options(selectinload(Candidate.skills), selectinload(Candidate.education), selectinload(Candidate.experience))
        .order_by(Candidate.id)
    )
    if public_ids is not None:
        query = query.where(Candidate.public_id.in_(list(public_ids)))
    return list(db.session.scalars(query))


def latest_scores(position: Position, candidate_ids: Collection[int]) -> dict[int, ScoreSource]:
    """Per candidate id, the scores of the latest submitted and scored attempt at one of the position's assessments."""
    if not candidate_ids:
        return {}
    rows = db.session.execute(
        select(
            Invitation.candidate_id,
            Attempt.id,
            Assessment.title,
            Attempt.submitted_at,
            AttemptResult.algorithm_version,
            AttemptResult.detail,
            AttemptResult.score_version,
            func.coalesce(Assessment.score_version, scoring_adapter.ALGORITHM_VERSION),
        )
        .join(Assessment, Assessment.id == Invitation.assessment_id)
        .join(Attempt, Attempt.invitation_id == Invitation.id)
        .join(AttemptResult, AttemptResult.attempt_id == Attempt.id)
        .where(
            Assessment.position_id == position.id,
            Invitation.agency_id == position.agency_id,
            Invitation.candidate_id.in_(list(candidate_ids)),
            Attempt.submitted_at.is_not(None),
        )
        .order_by(Attempt.submitted_at.desc(), Attempt.id.desc(), AttemptResult.computed_at.desc())
    )
    # Per candidate: (attempt id, scores, whether they are under the assessment's current score version).
    chosen: dict[int, tuple[int, ScoreSource, bool]] = {}
    for candidate_id, attempt_id, title, submitted_at, version, detail, score_version, current in rows:
        source = ScoreSource(title, submitted_at, version, scoring_adapter.competency_pomp(detail or {}))
        held = chosen.get(candidate_id)
        if held is None or (held[0] == attempt_id and score_version == current and not held[2]):
            chosen[candidate_id] = (attempt_id, source, score_version == current)
    return {candidate_id: source for candidate_id, (_, source, _) in chosen.items()}


def candidate_fits(
    position: Position, as_of: date, *, public_ids: Collection[str] | None = None
) -> tuple[FitContext, list[CandidateFit]]:
    """The position's side of the fit and every (or the named) candidate's fit, by name."""
    context = scoring_adapter.fit_context(position)
    candidates = position_candidates(position, public_ids)
    scores = latest_scores(position, [c.id for c in candidates])
    candidates.sort(key=lambda c: (c.name.casefold(), c.public_id))  # the same order on every database
    fits = []
    for candidate in candidates:
        source = scores.get(candidate.id)
        pomp: Mapping[str, float] = {} if source is None else source.pomp
        outcome = scoring_adapter.fit_for(position, candidate, pomp, as_of, context=context)
        fits.append(
            CandidateFit(
                candidate=candidate,
                result=None if isinstance(outcome, FitUnavailable) else outcome,
                unavailable=outcome if isinstance(outcome, FitUnavailable) else None,
                scores=source,
                unconfirmed_skills=sum(1 for skill in candidate.skills if skill.skill_key is None),
                as_of=as_of,
            )
        )
    return context, fits


def ranking(position: Position, filters: RankingFilters, as_of: date) -> Ranking:
    """The position's candidates filtered and sorted: by fit (highest first, no fit last, then name) or by name."""
    context, fits = candidate_fits(position, as_of)
    kept = [row for row in fits if filters.keep(row)]
    if filters.sort == "fit":
        kept.sort(key=lambda row: (row.result is None, -(row.result.overall if row.result else 0.0)))
    # Python's sort is stable: candidates come by name already, so ties stay in name order.
    return Ranking(
        context=context,
        rows=tuple(kept),
        total=len(fits),
        flagged=sum(1 for row in fits if row.flagged_gates),
        filters=filters,
    )


def candidate_fit(position: Position, public_id: str, as_of: date) -> tuple[FitContext, CandidateFit] | None:
    """One candidate's fit to the position; None unless the candidate was invited to one of its assessments."""
    context, fits = candidate_fits(position, as_of, public_ids=[public_id])
    return (context, fits[0]) if fits else None


def comparison(position: Position, public_ids: list[str], as_of: date) -> tuple[FitContext, list[CandidateFit]] | None:
    """The named candidates' fits in the order given; None when any of them is not a candidate of the position."""
    context, fits = candidate_fits(position, as_of, public_ids=public_ids)
    by_id = {row.candidate.public_id: row for row in fits}
    if any(public_id not in by_id for public_id in public_ids):
        return None
    return context, [by_id[public_id] for public_id in public_ids]
