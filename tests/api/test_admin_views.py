"""The agency admin's integration pages: API keys and webhook endpoints, their deliveries and who may see them."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

import webhooks
from accounts.models import Agency
from api.models import ApiKey
from database import db, unit_of_work, utcnow
from tests.api.client import make_key
from tests.conftest import post, sign_in
from webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint

KEYS = "/admin/integrations/api-keys"
HOOKS = "/admin/integrations/webhooks"


@pytest.fixture
def admin(app, tenant_a):
    client = app.test_client()
    sign_in(client, app, tenant_a.admin["email"])
    return client


def keys_of(app, tenant):
    with app.app_context():
        agency = db.session.scalars(select(Agency).where(Agency.public_id == tenant.agency_id)).one()
        return db.session.scalars(select(ApiKey).where(ApiKey.agency_id == agency.id)).all()


def once(client, url: str) -> str:
    """The one-send token of the form on `url`, as a browser gets it by opening the page."""
    return re.search(r'name="once" type="hidden" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def test_an_admin_creates_a_key_sees_it_once_and_revokes_it(app, admin, tenant_a):
    response = post(admin, app, KEYS, {"name": "  ", "scope": "read", "once": once(admin, KEYS)})
    assert response.status_code == 422
    assert "Give the key a name" in response.get_data(as_text=True)
    assert keys_of(app, tenant_a) == []

    sent = {"name": "Greenhouse", "scope": "write", "once": once(admin, KEYS)}
    response = post(admin, app, KEYS, sent)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Copy this key now. Rapport keeps only a fingerprint of it and cannot show it again." in page
    plaintext = re.search(r'value="(rpk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43})"', page).group(1)
    assert "no-store" in response.headers["Cache-Control"]
    [key] = keys_of(app, tenant_a)
    prefix, secret = plaintext.removeprefix("rpk_").split("_", 1)
    assert (key.name, key.scope.value, key.prefix) == ("Greenhouse", "write", prefix)
    assert key.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(vars(key))  # only the fingerprint is kept

    again = post(admin, app, KEYS, sent)  # the browser reloads the page it got: the form is sent again
    assert again.status_code == 302 and again.headers["Location"] == KEYS
    assert "nothing was made" in admin.get(KEYS).get_data(as_text=True)
    assert len(keys_of(app, tenant_a)) == 1
    assert post(admin, app, KEYS, {"name": "Forged", "scope": "read"}).status_code == 302  # no token, no key
    assert len(keys_of(app, tenant_a)) == 1

    listing = admin.get(KEYS).get_data(as_text=True)
    assert secret not in listing and f"rpk_{prefix}_…" in listing and "Read and write" in listing
    assert 'aria-current="page">Integrations' in listing

    response = post(admin, app, f"{KEYS}/{key.public_id}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == KEYS
    assert "is revoked" in admin.get(KEYS).get_data(as_text=True)
    [key] = keys_of(app, tenant_a)
    assert key.revoked_at is not None


def test_recruiters_are_refused_and_other_agencies_keys_answer_404(app, admin, tenant_a, tenant_b):
    recruiter = app.test_client()
    sign_in(recruiter, app, tenant_a.recruiter["email"])
    for url in (KEYS, HOOKS):
        assert recruiter.get(url).status_code == 403
    assert post(recruiter, app, KEYS, {"name": "Sneaky", "scope": "write"}).status_code == 403
    assert keys_of(app, tenant_a) == []

    make_key(app, tenant_b, name="Beta ATS")
    [theirs] = keys_of(app, tenant_b)
    assert post(admin, app, f"{KEYS}/{theirs.public_id}/revoke").status_code == 404
    assert "Beta ATS" not in admin.get(KEYS).get_data(as_text=True)
    [theirs] = keys_of(app, tenant_b)
    assert theirs.revoked_at is None


def test_webhook_endpoint_needs_https_and_shows_its_secret_once(app, admin, tenant_a):
    form = {"url": "http://ats.example.com/hook", "description": "Greenhouse", "events": ["attempt.submitted"]}
    response = post(admin, app, HOOKS, {**form, "once": once(admin, HOOKS)})
    assert response.status_code == 422
    assert "Use an https:// address." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all() == []

    sent = {**form, "url": "https://ats.example.com/hook", "once": once(admin, HOOKS)}
    response = post(admin, app, HOOKS, sent)
    assert response.status_code == 200
    assert post(admin, app, HOOKS, sent).status_code == 302  # sent again: no second endpoint
    with app.app_context():
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        assert endpoint.events == ["attempt.submitted"]
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.get_data(as_text=True)
    assert endpoint.secret not in admin.get(HOOKS).get_data(as_text=True)
    page = admin.get(f"{HOOKS}/{endpoint.public_id}").get_data(as_text=True)
    assert endpoint.secret not in page and "Rapport-Webhook-Signature" in page

    response = post(admin, app, f"{HOOKS}/{endpoint.public_id}/rotate-secret")
    with app.app_context():
        rotated = db.session.get(WebhookEndpoint, endpoint.id).secret
    assert rotated != endpoint.secret and rotated in response.get_data(as_text=True)
    post(admin, app, f"{HOOKS}/{endpoint.public_id}/disable")
    response = post(admin, app, f"{HOOKS}/{endpoint.public_id}/test", follow_redirects=True)
    assert "Enable the endpoint before sending a test event." in response.get_data(as_text=True)
    post(admin, app, f"{HOOKS}/{endpoint.public_id}/enable")
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint.id).is_active


def test_failed_deliveries_are_marked_and_an_admin_retries_one(app, admin, tenant_a, tenant_b, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(webhooks, "_enqueue_deliveries", queued.extend)
    now = utcnow()
    ids = {}
    with app.app_context(), unit_of_work():
        for tenant in (tenant_a, tenant_b):
            agency = db.session.scalars(select(Agency).where(Agency.public_id == tenant.agency_id)).one()
            endpoint = WebhookEndpoint(
                agency_id=agency.id, url="https://ats.example.com/hook", events=["attempt.submitted"],
                secret=webhooks.new_secret(), created_at=now,
            )  # fmt: skip
            db.session.add(endpoint)
            db.session.flush()
            delivery = WebhookDelivery(
                agency_id=agency.id, endpoint_id=endpoint.id, event_type="attempt.submitted", event_id="evt_1",
                body="{}", status=DeliveryStatus.FAILED, attempts=8, next_attempt_at=now,
                last_status_code=500, last_error="HTTP 500", created_at=now,
            )  # fmt: skip
            db.session.add(delivery)
            db.session.flush()
            ids[tenant.agency_id] = (endpoint.public_id, delivery.public_id, delivery.id)
    endpoint_id, delivery_id, row_id = ids[tenant_a.agency_id]
    theirs_endpoint, theirs_delivery, _ = ids[tenant_b.agency_id]

    page = admin.get(f"{HOOKS}/{endpoint_id}").get_data(as_text=True)
    assert 'class="badge badge-failed">Failed' in page and "HTTP 500" in page and "Retry" in page
    assert admin.get(f"{HOOKS}/{theirs_endpoint}").status_code == 404
    assert post(admin, app, f"/admin/integrations/webhook-deliveries/{theirs_delivery}/retry").status_code == 404

    response = post(admin, app, f"/admin/integrations/webhook-deliveries/{delivery_id}/retry")
    assert response.status_code == 302 and response.headers["Location"] == f"{HOOKS}/{endpoint_id}"
    assert queued == [row_id]
    with app.app_context():
        mine = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.public_id == delivery_id)).one()
        theirs = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.public_id == theirs_delivery)).one()
        assert (mine.status, mine.attempts) == (DeliveryStatus.QUEUED, 0)
        assert theirs.status is DeliveryStatus.FAILED
    again = post(admin, app, f"/admin/integrations/webhook-deliveries/{delivery_id}/retry", follow_redirects=True)
    assert "Only a failed delivery can be sent again." in again.get_data(as_text=True)
