"""Released results and their PDF reports. A result exists for the API once a recruiter has released the
candidate's report; a withdrawn report, an unreleased one and every pilot's are 404, like another agency's."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from sqlalchemy import Select, select
from werkzeug.wrappers import Response

from accounts.access import scoped_select
from api.base import api_access, bp, current_key, not_found
from api.models import ApiScope
from api.pagination import listing, page
from api.problems import ApiError
from assessments.models import Assessment, Invitation
from database import db, unit_of_work, utcnow
from reports import jobs, services
from reports.context import DossierContext, Score, dossier_context
from reports.models import JobStatus, Report, ReportJob, ReportKind
from reports.views import pdf_response

RENDER_RETRY_SECONDS = 5


def released_query() -> Select[Any]:
    """The key's agency's released, not withdrawn, non-pilot reports."""
    not_pilot = select(Invitation.id).join(Assessment).where(Assessment.pilot.is_(False))
    return scoped_select(Report, current_key().as_scope()).where(
        Report.released_at.is_not(None), Report.withdrawn_at.is_(None), Report.invitation_id.in_(not_pilot)
    )


def released_or_404(public_id: str) -> Report:
    report: Report | None = db.session.scalar(released_query().where(Report.public_id == public_id))
    if report is None:
        raise not_found(Report, public_id)
    return report


def score_json(score: Score | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "provisional": score.provisional,
        "normed": score.normed,
        "sten": score.sten,
        "t": round(score.t, 2) if score.t is not None else None,
        "interval": {"low": round(score.interval[0], 2), "high": round(score.interval[1], 2)}
        if score.interval
        else None,
        "sten_range": {"low": score.sten_range[0], "high": score.sten_range[1]} if score.sten_range else None,
        "percentile": round(score.percentile, 1) if score.percentile is not None else None,
        "percentile_kind": score.percentile_kind,
        "text": score.text,
    }


def fit_json(context: DossierContext) -> dict[str, Any] | None:
    fit = context.fit
    if fit is None:
        return None
    return {
        "overall": fit.overall,
        "summary": fit.overall_text,
        "unavailable": fit.unavailable,
        "components": [
            {"name": c.name, "value": c.value, "weight": c.weight, "status": c.status, "rule": c.rule}
            for c in fit.components
        ],
        "essential_requirements": [{"requirement": name, "met": met, "note": note} for name, met, note in fit.gates],
        "gaps": list(fit.gaps),
    }


def result_json(report: Report) -> dict[str, Any]:
    invitation = db.session.get_one(Invitation, report.invitation_id)
    context = dossier_context(report)
    method = context.methodology
    base = current_app.config["BASE_URL"]
    assert report.released_at is not None
    return {
        "id": report.public_id,
        "invitation_id": invitation.public_id,
        "candidate_id": invitation.candidate.public_id,
        "assessment_id": invitation.assessment.public_id,
        "position_id": invitation.assessment.position.public_id,
        "released_at": report.released_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
        "submitted_on": context.submitted_on.isoformat(),
        "overall": score_json(context.overall),
        "norm_group": context.norm_group,
        "competencies": [
            {
                "code": line.code,
                "name": line.name,
                "score": score_json(line.score),
                "items": line.items,
                "weight_sum": round(line.weight_sum, 2),
            }
            for line in context.competencies
        ],
        "fit": fit_json(context),
        "missing": list(context.missing),
        "versions": {
            "algorithm": method.algorithm_version,
            "score": method.score_version,
            "keys": method.key_versions,
            "norm": method.norm_version,
        },
        "reliability": method.reliability,
        "sem": method.sem,
        "report_url": f"{base}/api/v1/results/{report.public_id}/report.pdf",
    }


@bp.get("/results")
@api_access(scope=ApiScope.READ)
def list_results() -> Response:
    key = current_key()
    rows, cursor = page(
        released_query(), updated=Report.updated_at, ident=Report.public_id, kind="results", agency=key.agency.public_id
    )
    return jsonify(listing(rows, cursor, result_json))


@bp.get("/results/<public_id>")
@api_access(scope=ApiScope.READ, owns=Report)
def get_result(public_id: str) -> Response:
    return jsonify(result_json(released_or_404(public_id)))


@bp.get("/results/<public_id>/report.pdf")
@api_access(scope=ApiScope.READ, owns=Report)
def get_report_pdf(public_id: str) -> Response:
    """The client dossier as a PDF; 202 with Retry-After while it is being made (the first request asks for it)."""
    report = released_or_404(public_id)
    now = utcnow()
    file = jobs.current_file(ReportKind.DOSSIER, report=report, now=now)
    if file is None:
        with unit_of_work():
            job = jobs.request_render(ReportKind.DOSSIER, report=report, by=None, now=now)
        file = jobs.ready_file(job)
        if file is None:
            latest = db.session.get(ReportJob, job.id)
            if latest is not None and latest.status is JobStatus.FAILED:
                raise ApiError(409, "The PDF could not be made. A recruiter can try again from the report's page.")
            response = jsonify(status="rendering", retry_after=RENDER_RETRY_SECONDS)
            response.status_code = 202
            response.headers["Retry-After"] = str(RENDER_RETRY_SECONDS)
            return response
    with unit_of_work():
        services.record_view(report, via="api", now=now)
    invitation = db.session.get_one(Invitation, report.invitation_id)
    return pdf_response(ReportKind.DOSSIER, file, invitation.candidate.name)
