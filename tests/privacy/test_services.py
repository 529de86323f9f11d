"""Privacy rules: erasure reaches every table, a legal hold blocks it, retention erases exactly who is due,
the export holds the candidate's data and no one else's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Agency, AuditEvent, User
from assessments.models import InviteBatch
from candidates import privacy
from candidates.models import Candidate
from database import db, unit_of_work
from mailer import EmailMessage, queue_email
from reports.models import ReportFile
from tests.privacy.builders import add_candidate_at, candidate_by, seed_person
from webhooks import WebhookDelivery

T = datetime(2028, 3, 15, 12, 0, tzinfo=UTC)


def admin_of(tenant) -> User:
    return db.session.scalars(select(User).where(User.public_id == tenant.admin["public_id"])).one()


def erase(app, tenant, public_id: str) -> None:
    with app.app_context(), unit_of_work():
        candidate = candidate_by(public_id)
        assert candidate is not None
        privacy.erase_candidate(candidate, by=admin_of(tenant), now=T)


def rows_containing(needles: list[str]) -> list[tuple[str, dict[str, object]]]:
    """Every row of every table whose columns, as text, contain one of the needles (case-insensitive)."""
    found = []
    lowered = [needle.lower() for needle in needles]
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            text = " ".join(repr(value) for value in row.values()).lower()
            if any(needle in text for needle in lowered):
                found.append((table.name, dict(row)))
    return found


def test_erasure_leaves_nothing_about_the_candidate_in_any_table(app, tenant_a):
    person = seed_person(app, tenant_a, "Odalys")
    other = seed_person(app, tenant_a, "Berenike")
    with app.app_context():
        assert {table for table, _ in rows_containing([person.name, person.email])} >= {
            "candidate",
            "candidate_skill",
            "email_message",
            "report",
            "report_file",
            "decision",
            "invite_batch",
        }
        files_before = db.session.scalar(select(func.count()).select_from(ReportFile))

    erase(app, tenant_a, person.candidate)

    with app.app_context():
        ids = [person.candidate, person.invitation, person.attempt, person.report]
        leftovers = rows_containing([person.name, person.email, *ids])
        assert {table for table, _ in leftovers} == {"audit_event"}, leftovers
        for _, row in leftovers:
            assert row["object_public_id"] in ids
            assert person.name.lower() not in repr(row).lower() and person.email not in repr(row)
        erased = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.erased")).one()
        assert erased.object_public_id == person.candidate
        assert erased.actor_public_id == tenant_a.admin["public_id"]
        assert erased.details == {"cause": "request"}
        # The other candidate keeps everything but the position's shortlist PDF, which named both of them.
        assert rows_containing([other.name]) and candidate_by(other.candidate) is not None
        assert db.session.scalar(select(func.count()).select_from(ReportFile)) == files_before - 3
        assert db.session.scalar(select(EmailMessage).where(EmailMessage.public_id == tenant_a.email_id))
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
        batch_rows = [row for batch in db.session.scalars(select(InviteBatch)) for row in batch.rows]
        assert {row["name"] for row in batch_rows} == {"Other", other.name}


def test_a_legal_hold_blocks_erasure_until_an_admin_clears_it(app, tenant_a):
    person = seed_person(app, tenant_a, "Ysolde")
    with app.app_context(), unit_of_work():
        candidate = candidate_by(person.candidate)
        assert candidate is not None
        with pytest.raises(privacy.PrivacyError):
            privacy.set_legal_hold(candidate, hold=True, reason="   ", by=admin_of(tenant_a), now=T)
        with pytest.raises(privacy.PrivacyError):
            privacy.set_legal_hold(candidate, hold=True, reason="x" * 201, by=admin_of(tenant_a), now=T)
        privacy.set_legal_hold(candidate, hold=True, reason="Employment tribunal claim", by=admin_of(tenant_a), now=T)
    with app.app_context():
        with pytest.raises(privacy.LegalHoldError), unit_of_work():
            privacy.erase_candidate(candidate_by(person.candidate), by=admin_of(tenant_a), now=T)  # type: ignore[arg-type]
        held = candidate_by(person.candidate)
        assert held is not None and held.legal_hold and held.legal_hold_reason == "Employment tribunal claim"
        assert privacy.enforce_retention(T + timedelta(days=3650), dry_run=False).erased == 1  # the tenant's own
        assert candidate_by(person.candidate) is not None
        with unit_of_work():
            privacy.set_legal_hold(candidate_by(person.candidate), hold=False, reason="", by=admin_of(tenant_a), now=T)  # type: ignore[arg-type]
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("candidate.legal%"))))
        assert actions == ["candidate.legal_hold_set", "candidate.legal_hold_cleared"]
    erase(app, tenant_a, person.candidate)
    with app.app_context():
        assert candidate_by(person.candidate) is None


def test_months_are_calendar_months():
    assert privacy.add_months(datetime(2027, 1, 31, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)
    assert privacy.add_months(datetime(2027, 11, 30, 9, tzinfo=UTC), 3) == datetime(2028, 2, 29, 9, tzinfo=UTC)
    assert privacy.add_months(datetime(2027, 5, 15, tzinfo=UTC), 12) == datetime(2028, 5, 15, tzinfo=UTC)


def test_retention_erases_exactly_the_candidates_past_their_agencys_period(app, tenant_a, tenant_b):
    long_ago = T - timedelta(days=3 * 365)
    with app.app_context(), unit_of_work():
        db.session.scalars(select(Agency).where(Agency.public_id == tenant_b.agency_id)).one().retention_months = 24
        for tenant in (tenant_a, tenant_b):  # the tenants' own candidates: invited long ago
            own = candidate_by(tenant.candidate_id)
            assert own is not None
            own.created_at = long_ago
        db.session.flush()
        due_submitted = add_candidate_at(
            tenant_a,
            "Due Submitted",
            created=long_ago,
            submitted=T - timedelta(days=400),
            expires=T - timedelta(days=390),
        )
        due_expired = add_candidate_at(
            tenant_a, "Due Expired", created=long_ago, expires=datetime(2027, 3, 14, 11, tzinfo=UTC)
        )
        due_profile = add_candidate_at(tenant_a, "Due Profile", created=long_ago)
        recent = add_candidate_at(
            tenant_a, "Recent", created=long_ago, submitted=T - timedelta(days=330), expires=T - timedelta(days=320)
        )
        boundary = add_candidate_at(
            tenant_a, "Boundary", created=long_ago, expires=datetime(2027, 3, 15, 12, tzinfo=UTC)
        )
        held = add_candidate_at(
            tenant_a,
            "Held",
            created=long_ago,
            submitted=T - timedelta(days=500),
            expires=T - timedelta(days=490),
            hold=True,
        )
        longer = add_candidate_at(
            tenant_b,
            "Longer Period",
            created=long_ago,
            submitted=T - timedelta(days=400),
            expires=T - timedelta(days=390),
        )
        # The tenant's own invitation in A is still open; B's own expired 13 months ago, inside B's 24 months.
        from assessments.models import Invitation

        for tenant, expires in ((tenant_a, T + timedelta(days=3)), (tenant_b, T - timedelta(days=400))):
            db.session.scalars(
                select(Invitation).where(Invitation.public_id == tenant.invitation_id)
            ).one().expires_at = expires
    due = {due_submitted: "submission", due_expired: "invitation expired unstarted", due_profile: "profile only"}
    kept = [recent, boundary, held, longer, tenant_a.candidate_id, tenant_b.candidate_id]

    with app.app_context():
        listed = privacy.due_for_erasure(T)
        assert {item.candidate_public_id: item.reason for item in listed} == due
        report = privacy.enforce_retention(T, dry_run=True)
        assert report.due == 3 and report.erased == 0
        text = "\n".join(report.lines())
        assert "Dry run: 3 due in all" in text and "3 would be erased" in text
        assert "Due Submitted" not in text and "due.submitted" not in text
        assert all(candidate_by(public_id) is not None for public_id in [*due, *kept])

        report = privacy.enforce_retention(T, dry_run=False)
        assert report.erased == 3
        assert [candidate_by(public_id) for public_id in due] == [None, None, None]
        assert all(candidate_by(public_id) is not None for public_id in kept)
        causes = db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "candidate.erased"))
        assert list(causes) == [{"cause": "retention"}] * 3
        assert privacy.enforce_retention(T, dry_run=False).erased == 0  # idempotent
        # A day past the boundary, that candidate is due too.
        assert [item.candidate_public_id for item in privacy.due_for_erasure(T + timedelta(days=1))] == [boundary]


def test_the_export_holds_the_candidates_data_and_no_one_elses(app, tenant_a):
    person = seed_person(app, tenant_a, "Philippa")
    other = seed_person(app, tenant_a, "Leocadia")
    with app.app_context(), unit_of_work():
        candidate = candidate_by(person.candidate)
        assert candidate is not None
        data = privacy.export_candidate(candidate, by=admin_of(tenant_a), now=T)
    text = json.dumps(data)
    assert data["candidate"]["name"] == person.name and data["candidate"]["email"] == person.email
    assert data["skills"][0]["skill"] == f"{person.name} bookkeeping"
    assert data["languages"] == [{"language": "Welsh", "fluency": "B2", "source": "recruiter"}]
    [invitation] = data["invitations"]
    assert invitation["id"] == person.invitation and invitation["status"] == "submitted"
    attempt = invitation["attempt"]
    assert attempt["answers"] == [
        {"item": 1, "answer": {"choice": "A"}, "revision": 2, "saved_at": attempt["answers"][0]["saved_at"]}
    ]
    assert attempt["answer_history"][0]["answer"] == {"choice": "B"}
    assert attempt["demographics"]["sex"] == "female"
    assert attempt["integrity_events"][0]["kind"] == "paste"
    assert {row["code"]: row["score"] for row in attempt["results"][0]["competencies"]} == {
        "professionalism": 0.6,
        "collaboration": 0.8,
    }
    assert invitation["report"]["notes"] == f"Interviewed {person.name} on Monday"
    assert data["decisions"][0]["outcome"] == "advance"
    assert len(data["emails"]) == 2 and all(email["subject"] for email in data["emails"])
    for absent in (other.name, other.email, other.candidate, other.invitation, "Rationale A", "key_versions"):
        assert absent.lower() not in text.lower()
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.exported")).one()
        assert event.object_public_id == person.candidate and event.details is None
        assert db.session.scalar(select(func.count()).select_from(Candidate)) == 3


def test_erasure_stays_inside_the_agency(app, tenant_a, tenant_b):
    person = seed_person(app, tenant_a, "Gwendolen")
    with app.app_context(), unit_of_work():
        twin = add_candidate_at(tenant_b, "Twin", created=T)
        twin_row = candidate_by(twin)
        assert twin_row is not None
        twin_row.email = person.email  # the same person, applying through another agency
        queue_email(
            to=person.email,
            template="password_reset",
            values={"name": "Twin", "link": "https://example.invalid/b", "minutes": "30"},
            now=T,
            agency_id=twin_row.agency_id,
        )
    erase(app, tenant_a, person.candidate)
    with app.app_context():
        assert candidate_by(twin) is not None
        assert db.session.scalar(select(func.count()).where(EmailMessage.to_address == person.email)) == 1


def test_one_failed_erasure_leaves_the_others_to_go_on(app, tenant_a, monkeypatch):
    long_ago = T - timedelta(days=3 * 365)
    with app.app_context(), unit_of_work():
        first = add_candidate_at(tenant_a, "First Old", created=long_ago)
        second = add_candidate_at(tenant_a, "Second Old", created=long_ago)
    real = privacy.erase_candidate

    def flaky(candidate, **kwargs):
        real(candidate, **kwargs)
        if candidate.public_id == first:
            raise RuntimeError("disk full")

    monkeypatch.setattr(privacy, "erase_candidate", flaky)
    with app.app_context():
        report = privacy.enforce_retention(T, dry_run=False)
        assert (report.erased, report.failed) == (2, 1)  # the tenant's own candidate and the second
        assert "1 failed" in "\n".join(report.lines())
        assert candidate_by(first) is not None and candidate_by(second) is None
