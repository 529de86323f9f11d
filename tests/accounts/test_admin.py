"""Agency admin pages: users, clients, settings, the audit log and the outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.models import Agency, AuditEvent, Client, Role, User
from database import db, unit_of_work
from mailer import EmailMessage, EmailStatus
from tests.conftest import post, sign_in


@pytest.fixture
def admin(app, tenant_a):
    client = app.test_client()
    sign_in(client, app, tenant_a.admin["email"])
    return client


def last_audit(app):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def test_recruiters_cannot_open_admin_pages(app, tenant_a):
    recruiter = app.test_client()
    sign_in(recruiter, app, tenant_a.recruiter["email"])
    for url in ("/admin/users", "/admin/clients", "/admin/settings", "/admin/audit", "/admin/emails"):
        assert recruiter.get(url).status_code == 403
    assert last_audit(app).action == "access.denied.role"


def test_admin_adds_a_recruiter_who_gets_a_setup_email(app, admin, mailbox, tenant_a):
    response = post(
        admin,
        app,
        "/admin/users/new",
        {"name": "Tomás Díaz", "email": "Tomas@Alpha.example", "role": "recruiter", "client": ""},
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "tomas@alpha.example"))
        assert user.role is Role.RECRUITER and user.password_hash is None
    [message] = mailbox.messages
    assert message["To"] == "tomas@alpha.example"
    assert "Your Rapport account at Alpha Agency" in message["Subject"]
    event = last_audit(app)
    assert (event.action, event.object_public_id) == ("user.created", user.public_id)
    assert "Tomás Díaz" in admin.get("/admin/users").get_data(as_text=True)


def test_admin_adds_a_client_user_who_gets_the_set_up_email(app, admin, mailbox, tenant_a):
    response = post(
        admin,
        app,
        "/admin/users/new",
        {"name": "Ola Berg", "email": "ola@client.example", "role": "client", "client": tenant_a.client_id},
    )
    assert response.status_code == 302
    [message] = mailbox.messages
    assert message["To"] == "ola@client.example"
    assert "/password/setup/" in message.get_content()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "email": "a@b.example", "role": "recruiter", "client": ""}, "Enter the person&#39;s name."),
        ({"name": "A", "email": "not-email", "role": "recruiter", "client": ""}, "Enter a valid email address."),
        ({"name": "A", "email": "a@b.example", "role": "owner", "client": ""}, "Not a valid choice"),
        ({"name": "A", "email": "a@b.example", "role": "client", "client": ""}, "A client user needs a client"),
        ({"name": "A", "email": "a@b.example", "role": "recruiter", "client": "forged-id"}, "Not a valid choice"),
    ],
)
def test_bad_user_forms_show_field_errors_and_change_nothing(app, admin, tenant_a, data, message):
    with app.app_context():
        before = db.session.scalar(select(db.func.count()).select_from(User))
    response = post(admin, app, "/admin/users/new", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == before


def test_an_email_in_use_is_refused(app, admin, tenant_a, tenant_b):
    response = post(
        admin,
        app,
        "/admin/users/new",
        {"name": "Dup", "email": tenant_b.admin["email"], "role": "recruiter", "client": ""},
    )
    assert response.status_code == 422
    assert "already uses this email" in response.get_data(as_text=True)


def test_a_client_of_another_agency_cannot_be_assigned(app, admin, tenant_a, tenant_b):
    response = post(
        admin,
        app,
        "/admin/users/new",
        {"name": "Sneaky", "email": "sneaky@x.example", "role": "client", "client": tenant_b.client_id},
    )
    assert response.status_code == 422


def test_the_last_admin_cannot_be_demoted_or_deactivated(app, admin, tenant_a):
    url = f"/admin/users/{tenant_a.admin['public_id']}"
    for data in (
        {"name": tenant_a.admin["name"], "role": "recruiter", "client": "", "is_active": "y"},
        {"name": tenant_a.admin["name"], "role": "admin", "client": ""},
    ):
        response = post(admin, app, url, data)
        assert response.status_code == 422
        assert "at least one active admin" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
        assert user.role is Role.ADMIN and user.is_active


def test_mass_assignment_is_ignored(app, admin, tenant_a, tenant_b):
    url = f"/admin/users/{tenant_a.recruiter['public_id']}"
    data = {
        "name": "Renamed",
        "role": "recruiter",
        "client": "",
        "is_active": "y",
        "agency_id": "1",
        "email": "hijack@x.example",
        "session_version": "99",
        "password_hash": "x",
    }
    assert post(admin, app, url, data).status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.public_id == tenant_a.recruiter["public_id"]))
        assert user.name == "Renamed"
        assert user.email == tenant_a.recruiter["email"]
        assert user.agency.public_id == tenant_a.agency_id
        assert user.password_hash.startswith("$argon2id$")


def test_clients_are_added_and_edited(app, admin, tenant_a):
    assert (
        post(
            admin, app, "/admin/clients/new", {"name": "Fjord Insurance", "contact_email": "", "notes": ""}
        ).status_code
        == 302
    )
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.name == "Fjord Insurance"))
    duplicate = post(admin, app, "/admin/clients/new", {"name": "Fjord Insurance", "contact_email": "", "notes": ""})
    assert duplicate.status_code == 422
    assert "already has a client with this name" in duplicate.get_data(as_text=True)
    edited = post(
        admin,
        app,
        f"/admin/clients/{client.public_id}",
        {"name": "Fjord Insurance AS", "contact_email": "hr@fjord.example", "notes": "Prefers Tuesday calls."},
    )
    assert edited.status_code == 302
    page = admin.get(f"/admin/clients/{client.public_id}").get_data(as_text=True)
    assert "Fjord Insurance AS" in page and "hr@fjord.example" in page
    assert last_audit(app).action == "client.updated"


@pytest.mark.parametrize(("retention", "status"), [("0", 422), ("121", 422), ("twelve", 422), ("", 422), ("24", 302)])
def test_settings_validate_the_retention_period(app, admin, tenant_a, retention, status):
    data = {"name": "Alpha Renamed", "privacy_contact": "dpo@alpha.example", "retention_months": retention}
    response = post(admin, app, "/admin/settings", data)
    assert response.status_code == status
    with app.app_context():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        if status == 302:
            assert (agency.name, agency.privacy_contact, agency.retention_months) == (
                "Alpha Renamed",
                "dpo@alpha.example",
                24,
            )
        else:
            assert agency.retention_months == 12
            assert "months" in response.get_data(as_text=True)


def test_new_agencies_keep_data_twelve_months_by_default(app, tenant_a):
    with app.app_context():
        assert db.session.scalar(select(Agency.retention_months).where(Agency.public_id == tenant_a.agency_id)) == 12


def test_audit_log_shows_sign_ins_and_admin_actions_with_names(app, admin, tenant_a):
    post(admin, app, "/admin/settings", {"name": "Alpha Audited", "privacy_contact": "", "retention_months": "12"})
    post(app.test_client(), app, "/login", {"email": tenant_a.recruiter["email"], "password": "not the password"})
    page = admin.get("/admin/audit").get_data(as_text=True)
    for action in ("login.succeeded", "agency.settings_updated", "login.failed"):
        assert action in page
    assert tenant_a.admin["name"] in page
    filtered = admin.get("/admin/audit?action=login").get_data(as_text=True)
    assert "agency.settings_updated" not in filtered


def test_audit_log_pages_by_public_id(app, admin, tenant_a):
    from accounts.queries import PAGE_SIZE

    for _ in range(PAGE_SIZE):
        admin.get(f"/admin/users/{'x' * 22}")  # each a denied access, audited
    first = admin.get("/admin/audit").get_data(as_text=True)
    assert "Older entries" in first
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.agency_public_id == tenant_a.agency_id).order_by(AuditEvent.id.desc())
        ).all()
    cursor = events[PAGE_SIZE - 1].public_id
    assert f"after={cursor}" in first
    second = admin.get(f"/admin/audit?after={cursor}")
    assert second.status_code == 200
    assert events[PAGE_SIZE].public_id not in second.get_data(as_text=True)  # ids are not shown, names are
    assert second.get_data(as_text=True).count("<tr>") == len(events) - PAGE_SIZE + 1


def test_emails_page_shows_status_and_retries_a_failed_email(app, admin, mailbox, tenant_a):
    with app.app_context():
        message = db.session.scalar(select(EmailMessage).where(EmailMessage.public_id == tenant_a.email_id))
        assert message.status is EmailStatus.SENT
    page = admin.get("/admin/emails").get_data(as_text=True)
    assert "Sent" in page

    mailbox.fail_next("550 no such user")
    post(app.test_client(), app, "/password/forgot", {"email": tenant_a.recruiter["email"]})
    with app.app_context():
        failed = db.session.scalar(select(EmailMessage).where(EmailMessage.status == EmailStatus.FAILED))
    assert failed is not None
    failed_page = admin.get("/admin/emails?status=failed").get_data(as_text=True)
    assert "Send again" in failed_page and "refused by server (550)" in failed_page
    assert post(admin, app, f"/admin/emails/{failed.public_id}/retry").status_code == 302
    with app.app_context():
        again = db.session.get(EmailMessage, failed.id)
        assert again.status is EmailStatus.SENT
    assert mailbox.messages[-1]["Message-ID"] == failed.message_id
    assert last_audit(app).action == "email.retried"


def test_retrying_a_sent_email_is_refused(app, admin, tenant_a):
    response = post(admin, app, f"/admin/emails/{tenant_a.email_id}/retry")
    assert response.status_code == 302
    assert "Only a failed email" in admin.get("/admin/emails").get_data(as_text=True)


def test_home_page_counts(app, admin, tenant_a):
    with app.app_context(), unit_of_work():
        db.session.scalar(select(User).where(User.public_id == tenant_a.recruiter["public_id"])).is_active = False
    page = admin.get("/").get_data(as_text=True)
    assert tenant_a.client_name in page
    assert "2</span> active users" in page.replace("\n", "").replace("  ", "")
