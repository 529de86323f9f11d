"""The agency admin's integration pages: API keys for its applicant-tracking system, and webhook endpoints.

A key or signing secret is shown once, in the response to the POST that made it: never in a URL, a flash
(a cookie) or a log. Responses are not cached (http_security.py sets Cache-Control: no-store).
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

import webhooks
from accounts.access import access, current_scope, get_scoped_or_404, scoped_select
from accounts.models import ADMIN_ONLY
from api import keys
from api.forms import SCOPE_HINTS, ActionForm, ApiKeyForm, OnceForm, WebhookEndpointForm
from api.models import ApiKey
from database import db, unit_of_work, utcnow
from webhooks import EVENT_TYPES, DeliveryStatus, WebhookDelivery, WebhookEndpoint

bp = Blueprint("api_admin", __name__, url_prefix="/admin/integrations")

RECENT_DELIVERIES = 50


def _checked() -> None:
    """A button's form: 400 without a valid CSRF token."""
    if not ActionForm().validate_on_submit():
        abort(400)


ALREADY_SENT = (
    "That form was already sent, or a newer copy of it was opened since, so nothing was made. "
    "Check the list below, and fill in the form again if you need another."
)


def _arm(form: OnceForm, kind: str) -> OnceForm:
    """Give the form a fresh one-send token, kept in the session."""
    form.once.data = session[f"once_{kind}"] = secrets.token_urlsafe(16)
    return form


def _first_send(form: OnceForm, kind: str) -> bool:
    """Whether this is the first send of the form rendered last; the token is spent either way."""
    expected = session.pop(f"once_{kind}", None)
    return bool(expected) and hmac.compare_digest(str(expected), str(form.once.data or ""))


def _api_keys_page(form: ApiKeyForm, new_key: str | None = None) -> str:
    _arm(form, "api_key")
    return render_template(
        "api/api_keys.html",
        form=form,
        keys=keys.agency_keys(current_scope().agency_id),
        scope_hints=SCOPE_HINTS,
        new_key=new_key,
        action_form=ActionForm(),
    )


@bp.route("/api-keys", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY)
def api_keys() -> Response | tuple[str, int] | str:
    form = ApiKeyForm()
    if not form.is_submitted():
        return _api_keys_page(form)
    if not form.validate_on_submit():
        return _api_keys_page(form), 422
    if not _first_send(form, "api_key"):
        flash(ALREADY_SENT, "error")
        return redirect(url_for("api_admin.api_keys"))
    try:
        with unit_of_work():
            created = keys.create_key(
                current_scope().agency_id,
                name=form.name.data or "",
                scope=form.scope.data or "",
                by=current_user,
                now=utcnow(),
            )
    except keys.ApiKeyError as exc:
        for name, problem in exc.problems.items():
            form[name].errors = [problem]
        return _api_keys_page(form), 422
    return _api_keys_page(ApiKeyForm(formdata=None), new_key=created.plaintext)


@bp.post("/api-keys/<public_id>/revoke")
@access(roles=ADMIN_ONLY, owns=ApiKey)
def revoke_api_key(public_id: str) -> Response:
    key = get_scoped_or_404(ApiKey, public_id)
    _checked()
    with unit_of_work():
        keys.revoke_key(key, by=current_user, now=utcnow())
    flash(f"The key “{key.name}” is revoked. Requests made with it are now refused.", "success")
    return redirect(url_for("api_admin.api_keys"))


def _webhooks_page(form: WebhookEndpointForm, created: WebhookEndpoint | None = None) -> str:
    _arm(form, "webhook")
    endpoints = db.session.scalars(
        scoped_select(WebhookEndpoint, current_scope()).order_by(WebhookEndpoint.created_at.desc())
    ).all()
    return render_template(
        "api/webhooks.html", form=form, endpoints=endpoints, created=created, event_types=EVENT_TYPES
    )


@bp.route("/webhooks", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY)
def webhook_endpoints() -> Response | tuple[str, int] | str:
    form = WebhookEndpointForm()
    if not form.is_submitted():
        return _webhooks_page(form)
    if not form.validate_on_submit():
        return _webhooks_page(form), 422
    if not _first_send(form, "webhook"):
        flash(ALREADY_SENT, "error")
        return redirect(url_for("api_admin.webhook_endpoints"))
    try:
        with unit_of_work():
            endpoint = webhooks.create_endpoint(
                current_scope().agency_id,
                url=form.url.data or "",
                events=list(form.events.data or []),
                description=form.description.data or "",
                by=current_user,
                now=utcnow(),
            )
    except webhooks.WebhookError as exc:
        fields = {"url": form.url, "events": form.events, "description": form.description}
        for name, problem in exc.problems.items():
            fields.get(name, form.url).errors = [problem]
        return _webhooks_page(form), 422
    return _webhooks_page(WebhookEndpointForm(formdata=None), created=endpoint)


def _endpoint_page(endpoint: WebhookEndpoint, new_secret: str | None = None) -> str:
    deliveries = db.session.scalars(
        scoped_select(WebhookDelivery, current_scope())
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(RECENT_DELIVERIES)
    ).all()
    return render_template(
        "api/webhook.html",
        endpoint=endpoint,
        deliveries=deliveries,
        new_secret=new_secret,
        event_types=EVENT_TYPES,
        action_form=ActionForm(),
        failed=DeliveryStatus.FAILED,
        recent=RECENT_DELIVERIES,
    )


@bp.get("/webhooks/<public_id>")
@access(roles=ADMIN_ONLY, owns=WebhookEndpoint)
def webhook_endpoint(public_id: str) -> str:
    return _endpoint_page(get_scoped_or_404(WebhookEndpoint, public_id))


@bp.post("/webhooks/<public_id>/disable")
@access(roles=ADMIN_ONLY, owns=WebhookEndpoint)
def disable_endpoint(public_id: str) -> Response:
    endpoint = get_scoped_or_404(WebhookEndpoint, public_id)
    _checked()
    with unit_of_work():
        webhooks.disable_endpoint(endpoint, by=current_user, now=utcnow())
    flash("Endpoint disabled. Rapport sends it nothing until you enable it again.", "success")
    return redirect(url_for("api_admin.webhook_endpoint", public_id=public_id))


@bp.post("/webhooks/<public_id>/enable")
@access(roles=ADMIN_ONLY, owns=WebhookEndpoint)
def enable_endpoint(public_id: str) -> Response:
    endpoint = get_scoped_or_404(WebhookEndpoint, public_id)
    _checked()
    with unit_of_work():
        webhooks.enable_endpoint(endpoint, by=current_user, now=utcnow())
    flash("Endpoint enabled. New events are sent to it again.", "success")
    return redirect(url_for("api_admin.webhook_endpoint", public_id=public_id))


@bp.post("/webhooks/<public_id>/rotate-secret")
@access(roles=ADMIN_ONLY, owns=WebhookEndpoint)
def rotate_secret(public_id: str) -> str:
    endpoint = get_scoped_or_404(WebhookEndpoint, public_id)
    _checked()
    with unit_of_work():
        secret = webhooks.rotate_secret(endpoint, by=current_user, now=utcnow())
    return _endpoint_page(endpoint, new_secret=secret)


@bp.post("/webhooks/<public_id>/test")
@access(roles=ADMIN_ONLY, owns=WebhookEndpoint)
def send_test(public_id: str) -> Response:
    endpoint = get_scoped_or_404(WebhookEndpoint, public_id)
    _checked()
    try:
        with unit_of_work():
            webhooks.send_test(endpoint, now=utcnow())
    except webhooks.WebhookError as exc:
        flash(" ".join(exc.problems.values()), "error")
    else:
        flash("Test event sent. Its delivery appears below.", "success")
    return redirect(url_for("api_admin.webhook_endpoint", public_id=public_id))


@bp.post("/webhook-deliveries/<public_id>/retry")
@access(roles=ADMIN_ONLY, owns=WebhookDelivery)
def retry_delivery(public_id: str) -> Response:
    delivery = get_scoped_or_404(WebhookDelivery, public_id)
    _checked()
    back = redirect(url_for("api_admin.webhook_endpoint", public_id=delivery.endpoint.public_id))
    if delivery.status is not DeliveryStatus.FAILED:
        flash("Only a failed delivery can be sent again.", "error")
        return back
    with unit_of_work():
        webhooks.retry_delivery(delivery, utcnow())
    flash("The delivery is queued again.", "success")
    return back
