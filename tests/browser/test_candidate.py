"""The candidate's test in a real browser: from the emailed link to the thank-you page, answered with the
keyboard only; the network dropped mid-test; a reload and a second device; two tabs editing one answer;
the deadline passing; no personal data or token in the logs; axe, screenshots and a reading grade of 8 or
less on every candidate page.

Each check() also runs axe, asserts a clean console and saves a screenshot to docs/screenshots/.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, LivePage
from tests.conftest import BASE_URL, Mailbox, Tenant, make_scenario

pytestmark = pytest.mark.browser

NAME, EMAIL = "Noor Haddad", "Noor@Example.org"
PHONE = {"width": 360, "height": 800}
SAVED = "Your answer is saved."
OFFLINE = "You seem to be offline."
CHANGED_ELSEWHERE = "This answer was changed in another window. Reload the page to see the latest answer."
INSTRUCTIONS = "Work at your own pace. There is no need to hurry."
MAX_GRADE = 8.0
# The items in order: the tenant's own scenario, then the fixture's most/least, rank and rate ones.
FORMATS = ("rate", "most_least", "rank", "rate")
ANSWERS: dict[int, dict[str, Any]] = {
    1: {"ratings": {"A": 6, "B": 1, "C": 3, "D": 2}},
    2: {"most": "A", "least": "B"},
    3: {"ranks": {"A": 2, "B": 4, "C": 1, "D": 3}},
    4: {"ratings": {"A": 5, "B": 2, "C": 4, "D": 1}},
}


@pytest.fixture
def published(app: Flask, tenant_a: Tenant, mailbox: Mailbox) -> dict[str, str]:
    """test_delivery's `published` assessment (four items: rate, most/least, rank, rate; 30 minutes) with
    instructions and a practice item, and the invitation of Noor Haddad, emailed through the SMTP server."""
    from accounts.models import Agency, User
    from assessments import invitations
    from assessments import services as builder
    from assessments.models import Assessment
    from database import db, unit_of_work, utcnow
    from scenarios.models import Competency

    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        admin = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
        assessment = db.session.scalar(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id))
        for n, fmt in enumerate(("most_least", "rank", "rate")):
            key = (5.6, 1.4, 2.5, 3.4) if fmt != "rank" else (5.6, 4.5, 3.7, 2.1)
            scenario = make_scenario(agency, f"D-{n}", weights={"professionalism": 1.0}, response_format=fmt, key=key)
            builder.add_item(assessment, scenario.latest, by=admin, now=utcnow())
        practice = make_scenario(agency, "D-P", weights={"professionalism": 1.0}, response_format="single_best")
        assessment.practice_version = practice.latest
        assessment.instructions = INSTRUCTIONS
        assessment.reported = [
            db.session.scalar(
                select(Competency).where(Competency.agency_id == agency.id, Competency.code == "professionalism")
            )
        ]
        assessment.time_limit_minutes = 30
        builder.publish(assessment, by=admin, now=utcnow())
        invitation = invitations.invite(assessment, name=NAME, email=EMAIL, by=admin, now=utcnow())
        invitation_id = invitation.public_id
    return {"invitation": invitation_id}


@pytest.fixture
def emailed_link(browser_page: LivePage, published: dict[str, str], mailbox: Mailbox) -> str:
    """The link in the invitation the SMTP server received, on the live server instead of rapport.test."""
    links = [link for link in mailbox.links() if "/t/" in link]
    assert len(links) == 1, links
    assert links[0].startswith(BASE_URL + "/t/")
    return browser_page.base_url + links[0].removeprefix(BASE_URL)


@pytest.fixture
def second_context(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[BrowserContext]:
    """Another device: a browser context with its own cookies and storage."""
    context = browser.new_context(**browser_context_args)
    yield context
    context.close()


# --- Helpers ------------------------------------------------------------------------------------


def active(page: Page) -> dict[str, str | bool]:
    """The focused element's name, value and checked state."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return {name: e.name || '', value: e.value || '', checked: !!e.checked}; }"
    )


def tab_to(page: Page, name: str, limit: int = 60) -> None:
    """Press Tab until a field named `name` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if active(page)["name"] == name:
            return
    raise AssertionError(f"Tab never reached {name}")


def press_and_save(page: Page, key: str) -> None:
    """Press a key that changes the answer; the autosave is acknowledged and the page says so."""
    revision = int(page.locator("input[name=revision]").input_value())
    with page.expect_response(lambda r: r.url.endswith("/test/answers")) as reply:
        page.keyboard.press(key)
    assert reply.value.status == 200, reply.value.text()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(page.locator("input[name=revision]")).to_have_value(str(revision + 1))


def rate(page: Page, label: str, value: int) -> None:
    """Tab into option `label`'s 1-6 scale and choose `value`: Space picks 1, each right arrow one more."""
    tab_to(page, f"answer-rate-{label}")
    assert active(page)["value"] == "1" and not active(page)["checked"]
    if value == 1:
        press_and_save(page, "Space")
    for _ in range(value - 1):
        press_and_save(page, "ArrowRight")
    assert active(page) == {"name": f"answer-rate-{label}", "value": str(value), "checked": True}


def answer_with_keyboard(page: Page, fmt: str, answer: dict[str, Any]) -> None:
    """Answer the item on the page with the keyboard only, checking each change is saved."""
    if fmt == "rate":
        for label, value in answer["ratings"].items():
            rate(page, label, value)
    elif fmt == "most_least":
        labels = "ABCD"
        for kind in ("most", "least"):
            tab_to(page, f"answer-{kind}")
            assert active(page)["value"] == "A"
            if answer[kind] == "A":
                press_and_save(page, "Space")
            for _ in range(labels.index(answer[kind])):
                press_and_save(page, "ArrowDown")
            assert active(page) == {"name": f"answer-{kind}", "value": answer[kind], "checked": True}
    else:  # rank: type the number into each select box
        for label, rank in answer["ranks"].items():
            tab_to(page, f"answer-rank-{label}")
            press_and_save(page, str(rank))
            assert active(page)["value"] == str(rank)


def prose(text: str) -> str:
    """A page's prose: its visible lines that end as sentences do.

    inner_text() puts headings, labels, list items and scale points on lines of their own without a full
    stop; strung together they would read as one endless sentence, so they are left out, and every
    sentence a candidate has to read is measured.
    """
    lines = [line.strip() for line in text.splitlines()]
    return " ".join(line for line in lines if line.endswith((".", "!", "?")))


def readable(text: str) -> float:
    """The Flesch-Kincaid grade of a page's prose."""
    from scenarios.readability import flesch_kincaid_grade

    return flesch_kincaid_grade(prose(text))


def check(b: LivePage, name: str, status: int = 200) -> None:
    """check() (status, console, axe, screenshot) and a reading grade of 8 or less for the page's main text."""
    b.check(name, status)
    text = b.page.inner_text("main")
    assert len(prose(text).split()) >= 15, f"{name}: too little prose to measure"
    grade = readable(text)
    assert grade <= MAX_GRADE, f"{name}: reading grade {grade:.1f} > {MAX_GRADE}"


def check_phone(b: LivePage, name: str) -> None:
    """The same page on a 360-pixel-wide phone: no sideways scrolling, axe clean, a screenshot."""
    page = b.page
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    b.check(name)
    page.set_viewport_size(DESKTOP)


def take_console_errors(b: LivePage, *expected: str) -> None:
    """Remove the console errors a test expects (each must be there), then assert nothing else is left."""
    left = list(b.errors)
    for fragment in expected:
        found = [e for e in left if fragment in e]
        assert found, f"expected a console error with {fragment!r}, got {b.errors}"
        left = [e for e in left if fragment not in e]
    b.errors = left
    b.assert_no_console_errors("expected errors removed")


def begin(b: LivePage, link: str) -> None:
    """Open the link, agree, start the test: lands on situation 1."""
    page = b.page
    page.goto(link)
    page.get_by_label("I have read this and I agree to take the test.").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Start the test").click()
    expect(page).to_have_url(b.url("/test/item/1"))


def attempt_row(app: Flask) -> Any:
    from assessments.models import Attempt
    from database import db

    with app.app_context():
        return db.session.scalars(select(Attempt)).one()


def saved_answers(app: Flask) -> dict[int, dict[str, Any]]:
    """The answers on the server, by item number."""
    from assessments.models import Answer, Attempt
    from database import db

    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        by_version = {a.version_id: a.answer for a in db.session.scalars(select(Answer))}
        return {n: by_version[v] for n, v in enumerate(attempt.item_order, start=1) if v in by_version}


def seconds_left(page: Page) -> int:
    return int(page.locator("#timer").get_attribute("data-seconds-left") or "-1")


# --- 1, 6, 7: the journey -----------------------------------------------------------------------


def test_a_candidate_takes_the_test_from_the_email_with_the_keyboard(
    browser_page: LivePage,
    app: Flask,
    tenant_a: Tenant,
    published: dict[str, str],
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from assessments.models import AttemptResult, Invitation
    from database import db

    caplog.set_level(logging.DEBUG)
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    status = page.locator("#save-status")

    # --- The email and its link ----------------------------------------------------------------
    [message] = [m for m in mailbox.messages if m["To"] and "noor@example.org" in m["To"].lower()]
    [raw] = [link for link in mailbox.links() if "/t/" in link]
    link = b.base_url + raw.removeprefix(BASE_URL)
    token = raw.rsplit("/", 1)[1]
    assert message.get_content().count(raw) == 1

    # --- The landing page: who, for whom, the privacy notice, consent and extra time -----------------
    page.goto(link)
    expect(heading).to_have_text(f"Hello {NAME}")
    main = page.locator("main")
    expect(main).to_contain_text(tenant_a.agency_name)
    expect(main).to_contain_text(tenant_a.client_name)
    expect(main).to_contain_text("keeps your data for 12 months")
    expect(main).to_contain_text("A person makes every decision")
    expect(page.get_by_role("link", name="privacy@northbridge.example")).to_be_visible()
    extra = page.get_by_role("group", name="Do you need extra time?")
    expect(extra.get_by_role("radio")).to_have_count(3)
    expect(extra.get_by_label("No extra time")).to_be_checked()
    consent = page.get_by_label("I have read this and I agree to take the test.")
    expect(consent).not_to_be_checked()
    check(b, "take-landing")
    check_phone(b, "take-landing-phone")

    # Continuing without agreeing keeps the choice of extra time and says what is missing.
    extra.get_by_label("25% more time").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text("Please tick the box to agree before you start.")
    expect(consent).to_have_attribute("aria-invalid", "true")
    expect(consent).to_have_attribute("aria-describedby", "consent-error")
    check(b, "take-landing-consent-error", status=422)
    assert b.path.startswith("/t/")

    page.get_by_label("25% more time").check()
    consent.check()
    page.get_by_role("button", name="Continue").click()

    # --- Instructions and the practice item; the token has left the address bar -----------------
    expect(page).to_have_url(b.url("/test"))
    expect(heading).to_have_text("Before you start")
    expect(main).to_contain_text(INSTRUCTIONS)
    expect(main).to_contain_text("There are 4 situations, one on each page.")
    expect(main).to_contain_text("You have 38 minutes.")  # 30 minutes and 25% more
    practice = page.get_by_role("region", name="Try a practice situation")
    expect(practice.get_by_role("radio")).to_have_count(4)
    practice.get_by_role("radio").nth(2).check()  # trying it saves nothing
    check(b, "take-overview")
    with b.page.expect_navigation():
        page.get_by_role("button", name="Start the test").click()

    # --- Four situations, answered with the keyboard ----------------------------------------------
    for number, fmt in enumerate(FORMATS, start=1):
        expect(page).to_have_url(b.url(f"/test/item/{number}"))
        expect(heading).to_have_text(f"Situation {number} of 4")
        expect(page.locator(".progress-text")).to_have_text(f"Situation {number} of 4")
        expect(page.locator("progress")).to_have_attribute("value", str(number))
        expect(page.locator("progress")).to_have_attribute("max", "4")
        assert 37 * 60 <= seconds_left(page) <= 38 * 60
        expect(status).to_have_text("")
        answer = ANSWERS[number]
        if number == 4:  # half of it now, the rest after the review
            answer = {"ratings": {"A": ANSWERS[4]["ratings"]["A"]}}
        answer_with_keyboard(page, fmt, answer)
        if number == 1:
            check(b, "take-item-rate")
            check_phone(b, "take-item-rate-phone")
        elif number < 4:
            check(b, f"take-item-{fmt.replace('_', '-')}")
        if number < 4:
            page.get_by_role("button", name="Save and go on").click()
        else:
            expect(page.get_by_role("button", name="Save and go on")).to_have_count(0)
            page.get_by_role("button", name="Review and send").click()

    # --- The review lists what is not finished ---------------------------------------------------------
    expect(page).to_have_url(b.url("/test/review"))
    expect(heading).to_have_text("Check your answers")
    expect(main).to_contain_text("You have not finished 1 situation.")
    rows = page.locator(".review-list li")
    expect(rows).to_have_text([f"Situation {n}: {'answered' if n < 4 else 'not finished'}" for n in range(1, 5)])
    check(b, "take-review")
    check_phone(b, "take-review-phone")

    page.get_by_role("link", name="Situation 4").click()
    expect(page).to_have_url(b.url("/test/item/4"))
    expect(status).to_have_text(SAVED)
    expect(page.get_by_role("group", name=re.compile(r"^A ")).get_by_role("radio", name="5")).to_be_checked()
    tab_to(page, "answer-rate-A")
    assert active(page) == {"name": "answer-rate-A", "value": "5", "checked": True}  # the saved choice
    answer_with_keyboard(page, "rate", {"ratings": {k: v for k, v in ANSWERS[4]["ratings"].items() if k != "A"}})
    check(b, "take-item-rate-last")
    page.get_by_role("button", name="Review and send").click()
    expect(main).to_contain_text("You have answered every situation.")
    expect(rows).to_have_text([f"Situation {n}: answered" for n in range(1, 5)])

    # --- Send, and the thank-you page ------------------------------------------------------------
    page.get_by_role("button", name="Send my answers").click()
    expect(page).to_have_url(b.url("/test/done"))
    expect(heading).to_have_text("Thank you, your answers are sent")
    expect(main).not_to_contain_text("time ran out")
    check(b, "take-done")

    assert saved_answers(app) == ANSWERS
    with app.app_context():
        [result] = db.session.scalars(select(AttemptResult)).all()
        assert result.overall_pomp is not None
        invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == published["invitation"]))
        assert invitation.extra_time_percent == 25
        attempt = invitation.attempt
        assert attempt.finalised_by == "candidate"
        assert attempt.deadline - attempt.started_at == timedelta(minutes=37.5)

    # --- The link again, and a broken one ---------------------------------------------------------
    page.goto(link)
    expect(heading).to_have_text("You have already sent your answers")
    check(b, "take-already-submitted")
    page.goto(b.url("/t/" + token[:-3] + "xyz"))
    expect(heading).to_have_text("This link is not working")
    check(b, "take-link-invalid", status=404)

    # --- 6: no name, email address or token in the logs --------------------------------------------
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "/test/answers" in logged  # the request log was captured
    for secret in (NAME, "Noor", "Haddad", EMAIL, EMAIL.lower(), token):
        assert secret not in logged, f"{secret!r} is in the logs"
    assert "/t/[redacted]" in logged  # the link's own request was logged, masked


# --- 2: the network drops ----------------------------------------------------------------------------


def test_an_answer_made_offline_is_saved_when_the_network_returns(
    browser_page: LivePage, app: Flask, emailed_link: str, context: BrowserContext
) -> None:
    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    status = page.locator("#save-status")
    rate(page, "A", 6)

    context.set_offline(True)
    assert page.evaluate("navigator.onLine") is False
    tab_to(page, "answer-rate-B")
    page.keyboard.press("Space")
    expect(status).to_contain_text(OFFLINE)
    page.keyboard.press("ArrowRight")  # a second change while offline: the latest answer is kept
    expect(status).to_contain_text(OFFLINE)
    queued = page.evaluate("Object.entries(localStorage)")
    assert len(queued) == 1 and queued[0][0] == "rapport-unsent-/test/item/1"
    body = json.loads(queued[0][1])
    assert body == {"item": 1, "answer": {"ratings": {"A": 6, "B": 2}}, "revision": 5}  # the answer only
    assert saved_answers(app) == {1: {"ratings": {"A": 6}}}
    take_console_errors(b, "ERR_INTERNET_DISCONNECTED")
    b.check("take-item-offline")  # the screenshot shows the message

    with page.expect_response(lambda r: r.url.endswith("/test/answers")) as reply:
        context.set_offline(False)  # Chromium fires the 'online' event, and take.js sends the answer
    assert reply.value.status == 200
    expect(status).to_have_text(SAVED)
    assert page.evaluate("localStorage.length") == 0
    assert saved_answers(app) == {1: {"ratings": {"A": 6, "B": 2}}}

    # The connection fails again and the candidate leaves; when they come back, the kept answer is sent.
    page.route("**/test/answers", lambda route: route.abort("internetdisconnected"))
    tab_to(page, "answer-rate-C")
    page.keyboard.press("Space")
    expect(status).to_contain_text(OFFLINE)
    expect(status).to_have_class(re.compile(r"\bis-problem\b"))  # shown as a problem, not as calm news
    take_console_errors(b, "ERR_INTERNET_DISCONNECTED")
    page.unroute("**/test/answers")
    with page.expect_response(lambda r: r.url.endswith("/test/answers")) as reply:
        page.reload()
    assert reply.value.status == 200
    expect(status).to_have_text(SAVED)
    expect(status).not_to_have_class(re.compile(r"\bis-problem\b"))
    expect(page.get_by_role("group", name=re.compile(r"^C ")).get_by_role("radio", name="1")).to_be_checked()
    assert page.evaluate("localStorage.length") == 0
    assert saved_answers(app) == {1: {"ratings": {"A": 6, "B": 2, "C": 1}}}


def test_a_busy_server_keeps_the_answer_and_sends_it_again(
    browser_page: LivePage, app: Flask, emailed_link: str
) -> None:
    """A 503 (the database restarting, say) keeps the answer on the device and retries it by itself."""
    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    status = page.locator("#save-status")
    refused: list[int] = []

    def busy_once(route: Any) -> None:
        if not refused:
            refused.append(1)
            route.fulfill(
                status=503,
                content_type="application/json",
                headers={"Retry-After": "2"},
                body=json.dumps({"error": "busy"}),
            )
        else:
            route.continue_()

    page.route("**/test/answers", busy_once)
    page.get_by_role("group", name=re.compile(r"^A ")).get_by_role("radio", name="4").check()
    expect(status).to_contain_text("busy")
    assert page.evaluate("localStorage.length") == 1
    take_console_errors(b, "503")
    # The retry comes about two seconds later, with no action from the candidate.
    expect(status).to_have_text(SAVED, timeout=10_000)
    assert len(refused) == 1
    assert page.evaluate("localStorage.length") == 0
    assert saved_answers(app) == {1: {"ratings": {"A": 4}}}


def test_the_review_page_marks_and_sends_answers_still_on_the_device(
    browser_page: LivePage, app: Flask, emailed_link: str
) -> None:
    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    page.route("**/test/answers", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("group", name=re.compile(r"^A ")).get_by_role("radio", name="5").check()
    expect(page.locator("#save-status")).to_contain_text(OFFLINE)
    b.goto("/test/review")
    note = page.locator("#unsent-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Situation 1")
    expect(page.locator(".review-list li").first).to_contain_text("waiting on this device")
    take_console_errors(b, "ERR_INTERNET_DISCONNECTED")
    b.check("take-review-unsent")
    page.get_by_role("button", name="Send my answers").click()  # held back once, with a warning
    expect(note).to_contain_text("again to send the test without them")
    expect(page).to_have_url(b.url("/test/review"))

    page.unroute("**/test/answers")
    with page.expect_response(lambda r: r.url.endswith("/test/answers")) as reply:
        page.evaluate("window.dispatchEvent(new Event('online'))")
    assert reply.value.status == 200
    expect(note).to_be_hidden()
    expect(page.locator(".review-list li").first).to_contain_text("sent")
    assert page.evaluate("localStorage.length") == 0
    assert saved_answers(app) == {1: {"ratings": {"A": 5}}}


# --- 3: reload, and a second device --------------------------------------------------------------------


def test_a_reload_and_a_second_device_resume_at_the_first_unanswered_item_with_the_same_deadline(
    browser_page: LivePage, app: Flask, emailed_link: str, second_context: BrowserContext
) -> None:
    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    deadline = attempt_row(app).deadline
    answer_with_keyboard(page, "rate", ANSWERS[1])
    page.get_by_role("button", name="Save and go on").click()
    answer_with_keyboard(page, "most_least", ANSWERS[2])
    left = seconds_left(page)

    page.reload()
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(page.get_by_role("group", name="Most effective").get_by_role("radio", name="Response A")).to_be_checked()
    expect(page.get_by_role("group", name="Least effective").get_by_role("radio", name="Response B")).to_be_checked()
    b.goto("/test")
    expect(page).to_have_url(b.url("/test/item/3"))
    assert 0 <= left - seconds_left(page) <= 5

    # Another device opens the emailed link: no consent again, straight back to situation 3.
    phone = LivePage(second_context.new_page(), b.base_url)
    phone.page.goto(emailed_link)
    expect(phone.page.get_by_label("I have read this and I agree to take the test.")).to_have_count(0)
    phone.page.get_by_role("button", name="Go back to my test").click()
    expect(phone.page).to_have_url(b.url("/test/item/3"))
    assert 0 <= left - seconds_left(phone.page) <= 5
    assert abs(seconds_left(phone.page) - seconds_left(page)) <= 2
    phone.page.goto(b.url("/test/item/1"))
    expect(phone.page.get_by_role("group", name=re.compile(r"^A ")).get_by_role("radio", name="6")).to_be_checked()
    phone.assert_no_console_errors("second device")
    assert attempt_row(app).deadline == deadline


# --- 4: two tabs ----------------------------------------------------------------------------------------


def test_a_stale_tab_cannot_overwrite_an_answer_changed_in_another_tab(
    browser_page: LivePage, app: Flask, emailed_link: str, context: BrowserContext
) -> None:
    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    b.goto("/test/item/2")  # tab A loads situation 2

    other = LivePage(context.new_page(), b.base_url)  # tab B, the same session
    other.goto("/test/item/2")
    tab_to(other.page, "answer-most")
    press_and_save(other.page, "Space")  # most effective: A
    assert saved_answers(app) == {2: {"most": "A"}}

    page.bring_to_front()
    tab_to(page, "answer-most")
    with page.expect_response(lambda r: r.url.endswith("/test/answers")) as reply:
        page.keyboard.press("ArrowDown")  # most effective: B, on a page that has not seen tab B's answer
    assert reply.value.status == 409
    expect(page.locator("#save-status")).to_have_text(CHANGED_ELSEWHERE)
    take_console_errors(b, "409")
    b.check("take-item-changed-elsewhere")
    assert saved_answers(app) == {2: {"most": "A"}}  # tab B's answer is kept

    page.reload()  # as the message says: the latest answer shows, and changes save again
    expect(page.get_by_role("group", name="Most effective").get_by_role("radio", name="Response A")).to_be_checked()
    tab_to(page, "answer-least")
    press_and_save(page, "ArrowDown")
    assert saved_answers(app) == {2: {"most": "A", "least": "B"}}
    other.assert_no_console_errors("tab B")


# --- 5: the deadline passes ---------------------------------------------------------------------------------


def move_deadline_into_the_past(app: Flask) -> None:
    from assessments.models import Attempt
    from database import db, unit_of_work, utcnow

    with app.app_context(), unit_of_work():
        attempt = db.session.scalars(select(Attempt)).one()
        attempt.started_at = utcnow() - timedelta(minutes=32)
        attempt.deadline = utcnow() - timedelta(minutes=2)


def test_when_the_time_runs_out_a_reload_shows_the_thank_you_page_and_keeps_the_answers(
    browser_page: LivePage, app: Flask, emailed_link: str
) -> None:
    from assessments.models import AttemptResult
    from database import db

    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    answer_with_keyboard(page, "rate", ANSWERS[1])
    move_deadline_into_the_past(app)

    page.reload()
    expect(page).to_have_url(b.url("/test/done"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, your answers are sent")
    expect(page.locator("main")).to_contain_text("The time ran out, so we sent the answers you had saved.")
    check(b, "take-done-time-ran-out")
    b.goto("/test/item/2")
    expect(page).to_have_url(b.url("/test/done"))

    assert saved_answers(app) == {1: ANSWERS[1]}
    assert attempt_row(app).finalised_by == "deadline"
    with app.app_context():
        assert len(db.session.scalars(select(AttemptResult)).all()) == 1


def test_an_answer_after_the_deadline_leads_to_the_thank_you_page(
    browser_page: LivePage, app: Flask, emailed_link: str
) -> None:
    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    rate(page, "A", 1)
    move_deadline_into_the_past(app)

    tab_to(page, "answer-rate-B")
    with page.expect_response(lambda r: r.url.endswith("/test/answers")) as reply:
        page.keyboard.press("Space")
    assert reply.value.status == 410
    expect(page).to_have_url(b.url("/test/done"))
    expect(page.locator("main")).to_contain_text("The time ran out")
    take_console_errors(b, "410")
    assert page.evaluate("localStorage.length") == 0
    assert saved_answers(app) == {1: {"ratings": {"A": 1}}}
    assert attempt_row(app).finalised_by == "deadline"


def test_when_the_timer_on_the_page_runs_out_the_browser_goes_once_to_the_thank_you_page(
    browser_page: LivePage, app: Flask, emailed_link: str
) -> None:
    from assessments.models import Attempt
    from database import db, unit_of_work, utcnow

    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    rate(page, "A", 1)
    with app.app_context(), unit_of_work():
        db.session.scalars(select(Attempt)).one().deadline = utcnow() + timedelta(seconds=3)
    page.reload()
    assert seconds_left(page) <= 3
    documents: list[str] = []
    page.on("framenavigated", lambda frame: documents.append(frame.url) if frame == page.main_frame else None)
    expect(page).to_have_url(b.url("/test/done"), timeout=10_000)
    expect(page.locator("main")).to_contain_text("The time ran out")
    page.wait_for_timeout(2_000)
    assert documents == [b.url("/test/done")]  # not an item page again each second until the grace is over
    assert saved_answers(app) == {1: {"ratings": {"A": 1}}}
    assert attempt_row(app).finalised_by == "deadline"


# --- The optional profile step ------------------------------------------------------------------------------


def test_the_candidate_adds_a_job_and_a_skill_on_the_optional_profile_page(
    browser_page: LivePage, app: Flask, emailed_link: str
) -> None:
    b, page = browser_page, browser_page.page
    begin(b, emailed_link)
    b.goto("/test/profile")
    check(b, "take-profile")
    check_phone(b, "take-profile-phone")

    page.get_by_label("Job title").fill("Night auditor")
    page.get_by_label("Type of business").select_option(label="Hotels, restaurants and cafes")
    page.get_by_label("Month you started").fill("2019-05")
    page.get_by_role("button", name="Add this job").click()
    expect(page.get_by_role("status")).to_contain_text("Added")
    expect(page.locator("#jobs ~ ul, section[aria-labelledby=jobs] ul.own-rows")).to_contain_text("Night auditor")

    page.get_by_label("Skill", exact=True).fill("balancing the till")
    page.get_by_role("button", name="Add this skill").click()  # no level chosen: a clear message
    expect(page.get_by_role("alert")).to_contain_text("how good you are")
    b.check("take-profile-error", 422)
    page.get_by_label("Very good").check()
    page.get_by_role("button", name="Add this skill").click()
    expect(page.locator("section[aria-labelledby=skills] ul.own-rows")).to_contain_text("balancing the till: Very good")

    from candidates.models import CandidateExperience, CandidateSkill
    from database import db

    with app.app_context():
        job = db.session.scalars(select(CandidateExperience)).one()
        assert (job.role, job.industry, job.source) == ("Night auditor", "I", "candidate")
        assert db.session.scalars(select(CandidateSkill)).one().given_name == "balancing the till"
