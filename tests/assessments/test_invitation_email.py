"""The agency's own invitation email: fixed placeholders, a preview, used for new invitations."""

from __future__ import annotations

from tests.assessments.test_delivery import published  # noqa: F401 (fixture)
from tests.conftest import post, sign_in


def test_admin_edits_previews_and_saves_the_invitation_email(app, tenant_a):
    admin = app.test_client()
    sign_in(admin, app, tenant_a.admin["email"])
    page = admin.get("/assessments/invitation-email").get_data(as_text=True)
    assert "Sam Example" in page and "invites you to a short work-situations test" in page
    assert "this is what candidates see" not in page  # not the candidate-preview banner of base.html
    subject = "{agency}: a short test for {position}"
    body = "Dear {name},\n\nPlease take our test for {client}: {link}\nIt closes {expires}."
    preview = post(admin, app, "/assessments/invitation-email", {"subject": subject, "body": body, "action": "preview"})
    assert preview.status_code == 200
    assert "Dear Sam Example" in preview.get_data(as_text=True)
    saved = post(admin, app, "/assessments/invitation-email", {"subject": subject, "body": body, "action": "save"})
    assert saved.status_code == 302
    assert "Dear Sam Example" in admin.get("/assessments/invitation-email").get_data(as_text=True)


def test_bad_templates_are_refused_with_reasons(app, tenant_a):
    admin = app.test_client()
    sign_in(admin, app, tenant_a.admin["email"])
    cases = [
        ({"subject": "Hi {name}", "body": "No link here"}, "must contain {link}"),
        ({"subject": "Hi {salary}", "body": "{link} {password}"}, "Unknown placeholders: {password}, {salary}"),
        ({"subject": "Only a subject", "body": ""}, "Write both the subject and the message"),
    ]
    for data, message in cases:
        response = post(admin, app, "/assessments/invitation-email", {**data, "action": "save"})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_recruiters_cannot_edit_it(app, tenant_a):
    recruiter = app.test_client()
    sign_in(recruiter, app, tenant_a.recruiter["email"])
    assert recruiter.get("/assessments/invitation-email").status_code == 403


def test_new_invitations_use_the_agency_text_with_values_as_plain_text(app, tenant_a, published, mailbox):  # noqa: F811
    admin = app.test_client()
    sign_in(admin, app, tenant_a.admin["email"])
    body = "Hello {name}. Your link: {link}"
    post(admin, app, "/assessments/invitation-email", {"subject": "Test for {client}", "body": body, "action": "save"})
    mailbox.clear()
    name = "{link} <b>Ana</b>"
    response = post(
        admin, app, f"/assessments/{tenant_a.assessment_id}/invitations", {"name": name, "email": "ana@x.example"}
    )
    assert response.status_code == 302
    [message] = mailbox.messages
    text = message.get_content()
    assert text.startswith("Hello {link} <b>Ana</b>. Your link: http://rapport.test/t/")  # values are never re-filled
    assert message["Subject"] == f"Test for {tenant_a.client_name}"
