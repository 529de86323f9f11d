"""Bad input to the API (issue 10): each is refused with a 4xx problem that says why, and writes nothing.

"Nothing written" compares the row count of every table but the audit log and the rate-limit counters (a
refused request is audited and counted, by design) before and after the bad requests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from api.keys import find_key, revoke_key
from database import db, unit_of_work, utcnow
from tests.api.client import Api, make_key
from tests.conftest import Tenant

PROBLEM = "application/problem+json"
COUNTED_ELSEWHERE = {"audit_event", "rate_limit_counter"}
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def row_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            name: db.session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in sorted(db.metadata.tables.items())
            if name not in COUNTED_ELSEWHERE
        }


def refused(response: Any, status: int, where: str) -> dict[str, Any]:
    """The response is a problem of that status with a reason; its body."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, f"{where}: {response.status_code} {text[:300]}"
    assert response.mimetype == PROBLEM, f"{where}: {response.mimetype}"
    body: dict[str, Any] = json.loads(text)
    assert body["status"] == status and body["title"], where
    assert isinstance(body["detail"], str) and body["detail"].strip(), f"{where}: no reason given"
    return body


def new_candidate(suffix: str = "") -> dict[str, str]:
    local = f"noor{suffix.strip().lower()}"
    return {"name": f"Noor Haddad{suffix}", "email": f"{local}@example.org", "headline": "Payroll officer"}


def test_bad_bodies_methods_and_scopes_are_refused_with_a_reason_and_write_nothing(app, tenant_a):
    api = Api(app, make_key(app, tenant_a, "write"))
    reader = Api(app, make_key(app, tenant_a, "read"))
    mine = f"/candidates/{tenant_a.candidate_id}"
    good = json.dumps(new_candidate())
    too_big = json.dumps({**new_candidate(), "headline": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)})
    before = row_counts(app)
    cases: list[tuple[str, Any, int]] = [
        ("malformed JSON", lambda: api.post("/candidates", data='{"name": "Noor", "email": '), 400),
        ("malformed JSON in a PATCH", lambda: api.patch(mine, data="{'name': 'Noor'}"), 400),
        ("nested too deeply to parse", lambda: api.post("/candidates", data="[" * 100_000), 400),
        ("not UTF-8", lambda: api.post("/candidates", data=b'{"name": "\xff\xfe"}'), 400),
        ("text/plain", lambda: api.post("/candidates", data=good, content_type="text/plain"), 415),
        (
            "form encoded",
            lambda: api.post("/candidates", data="name=Noor", content_type="application/x-www-form-urlencoded"),
            415,
        ),
        ("no content type", lambda: api.post("/candidates", data=good, content_type=""), 415),
        ("an unknown field", lambda: api.post("/candidates", {**new_candidate(), "colour": "red"}), 422),
        ("an unknown field in a PATCH", lambda: api.patch(mine, {"salary": 30000}), 422),
        ("a missing field", lambda: api.post("/candidates", {"name": "Noor"}), 422),
        ("a wrong type", lambda: api.post("/candidates", {**new_candidate(), "name": ["Noor"]}), 422),
        ("not an object", lambda: api.post("/candidates", [new_candidate()]), 422),
        ("a body over MAX_CONTENT_LENGTH", lambda: api.post("/candidates", data=too_big), 413),
        ("a read key creating", lambda: reader.post("/candidates", new_candidate()), 403),
        ("a read key updating", lambda: reader.patch(mine, {"headline": "Changed"}), 403),
        ("a read key inviting", lambda: reader.post("/invitations", {}), 403),
        ("a read key revoking", lambda: reader.post(f"/invitations/{tenant_a.invitation_id}/revoke"), 403),
    ]
    for where, call, status in cases:
        body = refused(call(), status, where)
        if status == 422 and "field" in where:
            assert body["errors"] and all(e["pointer"] and e["detail"] for e in body["errors"]), where
    unknown = refused(api.post("/candidates", {**new_candidate(), "colour": "red"}), 422, "unknown field")
    assert [e["pointer"] for e in unknown["errors"]] == ["/colour"]
    for method, path in (("DELETE", "/candidates"), ("PUT", mine), ("DELETE", mine), ("PATCH", "/positions")):
        response = api.client.open(f"/api/v1{path}", method=method, headers=api.headers())
        refused(response, 405, f"{method} {path}")
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert method not in allowed and "GET" in allowed, f"{method} {path}: Allow {allowed}"
    assert row_counts(app) == before
    assert api.get(mine).json["headline"] == "", "a refused PATCH changed the candidate"


def test_a_duplicate_candidate_is_409_with_the_existing_id(app, tenant_a):
    api = Api(app, make_key(app, tenant_a, "write"))
    first = api.post("/candidates", new_candidate())
    assert first.status_code == 201, first.get_data(as_text=True)
    existing_email = api.get(f"/candidates/{tenant_a.candidate_id}").json["email"]
    before = row_counts(app)
    for where, body, expected in (
        ("the same address", new_candidate(), first.json["id"]),
        ("in other case, with spaces", {**new_candidate(), "email": "  NOOR@Example.ORG "}, first.json["id"]),
        ("a candidate added in Rapport", {"name": "Someone Else", "email": existing_email}, tenant_a.candidate_id),
    ):
        problem = refused(api.post("/candidates", body), 409, where)
        assert problem["existing_id"] == expected, where
    other = api.post("/candidates", new_candidate(" Two"))
    assert other.status_code == 201
    problem = refused(api.patch(f"/candidates/{other.json['id']}", {"email": "noor@example.org"}), 409, "PATCH")
    assert problem["existing_id"] == first.json["id"]
    after = row_counts(app)
    assert after["candidate"] == before["candidate"] + 1 and {k: v for k, v in after.items() if k != "candidate"} == {
        k: v for k, v in before.items() if k != "candidate"
    }


def _revoke(app: Flask, plaintext: str, tenant: Tenant) -> None:
    from accounts.models import User

    with app.app_context(), unit_of_work():
        key = find_key(plaintext)
        assert key is not None
        admin = db.session.scalars(select(User).where(User.public_id == tenant.admin["public_id"])).one()
        revoke_key(key, by=admin, now=utcnow())


def test_other_agencys_key_revoked_keys_and_tampered_cursors(app, tenant_a, tenant_b):
    mine = Api(app, make_key(app, tenant_a, "write"))
    assert mine.post("/candidates", new_candidate()).status_code == 201  # two candidates: a page of one has more
    page = mine.get("/candidates?limit=1")
    assert page.status_code == 200 and page.json["next_cursor"], page.get_data(as_text=True)
    cursor = page.json["next_cursor"]
    theirs = Api(app, make_key(app, tenant_b, "write"))
    revoked_key = make_key(app, tenant_a, "write", name="Old ATS")
    _revoke(app, revoked_key, tenant_a)
    revoked = Api(app, revoked_key)
    before = row_counts(app)

    a_ids = [
        ("GET", f"/candidates/{tenant_a.candidate_id}", None),
        ("PATCH", f"/candidates/{tenant_a.candidate_id}", {"headline": "Taken over"}),
        ("GET", f"/invitations/{tenant_a.invitation_id}", None),
        ("POST", f"/invitations/{tenant_a.invitation_id}/revoke", None),
        ("GET", f"/positions/{tenant_a.position_id}", None),
        ("GET", f"/assessments/{tenant_a.assessment_id}", None),
    ]
    for method, path, body in a_ids:
        where = f"agency B's key: {method} {path}"
        data = json.dumps(body) if body is not None else None
        response = theirs.client.open(
            f"/api/v1{path}", method=method, data=data, content_type="application/json", headers=theirs.headers()
        )
        problem = refused(response, 404, where)
        for secret in tenant_a.secrets:
            assert secret not in json.dumps(problem), f"{where} shows {secret!r}"
    invited = theirs.post(
        "/invitations", {"candidate_id": tenant_a.candidate_id, "assessment_id": tenant_a.assessment_id}
    )
    assert invited.status_code in (404, 422), f"B invited A's candidate: {invited.status_code}"
    refused(invited, invited.status_code, "B's key inviting A's candidate to A's assessment")
    # Agency B's own cursor of the same list does not page through agency A's.
    assert theirs.get("/candidates").json["data"][0]["id"] != tenant_a.candidate_id
    refused(theirs.get(f"/candidates?limit=1&cursor={cursor}"), 400, "A's cursor with B's key")

    for method, path, body in [*a_ids, ("GET", "/candidates", None), ("POST", "/candidates", new_candidate(" R"))]:
        where = f"revoked key: {method} {path}"
        data = json.dumps(body) if body is not None else None
        response = revoked.client.open(
            f"/api/v1{path}", method=method, data=data, content_type="application/json", headers=revoked.headers()
        )
        refused(response, 401, where)
        assert response.headers["WWW-Authenticate"] == "Bearer", where

    for position in (0, len(cursor) // 2, len(cursor) - 1):
        # The top bit of the base64url digit: the last digit's low bits are padding that decoding drops.
        flipped = BASE64URL[BASE64URL.index(cursor[position]) ^ 32] if cursor[position] in BASE64URL else "A"
        tampered = cursor[:position] + flipped + cursor[position + 1 :]
        refused(mine.get(f"/candidates?limit=1&cursor={tampered}"), 400, f"cursor flipped at {position}")
    refused(mine.get(f"/positions?cursor={cursor}"), 400, "a candidates cursor on positions")
    assert mine.get(f"/candidates?limit=1&cursor={cursor}").status_code == 200, "the untouched cursor works"
    assert row_counts(app) == before


@pytest.mark.app_config(API_RATE_LIMIT_PER_MINUTE=3)
def test_the_fourth_request_in_a_minute_is_429_with_retry_after(app, tenant_a):
    api = Api(app, make_key(app, tenant_a, "write"))
    other = Api(app, make_key(app, tenant_a, "read"))
    for _ in range(3):
        assert api.get("/positions").status_code == 200
    before = row_counts(app)
    for where, response in (
        ("a fourth read", api.get("/positions")),
        ("a fourth request that would write", api.post("/candidates", new_candidate())),
    ):
        refused(response, 429, where)
        assert 1 <= int(response.headers["Retry-After"]) <= 60, where
    assert other.get("/positions").status_code == 200, "another key has its own budget"
    assert row_counts(app) == before
