"""The candidate's item page served from the per-process skeleton is the same page the template renders."""

from __future__ import annotations

import re

import pytest
from flask import render_template
from sqlalchemy import select

from accounts.models import Agency, User
from assessments import invitations, item_cache
from assessments import services as builder
from assessments.models import Assessment, Attempt
from database import db, unit_of_work, utcnow
from scenarios.models import Competency
from tests.assessments.test_delivery import autosave, begin
from tests.conftest import BASE_URL, STEM, make_scenario

ANSWERS = {
    2: {"ratings": {"A": 6, "B": 2, "C": 3}},  # a partial rating
    3: {"most": "B", "least": "D"},
    4: {"ranks": {"A": 2, "B": 1, "C": 4, "D": 3}},
    5: {"choice": "C"},
}
FORGED = "[[0123456789abcdef:checked:rate:A:1]] and {{ 7 * 7 }}"


@pytest.fixture
def every_format(app, tenant_a, mailbox):
    """A timed assessment with one item of each format after the tenant's own; its stems carry forged markers."""
    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        admin = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
        assessment = db.session.scalar(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id))
        for n, fmt in enumerate(("rate", "most_least", "rank", "single_best")):
            key = (5.6, 4.5, 3.7, 2.1) if fmt == "rank" else (5.6, 1.4, 2.5, 3.4)
            scenario = make_scenario(
                agency,
                f"F-{n}",
                weights={"professionalism": 1.0},
                response_format=fmt,
                key=key,
                stem=f"{STEM} {FORGED}",
            )
            builder.add_item(assessment, scenario.latest, by=admin, now=utcnow())
        assessment.reported = [
            db.session.scalar(
                select(Competency).where(Competency.agency_id == agency.id, Competency.code == "professionalism")
            )
        ]
        assessment.time_limit_minutes = 30
        builder.publish(assessment, by=admin, now=utcnow())
        invitations.invite(assessment, name="Ama Owusu", email="ama@example.org", by=admin, now=utcnow())
    return next(link for link in mailbox.links() if "/t/" in link).removeprefix(BASE_URL)


def _without_tokens(html: str) -> str:
    html = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', html)
    return re.sub(r'data-seconds-left="\d+">\d+ min', 'data-seconds-left="">0 min', html)


def test_the_cached_page_matches_the_template_for_every_format(app, client, every_format):
    begin(app, client, every_format)
    for number, answer in ANSWERS.items():
        assert autosave(client, app, number, answer, 0).status_code == 200
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        order = list(attempt.item_order)
    for number in range(1, len(order) + 1):
        served = client.get(f"/test/item/{number}")
        assert served.status_code == 200
        html = served.get_data(as_text=True)
        with app.test_request_context(f"/test/item/{number}"):
            item = item_cache.frozen_item(order[number - 1])
            assert item is not None
            expected = render_template(
                "take/item.html",
                item=item.candidate,
                number=number,
                total=len(order),
                answer=ANSWERS.get(number, {}),
                revision=1 if number in ANSWERS else 0,
                seconds_left=1800,
                error=None,
            )
        assert _without_tokens(html) == _without_tokens(expected), f"item {number} differs"
        checked = len(re.findall(r" (checked|selected)[ >]", html))
        answer = ANSWERS.get(number, {})
        assert checked == sum(len(v) if isinstance(v, dict) else 1 for v in answer.values())
        assert "[[" not in html.replace("[[0123456789abcdef:checked:rate:A:1]]", ""), "a marker was left unfilled"


def test_scenario_text_cannot_forge_a_marker(app, client, every_format):
    begin(app, client, every_format)
    html = client.get("/test/item/2").get_data(as_text=True)
    assert "[[0123456789abcdef:checked:rate:A:1]] and {{ 7 * 7 }}" in html
    assert "49" not in html


def test_the_skeleton_is_built_once_per_item_and_place(app, client, every_format):
    begin(app, client, every_format)
    for _ in range(3):
        client.get("/test/item/2")
    with app.app_context():
        attempt = db.session.scalars(select(Attempt)).one()
        version_id = attempt.item_order[1]
    cache = app.extensions["rapport.frozen_items"]
    assert list(cache.items[version_id].pages) == [(2, 5, True)]


def test_the_item_page_leaves_the_session_cookie_alone(app, client, every_format):
    """Serving a situation must not re-sign the session (or clear the remember cookie) on every request."""
    begin(app, client, every_format)
    client.get("/test/item/2")  # the first view may settle the session
    again = client.get("/test/item/2")
    assert again.status_code == 200
    assert again.headers.get_all("Set-Cookie") == []
