"""Invitations and the candidate's test, through the real pages: links, consent, start, autosave,
the server-side deadline, resume, submit once, scoring."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from sqlalchemy import func, select, update

from accounts.models import Agency, User
from assessments import delivery, invitations
from assessments import services as builder
from assessments.models import Answer, AnswerEvent, Assessment, Attempt, AttemptResult, Invitation
from database import db, unit_of_work, utcnow
from mailer import deliver_email, sweep_outbox
from scenarios.models import Competency
from tests.conftest import BASE_URL, make_scenario, post, sign_in

RATE = {"ratings": {"A": 6, "B": 1, "C": 3, "D": 2}}


@pytest.fixture
def published(app, tenant_a, mailbox):
    """The tenant's assessment with four professionalism items, published, a 30-minute limit."""
    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        admin = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
        assessment = db.session.scalar(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id))
        for n, fmt in enumerate(("most_least", "rank", "rate")):
            key = (5.6, 1.4, 2.5, 3.4) if fmt != "rank" else (5.6, 4.5, 3.7, 2.1)
            scenario = make_scenario(agency, f"D-{n}", weights={"professionalism": 1.0}, response_format=fmt, key=key)
            builder.add_item(assessment, scenario.latest, by=admin, now=utcnow())
        assessment.reported = [
            db.session.scalar(
                select(Competency).where(Competency.agency_id == agency.id, Competency.code == "professionalism")
            )
        ]
        assessment.time_limit_minutes = 30
        builder.publish(assessment, by=admin, now=utcnow())
        invitation = invitations.invite(
            assessment, name="Noor Haddad", email="Noor@Example.org", by=admin, now=utcnow()
        )
        invitation_id = invitation.public_id
    mailbox_links = [link for link in mailbox.links() if "/t/" in link]
    assert len(mailbox_links) == 1
    return {"invitation": invitation_id, "path": mailbox_links[0].removeprefix(BASE_URL)}


def invitation_row(app, public_id):
    with app.app_context():
        return db.session.scalar(select(Invitation).where(Invitation.public_id == public_id))


def begin(app, client, path, extra="0"):
    assert post(client, app, path, {"consent": "yes", "extra_time": extra}).status_code == 302
    assert post(client, app, "/test/start").status_code == 302


def autosave(client, app, item, answer, revision):
    from tests.conftest import csrf_token

    return client.post(
        "/test/answers",
        data=json.dumps({"item": item, "answer": answer, "revision": revision}),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, app)},
    )


def test_the_email_link_opens_a_landing_page_that_changes_nothing(app, client, published):
    for _ in range(3):
        page = client.get(published["path"])
        assert page.status_code == 200
        assert "Hello Noor Haddad" in page.get_data(as_text=True)
    assert client.head(published["path"]).status_code == 200
    row = invitation_row(app, published["invitation"])
    assert row.consent_at is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0
    body = page.get_data(as_text=True)
    for text in ("keeps your data for 12 months", "privacy-", "A person makes every decision", "extra time"):
        assert text in body


def test_consent_is_required_and_the_token_leaves_the_address(app, client, published):
    refused = post(client, app, published["path"], {"extra_time": "0"})
    assert refused.status_code == 422
    assert "tick the box" in refused.get_data(as_text=True)
    accepted = post(client, app, published["path"], {"consent": "yes", "extra_time": "25"})
    assert accepted.headers["Location"] == "/test"
    overview = client.get("/test")
    assert overview.status_code == 200
    assert "38 minutes" in overview.get_data(as_text=True)  # 30 minutes + 25%
    row = invitation_row(app, published["invitation"])
    assert row.consent_at is not None and row.extra_time_percent == 25


def test_start_sets_one_deadline_and_extra_time_applies(app, client, published):
    begin(app, client, published["path"], extra="50")
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        assert attempt.deadline - attempt.started_at == timedelta(minutes=45)
        first = attempt.deadline
    begin(app, client, published["path"], extra="0")  # starting again changes nothing
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        assert attempt.deadline == first
        assert invitation_row(app, published["invitation"]).extra_time_percent == 50


def test_autosave_with_revisions(app, client, published):
    begin(app, client, published["path"])
    rate_item = 4  # the tenant's own scenario first, then most_least, rank, rate
    first = autosave(client, app, rate_item, RATE, 0)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["revision"] == 1
    second = autosave(client, app, rate_item, {"ratings": {"A": 5, "B": 1, "C": 3, "D": 2}}, 1)
    assert second.get_json()["revision"] == 2
    stale = autosave(client, app, rate_item, {"ratings": {"A": 1, "B": 1, "C": 1, "D": 1}}, 1)
    assert stale.status_code == 409
    assert "another window" in stale.get_json()["error"]
    with app.app_context():
        answer = db.session.scalars(select(Answer)).one()
        assert answer.answer == {"ratings": {"A": 5, "B": 1, "C": 3, "D": 2}} and answer.revision == 2
        assert db.session.scalar(select(func.count()).select_from(AnswerEvent)) == 2


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"item": 4, "answer": {"ratings": {"A": 7}}, "revision": 0}, 422),
        ({"item": 4, "answer": {"ratings": {"A": "6"}}, "revision": 0}, 422),
        ({"item": 4, "answer": {"ratings": {"Z": 6}}, "revision": 0}, 422),
        ({"item": 3, "answer": {"ranks": {"A": 1, "B": 1}}, "revision": 0}, 422),
        ({"item": 2, "answer": {"most": "A", "least": "A"}, "revision": 0}, 422),
        ({"item": 99, "answer": RATE, "revision": 0}, 404),
        ({"item": "4", "answer": RATE, "revision": 0}, 400),
        ({"item": 4, "answer": RATE}, 400),
        ({"item": 4, "answer": RATE, "revision": 0, "score": 100}, 400),
    ],
)
def test_bad_autosaves_are_refused_and_change_nothing(app, client, published, payload, status):
    from tests.conftest import csrf_token

    begin(app, client, published["path"])
    assert autosave(client, app, 4, RATE, 0).status_code == 200
    response = client.post(
        "/test/answers",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, app)},
    )
    assert response.status_code == status
    assert response.get_json()["error"]
    with app.app_context():
        assert [a.answer for a in db.session.scalars(select(Answer))] == [RATE]


def test_autosave_needs_the_csrf_header_and_a_small_body(app, client, published):
    begin(app, client, published["path"])
    no_header = client.post(
        "/test/answers", data=json.dumps({"item": 4, "answer": RATE, "revision": 0}), content_type="application/json"
    )
    assert no_header.status_code == 400
    huge = client.post("/test/answers", data=b"x" * (5 * 1024 * 1024), content_type="application/json")
    assert huge.status_code == 413
    from tests.conftest import csrf_token

    deep = client.post(  # nested past the parser's recursion limit: bad input, not a 500
        "/test/answers",
        data="[" * 100_000,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, app)},
    )
    assert deep.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 0


def test_the_deadline_is_enforced_on_the_server(app, client, published):
    begin(app, client, published["path"])
    assert autosave(client, app, 4, RATE, 0).status_code == 200
    late = utcnow() + timedelta(minutes=31)
    with mock.patch("assessments.take_views.utcnow", return_value=late):
        refused = autosave(client, app, 2, {"most": "A", "least": "B"}, 0)
        assert refused.status_code == 410
        assert client.get("/test").headers["Location"] == "/test/done"
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        assert attempt.finalised_by == "deadline" and attempt.submitted_at == attempt.deadline
        assert db.session.scalar(select(func.count()).select_from(AttemptResult)) == 1
        assert [a.answer for a in db.session.scalars(select(Answer))] == [RATE]


def test_the_periodic_task_finalises_overdue_attempts(app, client, published):
    begin(app, client, published["path"])
    with app.app_context():
        attempt_id = db.session.scalars(select(Attempt.id)).one()
        assert delivery.overdue_attempts(utcnow()) == []
        assert delivery.overdue_attempts(utcnow() + timedelta(minutes=31)) == [attempt_id]


def test_resume_on_another_device_returns_to_the_first_unanswered_item(app, client, published):
    begin(app, client, published["path"])
    for item, answer in ((1, RATE), (2, {"most": "A", "least": "B"})):
        assert autosave(client, app, item, answer, 0).status_code == 200
    phone = app.test_client()
    assert phone.get(published["path"]).status_code == 200
    assert post(phone, app, published["path"], {}).status_code == 302
    assert phone.get("/test").headers["Location"] == "/test/item/3"
    page = phone.get("/test/item/1").get_data(as_text=True)
    assert 'value="6" checked' in page


def test_the_form_path_works_without_javascript(app, client, published):
    begin(app, client, published["path"])
    saved = post(client, app, "/test/item/2", {"answer-most": "A", "answer-least": "B", "revision": "0", "go": "next"})
    assert saved.headers["Location"] == "/test/item/3"
    bad = post(client, app, "/test/item/3", {"answer-rank-A": "1", "answer-rank-B": "1", "revision": "0"})
    assert bad.status_code == 422
    assert "different rank" in bad.get_data(as_text=True)
    review = client.get("/test/review").get_data(as_text=True)
    assert "not finished" in review


def test_submit_is_idempotent_and_scores_once(app, client, published):
    begin(app, client, published["path"])
    for item, answer in (
        (1, RATE),
        (2, {"most": "A", "least": "B"}),
        (3, {"ranks": {"A": 1, "B": 2, "C": 3, "D": 4}}),
        (4, RATE),
    ):
        assert autosave(client, app, item, answer, 0).status_code == 200
    for _ in range(3):
        assert post(client, app, "/test/submit").headers["Location"] == "/test/done"
    assert "your answers are sent" in client.get("/test/done").get_data(as_text=True)
    with app.app_context():
        [result] = db.session.scalars(select(AttemptResult)).all()
        assert result.overall_pomp is not None and 0 <= result.overall_pomp <= 1
        assert result.detail["algorithm_version"] == result.algorithm_version
    assert autosave(client, app, 4, RATE, 1).status_code == 409
    again = app.test_client().get(published["path"])
    assert "already sent your answers" in again.get_data(as_text=True)


def test_resend_kills_the_old_link_and_revoke_kills_all(app, client, published, mailbox, tenant_a):
    staff = app.test_client()
    sign_in(staff, app, tenant_a.recruiter["email"])
    mailbox.clear()
    assert post(staff, app, f"/assessments/invitations/{published['invitation']}/resend").status_code == 302
    new_path = next(link for link in mailbox.links() if "/t/" in link).removeprefix(BASE_URL)
    assert client.get(published["path"]).status_code == 404
    assert client.get(new_path).status_code == 200
    assert post(staff, app, f"/assessments/invitations/{published['invitation']}/revoke").status_code == 302
    assert client.get(new_path).status_code == 404
    page = staff.get(f"/assessments/{tenant_a.assessment_id}").get_data(as_text=True)
    assert "Revoked" in page and "Noor Haddad" in page


def test_every_link_failure_is_the_same_404(app, client, published):
    token = published["path"].rsplit("/", 1)[1]
    bodies = set()
    for path in (f"/t/{token[:-2]}xx", "/t/garbage", f"/t/{token}.extra"):
        response = client.get(path)
        assert response.status_code == 404
        bodies.add(response.get_data(as_text=True))
    with mock.patch("itsdangerous.timed.time.time", return_value=__import__("time").time() + 61 * 86400):
        expired = client.get(published["path"])
        assert expired.status_code == 404
        bodies.add(expired.get_data(as_text=True))
    assert len(bodies) == 1


def test_an_unstarted_invitation_expires(app, client, published):
    with mock.patch("assessments.take_views.utcnow", return_value=utcnow() + timedelta(days=8)):
        assert client.get(published["path"]).status_code == 404


def test_candidate_pages_need_a_candidate_session(app, client, published):
    for url in ("/test", "/test/item/1", "/test/review", "/test/done"):
        assert client.get(url).status_code == 404
    assert post(client, app, "/test/start").status_code == 404
    assert post(client, app, "/test/submit").status_code == 404


def test_invitations_need_a_published_assessment_and_are_not_duplicated(app, tenant_a, published):
    staff = app.test_client()
    sign_in(staff, app, tenant_a.recruiter["email"])
    url = f"/assessments/{tenant_a.assessment_id}/invitations"
    again = post(staff, app, url, {"name": "Noor", "email": "noor@example.org"})
    assert again.status_code == 422
    assert "already invited" in again.get_data(as_text=True)
    bad = post(staff, app, url, {"name": "", "email": "not-an-email"})
    assert bad.status_code == 422
    ok = post(staff, app, url, {"name": "Ren Ito", "email": "ren@example.org"})
    assert ok.status_code == 302


def test_no_token_name_or_email_in_the_logs(app, client, published, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client.get(published["path"])
    begin(app, client, published["path"])
    autosave(client, app, 4, RATE, 0)
    post(client, app, "/test/submit")
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    token = published["path"].rsplit("/", 1)[1]
    for secret in (token, "Noor", "noor@example.org"):
        assert secret not in logged


def test_reminders_go_to_unfinished_candidates_on_their_days(app, client, published, mailbox, tenant_a):
    with app.app_context(), unit_of_work():
        assessment = db.session.scalar(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id))
        assessment.reminder_days = [2, 4]
    noor = invitation_row(app, published["invitation"]).id
    mailbox.clear()
    start = utcnow()

    def due(at):
        return noor in invitations.due_reminders(at)

    with app.app_context():
        assert not due(start + timedelta(days=1))
        assert due(start + timedelta(days=2, minutes=1))
        with unit_of_work():
            row = db.session.get_one(Invitation, noor)
            assert invitations.send_reminder(row, start + timedelta(days=2, minutes=1))
            assert not invitations.send_reminder(row, start + timedelta(days=2, minutes=2))  # not twice
        assert not due(start + timedelta(days=3))
        assert due(start + timedelta(days=4, minutes=1))
        with pytest.raises(RolledBack), unit_of_work():
            row = db.session.get_one(Invitation, noor)
            # Another consumer's run sends the second reminder first; this run's copy still says one was sent.
            db.session.execute(
                update(Invitation)
                .where(Invitation.id == noor)
                .values(reminders_sent=2)
                .execution_options(synchronize_session=False)
            )
            assert not invitations.send_reminder(row, start + timedelta(days=4, minutes=1))
            raise RolledBack
        later = start + timedelta(days=2, minutes=3)  # the outbox sends it when its time comes
        for message_id in sweep_outbox(later):
            deliver_email(message_id, later)
    [reminder] = mailbox.messages
    assert reminder["Subject"].startswith("Reminder:")
    link = next(link for link in mailbox.links() if "/t/" in link).removeprefix(BASE_URL)
    assert client.get(link).status_code == 200  # the same link version still works
    begin(app, client, published["path"])
    assert post(client, app, "/test/submit").status_code == 302
    with app.app_context():
        assert not due(start + timedelta(days=4, minutes=1))  # finished: no more


class RolledBack(Exception):
    """Raised to leave a unit of work without committing it."""


@pytest.mark.parametrize(
    ("text", "ok"), [("3, 6", True), ("", True), ("6, 3", False), ("1,2,3,4", False), ("x", False)]
)
def test_reminder_days_are_checked(text, ok):
    if ok:
        builder.parse_reminder_days(text)
    else:
        with pytest.raises(builder.AssessmentError):
            builder.parse_reminder_days(text)


def test_demographics_are_voluntary_stored_apart_and_never_scored(app, client, published):
    from assessments.models import DemographicResponse

    begin(app, client, published["path"])
    assert autosave(client, app, 4, RATE, 0).status_code == 200
    post(client, app, "/test/submit")
    page = client.get("/test/done").get_data(as_text=True)
    assert "you can skip this" in page and "never used for your score" in page
    with app.app_context():
        before = db.session.scalars(select(AttemptResult)).one().detail
    assert post(client, app, "/test/about-you", {"sex": "Unicorn", "race_ethnicity": "Asian"}).status_code == 400
    assert post(client, app, "/test/about-you", {"sex": "Female", "race_ethnicity": "Asian"}).status_code == 302
    with app.app_context():
        row = db.session.scalars(select(DemographicResponse)).one()
        assert (row.sex, row.race_ethnicity) == ("Female", "Asian")
        assert db.session.scalars(select(AttemptResult)).one().detail == before
    assert "About you" not in client.get("/test/done").get_data(as_text=True)


def test_context_signals_are_recorded_and_shown_as_context(app, client, published, tenant_a):
    from tests.conftest import csrf_token

    begin(app, client, published["path"])

    def signal(body):
        return client.post(
            "/test/signals",
            data=json.dumps(body),
            content_type="application/json",
            headers={"X-CSRFToken": csrf_token(client, app)},
        )

    assert signal({"kind": "focus_lost", "item": 1}).status_code == 200
    assert signal({"kind": "paste", "item": 2}).status_code == 200
    assert signal({"kind": "telepathy", "item": 2}).status_code == 202
    assert signal({"kind": "paste", "item": "2"}).status_code == 400
    assert signal({"kind": "paste", "score": 1}).status_code == 400
    staff = app.test_client()
    sign_in(staff, app, tenant_a.recruiter["email"])
    page = staff.get(f"/assessments/{tenant_a.assessment_id}").get_data(as_text=True)
    assert "Left the page 1×, pasted 1×, reloaded 0×" in page
    assert "never a score" in page


def test_time_per_situation_is_summed_and_shown_to_recruiters(app, client, published, tenant_a):
    from tests.conftest import csrf_token

    begin(app, client, published["path"])

    def signal(body):
        return client.post(
            "/test/signals",
            data=json.dumps(body),
            content_type="application/json",
            headers={"X-CSRFToken": csrf_token(client, app)},
        )

    assert signal({"kind": "time", "item": 1, "seconds": 80}).status_code == 200
    assert signal({"kind": "time", "item": 1, "seconds": 4}).status_code == 200  # a second visit adds up
    assert signal({"kind": "time", "item": 3, "seconds": 9}).status_code == 200
    for refused in (
        {"kind": "time", "item": 2},  # no seconds
        {"kind": "time", "seconds": 5},  # no item
        {"kind": "time", "item": 2, "seconds": 0},
        {"kind": "time", "item": 2, "seconds": 999_999},
        {"kind": "paste", "item": 2, "seconds": 5},  # seconds belong to time only
    ):
        assert signal(refused).status_code == 202, refused
    assert signal({"kind": "time", "item": 2, "seconds": "5"}).status_code == 400
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        assert delivery.item_times([attempt.id]) == {attempt.id: {1: 84, 3: 9}}
        assert delivery.signal_counts([attempt.id]) == {}  # time is not counted as a signal
    staff = app.test_client()
    sign_in(staff, app, tenant_a.recruiter["email"])
    page = staff.get(f"/assessments/{tenant_a.assessment_id}").get_data(as_text=True)
    assert "Time per situation" in page
    assert "Situation 1: 1 min 24 s" in page and "Situation 3: 9 s" in page


def test_links_survive_a_secret_key_rotation(app, client, published):
    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-new-secret-key-" + "y" * 32
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get(published["path"]).status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get(published["path"]).status_code == 404
