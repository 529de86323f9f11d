"""API test client: keys for a tenant's admin, and a client that sends them."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from accounts.models import User
from api.keys import create_key
from database import db, unit_of_work, utcnow
from tests.conftest import Tenant


def make_key(app: Flask, tenant: Tenant, scope: str = "write", name: str = "ATS") -> str:
    """A new API key of the tenant's agency, created by its admin; the plaintext."""
    with app.app_context(), unit_of_work():
        admin = db.session.scalars(select(User).where(User.public_id == tenant.admin["public_id"])).one()
        return create_key(admin.agency_id, name=name, scope=scope, by=admin, now=utcnow()).plaintext


class Api:
    """A test client that authenticates with one key and speaks JSON."""

    def __init__(self, app: Flask, key: str | None) -> None:
        self.app = app
        self.key = key
        self.client: FlaskClient = app.test_client()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        found = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {**found, **(extra or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        data = kw.pop("data", None)
        if data is None and body is not None:
            data = json.dumps(body)
        content_type = kw.pop("content_type", "application/json")
        return self.client.post(
            f"/api/v1{path}", data=data, content_type=content_type, headers=self.headers(kw.pop("headers", None)), **kw
        )

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        data = kw.pop("data", None)
        if data is None and body is not None:
            data = json.dumps(body)
        content_type = kw.pop("content_type", "application/json")
        return self.client.patch(
            f"/api/v1{path}", data=data, content_type=content_type, headers=self.headers(kw.pop("headers", None)), **kw
        )
