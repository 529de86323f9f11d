"""The operator commands: create-agency (with its set-up email and link) and seed-demo."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from accounts.models import Agency, AuditEvent, Client, Role, User
from api.models import ApiKey
from database import db
from demo import DEMO_API_KEY, DEMO_TOTP_SECRET
from mailer import EmailMessage, EmailStatus
from tests.conftest import BASE_URL, post, sign_in
from webhooks import WebhookEndpoint

NEW_PASSWORD = "violet-otter-lantern"


def run(app: Flask, *args: str) -> Any:
    """Invoke a command as `flask` would; each command pushes its own app context."""
    return app.test_cli_runner().invoke(args=list(args))


def count(model: type) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def create_agency(app: Flask, name: str = "Harbour Recruitment", email: str = "a@b.example") -> Any:
    return run(app, "create-agency", name, "--admin-email", email, "--admin-name", "A B")


def test_create_agency_makes_an_admin_who_sets_a_password_from_the_link(app, ctx, mailbox):
    result = create_agency(app)

    assert result.exit_code == 0, result.output
    agency = db.session.scalars(select(Agency)).one()
    assert agency.name == "Harbour Recruitment"
    admin = db.session.scalars(select(User)).one()
    assert (admin.email, admin.name, admin.role, admin.agency_id) == ("a@b.example", "A B", Role.ADMIN, agency.id)
    assert admin.password_hash is None
    assert agency.public_id in result.output
    from positions.models import SkillTransfer

    assert count_where(SkillTransfer, SkillTransfer.agency_id == agency.id) >= 100  # the reviewed starter table

    email = db.session.scalars(select(EmailMessage)).one()
    assert (email.template, email.to_address, email.status) == ("account_setup", "a@b.example", EmailStatus.SENT)
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["To"] == "a@b.example"
    assert "Harbour Recruitment" in mailbox.messages[0]["Subject"]
    [emailed_link] = mailbox.links()
    assert emailed_link.startswith(f"{BASE_URL}/password/setup/")

    printed_link = result.output.strip().splitlines()[-1]
    assert printed_link.startswith(f"{BASE_URL}/password/setup/")
    client = app.test_client()
    landing = client.get(printed_link.removeprefix(BASE_URL))
    assert landing.status_code == 302
    assert landing.headers["Location"] == "/password/setup"
    assert client.get("/password/setup").status_code == 200
    chosen = post(client, app, "/password/setup", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert chosen.status_code == 302
    assert chosen.headers["Location"] == "/login"

    sign_in(app.test_client(), app, "a@b.example", NEW_PASSWORD)
    # The emailed link is spent too: the password version moved on.
    assert app.test_client().get(emailed_link.removeprefix(BASE_URL)).status_code == 404


def test_create_agency_refuses_a_duplicate_name(app, ctx, mailbox):
    assert create_agency(app).exit_code == 0
    mailbox.clear()

    result = create_agency(app, email="other@b.example")

    assert result.exit_code != 0
    assert "an agency named 'Harbour Recruitment' already exists" in result.output
    assert count(Agency) == 1
    assert count(User) == 1
    assert mailbox.messages == []


@pytest.mark.parametrize("bad_email", ["not-an-email", "a@", "@b.example", "a b@b.example"])
def test_create_agency_refuses_an_invalid_email_and_creates_nothing(app, ctx, mailbox, bad_email):
    result = create_agency(app, email=bad_email)

    assert result.exit_code != 0
    assert "email" in result.output.lower()
    assert count(Agency) == 0
    assert count(User) == 0
    assert count(EmailMessage) == 0
    assert mailbox.messages == []


@pytest.mark.parametrize("bad_name", ["   ", "N" * 121])
def test_create_agency_refuses_an_invalid_admin_name_and_creates_nothing(app, ctx, bad_name):
    result = run(app, "create-agency", "Harbour Recruitment", "--admin-email", "a@b.example", "--admin-name", bad_name)

    assert result.exit_code == 2, result.output
    assert "--admin-name" in result.output
    assert count(Agency) == 0
    assert count(User) == 0


def test_seed_demo_builds_the_demo_once_however_often_it_runs(app, ctx):
    """One test seeds twice (the demo takes seconds to seed): what the first run builds, and that the second
    run changes no count."""
    first = run(app, "seed-demo")
    assert first.exit_code == 0, first.output
    assert "admin@northbridge.example" in first.output
    agency = db.session.scalars(select(Agency).where(Agency.name == "Northbridge Talent Partners")).one()
    counts = demo_counts(agency.id)
    assert counts["agencies"] == 2 and counts["users"] == 4 and counts["clients"] == 3
    assert (counts["api keys"], counts["webhook endpoints"]) == (1, 1)  # the (disabled) endpoint
    check_library_and_assessment(agency)
    check_profiles_positions_and_transfers(agency, counts)

    second = run(app, "seed-demo")

    assert second.exit_code == 0, second.output
    assert demo_counts(agency.id) == counts
    sign_in(app.test_client(), app, "admin@northbridge.example", "amber-kite-harbour")  # with a two-factor code
    assert DEMO_TOTP_SECRET in second.output and "pyotp.TOTP" in second.output
    demo_users = {u.email: u for u in db.session.scalars(select(User))}
    assert demo_users["admin@lakeside.example"].totp_secret == DEMO_TOTP_SECRET
    assert not demo_users["recruiter@northbridge.example"].has_two_factor  # a password only
    # The printed demo API key answers the API.
    assert DEMO_API_KEY in second.output
    listed = app.test_client().get("/api/v1/positions", headers={"Authorization": f"Bearer {DEMO_API_KEY}"})
    assert listed.status_code == 200 and listed.json["data"]


def demo_counts(agency_id: int) -> dict[str, int]:
    from assessments.models import Assessment
    from candidates.models import CandidateExperience, CandidateSkill
    from positions.models import Position, SkillTransfer
    from scenarios.models import Scenario

    return {
        "agencies": count(Agency),
        "users": count(User),
        "clients": count(Client),
        "audit events": count(AuditEvent),
        "api keys": count(ApiKey),
        "webhook endpoints": count(WebhookEndpoint),
        "scenarios": count_where(Scenario, Scenario.agency_id == agency_id),
        "assessments": count(Assessment),
        "transfers": count_where(SkillTransfer, SkillTransfer.agency_id == agency_id),
        "candidate skills": count(CandidateSkill),
        "candidate experience": count(CandidateExperience),
        "positions from ESCO": count_where(
            Position, Position.agency_id == agency_id, Position.occupation_uri.is_not(None)
        ),
    }


def check_library_and_assessment(agency: Agency) -> None:
    from assessments.models import Assessment
    from assessments.services import coverage
    from scenarios.models import Scenario

    assert count_where(Scenario, Scenario.agency_id == agency.id) >= 36
    assessment = db.session.scalars(select(Assessment).where(Assessment.agency_id == agency.id)).one()
    assert assessment.is_published
    reported = {r.competency.code: r for r in coverage(assessment) if r.reported}
    assert set(reported) == {"professionalism", "collaboration"}
    assert all(r.meets_minimum for r in reported.values())
    assert count(Assessment) == 1


def count_where(model: type, *criteria: Any) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*criteria)) or 0


def check_profiles_positions_and_transfers(agency: Agency, counts: dict[str, int]) -> None:
    from assessments.models import AttemptResult, Decision, NormTable
    from candidates.models import Candidate
    from positions.models import Position, PositionSkill

    assert counts["transfers"] >= 100 and counts["candidate skills"] >= 15
    assert counts["candidate experience"] >= 5 and counts["positions from ESCO"] == 2
    nia = db.session.scalars(select(Candidate).where(Candidate.email == "nia.campbell@candidates.example")).one()
    assert {job.industry for job in nia.experience} == {"I", "Q"}
    assert count_where(AttemptResult) >= 100  # a norm group, and a reliability with an interval
    assert count_where(NormTable) == 1 and count_where(Decision) >= 100
    desk = db.session.scalars(select(Position).where(Position.title == "IT service desk agent")).one()
    assert count_where(PositionSkill, PositionSkill.position_id == desk.id) >= 5  # proposed from ESCO
