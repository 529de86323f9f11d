"""Results pages on the assessments blueprint: every candidate's scores for one assessment or for all the
assessments of a position, and their CSV exports. Reads only; the numbers come from ``results``."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from werkzeug.wrappers import Response

from accounts.access import access, current_scope, get_scoped_or_404
from accounts.models import STAFF_ROLES
from assessments import results, scoring_adapter
from assessments.models import Assessment, InvitationStatus
from assessments.views import bp
from database import utcnow
from positions.models import Position


def _render(page: results.ResultsPage, csv_endpoint: str, public_id: str) -> str:
    return render_template(
        "assessments/results.html",
        page=page,
        csv_endpoint=csv_endpoint,
        public_id=public_id,
        statuses=[status.value for status in InvitationStatus],
        pilot_choices=results.PILOT_CHOICES,
        pilot_label=results.PILOT_LABEL,
        moved_points=results.MOVED_POINTS,
        no_norm_group=scoring_adapter.NO_NORM_GROUP,
    )


def _csv(page: results.ResultsPage, name: str) -> Response:
    filename = f"results-{name}-{utcnow():%Y%m%d-%H%M}.csv"
    headers: dict[str, Any] = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    body = results.export_csv(page).encode("utf-8-sig")  # the BOM tells Excel the file is UTF-8
    return Response(body, content_type="text/csv; charset=utf-8", headers=headers)


@bp.get("/<public_id>/results")
@access(roles=STAFF_ROLES, owns=Assessment)
def assessment_results(public_id: str) -> str:
    """Every invited candidate's scores for the assessment, with the fit, status and integrity context."""
    assessment = get_scoped_or_404(Assessment, public_id)
    page = results.assessment_results(assessment, request.args, utcnow())
    return _render(page, "assessments.assessment_results_csv", public_id)


@bp.get("/<public_id>/results.csv")
@access(roles=STAFF_ROLES, owns=Assessment)
def assessment_results_csv(public_id: str) -> Response:
    """The assessment's results page (same filters and order) as a CSV download."""
    assessment = get_scoped_or_404(Assessment, public_id)
    return _csv(results.assessment_results(assessment, request.args, utcnow()), assessment.public_id)


@bp.get("/positions/<public_id>/results")
@access(roles=STAFF_ROLES, owns=Position)
def position_results(public_id: str) -> str:
    """Every candidate's scores on all the position's assessments."""
    position = get_scoped_or_404(Position, public_id)
    page = results.position_results(position, current_scope(), request.args, utcnow())
    return _render(page, "assessments.position_results_csv", public_id)


@bp.get("/positions/<public_id>/results.csv")
@access(roles=STAFF_ROLES, owns=Position)
def position_results_csv(public_id: str) -> Response:
    """The position's results page (same filters and order) as a CSV download."""
    position = get_scoped_or_404(Position, public_id)
    return _csv(results.position_results(position, current_scope(), request.args, utcnow()), position.public_id)
