"""Recruiters' decisions on a position's candidates: advance, hold or decline, append-only, with a reason
whenever the decision goes against the evidence.

A person decides; nothing here decides for them. There is no default outcome and nothing is declined
automatically: a decision exists only when a recruiter records one. Every decision is a new row (the
latest per position and candidate is the current one) and an audit event ``decision.recorded``.

The evidence, per candidate, in the whole points (0-100) the fit pages show:

- ``fit``: the overall fit as shown (``FitResult.overall_display``), None when it cannot be computed;
- ``median fit``: the median of the shown fits of the position's *assessed* candidates (a submitted,
  scored attempt for the position) that have a fit; the candidate's own fit counts if they are assessed;
- ``gap threshold``: the position profile's ``gap_below`` (0.5 by default) as points, the line below
  which the fit pages call a requirement a gap;
- ``gates``: the mandatory (knock-out) requirements; "meets every gate" is ``FitResult.gates_met`` (also
  true when there is none); "fails a gate" is a gate whose status is ``not_met`` (a gate *not yet
  assessed* is neither met nor failed);
- ``overall provisional score``: the overall POMP of the candidate's latest scored attempt for the
  position (its result under the assessment's current score version), as points;
- ``lowest minimum``: the lowest people-skill minimum (``PositionCompetency.min_score``) of the position.

The rule ("against the evidence", a reason required):

- **decline** is against the evidence when the candidate has a fit, a median exists, ``fit >= median fit``
  and the candidate meets every gate;
- **advance** is against the evidence when any of: ``fit < gap threshold``; a gate is ``not_met``; or
  the overall provisional score is below every competency minimum (``overall < lowest minimum``, only
  when the position has people-skill minimums and the candidate has an overall score);
- **hold** is never against the evidence.

Comparisons use the shown whole points (the median may end in .5), so a recruiter can check the rule
against the page. A reason may always be given; it is required only in those cases.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select

from accounts import audit
from accounts.models import User
from assessments import fit_queries, scoring_adapter
from assessments.fit_queries import CandidateFit
from assessments.models import Assessment, Attempt, AttemptResult, Decision, DecisionOutcome, Invitation
from assessments.scoring_adapter import FitContext
from candidates.models import Candidate
from database import db
from positions.models import Position

OUTCOMES: Final = tuple(outcome.value for outcome in DecisionOutcome)
OUTCOME_WORDS: Final = {"advance": "Advance", "hold": "Hold", "decline": "Decline"}
MAX_REASON_LENGTH: Final = 2000
RULE: Final = (
    "A reason is needed when a decision goes against the evidence: declining someone whose fit is at or above "
    "the median fit of this position's assessed candidates and who meets every mandatory requirement; or "
    "advancing someone whose fit is below the gap threshold, who does not meet a mandatory requirement, or whose "
    "overall provisional score is below every people-skill minimum of the position. Holding never needs one."
)


class DecisionError(Exception):
    """A decision that cannot be recorded; the message is shown to the recruiter."""


class NotACandidate(DecisionError):
    """The person is not a candidate of the position (never invited to its assessments, or another agency's)."""


class UnknownOutcome(DecisionError):
    """The outcome is not advance, hold or decline."""


class ReasonRequired(DecisionError):
    """The decision goes against the evidence and no reason was given; ``grounds`` say why one is needed."""

    def __init__(self, grounds: Sequence[str]) -> None:
        self.grounds = tuple(grounds)
        super().__init__("Give a reason: " + "; ".join(self.grounds) + ".")


@dataclass(frozen=True)
class ScoredAttempt:
    """A candidate's latest scored attempt for a position, under its assessment's current score version."""

    candidate_id: int
    attempt_id: int
    score_version: str
    overall_pomp: float | None
    detail: Mapping[str, Any]

    @property
    def competency_pomp(self) -> dict[str, float]:
        """Competency code -> provisional score (POMP 0-1) of the competencies shown."""
        return scoring_adapter.competency_pomp(self.detail)


@dataclass(frozen=True)
class Evidence:
    """What the rule reads for one candidate, in the whole points (0-100) the pages show."""

    fit: int | None
    median_fit: float | None
    gap_threshold: int | None
    gates_met: bool
    failed_gates: tuple[str, ...]
    overall_score: int | None
    lowest_minimum: int | None

    def grounds(self, outcome: str) -> tuple[str, ...]:
        """Why ``outcome`` would go against the evidence, one plain sentence per ground; () when it would not."""
        return tuple(sentence for sentence, _ in self._grounds(outcome))

    def short_grounds(self, outcome: str) -> tuple[str, ...]:
        """The same grounds in a few words, for the ranking's narrow column."""
        return tuple(words for _, words in self._grounds(outcome))

    def _grounds(self, outcome: str) -> list[tuple[str, str]]:
        """(sentence, few words) per ground of the rule in the module docstring."""
        fit, median, gap = self.fit, self.median_fit, self.gap_threshold
        if outcome == DecisionOutcome.DECLINE:
            if fit is not None and median is not None and fit >= median and self.gates_met:
                shown = format_points(median)
                return [
                    (
                        f"the fit of {fit} is at or above the median fit of the assessed candidates ({shown}) "
                        "and every mandatory requirement is met",
                        f"fit {fit} at or above the median {shown}, every mandatory requirement met",
                    )
                ]
            return []
        if outcome != DecisionOutcome.ADVANCE:
            return []
        grounds = []
        if fit is not None and gap is not None and fit < gap:
            grounds.append((f"the fit of {fit} is below the gap threshold of {gap}", f"fit {fit} below {gap}"))
        if self.failed_gates:
            names = ", ".join(self.failed_gates)
            grounds.append((f"a mandatory requirement is not met ({names})", "a mandatory requirement not met"))
        overall, lowest = self.overall_score, self.lowest_minimum
        if overall is not None and lowest is not None and overall < lowest:
            grounds.append(
                (
                    f"the overall provisional score of {overall} is below every people-skill minimum of the position "
                    f"(the lowest is {lowest})",
                    f"overall score {overall} below every minimum",
                )
            )
        return grounds

    def against(self, outcome: str) -> bool:
        """True when ``outcome`` goes against the evidence (a reason is then required)."""
        return bool(self.grounds(outcome))


@dataclass(frozen=True)
class Entry:
    """One recorded decision with the name of whoever recorded it (None once that account is gone)."""

    decision: Decision
    decided_by: str | None

    @property
    def outcome_text(self) -> str:
        return OUTCOME_WORDS[str(self.decision.outcome)]


@dataclass(frozen=True)
class Board:
    """The position's evidence and current decisions, by candidate id, for the fit pages."""

    evidence: Mapping[int, Evidence]
    current: Mapping[int, Entry]
    median_fit: float | None
    gap_threshold: int | None
    lowest_minimum: int | None
    rule: str = RULE

    def evidence_for(self, candidate: Candidate) -> Evidence:
        """The candidate's evidence (an empty one if the candidate is not on the board)."""
        return self.evidence.get(candidate.id) or Evidence(
            None, self.median_fit, self.gap_threshold, False, (), None, None
        )

    def current_for(self, candidate: Candidate) -> Entry | None:
        """The candidate's current (latest) decision, or None."""
        return self.current.get(candidate.id)


def format_points(value: float) -> str:
    """Points as the pages print them: a whole number, or one decimal for a median that ends in .5."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def current_results(position: Position, candidate_ids: Collection[int] | None = None) -> dict[int, ScoredAttempt]:
    """Per candidate id, the latest submitted and scored attempt at one of the position's assessments, with its
    result under the assessment's current score version (None there: the algorithm version).

    A candidate whose latest scored attempt has no result under that version is left out (not yet scored).
    """
    query = (
        select(
            Invitation.candidate_id,
            Attempt.id,
            Assessment.score_version,
            AttemptResult.score_version,
            AttemptResult.overall_pomp,
            AttemptResult.detail,
        )
        .join(Assessment, Assessment.id == Invitation.assessment_id)
        .join(Attempt, Attempt.invitation_id == Invitation.id)
        .join(AttemptResult, AttemptResult.attempt_id == Attempt.id)
        .where(
            Assessment.position_id == position.id,
            Invitation.agency_id == position.agency_id,
            Attempt.submitted_at.is_not(None),
        )
        .order_by(Attempt.submitted_at.desc(), Attempt.id.desc())
    )
    if candidate_ids is not None:
        query = query.where(Invitation.candidate_id.in_(list(candidate_ids)))
    latest: dict[int, int] = {}
    chosen: dict[int, ScoredAttempt] = {}
    for candidate_id, attempt_id, current_version, version, overall, detail in db.session.execute(query):
        if latest.setdefault(candidate_id, attempt_id) != attempt_id:
            continue
        if version == (current_version or scoring_adapter.ALGORITHM_VERSION):
            chosen[candidate_id] = ScoredAttempt(candidate_id, attempt_id, version, overall, detail or {})
    return chosen


def board(
    position: Position, as_of: date, *, context: FitContext | None = None, fits: Sequence[CandidateFit] | None = None
) -> Board:
    """The evidence for every candidate of the position and their current decisions.

    A caller that has every candidate's fit already (an unfiltered ranking) passes ``context`` and ``fits``.
    """
    if context is None or fits is None:
        context, fits = fit_queries.candidate_fits(position, as_of)
    gap = None if context.profile is None else scoring_adapter.provisional_percent(context.profile.gap_below)
    minimums = [row.min_score for row in position.competencies]
    lowest = scoring_adapter.provisional_percent(min(minimums)) if minimums else None
    assessed = [row.display for row in fits if row.assessed and row.display is not None]
    median = float(statistics.median(assessed)) if assessed else None
    results = current_results(position, [row.candidate.id for row in fits])
    evidence = {}
    for row in fits:
        result = results.get(row.candidate.id)
        overall = None if result is None else scoring_adapter.provisional_percent(result.overall_pomp)
        evidence[row.candidate.id] = Evidence(
            fit=row.display,
            median_fit=median,
            gap_threshold=gap,
            gates_met=row.gates_met,
            failed_gates=tuple(gate.name for gate in row.flagged_gates if gate.status == "not_met"),
            overall_score=overall,
            lowest_minimum=lowest,
        )
    return Board(
        evidence=evidence,
        current=current_decisions(position),
        median_fit=median,
        gap_threshold=gap,
        lowest_minimum=lowest,
    )


def current_decisions(position: Position) -> dict[int, Entry]:
    """Per candidate id, the latest decision recorded for the position."""
    current: dict[int, Entry] = {}
    for entry in _entries(position):
        current.setdefault(entry.decision.candidate_id, entry)
    return current


def history(position: Position, candidate: Candidate) -> list[Entry]:
    """Every decision on the candidate for the position, newest first."""
    return _entries(position, candidate_id=candidate.id)


def _entries(position: Position, *, candidate_id: int | None = None) -> list[Entry]:
    query = (
        select(Decision, User.name)
        .outerjoin(User, User.id == Decision.decided_by_id)
        .where(Decision.position_id == position.id, Decision.agency_id == position.agency_id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
    )
    if candidate_id is not None:
        query = query.where(Decision.candidate_id == candidate_id)
    return [Entry(decision, name) for decision, name in db.session.execute(query)]


def candidate_of(position: Position, public_id: str) -> Candidate | None:
    """The candidate with that public id if invited to one of the position's assessments (same agency), else None."""
    found = fit_queries.position_candidates(position, [public_id])
    return found[0] if found else None


def record_decision(
    position: Position,
    candidate_public_id: str,
    outcome: str,
    reason: str,
    *,
    by: User,
    now: datetime,
    evidence_board: Board | None = None,
) -> Decision:
    """Record a decision on a candidate of the position and audit it; call inside a unit of work.

    ``evidence_board`` lets a caller recording many decisions compute the position's board once (decisions do
    not change the fits or scores it holds); by default it is computed here.

    Raises NotACandidate (not invited to the position's assessments, or another agency's), UnknownOutcome,
    or ReasonRequired when the decision goes against the evidence (see the module's rule) without a reason.
    Nothing is written when it raises.
    """
    if by.agency_id != position.agency_id:
        raise NotACandidate("the position belongs to another agency")
    candidate = candidate_of(position, candidate_public_id)
    if candidate is None:
        raise NotACandidate("not a candidate of this position")
    if outcome not in OUTCOMES:
        raise UnknownOutcome("Choose advance, hold or decline.")
    reason = reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise DecisionError(f"Keep the reason to {MAX_REASON_LENGTH} characters.")
    evidence = (evidence_board or board(position, now.date())).evidence_for(candidate)
    grounds = evidence.grounds(outcome)
    if grounds and not reason:
        raise ReasonRequired(grounds)
    decision = Decision(
        agency_id=position.agency_id,
        position_id=position.id,
        candidate_id=candidate.id,
        outcome=DecisionOutcome(outcome),
        reason=reason,
        against_evidence=bool(grounds),
        decided_by_id=by.id,
        decided_at=now,
    )
    db.session.add(decision)
    db.session.flush()
    audit.record(
        "decision.recorded",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="decision",
        object_public_id=decision.public_id,
        # Random ids only: the outcome and the reason are about a person and stay on the decision row.
        details={"position": position.public_id, "candidate": candidate.public_id},
    )
    return decision
