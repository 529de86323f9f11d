"""Freeze a norm group: chosen completed attempts become a new, versioned NormTable that never changes.

DECISIONS.md: a norm table is frozen from at least 30 completed attempts (below 100 it is labelled "small
norm group (N = ...)"); the interval needs a reliability computed on at least 100 attempts of the form.
So ``stats`` describe the chosen group, while ``reliability`` is computed on every completed attempt of
the form under the same score version.

Stored shapes (per scope: "overall" and each reported competency code):

- ``stats[scope] = {"n": int, "mean": float, "sd": float, "sorted": [float, ...]}``, provisional scores
  (POMP 0-1) of the chosen attempts, from ``scoring.build_norm_table`` (sample SD, ddof=1);
- ``reliability[scope] = {"alpha": float | None, "low": float | None, "high": float | None, "n": int,
  "status": "none" | "provisional" | "established"}``, from ``scoring.alpha_with_interval`` (95% Feldt
  interval) and ``scoring.classify_reliability_sample``.

A competency left out of ``stats`` has fewer than 30 scores among the chosen attempts, or all of them
equal (no SD); its reliability is still stored. Pilot attempts may be chosen: that is what pilots are for.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import scoring
from accounts import audit
from accounts.models import User
from analytics import item_stats
from assessments.models import NORM_LABEL_MAX, Assessment, NormTable
from database import db
from scoring.norms import NORM_MIN_N

__all__ = [
    "LABEL_MAX",
    "NORM_MIN_N",
    "NormGroupClash",
    "NormGroupError",
    "TooFewAttempts",
    "UnknownAttempts",
    "freeze_norm_table",
]

LABEL_MAX: Final = NORM_LABEL_MAX


class NormGroupError(Exception):
    """A norm group that cannot be frozen; the message is plain English, ``status`` the HTTP status to answer."""

    status = 422


class TooFewAttempts(NormGroupError):
    """Fewer than 30 completed attempts chosen, or fewer than 30 of them with an overall score."""


class UnknownAttempts(NormGroupError):
    """A chosen attempt is not a completed attempt of this assessment under its current score version."""


class NormGroupClash(NormGroupError):
    """Another norm table took the same version number at the same moment."""

    status = 409


def freeze_norm_table(
    assessment: Assessment,
    attempt_public_ids: Collection[str] | None,
    label: str,
    *,
    by: User,
    now: datetime,
) -> NormTable:
    """Freeze the chosen completed attempts (None: all of them) into the assessment's next norm table.

    Raises TooFewAttempts, UnknownAttempts, NormGroupError (empty label, overall scores all equal) or
    NormGroupClash; nothing is written when it raises.
    """
    label = label.strip()
    if not label or len(label) > LABEL_MAX:
        raise NormGroupError(f"Give the norm group a label of 1 to {LABEL_MAX} characters.")
    score_version = item_stats.current_score_version(assessment)
    completed = item_stats.completed_attempts(assessment, score_version)
    if attempt_public_ids is None:
        chosen = completed
    else:
        wanted = set(attempt_public_ids)
        chosen = [a for a in completed if a.public_id in wanted]
        if len(chosen) != len(wanted):
            raise UnknownAttempts(
                f"{len(wanted) - len(chosen)} of the chosen attempts are not completed attempts of this "
                f"assessment under score version {score_version}. Reload the page and choose again."
            )
    if len(chosen) < NORM_MIN_N:
        raise TooFewAttempts(
            f"A norm group needs at least {NORM_MIN_N} completed attempts; you chose {len(chosen)}. Nothing was saved."
        )
    stats = _stats(chosen, item_stats.score_scopes(assessment))
    reliability = {
        scope.code: item_stats.scope_reliability(completed, scope.version_ids).stored()
        for scope in item_stats.score_scopes(assessment)
    }
    latest = db.session.scalar(select(func.max(NormTable.version)).where(NormTable.assessment_id == assessment.id))
    table = NormTable(
        agency_id=assessment.agency_id,
        assessment_id=assessment.id,
        version=(latest or 0) + 1,
        label=label,
        score_version=score_version,
        attempt_ids=sorted(a.id for a in chosen),
        n=len(chosen),
        stats=stats,
        reliability=reliability,
        frozen_at=now,
        frozen_by_id=by.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(table)
            db.session.flush()
    except IntegrityError:
        raise NormGroupClash(
            "Someone froze a norm group for this assessment at the same moment. Reload the page and try again."
        ) from None
    audit.record(
        "norm_table.frozen",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="norm_table",
        object_public_id=table.public_id,
        details={
            "assessment": assessment.public_id,
            "version": table.version,
            "n": table.n,
            "score_version": score_version,
            "scopes": sorted(stats),
        },
    )
    return table


def _stats(chosen: list[item_stats.CompletedAttempt], scopes: list[item_stats.ScoreScope]) -> dict[str, Any]:
    """Per scope, N, mean, SD and the sorted scores; the overall scope must be normable."""
    stats: dict[str, Any] = {}
    for scope in scopes:
        scores = item_stats.scope_scores(chosen, scope.code)
        overall = scope.code == item_stats.OVERALL
        if len(scores) < NORM_MIN_N:
            if overall:
                raise TooFewAttempts(
                    f"Only {len(scores)} of the {len(chosen)} chosen attempts have an overall score; a norm group "
                    f"needs at least {NORM_MIN_N}. Nothing was saved."
                )
            continue
        try:
            table = scoring.build_norm_table(scores, norm_version=scope.code)
        except scoring.ZeroVarianceError:
            if overall:
                raise NormGroupError(
                    "Every chosen attempt has the same overall score, so the group cannot place anyone. "
                    "Nothing was saved."
                ) from None
            continue
        assert table.scores is not None  # build_norm_table keeps the sorted vector
        stats[scope.code] = {
            "n": table.n,
            "mean": table.mean,
            "sd": table.sd,
            "sorted": [float(score) for score in table.scores],
        }
    return stats
