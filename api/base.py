"""The API's blueprint and the plumbing every endpoint shares: key authentication and scopes, rate limits,
one audit event per use, strict JSON bodies checked against the OpenAPI document, and problem details.

An API request carries no cookie: the key in the Authorization header is the only credential, so CSRF does
not apply (DECISIONS.md) and a signed-in browser session gets 401 here.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from accounts import audit, throttle
from accounts.access import AccessPolicy, TenantOwned, scoped_select
from api import keys, spec
from api.models import ApiKey, ApiScope
from api.problems import DEFAULT_DETAILS, ApiError, from_error, problem_response
from database import db, independent_unit_of_work, utcnow
from extensions import csrf

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T", bound=TenantOwned)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

# Wrong or revoked keys from one address: 30 in 15 minutes, then 429.
BAD_KEY_PER_ADDRESS = throttle.Limit("api-bad-key-address", 30, timedelta(minutes=15))


def key_limit() -> throttle.Limit:
    return throttle.Limit("api-key", int(current_app.config["API_RATE_LIMIT_PER_MINUTE"]), timedelta(minutes=1))


def api_access(*, scope: ApiScope, owns: type | None = None) -> Callable[[F], F]:
    """Declare and enforce an API endpoint: a valid key of the right scope, within its rate limit."""
    policy = AccessPolicy(roles=None, owns=owns, api=scope.value)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            key = authenticate()
            if not key.allows(scope):
                raise ApiError(403, "This API key is read only; ask an agency admin for a read and write key.")
            return view(*args, **kwargs)

        wrapped.access_policy = policy  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def authenticate() -> ApiKey:
    """The request's key, remembered in g; 401 (audited, rate-limited per address) without a valid one."""
    now = utcnow()
    address = request.remote_addr or "unknown"
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    key = keys.find_key(presented) if scheme.lower() == "bearer" else None
    if key is None:
        wait = throttle.retry_after(BAD_KEY_PER_ADDRESS, address, now)
        if wait is not None:
            raise ApiError(
                429, "Too many requests with a wrong API key from this address.", headers={"Retry-After": str(wait)}
            )
        with independent_unit_of_work() as session:
            throttle.count_hit(BAD_KEY_PER_ADDRESS, address, now, session=session)
            audit.record_now("api.auth.refused", now=now, session=session)
        reason = "The API key is missing." if not header else "The API key is not valid, or it was revoked."
        raise ApiError(
            401, f"{reason} Send it as: Authorization: Bearer <key>.", headers={"WWW-Authenticate": "Bearer"}
        )
    limit = key_limit()
    wait = throttle.retry_after(limit, key.prefix, now)
    if wait is not None:
        g.api_key_refused = key
        raise ApiError(
            429, f"This key may make {limit.max_count} requests a minute.", headers={"Retry-After": str(wait)}
        )
    g.api_key = key
    return key


def current_key() -> ApiKey:
    key: ApiKey = g.api_key
    return key


def get_owned(model: type[T], public_id: str) -> T:
    """The key's agency's object with that public id; 404 (and an audit event) for anything else."""
    found = db.session.scalar(scoped_select(model, current_key().as_scope()).where(model.public_id == public_id))
    if found is None:
        raise not_found(model, public_id)
    return found


def not_found(model: type, public_id: str) -> ApiError:
    """Audit a denied lookup and return the 404 problem to raise (the id is not echoed back)."""
    key = current_key()
    audit.record_now(
        "access.denied.scope",
        now=utcnow(),
        agency_public_id=key.agency.public_id,
        actor_public_id=key.public_id,
        object_type=getattr(model, "__tablename__", None),
        object_public_id=public_id[:64],
    )
    noun = str(getattr(model, "__tablename__", "resource")).replace("_", " ")
    return ApiError(404, f"No such {noun} in this agency (the id is wrong, or it belongs to another agency).")


def json_body(schema: str) -> dict[str, Any]:
    """The request's JSON object, checked against a schema of the OpenAPI document (unknown fields refused)."""
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise ApiError(415, f"Send the body as application/json (it was {mimetype or 'not given'}).")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, f"The body is not valid JSON{where}.") from None
    except RecursionError:
        raise ApiError(400, "The body is nested too deeply to read.") from None
    errors = spec.problems(schema, data)
    if errors:
        raise ApiError(422, "The body does not match the schema; see errors.", errors=errors)
    assert isinstance(data, dict)
    return data


def no_body() -> None:
    """Refuse a body on an action that takes none (a POST such as revoke)."""
    if request.get_data(cache=True).strip() not in (b"", b"{}"):
        raise ApiError(422, "This action takes no body.")


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return from_error(error)


@bp.after_request
def _record_use(response: Response) -> Response:
    """Count the request against the key's limit and audit it, in a unit of work of its own."""
    key: ApiKey | None = g.pop("api_key", None)
    if key is None:
        return response
    now = utcnow()
    rule = request.url_rule.rule if request.url_rule else request.path
    object_id = next(iter((request.view_args or {}).values()), None)
    try:
        _write_use(key, response, now, rule, object_id)
    except OperationalError:  # the database went away after the answer was made: say so, keep the answer
        log.warning("could not audit an API request to %s", rule)
    return response


def _write_use(key: ApiKey, response: Response, now: datetime, rule: str, object_id: Any) -> None:
    # Read the key's fields first: after a rolled-back request they are expired, and loading them inside the
    # independent unit of work would begin a write transaction on the request's own connection (SQLite
    # would then wait on itself for busy_timeout).
    key_id, prefix, key_public_id, agency_public_id = key.id, key.prefix, key.public_id, key.agency.public_id
    with independent_unit_of_work() as session:
        throttle.count_hit(key_limit(), prefix, now, session=session)
        audit.record_now(
            "api.request",
            now=now,
            agency_public_id=agency_public_id,
            actor_public_id=key_public_id,
            object_type="api",
            object_public_id=str(object_id)[:64] if object_id else None,
            outcome="ok" if response.status_code < 400 else "refused",
            details={"method": request.method, "route": rule, "status": response.status_code},
            session=session,
        )
        stored = session.get(ApiKey, key_id)
        if stored is not None and (stored.last_used_at is None or now - stored.last_used_at > timedelta(minutes=1)):
            stored.last_used_at = now


def api_problem_for(status: int, detail: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """A problem for an error raised outside API code (404 of an unknown URL, 405, 413, a database outage)."""
    return problem_response(status, detail or DEFAULT_DETAILS.get(status, "The request failed."), headers=headers)
