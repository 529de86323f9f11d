"""Re-scoring: every submitted attempt of an assessment scored again, with the current keys of its pinned
scenario versions and the current algorithm, as a new score version that becomes the current one.

A score version is ``f"{ALGORITHM_VERSION}+k{hash}"``, the hash a short stable digest of the items'
(scenario version id, key version) pairs, so the same keys always give the same version. Rows are
only ever added: an attempt that already has the version is skipped, nothing is overwritten, and a
second run with unchanged keys adds nothing. Everything is computed before anything is written, so a
refusal (unknown assessment, no submitted attempt, a missing key, an answer that cannot be scored)
changes nothing. Services only: the ``flask rescore`` command is a thin wrapper.
"""

from __future__ import annotations

import dataclasses
import hashlib
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts import audit
from accounts.models import Agency
from assessments import delivery, scoring_adapter
from assessments.models import Assessment, AssessmentItem, Attempt, AttemptResult, Invitation
from database import db

MOVED_POINTS: Final = 5.0
"""A re-score "moves" an attempt when its overall score (0-100) changes by more than this."""


class RescoreError(Exception):
    """The re-score was refused and nothing changed; the message is plain English, safe to print."""


class UnknownAssessment(RescoreError):
    """No assessment has that public id."""


class NothingToRescore(RescoreError):
    """The assessment has no submitted attempt."""


class MissingKey(RescoreError):
    """A scored item's version has options without expert ratings, so it has no key to score with."""


@dataclass(frozen=True)
class RescoreReport:
    """What a re-score did (or, for a dry run, would do) and how the overall scores moved.

    ``mean_change`` and ``moved`` compare the new version's overall scores (0-100 points) with those under
    ``previous`` (the version current before the run) on the ``compared`` attempts that have both.
    """

    assessment_public_id: str
    assessment_title: str
    previous: str
    score_version: str
    attempts: int
    added: int
    skipped: int
    compared: int
    mean_change: float | None
    moved: int
    dry_run: bool

    @property
    def changed(self) -> bool:
        """True when the run adds a row or makes its version current."""
        return self.added > 0 or self.previous != self.score_version

    def lines(self) -> list[str]:
        """The report in plain English, one line each (the command prints them)."""
        would = "would be" if self.dry_run else "were"
        lines = [
            f"Assessment {self.assessment_title!r} ({self.assessment_public_id}): score version "
            f"{self.score_version} (current before this run: {self.previous}).",
            f"{self.attempts} submitted attempt{'' if self.attempts == 1 else 's'}: {self.added} {would} re-scored, "
            f"{self.skipped} already had score version {self.score_version} and {would} left as they are.",
        ]
        if self.previous == self.score_version:
            lines.append(f"Score version {self.score_version} is already current: no score changed.")
        elif self.compared and self.mean_change is not None:
            lines.append(
                f"Overall score (0-100) against {self.previous}, on {self.compared} attempts: mean change "
                f"{self.mean_change:+.1f} points; {self.moved} moved by more than {MOVED_POINTS:g} points."
            )
        else:
            lines.append(f"No attempt has an overall score under both {self.previous} and {self.score_version}.")
        if self.dry_run:
            lines.append("Dry run: nothing was written.")
        elif self.previous != self.score_version:
            lines.append(f"Score version {self.score_version} is now current.")
        return lines


def key_pairs(assessment: Assessment) -> list[tuple[int, int]]:
    """The (scenario version id, key version) of every scored item, sorted."""
    return sorted((item.version.id, item.version.key_version) for item in assessment.items)


def keyed_score_version(pairs: Sequence[tuple[int, int]]) -> str:
    """``ALGORITHM_VERSION + "+k" +`` the first 8 hex digits of a SHA-256 of the sorted pairs (stable, order-free)."""
    text = ";".join(f"{version_id}:{key_version}" for version_id, key_version in sorted(pairs))
    return f"{scoring_adapter.ALGORITHM_VERSION}+k{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def missing_keys(assessment: Assessment) -> list[str]:
    """The scored versions whose options lack expert ratings, each named with its key version and options."""
    missing = []
    for version in (item.version for item in assessment.items):
        unrated = [option.label for option in version.options if not option.ratings]
        if unrated:
            missing.append(f"{version.key_label} (no expert rating for option {', '.join(unrated)})")
    return missing


def rescore(public_id: str, *, now: datetime, dry_run: bool = False) -> RescoreReport:
    """Score every submitted attempt of the assessment again as a new score version and make it current.

    Adds rows (never overwrites), sets ``assessment.score_version`` and audits, unless ``dry_run``; call it
    inside ``unit_of_work()``. Raises UnknownAssessment, NothingToRescore, MissingKey, or RescoreError
    for an attempt that cannot be scored, always before anything is written.
    """
    assessment = db.session.scalar(
        select(Assessment)
        .where(Assessment.public_id == public_id)
        .options(selectinload(Assessment.items).selectinload(AssessmentItem.version))
    )
    if assessment is None:
        raise UnknownAssessment(f"There is no assessment with the id {public_id!r}. Nothing was changed.")
    attempts = list(
        db.session.scalars(
            select(Attempt)
            .join(Invitation, Invitation.id == Attempt.invitation_id)
            .where(Invitation.assessment_id == assessment.id, Attempt.submitted_at.is_not(None))
            .options(selectinload(Attempt.answers))
            .order_by(Attempt.id)
        )
    )
    if not attempts:
        raise NothingToRescore(
            f"Assessment {assessment.public_id} has no submitted attempts: there is nothing to re-score. "
            "Nothing was changed."
        )
    missing = missing_keys(assessment)
    if missing:
        raise MissingKey("Missing key version: " + "; ".join(missing) + ". Nothing was changed.")
    version = keyed_score_version(key_pairs(assessment))
    previous = scoring_adapter.current_score_version(assessment)
    stored = _overall_by_version([a.id for a in attempts])
    new_rows: list[AttemptResult] = []
    new_overall: dict[int, float | None] = {}
    for attempt in attempts:
        if (attempt.id, version) in stored:
            new_overall[attempt.id] = stored[(attempt.id, version)]
            continue
        scores = _score(assessment, attempt)
        new_overall[attempt.id] = scores.overall
        new_rows.append(
            AttemptResult(
                attempt_id=attempt.id,
                algorithm_version=scores.algorithm_version,
                score_version=version,
                overall_pomp=scores.overall,
                detail=delivery._plain(dataclasses.asdict(scores)),  # the shape delivery stores at submission
                computed_at=now,
            )
        )
    changes = [
        (after - before) * 100.0
        for attempt_id, after in new_overall.items()
        if after is not None and (before := stored.get((attempt_id, previous))) is not None
    ]
    report = RescoreReport(
        assessment_public_id=assessment.public_id,
        assessment_title=assessment.title,
        previous=previous,
        score_version=version,
        attempts=len(attempts),
        added=len(new_rows),
        skipped=len(attempts) - len(new_rows),
        compared=len(changes),
        mean_change=statistics.fmean(changes) if changes else None,
        moved=sum(1 for change in changes if abs(change) > MOVED_POINTS),
        dry_run=dry_run,
    )
    if dry_run or not report.changed:
        return report
    db.session.add_all(new_rows)
    assessment.score_version = version
    db.session.flush()
    agency = db.session.get_one(Agency, assessment.agency_id)
    audit.record(
        "assessment.rescored",
        now=now,
        agency_public_id=agency.public_id,
        object_type="assessment",
        object_public_id=assessment.public_id,
        details=_audit_details(report),
    )
    return report


def _overall_by_version(attempt_ids: list[int]) -> dict[tuple[int, str], float | None]:
    rows = db.session.execute(
        select(AttemptResult.attempt_id, AttemptResult.score_version, AttemptResult.overall_pomp).where(
            AttemptResult.attempt_id.in_(attempt_ids)
        )
    )
    return {(attempt_id, version): overall for attempt_id, version, overall in rows}


def _score(assessment: Assessment, attempt: Attempt) -> scoring_adapter.AttemptScore:
    answers: dict[int, Any] = {answer.version_id: answer.answer for answer in attempt.answers}
    try:
        return scoring_adapter.score_attempt(assessment, answers)
    except (scoring_adapter.NotScorable, scoring_adapter.InvalidAnswer) as error:
        raise RescoreError(
            f"Attempt {attempt.public_id} cannot be scored with the current keys ({error}). Nothing was changed."
        ) from error


def _audit_details(report: RescoreReport) -> dict[str, Any]:
    return {
        "score_version": report.score_version,
        "previous": report.previous,
        "attempts": report.attempts,
        "added": report.added,
        "mean_change": None if report.mean_change is None else round(report.mean_change, 4),
        "moved": report.moved,
    }
