"""Webhooks to an agency's applicant-tracking system, delivered like email: queue_event() writes one
delivery row per subscribed endpoint inside the caller's unit of work; a task posts it after commit;
the periodic sweep retries with the back-off stored on the row, then marks it failed for the admin to see.

Every delivery is signed: HMAC-SHA256 with the endpoint's secret over "<timestamp>.<body>".
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

import outbox
from accounts import audit
from accounts.models import Agency, Scope, User
from database import Model, PublicIdMixin, after_commit, db, independent_unit_of_work

if TYPE_CHECKING:
    from assessments.models import Attempt, Invitation
    from reports.models import Report

log = logging.getLogger(__name__)

# Back-off after the n-th failed attempt, in seconds; the last value repeats (as for email).
BACKOFF_SECONDS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600)
MAX_URL_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 120
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
USER_AGENT = "Rapport-Webhooks/1"
ID_HEADER = "Rapport-Webhook-Id"
TIMESTAMP_HEADER = "Rapport-Webhook-Timestamp"
SIGNATURE_HEADER = "Rapport-Webhook-Signature"
EVENT_HEADER = "Rapport-Webhook-Event"

# The events an endpoint can subscribe to.
EVENT_TYPES: dict[str, str] = {
    "invitation.started": "A candidate started a test",
    "attempt.submitted": "A candidate submitted a test",
    "result.released": "A result and its report were released",
}


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(PublicIdMixin, Model):
    """An agency's receiving URL, the events it wants and the secret its deliveries are signed with."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    events: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # The signing secret ("whsec_..."): needed in clear to sign, shown to the admin once at creation.
    secret: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class WebhookDelivery(PublicIdMixin, Model):
    """One event for one endpoint: the exact body sent (so a retry is byte-identical) and its delivery state."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_type: Mapped[str] = mapped_column(String(40), nullable=False)
    # The event's id, the same in every endpoint's delivery of it; receivers use it to drop duplicates.
    event_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s]),
        nullable=False,
        default=DeliveryStatus.QUEUED,
        index=True,
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)

    endpoint: Mapped[WebhookEndpoint] = relationship()

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]:
        return [cls.agency_id == scope.agency_id]


class WebhookError(ValueError):
    """An endpoint change was refused and nothing changed; ``problems`` maps field names to messages safe to show."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems.items()))
        self.problems = problems


# --- Endpoints ------------------------------------------------------------------------------------


def _allow_loopback() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_LOOPBACK", False))


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    """A public address, or a loopback one when the test setting allows it."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_global and not address.is_multicast:
        return True
    return allow_loopback and address.is_loopback


def check_url(url: str, *, allow_loopback: bool) -> str | None:
    """Why a webhook URL is refused, in plain English; None when it is acceptable."""
    if len(url) > MAX_URL_LENGTH:
        return f"Use at most {MAX_URL_LENGTH} characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid URL."
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or any(c.isspace() for c in url):
        return "Enter a valid URL, such as https://ats.example.com/rapport-webhooks."
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "Leave user names and passwords out of the URL; deliveries are signed instead."
    if port == 0:
        return "Enter a valid port."
    try:
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    loopback_target = allow_loopback and (
        host in LOOPBACK_NAMES or (literal is not None and _address_allowed(literal, allow_loopback=True))
    )
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback_target):
        return "Use an https:// address."
    if literal is not None and not _address_allowed(literal, allow_loopback):
        return "Use a public address, not a private, loopback or reserved one."
    if literal is None and not allow_loopback and (host in LOOPBACK_NAMES or host.endswith(".localhost")):
        return "Use a public address, not a private, loopback or reserved one."
    return None


def create_endpoint(
    agency_id: int, *, url: str, events: list[str], description: str, by: User, now: datetime
) -> WebhookEndpoint:
    """Add an endpoint with a fresh signing secret to the open unit of work; raises WebhookError."""
    url = url.strip()
    description = " ".join(description.split())
    problems: dict[str, str] = {}
    url_problem = check_url(url, allow_loopback=_allow_loopback())
    if url_problem:
        problems["url"] = url_problem
    unknown = [event for event in events if event not in EVENT_TYPES]
    if not events:
        problems["events"] = "Choose at least one event."
    elif unknown:
        problems["events"] = "Choose events from the list."
    if len(description) > MAX_DESCRIPTION_LENGTH:
        problems["description"] = f"Use at most {MAX_DESCRIPTION_LENGTH} characters."
    if problems:
        raise WebhookError(problems)
    endpoint = WebhookEndpoint(
        agency_id=agency_id,
        url=url,
        description=description,
        events=sorted(set(events)),
        secret=new_secret(),
        created_at=now,
    )
    db.session.add(endpoint)
    db.session.flush()
    _audit("webhook.created", endpoint, by=by, now=now, details={"events": endpoint.events})
    return endpoint


def new_secret() -> str:
    """A fresh signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


def disable_endpoint(endpoint: WebhookEndpoint, *, by: User, now: datetime) -> None:
    """Stop queuing events for the endpoint (deliveries already queued fail as "endpoint disabled")."""
    if endpoint.disabled_at is None:
        endpoint.disabled_at = now
        _audit("webhook.disabled", endpoint, by=by, now=now)


def enable_endpoint(endpoint: WebhookEndpoint, *, by: User, now: datetime) -> None:
    """Queue events for the endpoint again."""
    if endpoint.disabled_at is not None:
        endpoint.disabled_at = None
        _audit("webhook.enabled", endpoint, by=by, now=now)


def rotate_secret(endpoint: WebhookEndpoint, *, by: User, now: datetime) -> str:
    """Replace the signing secret and return the new one; every later attempt is signed with it."""
    endpoint.secret = new_secret()
    _audit("webhook.secret_rotated", endpoint, by=by, now=now)
    return endpoint.secret


def _audit(
    action: str, endpoint: WebhookEndpoint, *, by: User, now: datetime, details: dict[str, Any] | None = None
) -> None:
    audit.record(
        action,
        now=now,
        agency_public_id=db.session.get_one(Agency, endpoint.agency_id).public_id,
        actor_public_id=by.public_id,
        object_type="webhook_endpoint",
        object_public_id=endpoint.public_id,
        details=details,
    )


# --- Events ---------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be sent in a webhook")


def _event_body(event_id: str, event_type: str, data: dict[str, Any], now: datetime) -> str:
    payload = {"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": data}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=_json_default)


def _queue(
    endpoints: list[WebhookEndpoint], event_type: str, data: dict[str, Any], now: datetime
) -> list[WebhookDelivery]:
    if not endpoints:
        return []
    event_id = "evt_" + secrets.token_urlsafe(24)
    body = _event_body(event_id, event_type, data, now)
    deliveries = [
        WebhookDelivery(
            agency_id=endpoint.agency_id,
            endpoint_id=endpoint.id,
            event_type=event_type,
            event_id=event_id,
            body=body,
            status=DeliveryStatus.QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    ]
    db.session.add_all(deliveries)
    db.session.flush()
    ids = [delivery.id for delivery in deliveries]
    after_commit(lambda: _enqueue_deliveries(ids))
    return deliveries


def queue_event(agency_id: int, event_type: str, data: dict[str, Any], now: datetime) -> list[WebhookDelivery]:
    """Add one delivery per active endpoint of the agency subscribed to the event, in the open unit of work.

    The body is fixed now (every attempt sends the same bytes); delivery is enqueued after commit.
    `data` holds public ids and times only. Raises ValueError for an unknown event type.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    return _queue(subscribed(agency_id, event_type), event_type, data, now)


def subscribed(agency_id: int, event_type: str) -> list[WebhookEndpoint]:
    """The agency's active endpoints that want this event (one query; none for most agencies)."""
    endpoints = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.agency_id == agency_id, WebhookEndpoint.disabled_at.is_(None))
        .order_by(WebhookEndpoint.id)
    ).all()
    return [e for e in endpoints if event_type in (e.events or [])]


def _invitation_ids(invitation: Invitation) -> dict[str, Any]:
    return {
        "invitation_id": invitation.public_id,
        "candidate_id": invitation.candidate.public_id,
        "assessment_id": invitation.assessment.public_id,
    }


def queue_attempt_started(attempt: Attempt, now: datetime) -> list[WebhookDelivery]:
    """Queue `invitation.started` for a new attempt, in the open unit of work (public ids and times only)."""
    if not subscribed(attempt.agency_id, "invitation.started"):
        return []
    data = {**_invitation_ids(attempt.invitation), "started_at": attempt.started_at}
    return queue_event(attempt.agency_id, "invitation.started", data, now)


def queue_attempt_submitted(attempt: Attempt, now: datetime) -> list[WebhookDelivery]:
    """Queue `attempt.submitted` for an attempt just submitted, in the open unit of work."""
    if not subscribed(attempt.agency_id, "attempt.submitted"):
        return []
    data = {
        **_invitation_ids(attempt.invitation),
        "submitted_at": attempt.submitted_at,
        "finalised_by": attempt.finalised_by,
    }
    return queue_event(attempt.agency_id, "attempt.submitted", data, now)


def queue_result_released(report: Report, invitation: Invitation, now: datetime) -> list[WebhookDelivery]:
    """Queue `result.released` with the API links a receiver fetches the details from, in the open unit of work."""
    from positions.models import Position

    if not subscribed(report.agency_id, "result.released"):
        return []
    base = current_app.config["BASE_URL"].rstrip("/")
    data = {
        "result_id": report.public_id,
        **_invitation_ids(invitation),
        "position_id": db.session.get_one(Position, report.position_id).public_id,
        "released_at": report.released_at,
        "result_url": f"{base}/api/v1/results/{report.public_id}",
        "report_url": f"{base}/api/v1/results/{report.public_id}/report.pdf",
    }
    return queue_event(report.agency_id, "result.released", data, now)


def send_test(endpoint: WebhookEndpoint, *, now: datetime) -> WebhookDelivery:
    """Queue a `ping` event to this endpoint only, in the open unit of work; raises WebhookError if disabled."""
    if not endpoint.is_active:
        raise WebhookError({"endpoint": "Enable the endpoint before sending a test event."})
    return _queue([endpoint], "ping", {"endpoint_id": endpoint.public_id}, now)[0]


def _enqueue_deliveries(delivery_ids: list[int]) -> None:
    from tasks import deliver_webhook_task

    for delivery_id in delivery_ids:
        try:
            deliver_webhook_task(delivery_id)
        except Exception:  # the queue is down: the periodic sweep will send it
            log.warning("could not enqueue webhook delivery %s; the sweep will retry", delivery_id, exc_info=True)


# --- Signatures -----------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: "v1=" and the hex HMAC-SHA256 of "<timestamp>." + body under the secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: int, tolerance: int = 300) -> bool:
    """For receivers: True when the body is signed with the secret and its timestamp is within ±tolerance s.

    The signature header may hold several space-separated "v1=..." values (any one may match).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        timestamp = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    offered = lowered.get(SIGNATURE_HEADER.lower(), "").split()
    matched = False
    for value in offered:
        matched |= hmac.compare_digest(value.encode(), expected.encode())
    return matched


# --- Delivery -------------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever DNS says by now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; the certificate is still checked against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class TargetRefused(Exception):
    """The target may not be contacted at all: fail the delivery at once."""


class AttemptFailed(Exception):
    """This attempt failed; a later one may succeed."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def _url_refusal(url: str, *, allow_loopback: bool) -> str:
    """The short reason a stored URL may not be posted to (an endpoint made before a setting changed)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        if host.lower() in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
            return "target address is not public"
        return "target URL is not allowed (https only)"
    return (
        "target URL is not allowed (https only)"
        if _address_allowed(literal, allow_loopback)
        else ("target address is not public")
    )


def resolve_public(host: str, port: int, *, allow_loopback: bool) -> str:
    """The address to connect to; raises TargetRefused when any address the name resolves to is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise AttemptFailed("could not resolve the host") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise AttemptFailed("could not resolve the host")
    for address in addresses:
        if not _address_allowed(ipaddress.ip_address(address.split("%", 1)[0]), allow_loopback):
            raise TargetRefused("target address is not public")
    return addresses[0]


def post(url: str, headers: dict[str, str], body: bytes, *, timeout: float, allow_loopback: bool) -> int:
    """POST once to a checked, pinned address without following redirects; the 2xx status code.

    Raises TargetRefused (never worth retrying) or AttemptFailed (with the status code when there was one).
    """
    if check_url(url, allow_loopback=allow_loopback):
        raise TargetRefused(_url_refusal(url, allow_loopback=allow_loopback))
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    address = resolve_public(host, port, allow_loopback=allow_loopback)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = connection_class(host, port, address, timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status  # the body is never read: nothing of it is kept
    except TimeoutError:
        raise AttemptFailed("timed out") from None
    except ssl.SSLError as exc:
        raise AttemptFailed(f"TLS failed ({type(exc).__name__})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise AttemptFailed(f"connection failed ({type(exc).__name__})") from None
    finally:
        connection.close()
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise AttemptFailed(f"redirect not followed (HTTP {status})", status)
    raise AttemptFailed(f"HTTP {status}", status)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def claim_delivery(delivery_id: int, now: datetime) -> bool:
    """Mark a due row as sending under a lease; False when another worker has it or it is not due."""
    lease = timedelta(seconds=current_app.config.get("WEBHOOK_LEASE_SECONDS", 120))
    return outbox.claim(
        WebhookDelivery, delivery_id, now, lease, queued=DeliveryStatus.QUEUED, sending=DeliveryStatus.SENDING
    )


def deliver(delivery_id: int, now: datetime) -> DeliveryStatus | None:
    """Post one due delivery, signed for this attempt, and record the outcome; None when nothing was done.

    2xx is delivered. Any other answer (a 3xx, which is never followed, or a 4xx: receivers are often
    misconfigured for a while) and timeouts or connection errors are retried with back-off until
    WEBHOOK_MAX_ATTEMPTS, then failed. A target that is not public (checked on the resolved address,
    which is the one connected to) or a disabled endpoint fails at once.
    """
    if not claim_delivery(delivery_id, now):
        return None
    config = current_app.config
    with independent_unit_of_work() as session:
        delivery = session.get_one(WebhookDelivery, delivery_id)
        endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
        attempts, body, event_id, event_type = delivery.attempts, delivery.body, delivery.event_id, delivery.event_type
        public_id, url, secret, active = delivery.public_id, endpoint.url, endpoint.secret, endpoint.is_active
    max_attempts = int(config.get("WEBHOOK_MAX_ATTEMPTS", 8))
    outcome: DeliveryStatus
    error: str | None = None
    status_code: int | None = None
    if not active:
        outcome, error = DeliveryStatus.FAILED, "endpoint disabled"
    else:
        payload = body.encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            ID_HEADER: event_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, payload),
            EVENT_HEADER: event_type,
        }
        try:
            status_code = post(
                url,
                headers,
                payload,
                timeout=float(config.get("WEBHOOK_TIMEOUT", 10)),
                allow_loopback=bool(config.get("WEBHOOK_ALLOW_LOOPBACK", False)),
            )
            outcome = DeliveryStatus.DELIVERED
        except TargetRefused as exc:
            outcome, error = DeliveryStatus.FAILED, str(exc)
        except AttemptFailed as exc:
            error, status_code = str(exc), exc.status_code
            outcome = DeliveryStatus.FAILED if attempts >= max_attempts else DeliveryStatus.QUEUED
        except Exception as exc:  # a bug must not leave the row "sending" and retried past the limit
            log.exception("webhook delivery %s: unexpected error", public_id)
            error = f"unexpected error ({type(exc).__name__})"
            outcome = DeliveryStatus.FAILED if attempts >= max_attempts else DeliveryStatus.QUEUED
    with independent_unit_of_work() as session:
        values: dict[str, Any] = {
            "status": outcome,
            "lease_expires_at": None,
            "last_error": error[:255] if error else None,
            "last_status_code": status_code,
        }
        if outcome is DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        elif outcome is DeliveryStatus.QUEUED:
            values["next_attempt_at"] = now + backoff(attempts)
        # Only this claim's outcome: a worker that outlived its lease must not overwrite a newer attempt.
        session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == DeliveryStatus.SENDING,
                WebhookDelivery.attempts == attempts,
            )
            .values(**values)
        )
    log.info("webhook delivery %s: %s after %d attempt(s)", public_id, outcome.value, attempts)
    return outcome


def sweep(now: datetime, limit: int = 500) -> list[int]:
    """Release deliveries whose lease ran out (their task was lost) and return the ids of those due now."""
    return outbox.sweep(WebhookDelivery, now, limit, queued=DeliveryStatus.QUEUED, sending=DeliveryStatus.SENDING)


def retry_delivery(delivery: WebhookDelivery, now: datetime) -> None:
    """Put a failed delivery back in the queue (an admin's decision), in the open unit of work.

    The body, and so the event id, stay the same. Raises ValueError unless the delivery failed.
    """
    if delivery.status is not DeliveryStatus.FAILED:
        raise ValueError("only a failed delivery can be retried")
    delivery.status = DeliveryStatus.QUEUED
    delivery.next_attempt_at = now
    delivery.attempts = 0
    delivery.last_error = None
    delivery_id = delivery.id
    after_commit(lambda: _enqueue_deliveries([delivery_id]))
