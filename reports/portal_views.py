"""The client portal: a client user's released reports and shortlists, and the public share links.

Client users read through the same scoping as everyone else: ``Report.scope_criteria`` keeps them to the
released, not withdrawn reports of their own company, so another client's id answers 404. A share link
carries only its signed token; the token names the link, the link names the report.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts import audit, throttle
from accounts.access import access, current_scope, get_scoped_or_404, scoped_select
from accounts.models import Role, Scope, User
from database import db, unit_of_work, utcnow
from http_security import render_error
from positions.models import Position
from reports import jobs, services
from reports.models import JobStatus, Report, ReportFile, ReportJob, ReportKind, ShareLink
from reports.views import invitation_of, one_scoped, pdf_response, record_shortlist_view

bp = Blueprint("portal", __name__)

CLIENT_ONLY = frozenset({Role.CLIENT})
LINK_INVALID = (
    "This link does not work. It may have expired or been withdrawn, or it may have been copied wrongly. "
    "Please ask the agency that sent it for a new link."
)


def _signed_in_user() -> User | None:
    return current_user if current_user.is_authenticated else None


def _latest_job_failed(kind: ReportKind, scope: Scope, *, report: Report | None, position: Position) -> bool:
    """Whether the newest render of this report (or shortlist) failed, so the waiting page can say so."""
    query = scoped_select(ReportJob, scope).where(ReportJob.kind == kind, ReportJob.position_id == position.id)
    if report is not None:
        query = query.where(ReportJob.report_id == report.id)
    latest = db.session.scalar(query.order_by(ReportJob.id.desc()).limit(1))
    return latest is not None and latest.status is JobStatus.FAILED


def _file_or_render(kind: ReportKind, *, report: Report | None, position: Position) -> ReportFile | None:
    """The PDF of the data as it stands now, or None after asking for it to be rendered (idempotent)."""
    now = utcnow()
    file = jobs.current_file(kind, report=report, position=position, now=now)
    if file is None:
        with unit_of_work():
            job = jobs.request_render(kind, report=report, position=position, by=None, now=now)
        file = jobs.ready_file(job)
    return file


def _status(kind: ReportKind, scope: Scope, *, report: Report | None, position: Position) -> ResponseReturnValue:
    """{"ready", "failed"} for the waiting page's script."""
    ready = jobs.current_file(kind, report=report, position=position, now=utcnow()) is not None
    failed = not ready and _latest_job_failed(kind, scope, report=report, position=position)
    return jsonify(ready=ready, failed=failed)


def _preparing(title: str, download_url: str, status_url: str) -> tuple[str, int]:
    """The waiting page: its script polls status_url and offers download_url when the PDF is ready."""
    body = render_template("reports/preparing.html", title=title, download_url=download_url, status_url=status_url)
    return body, 200


def _position_of(report: Report, scope: Scope) -> Position:
    position: Position = one_scoped(Position, scope, Position.id == report.position_id)
    return position


# --- Signed-in client users ------------------------------------------------------------------------------


@bp.get("/portal")
@access(roles=CLIENT_ONLY)
def index() -> ResponseReturnValue:
    """The client's positions with their released reports, and a shortlist per position."""
    user: User = current_user
    return render_template(
        "portal/index.html",
        positions=services.portal_positions(current_scope()),
        client=user.client,
        agency=user.agency,
    )


@bp.get("/portal/reports/<public_id>/download")
@access(roles=CLIENT_ONLY, owns=Report)
def download_report(public_id: str) -> ResponseReturnValue:
    """The released report's PDF, or a page that waits for it to be made; every download is audited."""
    report = get_scoped_or_404(Report, public_id)
    scope = current_scope()
    file = _file_or_render(ReportKind.DOSSIER, report=report, position=_position_of(report, scope))
    if file is None:
        return _preparing(
            "Your report is being prepared",
            url_for("portal.download_report", public_id=public_id),
            url_for("portal.report_status", public_id=public_id),
        )
    with unit_of_work():
        services.record_view(report, via="portal", now=utcnow(), actor=current_user)
    return pdf_response(ReportKind.DOSSIER, file, invitation_of(report, scope).candidate.name)


@bp.get("/portal/reports/<public_id>/status")
@access(roles=CLIENT_ONLY, owns=Report)
def report_status(public_id: str) -> ResponseReturnValue:
    """Whether the report's PDF is ready (JSON), for the waiting page's script."""
    report = get_scoped_or_404(Report, public_id)
    scope = current_scope()
    return _status(ReportKind.DOSSIER, scope, report=report, position=_position_of(report, scope))


@bp.get("/portal/positions/<public_id>/shortlist")
@access(roles=CLIENT_ONLY, owns=Position)
def shortlist(public_id: str) -> ResponseReturnValue:
    """The position's shortlist of released candidates as a PDF, or a page that waits for it; audited."""
    position = get_scoped_or_404(Position, public_id)
    file = _file_or_render(ReportKind.SHORTLIST, report=None, position=position)
    if file is None:
        return _preparing(
            "Your shortlist is being prepared",
            url_for("portal.shortlist", public_id=public_id),
            url_for("portal.shortlist_status", public_id=public_id),
        )
    with unit_of_work():
        record_shortlist_view(position, via="portal", now=utcnow(), actor=current_user)
    return pdf_response(ReportKind.SHORTLIST, file, position.title)


@bp.get("/portal/positions/<public_id>/shortlist/status")
@access(roles=CLIENT_ONLY, owns=Position)
def shortlist_status(public_id: str) -> ResponseReturnValue:
    """Whether the position's shortlist PDF is ready (JSON), for the waiting page's script."""
    position = get_scoped_or_404(Position, public_id)
    return _status(ReportKind.SHORTLIST, current_scope(), report=None, position=position)


# --- Share links: anyone holding the link ----------------------------------------------------------------


def _refuse_link(now: datetime) -> None:
    """Audit a refused share link (never the token itself) and count it against the address, in units of work
    of their own."""
    throttle.count_hit(throttle.SHARE_LINK_PER_ADDRESS, request.remote_addr or "unknown", now)
    user = _signed_in_user()
    audit.record_now(
        "report.share_link_refused",
        now=now,
        agency_public_id=user.agency.public_id if user else None,
        actor_public_id=user.public_id if user else None,
        object_type="share_link",
    )


def _shared(token: str) -> tuple[ShareLink, Report, Scope] | None:
    """The live link, its released report and the client scope the token grants, whoever holds the link.

    None for every kind of bad link alike (malformed, tampered, expired, revoked, report withdrawn), audited.
    """
    now = utcnow()
    try:
        link = services.share_link_from_token(token, now)
    except services.LinkInvalid:
        _refuse_link(now)
        return None
    scope = Scope(link.agency_id, link.client_id)
    report = db.session.scalar(scoped_select(Report, scope).where(Report.id == link.report_id))
    if report is None:
        _refuse_link(now)
        return None
    return link, report, scope


@bp.get("/r/<token>")
@access(roles=None)
def shared_report(token: str) -> ResponseReturnValue:
    """The report a share link names, for anyone holding the link; a bad link is a generic 404 page.

    A HEAD request (a mail scanner checking the link) learns only that the link works: no render, no view.
    """
    wait = throttle.retry_after(throttle.SHARE_LINK_PER_ADDRESS, request.remote_addr or "unknown", utcnow())
    if wait:
        body, status = render_error(429)
        return Response(body, status=status, headers={"Retry-After": str(wait)})
    found = _shared(token)
    if found is None:
        return render_error(404, LINK_INVALID)
    link, report, scope = found
    if request.method == "HEAD":
        return Response(status=200)
    file = _file_or_render(ReportKind.DOSSIER, report=report, position=_position_of(report, scope))
    if file is None:
        return _preparing(
            "Your report is being prepared",
            url_for("portal.shared_report", token=token),
            url_for("portal.shared_report_status", token=token),
        )
    with unit_of_work():
        services.record_view(report, via="share_link", now=utcnow(), actor=_signed_in_user(), link=link)
    return pdf_response(ReportKind.DOSSIER, file, invitation_of(report, scope).candidate.name)


@bp.get("/r/<token>/status")
@access(roles=None)
def shared_report_status(token: str) -> ResponseReturnValue:
    """Whether the shared report's PDF is ready (JSON); a bad link answers 404."""
    wait = throttle.retry_after(throttle.SHARE_LINK_PER_ADDRESS, request.remote_addr or "unknown", utcnow())
    if wait:
        return jsonify(error="Too many tries. Please wait and try again."), 429, {"Retry-After": str(wait)}
    found = _shared(token)
    if found is None:
        return jsonify(error="This link does not work."), 404
    _, report, scope = found
    return _status(ReportKind.DOSSIER, scope, report=report, position=_position_of(report, scope))
