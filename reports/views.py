"""The recruiter's report pages: review one candidate's report (notes, PDF, release, share links), a
position's reports, and rendering a whole position as one batch with its progress and one ZIP download.

Every PDF or ZIP leaves through ``file_response``: an attachment, never cached, never sniffed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement
from werkzeug.wrappers import Response
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, NumberRange

from accounts import audit
from accounts.access import access, current_scope, get_scoped_or_404, scoped_select
from accounts.models import STAFF_ROLES, Scope, User
from assessments.models import Invitation
from database import db, unit_of_work, utcnow
from positions.models import Position
from reports import jobs, sections, services
from reports.models import NOTES_MAX, JobStatus, Report, ReportBatch, ReportFile, ReportJob, ReportKind, ShareLink

bp = Blueprint("reports", __name__, url_prefix="/reports")

SHARE_DAYS_DEFAULT = 7
SHARE_DAYS_MAX = 30
RECENT_BATCHES = 5


class NotesForm(FlaskForm):
    """The recruiter's notes; their length is the service's rule (checked there, shown on the field)."""

    notes = TextAreaField("Recruiter's notes", render_kw={"maxlength": NOTES_MAX, "rows": 8})


class ShareLinkForm(FlaskForm):
    """How many days a new share link works."""

    days = IntegerField(
        "Days the link works (1 to 30)",
        default=SHARE_DAYS_DEFAULT,
        render_kw={"min": 1, "max": SHARE_DAYS_MAX, "step": 1, "inputmode": "numeric"},
        validators=[
            InputRequired("Enter a number of days from 1 to 30."),
            NumberRange(1, SHARE_DAYS_MAX, "Enter a number of days from 1 to 30."),
        ],
    )


class ActionForm(FlaskForm):
    """A button that posts: the CSRF token only."""


# --- Shared by the staff and portal downloads ----------------------------------------------------------


def file_response(body: bytes, filename: str, content_type: str) -> Response:
    """A download: attachment with a safe ASCII name, never cached (the app's headers agree), never sniffed."""
    return Response(
        body,
        content_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store, private",
            "X-Content-Type-Options": "nosniff",
        },
    )


def pdf_response(kind: ReportKind, file: ReportFile, subject_name: str) -> Response:
    """A rendered PDF as an attachment named after its subject (candidate or position)."""
    return file_response(file.pdf, jobs.filename_for(kind, file, subject_name), "application/pdf")


def one_scoped(model: type[Any], scope: Scope, *criteria: ColumnElement[bool]) -> Any:
    """The one row of a tenant-owned model inside the scope that matches the criteria; 404 otherwise."""
    found = db.session.scalar(scoped_select(model, scope).where(*criteria))
    if found is None:
        abort(404)
    return found


def invitation_of(report: Report, scope: Scope) -> Invitation:
    """The invitation a report was made from, read inside the same scope as the report."""
    invitation: Invitation = one_scoped(Invitation, scope, Invitation.id == report.invitation_id)
    return invitation


def record_shortlist_view(position: Position, *, via: str, now: datetime, actor: User | None = None) -> None:
    """Audit a download of a position's shortlist (random ids only), in the open unit of work."""
    audit.record(
        "report.shortlist_downloaded",
        now=now,
        agency_public_id=position.client.agency.public_id,
        actor_public_id=actor.public_id if actor else None,
        object_type="position",
        object_public_id=position.public_id,
        details={"via": via},
    )


def ascii_slug(text: str, limit: int = 60) -> str:
    """A lowercase ASCII slug for a download name ("" when nothing is left)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:limit].strip("-")


# --- One candidate's report ----------------------------------------------------------------------------


def _review_page(
    invitation: Invitation,
    *,
    notes_form: NotesForm | None = None,
    share_form: ShareLinkForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    now = utcnow()
    review = services.review(invitation, now)
    if notes_form is None:
        notes_form = NotesForm(notes=review.report.notes if review.report else "")
    client = invitation.assessment.position.client
    chosen = sections.disclosed(client.disclosure)
    body = render_template(
        "reports/review.html",
        review=review,
        invitation=invitation,
        position=invitation.assessment.position,
        notes_form=notes_form,
        share_form=share_form or ShareLinkForm(),
        notes_max=NOTES_MAX,
        disclosed=[label for key, label in sections.SECTIONS.items() if key in chosen],
        withheld=[label for key, label in sections.SECTIONS.items() if key not in chosen],
        now=now,
    )
    return body, status


def _back_to(invitation: Invitation, panel: str) -> Response:
    """PRG: back to the review page, at the panel the action belongs to."""
    return redirect(url_for("reports.review", public_id=invitation.public_id, _anchor=f"report-{panel}"))


def _checked(form: FlaskForm) -> None:
    if not form.validate_on_submit():
        abort(400)


@bp.get("/invitations/<public_id>")
@access(roles=STAFF_ROLES, owns=Invitation)
def review(public_id: str) -> ResponseReturnValue:
    """One candidate's report before and after release: contents, gaps, notes, PDF, release, share links."""
    invitation = get_scoped_or_404(Invitation, public_id)
    return _review_page(invitation)


@bp.post("/invitations/<public_id>/notes")
@access(roles=STAFF_ROLES, owns=Invitation)
def save_notes(public_id: str) -> ResponseReturnValue:
    """Save the recruiter's notes; too long a note is shown on the field and nothing is saved."""
    invitation = get_scoped_or_404(Invitation, public_id)
    form = NotesForm()
    _checked(form)
    try:
        with unit_of_work():
            now = utcnow()
            report = services.ensure_report(invitation, now)
            services.save_notes(report, form.notes.data or "", by=current_user, now=now)
    except services.ReportError as error:
        form.notes.errors = [str(error)]
        return _review_page(invitation, notes_form=form, status=422)
    flash("Notes saved.", "success")
    return _back_to(invitation, "notes")


@bp.post("/invitations/<public_id>/render")
@access(roles=STAFF_ROLES, owns=Invitation)
def render_dossier(public_id: str) -> ResponseReturnValue:
    """Create (or re-create after a failure) the candidate report's PDF."""
    return _render(public_id, ReportKind.DOSSIER)


@bp.post("/invitations/<public_id>/feedback")
@access(roles=STAFF_ROLES, owns=Invitation)
def render_feedback(public_id: str) -> ResponseReturnValue:
    """Create the candidate's plain-language feedback report, when the agency offers them."""
    return _render(public_id, ReportKind.FEEDBACK)


def _render(public_id: str, kind: ReportKind) -> ResponseReturnValue:
    invitation = get_scoped_or_404(Invitation, public_id)
    panel = "feedback" if kind is ReportKind.FEEDBACK else "pdf"
    _checked(ActionForm())
    if kind is ReportKind.FEEDBACK and not invitation.agency.feedback_reports:
        flash("Your agency does not offer candidate feedback reports. An admin can turn them on.", "error")
        return _back_to(invitation, panel)
    try:
        with unit_of_work():
            now = utcnow()
            report = services.ensure_report(invitation, now)
            job = jobs.request_render(kind, report=report, by=current_user, now=now)
    except services.ReportError as error:
        flash(str(error), "error")
        return _back_to(invitation, panel)
    if job.status is JobStatus.DONE:
        flash(f"The {kind.label.lower()} is ready to download.", "success")
    else:
        flash(f"The {kind.label.lower()} is being created. Refresh this page in a moment to download it.", "info")
    return _back_to(invitation, panel)


@bp.post("/invitations/<public_id>/release")
@access(roles=STAFF_ROLES, owns=Invitation)
def release(public_id: str) -> ResponseReturnValue:
    """Release the report to the client: its users are emailed and find it in their portal."""
    invitation = get_scoped_or_404(Invitation, public_id)
    _checked(ActionForm())
    try:
        with unit_of_work():
            now = utcnow()
            report = services.ensure_report(invitation, now)
            services.release(report, by=current_user, now=now)
    except services.ReportError as error:
        flash(str(error), "error")
        return _back_to(invitation, "release")
    flash("Report released. The client's users have been emailed and can download it in their portal.", "success")
    return _back_to(invitation, "release")


@bp.post("/invitations/<public_id>/withdraw")
@access(roles=STAFF_ROLES, owns=Invitation)
def withdraw(public_id: str) -> ResponseReturnValue:
    """Withdraw a released report: the client's portal and every share link stop showing it."""
    invitation = get_scoped_or_404(Invitation, public_id)
    _checked(ActionForm())
    report = services.report_for(invitation)
    if report is None:
        flash("This report has not been released, so there is nothing to withdraw.", "error")
        return _back_to(invitation, "release")
    try:
        with unit_of_work():
            services.withdraw(report, by=current_user, now=utcnow())
    except services.ReportError as error:
        flash(str(error), "error")
        return _back_to(invitation, "release")
    flash("Report withdrawn. The client can no longer see or download it, and its share links stop working.", "success")
    return _back_to(invitation, "release")


@bp.post("/invitations/<public_id>/share-links")
@access(roles=STAFF_ROLES, owns=Invitation)
def create_share_link(public_id: str) -> ResponseReturnValue:
    """Create an expiring link to the released report, shown once to copy and send."""
    invitation = get_scoped_or_404(Invitation, public_id)
    report = services.report_for(invitation)
    if report is None or not report.is_released:
        flash("Release the report before you share it.", "error")
        return _back_to(invitation, "release")
    form = ShareLinkForm()
    if not form.validate_on_submit():
        return _review_page(invitation, share_form=form, status=422)
    try:
        with unit_of_work():
            link, address = services.create_share_link(report, days=form.days.data or 0, by=current_user, now=utcnow())
    except services.ReportError as error:
        form.days.errors = [str(error)]
        return _review_page(invitation, share_form=form, status=422)
    flash(
        f"Share link created. It works until {link.expires_at:%d %b %Y, %H:%M} UTC. Copy it now, it is not shown "
        f"again: {address}",
        "success",
    )
    return _back_to(invitation, "share-links")


@bp.post("/share-links/<public_id>/revoke")
@access(roles=STAFF_ROLES, owns=ShareLink)
def revoke_share_link(public_id: str) -> ResponseReturnValue:
    """Revoke a share link at once; anyone opening it afterwards is told it does not work."""
    link = get_scoped_or_404(ShareLink, public_id)
    _checked(ActionForm())
    scope = current_scope()
    invitation = invitation_of(one_scoped(Report, scope, Report.id == link.report_id), scope)
    with unit_of_work():
        services.revoke_share_link(link, by=current_user, now=utcnow())
    flash("Share link revoked. It no longer opens the report.", "success")
    return _back_to(invitation, "share-links")


@bp.get("/jobs/<public_id>/download")
@access(roles=STAFF_ROLES, owns=ReportJob)
def download_job(public_id: str) -> ResponseReturnValue:
    """The PDF a finished render made, for the agency's staff; audited like every other view of a report."""
    job = get_scoped_or_404(ReportJob, public_id)
    scope = current_scope()
    file = jobs.ready_file(job)
    report = None if job.report_id is None else one_scoped(Report, scope, Report.id == job.report_id)
    if file is None:
        flash("That PDF is not ready yet. Try again in a moment.", "info")
        if report is None:
            return redirect(url_for("reports.position", public_id=_position_of(job, scope).public_id))
        return _back_to(invitation_of(report, scope), "pdf")
    if report is None:
        position = _position_of(job, scope)
        with unit_of_work():
            record_shortlist_view(position, via="staff", now=utcnow(), actor=current_user)
        return pdf_response(job.kind, file, position.title)
    with unit_of_work():
        services.record_view(report, via="staff", now=utcnow(), actor=current_user)
    return pdf_response(job.kind, file, invitation_of(report, scope).candidate.name)


def _position_of(job: ReportJob, scope: Scope) -> Position:
    position: Position = one_scoped(Position, scope, Position.id == job.position_id)
    return position


# --- A position's reports and its batch -----------------------------------------------------------------


@bp.get("/positions/<public_id>")
@access(roles=STAFF_ROLES, owns=Position)
def position(public_id: str) -> ResponseReturnValue:
    """Every submitted candidate of the position with the state of their report, and the batch render."""
    found = get_scoped_or_404(Position, public_id)
    recent = db.session.scalars(
        scoped_select(ReportBatch, current_scope())
        .where(ReportBatch.position_id == found.id)
        .order_by(ReportBatch.created_at.desc(), ReportBatch.id.desc())
        .limit(RECENT_BATCHES)
    ).all()
    return render_template(
        "reports/position.html",
        position=found,
        reviews=services.position_overview(found, utcnow()),
        batches=recent,
    )


@bp.post("/positions/<public_id>/batches")
@access(roles=STAFF_ROLES, owns=Position)
def start_batch(public_id: str) -> ResponseReturnValue:
    """Render every released report of the position and its shortlist; follow the progress on the batch page."""
    found = get_scoped_or_404(Position, public_id)
    _checked(ActionForm())
    try:
        with unit_of_work():
            batch, started = jobs.start_batch(found, by=current_user, now=utcnow())
    except services.ReportError as error:
        flash(str(error), "error")
        return redirect(url_for("reports.position", public_id=found.public_id))
    if started:
        flash("Creating the reports. This page shows the progress; you can leave it and come back.", "info")
    else:
        flash("These reports are already being created. This page shows the progress.", "info")
    return redirect(url_for("reports.batch", public_id=batch.public_id))


@bp.get("/batches/<public_id>")
@access(roles=STAFF_ROLES, owns=ReportBatch)
def batch(public_id: str) -> ResponseReturnValue:
    """A batch's progress, updated by static/js/report_progress.js; the ZIP download once it is finished."""
    found = get_scoped_or_404(ReportBatch, public_id)
    return render_template(
        "reports/batch.html",
        batch=found,
        position=one_scoped(Position, current_scope(), Position.id == found.position_id),
        progress=jobs.batch_progress(found),
    )


def progress_text(done: int, total: int) -> str:
    """ "3 of 5 ready": the words beside the progress bar, on the page and in the status JSON."""
    return f"{done} of {total} ready"


@bp.get("/batches/<public_id>/status")
@access(roles=STAFF_ROLES, owns=ReportBatch)
def batch_status(public_id: str) -> ResponseReturnValue:
    """The batch's progress as JSON, for the progress page's script."""
    progress = jobs.batch_progress(get_scoped_or_404(ReportBatch, public_id))
    return jsonify(
        total=progress.total,
        done=progress.done,
        failed=progress.failed,
        running=progress.running,
        queued=progress.queued,
        finished=progress.finished,
        failures=[{"name": name, "reason": reason} for name, reason in progress.failures],
        text=progress_text(progress.done, progress.total),
    )


@bp.get("/batches/<public_id>/download")
@access(roles=STAFF_ROLES, owns=ReportBatch)
def batch_download(public_id: str) -> ResponseReturnValue:
    """Every finished PDF of the batch in one ZIP; each report in it is audited as viewed by staff."""
    found = get_scoped_or_404(ReportBatch, public_id)
    if not jobs.batch_progress(found).finished:
        flash("The reports are still being created. The download appears here when they are ready.", "info")
        return redirect(url_for("reports.batch", public_id=found.public_id))
    scope = current_scope()
    position_found: Position = one_scoped(Position, scope, Position.id == found.position_id)
    body = jobs.batch_zip(found)
    report_ids = [job.report_id for job in found.jobs if job.report_id is not None and job.file_id is not None]
    now = utcnow()
    with unit_of_work():
        for report in db.session.scalars(scoped_select(Report, scope).where(Report.id.in_(report_ids))):
            services.record_view(report, via="staff", now=now, actor=current_user)
    return file_response(body, _zip_name(position_found, found.created_at), "application/zip")


def _zip_name(position_found: Position, created_at: datetime) -> str:
    slug = ascii_slug(position_found.title) or "position"
    return f"reports-{slug}-{created_at:%Y%m%d-%H%M}.zip"
