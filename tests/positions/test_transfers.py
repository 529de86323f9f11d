"""The agency's skill-transfer table: admins add, edit and delete rows (audited, with before and after),
recruiters read, bad rows are refused, other agencies' rows answer 404, and seeding is idempotent."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import Agency, AuditEvent, User
from database import db, unit_of_work, utcnow
from positions import services
from positions.models import SkillTransfer
from taxonomy import ESCO_ATTRIBUTION, transfer_rows
from tests.conftest import post, sign_in


def row_data(**changes: Any) -> dict[str, Any]:
    data = {
        "action": "save",
        "from_skill": "Issue sales invoices",
        "to_skill": "perform dunning activities",
        "credit": "0.5",
        "rationale": "Both follow one customer balance from invoice to payment.",
        "source": "expert",
        "reviewer": "Alpha Admin",
        "reviewed_on": "2026-11-20",
    }
    data.update(changes)
    return data


def rows_of(app, tenant) -> list[tuple[str, str, float, str, str, str, date]]:
    with app.app_context():
        return [
            tuple(r)
            for r in db.session.execute(
                select(
                    SkillTransfer.from_skill,
                    SkillTransfer.to_skill,
                    SkillTransfer.credit,
                    SkillTransfer.rationale,
                    SkillTransfer.source,
                    SkillTransfer.reviewer,
                    SkillTransfer.reviewed_on,
                )
                .join(Agency, Agency.id == SkillTransfer.agency_id)
                .where(Agency.public_id == tenant.agency_id)
                .order_by(SkillTransfer.from_skill, SkillTransfer.to_skill)
            )
        ]


def last_event(app) -> AuditEvent:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def test_an_admin_adds_edits_and_deletes_a_row_and_each_change_is_audited(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    form = html.unescape(client.get("/positions/transfers/new").get_data(as_text=True))
    assert f'value="{tenant_a.admin["name"]}"' in form  # the reviewer defaults to the admin
    assert f'value="{utcnow().date().isoformat()}"' in form  # and the date to today
    assert ESCO_ATTRIBUTION in form

    created = post(client, app, "/positions/transfers/new", row_data())
    assert created.status_code == 302, html.unescape(created.get_data(as_text=True))
    with app.app_context():
        row = db.session.scalar(select(SkillTransfer).where(SkillTransfer.to_skill == "perform dunning activities"))
        public_id = row.public_id
        assert (row.from_skill, row.credit, row.reviewer, row.reviewed_on) == (
            "issue sales invoices",
            0.5,
            "Alpha Admin",
            date(2026, 11, 20),
        )
    event = last_event(app)
    assert (event.action, event.object_type) == ("skill_transfer.created", "skill_transfer")
    assert event.object_public_id == public_id
    assert event.actor_public_id == tenant_a.admin["public_id"]

    listing = html.unescape(client.get("/positions/transfers").get_data(as_text=True))
    assert "Both follow one customer balance" in listing
    assert ESCO_ATTRIBUTION in listing

    edited = post(client, app, f"/positions/transfers/{public_id}", row_data(credit="0.7", reviewer="Second Reviewer"))
    assert edited.status_code == 302
    assert last_event(app).action == "skill_transfer.updated"
    assert last_event(app).details["credit"] == {"before": 0.5, "after": 0.7}  # what changed, on the audit trail
    with app.app_context():
        assert db.session.scalar(select(SkillTransfer.credit).where(SkillTransfer.public_id == public_id)) == 0.7

    deleted = post(client, app, f"/positions/transfers/{public_id}/delete")
    assert deleted.status_code == 302
    assert last_event(app).action == "skill_transfer.deleted"
    assert last_event(app).object_public_id == public_id
    with app.app_context():
        assert db.session.scalar(select(SkillTransfer).where(SkillTransfer.public_id == public_id)) is None


def test_the_services_report_before_and_after_values(app, ctx, tenant_a):
    with unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        admin = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
        data = services.TransferInput(
            "allocate bills", "issue sales invoices", 0.75, "Same invoice fields.", "expert", "A", date(2026, 1, 2)
        )
        row, created = services.save_transfer(agency, data, transfer=None, by=admin, now=utcnow())
        assert created["credit"] == {"before": None, "after": 0.75}
        _, updated = services.save_transfer(agency, data, transfer=row, by=admin, now=utcnow())
        assert updated == {}  # nothing changed, nothing audited
        _, updated = services.save_transfer(agency, replace(data, credit=0.6), transfer=row, by=admin, now=utcnow())
        assert updated == {"credit": {"before": 0.75, "after": 0.6}}
        removed = services.delete_transfer(row, by=admin, now=utcnow())
        assert removed["rationale"] == {"before": "Same invoice fields.", "after": None}


BAD_ROWS = [
    (
        "existing pair",
        {"from_skill": "answer incoming calls", "to_skill": "handle customer complaints"},
        "to_skill",
        "already has a row for this pair",
    ),
    ("skill to itself", {"to_skill": "issue sales invoices"}, "to_skill", "cannot transfer to itself"),
    ("unknown from skill", {"from_skill": "juggling"}, "from_skill", "is not in the skills list"),
    ("unknown to skill", {"to_skill": "flying kites at work"}, "to_skill", "is not in the skills list"),
    ("credit 0", {"credit": "0"}, "credit", "Enter a credit above 0 and at most 1."),
    ("credit above 1", {"credit": "1.5"}, "credit", "Enter a credit above 0 and at most 1."),
    ("credit negative", {"credit": "-0.2"}, "credit", "Enter a credit above 0 and at most 1."),
    ("credit not a number", {"credit": "lots"}, "credit", "Enter a credit such as 0.6."),
    ("empty rationale", {"rationale": "   "}, "rationale", "Say why the one skill counts toward the other."),
    ("unknown source", {"source": "gut feeling"}, "source", "Not a valid choice"),
]


@pytest.mark.parametrize(("case", "changes", "field", "message"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_bad_rows_are_refused_on_their_field_and_change_nothing(app, client, tenant_a, case, changes, field, message):
    sign_in(client, app, tenant_a.admin["email"])
    before = rows_of(app, tenant_a)
    response = post(client, app, "/positions/transfers/new", row_data(**changes))
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422, case
    assert message in body
    assert f'id="{field}-error"' in body
    assert f'aria-describedby="{field}-error"' in body or f'{field}-hint {field}-error"' in body
    assert rows_of(app, tenant_a) == before


def test_an_edit_may_not_turn_a_row_into_an_existing_pair(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    assert post(client, app, "/positions/transfers/new", row_data()).status_code == 302
    with app.app_context():
        public_id = db.session.scalar(
            select(SkillTransfer.public_id).where(SkillTransfer.to_skill == "perform dunning activities")
        )
    before = rows_of(app, tenant_a)
    clash = row_data(from_skill="answer incoming calls", to_skill="handle customer complaints")
    assert post(client, app, f"/positions/transfers/{public_id}", clash).status_code == 422
    assert rows_of(app, tenant_a) == before
    # Saving a row under its own pair is no clash.
    assert post(client, app, f"/positions/transfers/{public_id}", row_data(credit="0.4")).status_code == 302


def test_finding_skills_on_the_row_form_keeps_what_was_typed(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    before = rows_of(app, tenant_a)
    response = post(client, app, "/positions/transfers/new", row_data(action="find", skill_search="invoices"))
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Both follow one customer balance from invoice to payment." in body  # the rationale typed so far
    assert '<option value="issue sales invoices">' in body
    assert rows_of(app, tenant_a) == before


def test_recruiters_read_the_table_but_cannot_change_it(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    before = rows_of(app, tenant_a)
    listing = html.unescape(client.get("/positions/transfers").get_data(as_text=True))
    assert "calm listening before acting" in listing
    assert f"/positions/transfers/{tenant_a.transfer_id}" not in listing
    assert "Add a row" not in listing
    # A wrong role answers 403 (accounts.access: "wrong roles get 403"), and the refusal is audited.
    assert client.get("/positions/transfers/new").status_code == 403
    assert post(client, app, "/positions/transfers/new", row_data()).status_code == 403
    assert client.get(f"/positions/transfers/{tenant_a.transfer_id}").status_code == 403
    assert post(client, app, f"/positions/transfers/{tenant_a.transfer_id}", row_data()).status_code == 403
    assert post(client, app, f"/positions/transfers/{tenant_a.transfer_id}/delete").status_code == 403
    assert post(client, app, "/positions/transfers/seed").status_code == 403
    assert last_event(app).action == "access.denied.role"
    assert rows_of(app, tenant_a) == before


def test_another_agencys_row_answers_404_and_stays_as_it_was(app, client, tenant_a, tenant_b):
    sign_in(client, app, tenant_a.admin["email"])
    before = rows_of(app, tenant_b)
    assert client.get(f"/positions/transfers/{tenant_b.transfer_id}").status_code == 404
    assert post(client, app, f"/positions/transfers/{tenant_b.transfer_id}", row_data()).status_code == 404
    assert post(client, app, f"/positions/transfers/{tenant_b.transfer_id}/delete").status_code == 404
    assert last_event(app).action == "access.denied.scope"
    listing = client.get("/positions/transfers").get_data(as_text=True)
    assert tenant_b.transfer_id not in listing
    assert "Beta rationale" not in listing
    assert rows_of(app, tenant_b) == before


def test_the_filter_searches_either_skill(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    assert post(client, app, "/positions/transfers/new", row_data()).status_code == 302
    by_from = html.unescape(client.get("/positions/transfers?q=Sales+Invoices").get_data(as_text=True))
    assert "Both follow one customer balance" in by_from and "calm listening" not in by_from
    by_to = html.unescape(client.get("/positions/transfers?q=complaints").get_data(as_text=True))
    assert "calm listening" in by_to and "Both follow one customer balance" not in by_to
    none = html.unescape(client.get("/positions/transfers?q=100%25_").get_data(as_text=True))
    assert "0 rows matching" in none


def test_seeding_copies_the_shipped_rows_once(app, ctx, tenant_a):
    shipped = {(r.from_skill, r.to_skill) for r in transfer_rows()}
    with unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        first = services.seed_transfer_table(agency, utcnow())
    assert first == len(shipped - {("answer incoming calls", "handle customer complaints")})
    with unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        assert services.seed_transfer_table(agency, utcnow()) == 0
        count = db.session.scalar(select(func.count(SkillTransfer.id)).where(SkillTransfer.agency_id == agency.id))
    assert count == first + 1
    # An edited row is kept as the admin left it; a deleted one comes back.
    edited, removed = transfer_rows()[:2]

    def shipped_row(sample: Any) -> SkillTransfer:
        return db.session.scalar(
            select(SkillTransfer).where(
                SkillTransfer.agency_id == agency.id,
                SkillTransfer.from_skill == sample.from_skill,
                SkillTransfer.to_skill == sample.to_skill,
            )
        )

    with unit_of_work():
        row = shipped_row(edited)
        row.credit = 0.1
        db.session.delete(shipped_row(removed))
    with unit_of_work():
        assert services.seed_transfer_table(agency, utcnow()) == 1
        assert db.session.get(SkillTransfer, row.id).credit == 0.1


def test_an_admin_seeds_the_table_from_the_page(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    first = post(client, app, "/positions/transfers/seed", follow_redirects=True)
    assert "reviewed rows that the table did not have yet" in html.unescape(first.get_data(as_text=True))
    assert last_event(app).action == "skill_transfer.seeded"
    second = post(client, app, "/positions/transfers/seed", follow_redirects=True)
    assert "already has every reviewed row" in second.get_data(as_text=True)
