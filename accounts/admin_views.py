"""Agency admin pages: users, clients, the agency's settings, the audit log and the email outbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from accounts import audit, queries, services
from accounts.access import access, current_scope, get_scoped_or_404
from accounts.forms import (
    AgencySettingsForm,
    BrandingForm,
    ClientForm,
    EditUserForm,
    NewUserForm,
    RetryEmailForm,
    UserForm,
)
from accounts.models import ADMIN_ONLY, Agency, Client, Role, User
from database import db, unit_of_work, utcnow
from http_security import render_error
from mailer import EmailMessage, EmailStatus, retry_email
from reports import branding
from reports.sections import SECTIONS

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The forms that carry a logo, and the page each one comes back to when the upload is too large.
UPLOAD_FORMS = {
    "admin.save_branding": "admin.settings",
    "admin.new_client": "admin.new_client",
    "admin.edit_client": "admin.edit_client",
}
# Room around the logo for the multipart headers, the CSRF token and the other fields.
UPLOAD_OVERHEAD = 64 * 1024


@bp.url_value_preprocessor
def _allow_logo_uploads(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before any before_request hook reads the form (CSRF does), so the limit covers the upload itself.
    if endpoint in UPLOAD_FORMS and request.method == "POST":
        request.max_content_length = branding.LOGO_MAX_BYTES + UPLOAD_OVERHEAD


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> Response | tuple[str, int]:
    """A logo form sent too much: back to the form with a plain message, nothing read and nothing saved.

    This runs before the access policy (the CSRF check reading the form raised it), so it only redirects to
    the form's own page, which applies the policy, and shows nothing of the request.
    """
    target = UPLOAD_FORMS.get(request.endpoint or "")
    if target is None or request.method != "POST":
        return render_error(413)
    if (request.content_length or 0) > (request.max_content_length or 0):
        flash(
            f"The file is larger than {branding.LOGO_MAX_MB} MB, so nothing was saved. "
            "Choose a smaller PNG or JPEG image and try again.",
            "error",
        )
    else:
        flash("What you sent is too large, so nothing was saved. Shorten it and try again.", "error")
    return redirect(url_for(target, **(request.view_args or {})), 303)


@bp.context_processor
def _branding_helpers() -> dict[str, Any]:
    return {
        "sections": SECTIONS,
        "swatch": branding.swatch_data_uri,
        "contrast_ok": branding.contrast_ok,
        "contrast_ratio": branding.contrast_ratio,
        "preview_width": branding.preview_width,
    }


def _client_choices(form: UserForm) -> list[Client]:
    clients = queries.list_clients(current_scope())
    form.client.choices = [SelectChoice("", "No client")] + [SelectChoice(c.public_id, c.name) for c in clients]
    return clients


def _chosen_client(form: UserForm, clients: list[Client]) -> Client | None:
    by_id = {c.public_id: c for c in clients}
    return by_id.get(form.client.data or "")


@bp.get("/users")
@access(roles=ADMIN_ONLY)
def users() -> str:
    return render_template("accounts/admin_users.html", users=queries.list_users(current_scope()))


@bp.route("/users/new", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY)
def new_user() -> Response | tuple[str, int] | str:
    form = NewUserForm()
    clients = _client_choices(form)
    template = "accounts/admin_user_form.html"
    if request.method == "GET":
        return render_template(template, form=form, user=None)
    if not form.validate_on_submit():
        return render_template(template, form=form, user=None), 422
    try:
        with unit_of_work():
            services.create_user(
                current_user.agency,
                email=form.email.data or "",
                name=form.name.data or "",
                role=Role(form.role.data),
                client=_chosen_client(form, clients),
                now=utcnow(),
                by=current_user,
            )
    except services.EmailTaken as exc:
        form.email.errors = [str(exc)]
        return render_template(template, form=form, user=None), 422
    except services.AccountError as exc:
        form.client.errors = [str(exc)]
        return render_template(template, form=form, user=None), 422
    flash("User added. Staff get an email with a link to choose a password.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<public_id>", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY, owns=User)
def edit_user(public_id: str) -> Response | tuple[str, int] | str:
    user = get_scoped_or_404(User, public_id)
    form = EditUserForm(obj=None if request.method == "POST" else user)
    clients = _client_choices(form)
    if request.method == "GET":
        form.role.data = user.role.value
        form.client.data = user.client.public_id if user.client else ""
    template = "accounts/admin_user_form.html"
    if request.method == "GET":
        return render_template(template, form=form, user=user)
    if not form.validate_on_submit():
        return render_template(template, form=form, user=user), 422
    try:
        with unit_of_work():
            services.update_user(
                user,
                name=form.name.data or "",
                role=Role(form.role.data),
                client=_chosen_client(form, clients),
                is_active=bool(form.is_active.data),
                by=current_user,
                now=utcnow(),
            )
    except services.AccountError as exc:
        db.session.rollback()
        form.role.errors = [str(exc)]
        return render_template(template, form=form, user=user), 422
    flash("User saved.", "success")
    return redirect(url_for("admin.users"))


@bp.get("/clients")
@access(roles=ADMIN_ONLY)
def clients() -> str:
    return render_template("accounts/admin_clients.html", clients=queries.list_clients(current_scope()))


def _client_reports(form: ClientForm) -> branding.ClientReports:
    upload = form.logo.data
    return branding.ClientReports(
        brand_colour=form.brand_colour.data,
        logo=upload.read(branding.LOGO_MAX_BYTES + 1) if upload else None,
        remove_logo=bool(form.remove_logo.data),
        sections=list(form.sections.data or []),
    )


@bp.route("/clients/new", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY)
def new_client() -> Response | tuple[str, int] | str:
    form = ClientForm()
    template = "accounts/admin_client_form.html"
    if request.method == "GET":
        form.sections.data = list(SECTIONS)
        return render_template(template, form=form, client=None, client_users=[])
    if not form.validate_on_submit():
        return render_template(template, form=form, client=None, client_users=[]), 422
    try:
        with unit_of_work():
            client = services.create_client(
                current_user.agency,
                name=form.name.data or "",
                contact_email=form.contact_email.data,
                notes=form.notes.data or "",
                by=current_user,
                now=utcnow(),
            )
            branding.update_client_reports(client, _client_reports(form), by=current_user, now=utcnow())
    except services.AccountError as exc:
        form.name.errors = [str(exc)]
        return render_template(template, form=form, client=None, client_users=[]), 422
    except branding.BrandingError as exc:
        form[exc.field].errors = [str(exc)]
        return render_template(template, form=form, client=None, client_users=[]), 422
    flash("Client added.", "success")
    return redirect(url_for("admin.clients"))


@bp.route("/clients/<public_id>", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY, owns=Client)
def edit_client(public_id: str) -> Response | tuple[str, int] | str:
    client = get_scoped_or_404(Client, public_id)
    form = ClientForm(obj=None if request.method == "POST" else client)
    client_users = queries.users_of_client(current_scope(), client)
    template = "accounts/admin_client_form.html"
    if request.method == "GET":
        form.sections.data = list(SECTIONS) if client.disclosure is None else list(client.disclosure)
        return render_template(template, form=form, client=client, client_users=client_users)
    if not form.validate_on_submit():
        return render_template(template, form=form, client=client, client_users=client_users), 422
    try:
        with unit_of_work():
            services.update_client(
                client,
                name=form.name.data or "",
                contact_email=form.contact_email.data,
                notes=form.notes.data or "",
                by=current_user,
                now=utcnow(),
            )
            branding.update_client_reports(client, _client_reports(form), by=current_user, now=utcnow())
    except services.AccountError as exc:
        db.session.rollback()
        form.name.errors = [str(exc)]
        return render_template(template, form=form, client=client, client_users=client_users), 422
    except branding.BrandingError as exc:
        db.session.rollback()
        form[exc.field].errors = [str(exc)]
        return render_template(template, form=form, client=client, client_users=client_users), 422
    flash("Client saved.", "success")
    return redirect(url_for("admin.clients"))


@bp.get("/clients/<public_id>/logo.png")
@access(roles=ADMIN_ONLY, owns=Client)
def client_logo(public_id: str) -> Response:
    """The client's own logo as stored (re-encoded PNG), for the preview on its form."""
    return _logo_response(get_scoped_or_404(Client, public_id).logo_png)


def _settings_page(agency: Agency, form: AgencySettingsForm, branding_form: BrandingForm) -> str:
    return render_template("accounts/admin_settings.html", form=form, branding_form=branding_form, agency=agency)


@bp.route("/settings", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY)
def settings() -> Response | tuple[str, int] | str:
    agency = queries.agency_for(current_scope())
    form = AgencySettingsForm(obj=None if request.method == "POST" else agency)
    branding_form = BrandingForm(formdata=None, obj=agency)
    if request.method == "GET":
        return _settings_page(agency, form, branding_form)
    if not form.validate_on_submit():
        return _settings_page(agency, form, branding_form), 422
    with unit_of_work():
        services.update_agency_settings(
            agency,
            services.AgencySettings(
                name=form.name.data or "",
                privacy_contact=form.privacy_contact.data or None,
                retention_months=int(form.retention_months.data or 12),
            ),
            by=current_user,
            now=utcnow(),
        )
    flash("Settings saved.", "success")
    return redirect(url_for("admin.settings"))


@bp.post("/settings/branding")
@access(roles=ADMIN_ONLY)
def save_branding() -> Response | tuple[str, int]:
    agency = queries.agency_for(current_scope())
    form = BrandingForm()
    settings_form = AgencySettingsForm(formdata=None, obj=agency)
    if not form.validate_on_submit():
        return _settings_page(agency, settings_form, form), 422
    upload = form.logo.data
    changes = branding.AgencyBranding(
        brand_colour=form.brand_colour.data,
        accent_colour=form.accent_colour.data,
        logo=upload.read(branding.LOGO_MAX_BYTES + 1) if upload else None,
        remove_logo=bool(form.remove_logo.data),
        feedback_reports=bool(form.feedback_reports.data),
    )
    try:
        with unit_of_work():
            branding.update_agency_branding(agency, changes, by=current_user, now=utcnow())
    except branding.BrandingError as exc:
        form[exc.field].errors = [str(exc)]
        return _settings_page(agency, settings_form, form), 422
    flash("Report branding saved.", "success")
    return redirect(url_for("admin.settings", _anchor="branding"))


@bp.get("/agency/<public_id>/logo.png")
@access(roles=ADMIN_ONLY, owns=Agency)
def agency_logo(public_id: str) -> Response:
    """The agency's logo as stored (re-encoded PNG), for the preview on the settings page."""
    return _logo_response(get_scoped_or_404(Agency, public_id).logo_png)


def _logo_response(png: bytes | None) -> Response:
    """The stored PNG, never sniffed or cached. Without a logo, a transparent pixel with 200: the pages link
    a preview only when there is a logo, and every GET that names an own object answers 200 (the route walk).
    """
    response = Response(png or branding.no_logo_png(), content_type="image/png")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = 'inline; filename="logo.png"'
    return response


def _cursor(found: int | None, public_id: str | None) -> int | None:
    if public_id and found is None:
        abort(400, "That page no longer exists. Start again from the first page.")
    return found


@bp.get("/audit")
@access(roles=ADMIN_ONLY)
def audit_log() -> str:
    action = request.args.get("action") or None
    if action is not None and action not in queries.AUDIT_FILTERS:
        abort(400, "Unknown filter.")
    after = request.args.get("after")
    rows = queries.list_audit_events(
        current_user.agency,
        before_id=_cursor(queries.audit_cursor(current_user.agency, after), after),
        action_prefix=action,
    )
    return render_template(
        "accounts/admin_audit.html",
        rows=rows,
        action=action,
        filters=queries.AUDIT_FILTERS,
        page_size=queries.PAGE_SIZE,
    )


@bp.get("/audit/export.jsonl")
@access(roles=ADMIN_ONLY)
def audit_export() -> Response:
    """The agency's whole audit log (or one filter of it) as JSON Lines, for archiving or a SIEM; the export
    is itself audited before it starts."""
    action = request.args.get("action") or None
    if action is not None and action not in queries.AUDIT_FILTERS:
        abort(400, "Unknown filter.")
    agency = current_user.agency
    with unit_of_work():
        audit.record(
            "audit.exported",
            now=utcnow(),
            agency_public_id=agency.public_id,
            actor_public_id=current_user.public_id,
            object_type="agency",
            object_public_id=agency.public_id,
        )
    filename = f"rapport-audit-{utcnow():%Y%m%d-%H%M%S}{'-' + action if action else ''}.jsonl"
    return Response(
        stream_with_context(queries.audit_export_lines(agency, action_prefix=action)),
        mimetype="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store, private",
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.get("/emails")
@access(roles=ADMIN_ONLY)
def emails() -> str:
    raw_status = request.args.get("status") or None
    try:
        status = EmailStatus(raw_status) if raw_status else None
    except ValueError:
        abort(400, "Unknown status.")
    after = request.args.get("after")
    messages = queries.list_emails(
        current_scope(), status=status, before_id=_cursor(queries.email_cursor(current_scope(), after), after)
    )
    return render_template(
        "accounts/admin_emails.html",
        messages=messages,
        status=status,
        statuses=list(EmailStatus),
        retry_form=RetryEmailForm(),
        page_size=queries.PAGE_SIZE,
    )


@bp.post("/emails/<public_id>/retry")
@access(roles=ADMIN_ONLY, owns=EmailMessage)
def retry(public_id: str) -> Response:
    message = get_scoped_or_404(EmailMessage, public_id)
    if not RetryEmailForm().validate_on_submit():
        abort(400)
    if message.status is not EmailStatus.FAILED:
        flash("Only a failed email can be sent again.", "error")
        return redirect(url_for("admin.emails"))
    with unit_of_work():
        retry_email(message, utcnow())
        audit.record(
            "email.retried",
            now=utcnow(),
            agency_public_id=current_user.agency.public_id,
            actor_public_id=current_user.public_id,
            object_type="email_message",
            object_public_id=message.public_id,
        )
    flash("The email is queued again.", "success")
    return redirect(url_for("admin.emails"))
