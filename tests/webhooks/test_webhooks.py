"""Webhooks: signed, durable delivery to a real receiver; the SSRF guard; the events the real flows emit."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import webhooks
from accounts.models import Agency, AuditEvent, User
from assessments.models import Invitation
from database import db, unit_of_work, utcnow
from reports import services as reports
from reports.models import Report
from tests.assessments import test_delivery
from tests.conftest import Tenant, post
from tests.reports.test_views import add_report, add_sitting
from tests.webhooks.conftest import Receiver
from webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookError

LOOPBACK = pytest.mark.app_config(WEBHOOK_ALLOW_LOOPBACK=True, WEBHOOK_TIMEOUT=0.5, WEBHOOK_MAX_ATTEMPTS=3)
ALL_EVENTS = list(webhooks.EVENT_TYPES)
published = test_delivery.published  # the candidate's journey's fixture: a published test and its link


def staff(tenant: Tenant, role: str = "admin") -> User:
    person = tenant.admin if role == "admin" else tenant.recruiter
    return db.session.scalars(select(User).where(User.public_id == person["public_id"])).one()


def agency_id(tenant: Tenant) -> int:
    return db.session.scalars(select(Agency.id).where(Agency.public_id == tenant.agency_id)).one()


def add_endpoint(app: Flask, tenant: Tenant, url: str, events: list[str] | None = None) -> tuple[int, str]:
    """An endpoint made through the service: its row id and its secret."""
    with app.app_context(), unit_of_work():
        endpoint = webhooks.create_endpoint(
            agency_id(tenant), url=url, events=events or ALL_EVENTS, description="ATS", by=staff(tenant), now=utcnow()
        )
        return endpoint.id, endpoint.secret


def queue(app: Flask, tenant: Tenant, event_type: str = "invitation.started") -> list[int]:
    with app.app_context(), unit_of_work():
        rows = webhooks.queue_event(agency_id(tenant), event_type, {"invitation_id": "inv_1"}, utcnow())
        return [row.id for row in rows]


def row(app: Flask, delivery_id: int) -> WebhookDelivery:
    with app.app_context():
        return db.session.get_one(WebhookDelivery, delivery_id)


@LOOPBACK
def test_a_delivery_is_signed_only_subscribers_get_it_and_verify_rejects_forgeries(app, tenant_a, receiver):
    _, secret = add_endpoint(app, tenant_a, receiver.url("/all"))
    add_endpoint(app, tenant_a, receiver.url("/results-only"), events=["result.released"])
    disabled_id, _ = add_endpoint(app, tenant_a, receiver.url("/disabled"))
    with app.app_context(), unit_of_work():
        webhooks.disable_endpoint(db.session.get_one(WebhookEndpoint, disabled_id), by=staff(tenant_a), now=utcnow())

    before = int(utcnow().timestamp())
    [delivery_id] = queue(app, tenant_a)
    after = int(utcnow().timestamp())

    assert [r.path for r in receiver.requests] == ["/all"]
    got = receiver.requests[0]
    headers = {k.lower(): v for k, v in got.headers.items()}
    body = json.loads(got.body)
    assert body["type"] == "invitation.started" and body["data"] == {"invitation_id": "inv_1"}
    assert body["id"].startswith("evt_") and headers["rapport-webhook-id"] == body["id"]
    assert headers["content-type"] == "application/json" and headers["user-agent"] == "Rapport-Webhooks/1"
    assert headers["rapport-webhook-event"] == "invitation.started"
    timestamp = int(headers["rapport-webhook-timestamp"])
    assert before <= timestamp <= after
    assert headers["rapport-webhook-signature"] == webhooks.sign(secret, timestamp, got.body)
    assert webhooks.verify(secret, got.headers, got.body, now=timestamp + 10)
    assert not webhooks.verify(secret, got.headers, got.body.replace(b"inv_1", b"inv_2"), now=timestamp)
    assert not webhooks.verify(secret, got.headers, got.body, now=timestamp + 301)  # a replay, too late
    assert not webhooks.verify(secret, got.headers, got.body, now=timestamp - 301)
    assert not webhooks.verify("whsec_wrong", got.headers, got.body, now=timestamp)
    delivered = row(app, delivery_id)
    assert delivered.status is DeliveryStatus.DELIVERED and delivered.attempts == 1
    assert delivered.last_status_code == 200 and delivered.delivered_at is not None

    # A rotated secret signs the next delivery (the admin's test ping) and the old one no longer verifies.
    endpoint_id = delivered.endpoint_id
    with app.app_context(), unit_of_work():
        endpoint = db.session.get_one(WebhookEndpoint, endpoint_id)
        new_secret = webhooks.rotate_secret(endpoint, by=staff(tenant_a), now=utcnow())
        ping = webhooks.send_test(endpoint, now=utcnow())
        assert ping.event_type == "ping"
    assert new_secret != secret and new_secret.startswith("whsec_")
    assert [r.path for r in receiver.requests] == ["/all", "/all"]
    pinged = receiver.requests[1]
    assert json.loads(pinged.body)["data"]["endpoint_id"] == endpoint.public_id
    stamp = int(pinged.headers["Rapport-Webhook-Timestamp"])
    assert webhooks.verify(new_secret, pinged.headers, pinged.body, now=stamp)
    assert not webhooks.verify(secret, pinged.headers, pinged.body, now=stamp)

    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "webhook_endpoint")).all()
        assert [e.action for e in events].count("webhook.created") == 3
        assert {"webhook.disabled", "webhook.secret_rotated"} <= {e.action for e in events}
        assert all("127.0.0.1" not in json.dumps(e.details or {}) for e in events)


@LOOPBACK
def test_failures_back_off_then_fail_and_an_admin_retry_delivers_the_same_bytes(app, tenant_a, receiver):
    add_endpoint(app, tenant_a, receiver.url())
    receiver.answer_next("500", "hang", "503")
    start = utcnow()
    [delivery_id] = queue(app, tenant_a)

    first = row(app, delivery_id)  # the task's attempt: HTTP 500, queued again after the first back-off
    assert first.status is DeliveryStatus.QUEUED and first.attempts == 1
    assert first.last_status_code == 500 and first.last_error == "HTTP 500"
    waited = first.next_attempt_at - start
    assert timedelta(seconds=60) <= waited <= timedelta(seconds=65)

    with app.app_context():
        assert webhooks.sweep(start + timedelta(seconds=30)) == []  # not due yet
        assert webhooks.deliver(delivery_id, start + timedelta(seconds=30)) is None
        later = start + timedelta(seconds=70)
        assert webhooks.sweep(later) == [delivery_id]
        assert webhooks.deliver(delivery_id, later) is DeliveryStatus.QUEUED  # the receiver hangs: timed out
    second = row(app, delivery_id)
    assert second.attempts == 2 and second.last_error == "timed out" and second.last_status_code is None
    assert second.next_attempt_at == later + timedelta(seconds=300)

    with app.app_context():
        last = later + timedelta(seconds=400)
        assert webhooks.deliver(delivery_id, last) is DeliveryStatus.FAILED  # attempt 3 of 3: HTTP 503
        assert webhooks.sweep(last + timedelta(days=1)) == []  # failed rows stay for the admin
    failed = row(app, delivery_id)
    assert failed.status is DeliveryStatus.FAILED and failed.attempts == 3
    assert failed.last_status_code == 503 and failed.last_error == "HTTP 503"

    with app.app_context(), unit_of_work():
        webhooks.retry_delivery(db.session.get_one(WebhookDelivery, delivery_id), utcnow())
    assert row(app, delivery_id).status is DeliveryStatus.DELIVERED
    with app.app_context(), unit_of_work(), pytest.raises(ValueError):
        webhooks.retry_delivery(db.session.get_one(WebhookDelivery, delivery_id), utcnow())

    assert len(receiver.requests) == 4
    assert len(set(receiver.bodies())) == 1  # byte-identical every time
    assert len({r.headers["Rapport-Webhook-Id"] for r in receiver.requests}) == 1
    stamps = [int(r.headers["Rapport-Webhook-Timestamp"]) for r in receiver.requests]
    assert stamps[1] == int(later.timestamp()) and stamps[2] == int(last.timestamp())  # signed per attempt
    signatures = [r.headers["Rapport-Webhook-Signature"] for r in receiver.requests]
    assert signatures[1] not in (signatures[0], signatures[2])


@LOOPBACK
def test_a_redirect_is_not_followed_and_a_lost_task_is_rescued_by_the_sweep(app, tenant_a, receiver):
    endpoint_id, _ = add_endpoint(app, tenant_a, receiver.url())
    receiver.answer_next("302")
    [delivery_id] = queue(app, tenant_a)
    assert [r.path for r in receiver.requests] == ["/hook"]  # /elsewhere was never asked for
    redirected = row(app, delivery_id)
    assert redirected.status is DeliveryStatus.QUEUED and redirected.last_status_code == 302
    assert redirected.last_error == "redirect not followed (HTTP 302)"

    # https is spoken to the pinned address: a plain-HTTP listener fails the TLS handshake, nothing is posted.
    add_endpoint(app, tenant_a, f"https://127.0.0.1:{receiver.port}/tls", events=["result.released"])
    _, tls_id = queue(app, tenant_a, "result.released")  # the first endpoint takes every event
    assert row(app, tls_id).status is DeliveryStatus.QUEUED
    assert row(app, tls_id).last_error.startswith("TLS failed")
    assert "/tls" not in [r.path for r in receiver.requests]

    now = utcnow()
    with app.app_context(), unit_of_work():
        lost, held = (
            WebhookDelivery(
                agency_id=db.session.get_one(WebhookEndpoint, endpoint_id).agency_id,
                endpoint_id=endpoint_id,
                event_type="attempt.submitted",
                event_id=f"evt_{name}",
                body=json.dumps({"id": f"evt_{name}"}),
                status=DeliveryStatus.SENDING,
                attempts=1,
                next_attempt_at=now - timedelta(minutes=5),
                lease_expires_at=now + lease,
                created_at=now - timedelta(minutes=5),
            )
            for name, lease in (("lost", timedelta(seconds=-1)), ("held", timedelta(minutes=1)))
        )
        db.session.add_all([lost, held])
    with app.app_context():
        due = webhooks.sweep(now)
        assert lost.id in due and held.id not in due
        assert webhooks.deliver(held.id, now) is None  # another worker still holds it
        assert webhooks.deliver(lost.id, now) is DeliveryStatus.DELIVERED
    assert row(app, lost.id).attempts == 2 and row(app, held.id).status is DeliveryStatus.SENDING
    assert receiver.requests[-1].body == b'{"id": "evt_lost"}'


def test_only_https_public_targets_are_accepted_and_reached(app, tenant_a, receiver):
    bad = {
        "http://ats.example.com/hook": "https://",
        receiver.url(): "https://",
        f"https://127.0.0.1:{receiver.port}/hook": "public address",
        "https://10.1.2.3/hook": "public address",
        "https://169.254.169.254/latest": "public address",
        "https://[::1]/hook": "public address",
        "https://localhost/hook": "public address",
        "https://user:pw@ats.example.com/hook": "passwords",
        "https://ats.example.com/" + "x" * 500: "500 characters",
    }
    with app.app_context(), unit_of_work():
        for url, message in bad.items():
            with pytest.raises(WebhookError) as refused:
                webhooks.create_endpoint(
                    agency_id(tenant_a), url=url, events=ALL_EVENTS, description="", by=staff(tenant_a), now=utcnow()
                )
            assert message in refused.value.problems["url"], url
        with pytest.raises(WebhookError) as refused:
            webhooks.create_endpoint(
                agency_id(tenant_a),
                url="https://ats.example.com/hook",
                events=["candidate.deleted"],
                description="x" * 121,
                by=staff(tenant_a),
                now=utcnow(),
            )
        assert set(refused.value.problems) == {"events", "description"}
        assert db.session.scalars(select(WebhookEndpoint)).all() == []

        # Rows made before the setting changed (or by hand) are refused again at delivery time.
        agency = agency_id(tenant_a)
        for url in (f"https://127.0.0.1:{receiver.port}/hook", receiver.url(), "http://ats.example.com/hook"):
            db.session.add(
                WebhookEndpoint(agency_id=agency, url=url, events=ALL_EVENTS, secret="whsec_x", created_at=utcnow())
            )
    ids = queue(app, tenant_a)
    assert len(ids) == 3 and receiver.requests == []
    assert [(row(app, i).status, row(app, i).last_error) for i in ids] == [
        (DeliveryStatus.FAILED, "target address is not public"),
        (DeliveryStatus.FAILED, "target address is not public"),
        (DeliveryStatus.FAILED, "target URL is not allowed (https only)"),
    ]
    # The name is checked after resolution too: a name that resolves to loopback is refused.
    with pytest.raises(webhooks.TargetRefused, match="not public"):
        webhooks.resolve_public("localhost", 443, allow_loopback=False)


def invitation_stamp(app: Any, public_id: str) -> Any:
    with app.app_context():
        return db.session.scalars(select(Invitation.updated_at).where(Invitation.public_id == public_id)).one()


def bodies_of(receiver: Receiver, event_type: str) -> list[dict[str, Any]]:
    return [json.loads(b) for b in receiver.bodies() if json.loads(b)["type"] == event_type]


@LOOPBACK
def test_starting_submitting_and_releasing_emit_events_with_public_ids_only(app, client, tenant_a, receiver, published):
    add_endpoint(app, tenant_a, receiver.url())
    stamp = invitation_stamp(app, published["invitation"])
    test_delivery.begin(app, client, published["path"])
    assert post(client, app, "/test/submit").status_code == 302
    assert post(client, app, "/test/submit").status_code == 302  # submitting again emits nothing
    with app.app_context():
        invitation = db.session.scalars(select(Invitation).where(Invitation.public_id == published["invitation"])).one()
        ids = {
            "invitation_id": invitation.public_id,
            "candidate_id": invitation.candidate.public_id,
            "assessment_id": invitation.assessment.public_id,
        }
        attempt = invitation.attempt
        # The API's invitation list (updated_since) sees the start and the submission.
        assert invitation.updated_at >= attempt.submitted_at > stamp
    [started] = bodies_of(receiver, "invitation.started")
    assert started["data"] == {**ids, "started_at": attempt.started_at.isoformat()}
    [submitted] = bodies_of(receiver, "attempt.submitted")
    assert submitted["data"] == {**ids, "submitted_at": attempt.submitted_at.isoformat(), "finalised_by": "candidate"}

    sitting = add_sitting(app, tenant_a, "Ada Able")
    add_report(app, sitting, released=False)
    stamp = invitation_stamp(app, sitting.invitation)
    with app.app_context(), unit_of_work():
        report = db.session.scalars(
            select(Report)
            .join(Invitation, Invitation.id == Report.invitation_id)
            .where(Invitation.public_id == sitting.invitation)
        ).one()
        reports.release(report, by=staff(tenant_a, "recruiter"), now=utcnow(), render=False)
        result_id, released_at = report.public_id, report.released_at
        candidate_id = db.session.get_one(Invitation, report.invitation_id).candidate.public_id
    assert invitation_stamp(app, sitting.invitation) > stamp  # its result_id changed
    [released] = bodies_of(receiver, "result.released")
    assert released["data"] == {
        "result_id": result_id,
        "invitation_id": sitting.invitation,
        "candidate_id": candidate_id,
        "assessment_id": sitting.assessment,
        "position_id": sitting.position,
        "released_at": released_at.isoformat(),
        "result_url": f"http://rapport.test/api/v1/results/{result_id}",
        "report_url": f"http://rapport.test/api/v1/results/{result_id}/report.pdf",
    }
    everything = b" ".join(receiver.bodies()).lower()
    for personal in ("noor", "haddad", "example.org", "ada able", "@"):
        assert personal.encode() not in everything
