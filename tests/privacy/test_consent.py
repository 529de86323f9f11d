"""Consent records: what the candidate agreed to, word for word and when; shown on the candidate page,
withdrawn when they say so (their unfinished link stops working), exported with their data, erased with them."""

from __future__ import annotations

import hashlib
import html
import json
import re

from sqlalchemy import func, select

from accounts.models import AuditEvent, User
from assessments.delivery import CONSENT_SENTENCE
from assessments.models import Attempt, ConsentRecord, Invitation
from candidates import privacy
from candidates.models import Candidate
from database import db, unit_of_work, utcnow
from tests.assessments.test_delivery import begin, published  # noqa: F401  (a fixture)
from tests.conftest import post, sign_in


def records(app) -> list[ConsentRecord]:
    with app.app_context():
        return list(db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)))


def candidate_of(app, invitation_public_id: str) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Candidate.public_id)
            .join(Invitation, Invitation.candidate_id == Candidate.id)
            .where(Invitation.public_id == invitation_public_id)
        )


def squeezed(text: str) -> str:
    """Text without tags or whitespace, to compare what a page shows with what a record keeps."""
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", text)))


def test_agreeing_keeps_the_words_shown_and_agreeing_again_adds_nothing(app, client, published):  # noqa: F811
    landing = client.get(published["path"]).get_data(as_text=True)
    assert records(app) == []
    assert post(client, app, published["path"], {"extra_time": "0"}).status_code == 422  # no tick, no record
    assert records(app) == []

    begin(app, client, published["path"])
    begin(app, client, published["path"])  # the link opened again: still one record
    [record] = records(app)
    assert record.purpose == "assessment" and record.withdrawn_at is None
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == published["invitation"]))
        assert record.invitation_id == invitation.id and record.given_at == invitation.consent_at
    lines = record.statement.splitlines()
    assert lines[-1] == CONSENT_SENTENCE
    shown = squeezed(landing)
    for line in lines:  # every line of the record is on the page the candidate read, word for word
        assert squeezed(line) in shown, line
    for fact in ("What the test is", "keeps your data for 12 months", "A person makes every decision"):
        assert any(fact in line for line in lines)
    assert "Noor" not in record.statement  # the greeting with their name is not part of the notice
    assert record.statement_digest == hashlib.sha256(record.statement.encode()).hexdigest()


def test_staff_see_the_record_and_a_withdrawal_stops_the_unfinished_link(app, client, published, tenant_a):  # noqa: F811
    assert post(client, app, published["path"], {"consent": "yes", "extra_time": "0"}).status_code == 302
    [record] = records(app)
    candidate = candidate_of(app, published["invitation"])
    staff = app.test_client()
    sign_in(staff, app, tenant_a.recruiter["email"])
    page = staff.get(f"/candidates/{candidate}").get_data(as_text=True)
    assert "Agreed to take" in page and "What they agreed to, word for word" in page
    assert record.statement_digest[:16] in page

    url = f"/candidates/{candidate}/consents/{record.public_id}/withdraw"
    response = post(staff, app, url, {"note": "by email on 3 March"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#privacy")
    [record] = records(app)
    assert record.withdrawn_at is not None and record.withdrawal_note == "by email on 3 March"
    page = staff.get(f"/candidates/{candidate}").get_data(as_text=True)
    assert "Withdrawn" in page and "by email on 3 March" in page and "Record that they withdrew" not in page
    assert client.get(published["path"]).status_code == 404  # the candidate's link no longer works
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == published["invitation"]))
        assert invitation.revoked_at is not None
        events = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "consent.withdrawn" in events and "invitation.revoked" in events

    again = post(staff, app, url, {"note": ""})
    assert again.status_code == 302
    assert "already been withdrawn" in staff.get(again.headers["Location"]).get_data(as_text=True)
    assert records(app)[0].withdrawal_note == "by email on 3 March"  # changed nothing


def test_a_withdrawal_after_submitting_keeps_the_answers(app, client, published, tenant_a):  # noqa: F811
    begin(app, client, published["path"])
    assert post(client, app, "/test/submit").headers["Location"] == "/test/done"
    with app.app_context(), unit_of_work():
        record = db.session.scalars(select(ConsentRecord)).one()
        admin = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
        privacy.withdraw_consent(record, note="", by=admin, now=utcnow())
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == published["invitation"]))
        assert invitation.revoked_at is None  # a submitted test is not revoked: erasure removes it
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 1
        record = db.session.scalars(select(ConsentRecord)).one()
        assert record.withdrawn_at is not None and record.withdrawal_note is None


def test_bad_withdrawals_change_nothing(app, client, published, tenant_a, tenant_b):  # noqa: F811
    assert post(client, app, published["path"], {"consent": "yes", "extra_time": "0"}).status_code == 302
    [record] = records(app)
    candidate = candidate_of(app, published["invitation"])
    url = f"/candidates/{candidate}/consents/{record.public_id}/withdraw"

    staff = app.test_client()
    sign_in(staff, app, tenant_a.recruiter["email"])
    too_long = post(staff, app, url, {"note": "x" * 201})
    assert "200 characters" in staff.get(too_long.headers["Location"]).get_data(as_text=True)
    assert post(staff, app, f"/candidates/{candidate}/consents/nope/withdraw", {}).status_code == 404
    assert staff.post(url, data={"note": "no token"}).status_code == 400

    other = app.test_client()
    sign_in(other, app, tenant_b.recruiter["email"])
    assert post(other, app, url, {}).status_code == 404
    client_user = app.test_client()
    sign_in(client_user, app, tenant_a.client_user["email"])
    assert post(client_user, app, url, {}).status_code in (403, 404)
    assert records(app)[0].withdrawn_at is None


def test_the_export_holds_the_consents_and_erasure_removes_them(app, client, published, tenant_a):  # noqa: F811
    assert post(client, app, published["path"], {"consent": "yes", "extra_time": "0"}).status_code == 302
    [record] = records(app)
    candidate = candidate_of(app, published["invitation"])
    admin = app.test_client()
    sign_in(admin, app, tenant_a.admin["email"])
    exported = json.loads(admin.get(f"/candidates/{candidate}/export.json").get_data(as_text=True))
    [consent] = exported["consents"]
    assert consent["id"] == record.public_id and consent["statement"] == record.statement
    assert consent["invitation"] == published["invitation"] and consent["withdrawn_at"] is None
    assert consent["statement_sha256"] == record.statement_digest

    response = post(admin, app, f"/candidates/{candidate}/erase", {"confirm": "yes"})
    assert response.status_code == 302
    assert records(app) == []


def test_the_migration_records_consents_given_before_it_without_inventing_their_words(app, client, published):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    assert post(client, app, published["path"], {"consent": "yes", "extra_time": "0"}).status_code == 302
    with app.app_context():
        db.session.remove()
        downgrade(revision="58d141feabad")  # before consent records: only the invitation's consent_at
        upgrade()
        db.session.remove()
    [record] = records(app)
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == published["invitation"]))
        assert record.invitation_id == invitation.id and record.given_at == invitation.consent_at
        assert record.candidate_id == invitation.candidate_id and record.agency_id == invitation.agency_id
    assert record.statement.startswith("Recorded before Rapport kept the words of each consent.")
    assert CONSENT_SENTENCE in record.statement
    assert record.statement_digest == hashlib.sha256(record.statement.encode()).hexdigest()
