"""Builders for the candidate tests: fictional back-office people, a signed-in recruiter, row counts."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from accounts.models import AuditEvent, User
from candidates.models import Candidate, CandidateEducation, CandidateExperience, CandidateLanguage, CandidateSkill
from database import db
from tests.conftest import Tenant, post, sign_in

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ACCOUNTS_CLERK = "http://data.europa.eu/esco/occupation/bfe142b9-a049-4d41-89c4-fd2f34ac56b6"
PAYROLL_CLERK = "http://data.europa.eu/esco/occupation/ade351da-7bda-424e-8682-bbdcab2a25be"


def resume(**changes: Any) -> dict[str, Any]:
    """Amara Okafor's JSON Resume (a fictional accounts payable clerk), a fresh copy each time."""
    document = json.loads((FIXTURES / "amara_okafor.resume.json").read_text(encoding="utf-8"))
    document.update(copy.deepcopy(changes))
    return document


def resume_bytes(document: dict[str, Any] | None = None) -> bytes:
    return json.dumps(resume() if document is None else document, ensure_ascii=False).encode("utf-8")


def counts(app: Flask) -> dict[str, int]:
    """How many candidates and profile rows the database holds, for before/after comparisons."""
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Candidate, CandidateSkill, CandidateEducation, CandidateExperience, CandidateLanguage)
        }


def audit_actions(app: Flask, action_prefix: str = "candidate.") -> list[tuple[str, str | None, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.object_public_id, AuditEvent.actor_public_id)
            .where(AuditEvent.action.like(f"{action_prefix}%"))
            .order_by(AuditEvent.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def upload(client: Any, app: Flask, url: str, raw: bytes, filename: str = "file.json", **fields: Any) -> Any:
    return post(client, app, url, {"file": (io.BytesIO(raw), filename), **fields}, content_type="multipart/form-data")


@pytest.fixture
def recruiter(app: Flask, client: Any, tenant_a: Tenant) -> Any:
    """A test client signed in as agency A's recruiter."""
    sign_in(client, app, tenant_a.recruiter["email"])
    return client


@pytest.fixture
def candidate(ctx: Flask, tenant_a: Tenant) -> Candidate:
    """Agency A's candidate, in an application context."""
    return db.session.scalars(select(Candidate).where(Candidate.public_id == tenant_a.candidate_id)).one()


@pytest.fixture
def staff(ctx: Flask, tenant_a: Tenant) -> User:
    return db.session.scalars(select(User).where(User.public_id == tenant_a.recruiter["public_id"])).one()
