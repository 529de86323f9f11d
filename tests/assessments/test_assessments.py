"""Assessments: building from the bank, coverage and the minimum content rule, publishing, preview."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.models import Agency, User
from assessments import services
from assessments.models import Assessment
from database import db, unit_of_work, utcnow
from scenarios import services as bank
from scenarios.models import Competency, Status
from tests.conftest import make_scenario, post, sign_in


@pytest.fixture
def world(ctx, tenant_a):
    agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
    admin = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
    assessment = db.session.scalar(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id))
    return agency, admin, assessment


def competency(agency, code):
    return db.session.scalar(select(Competency).where(Competency.agency_id == agency.id, Competency.code == code))


def test_coverage_counts_items_and_weights(world):
    agency, admin, assessment = world
    with unit_of_work():
        for i in range(3):
            scenario = make_scenario(agency, f"COV-{i}", weights={"professionalism": 1.0, "collaboration": 0.5})
            services.add_item(assessment, scenario.latest, by=admin, now=utcnow())
    rows = {r.competency.code: r for r in services.coverage(assessment)}
    assert (rows["professionalism"].items, rows["professionalism"].weight) == (4, 4.0)
    assert rows["professionalism"].meets_minimum
    assert (rows["collaboration"].items, rows["collaboration"].weight) == (3, 1.5)
    assert not rows["collaboration"].meets_minimum


def test_publishing_is_refused_below_the_minimum_content_rule(world):
    agency, admin, assessment = world
    with unit_of_work():
        for i in range(3):
            scenario = make_scenario(agency, f"MIN-{i}", weights={"professionalism": 1.0, "collaboration": 0.5})
            services.add_item(assessment, scenario.latest, by=admin, now=utcnow())
    with pytest.raises(services.AssessmentError, match="Collaboration"), unit_of_work():
        services.publish(assessment, by=admin, now=utcnow())
    assert assessment.published_at is None
    with unit_of_work():
        services.update_settings(
            assessment,
            services.Settings(
                title="Payroll screen",
                instructions="Read each situation.",
                time_limit_minutes=30,
                randomize_order=True,
                practice_version=None,
                rule_overrides={"rate": "rate_abs_distance"},
                reported=[competency(agency, "professionalism")],
            ),
            by=admin,
            now=utcnow(),
        )
        services.publish(assessment, by=admin, now=utcnow())
    assert assessment.is_published
    assert services.rule_for(assessment, assessment.items[0].version) == "rate_abs_distance"


def test_weight_below_three_is_refused_even_with_four_items(world):
    agency, admin, assessment = world
    with unit_of_work():
        for i in range(4):
            scenario = make_scenario(agency, f"W-{i}", weights={"composure": 0.5, "professionalism": 1.0})
            services.add_item(assessment, scenario.latest, by=admin, now=utcnow())
        assessment.reported = [competency(agency, "composure")]
    with pytest.raises(services.AssessmentError, match="Composure"), unit_of_work():
        services.publish(assessment, by=admin, now=utcnow())


def test_a_published_assessment_pins_its_versions(world):
    agency, admin, assessment = world
    with unit_of_work():
        for i in range(3):
            scenario = make_scenario(agency, f"PIN-{i}", weights={"professionalism": 1.0})
            services.add_item(assessment, scenario.latest, by=admin, now=utcnow())
        assessment.reported = [competency(agency, "professionalism")]
        services.publish(assessment, by=admin, now=utcnow())
    pinned = [i.version.id for i in assessment.items]
    first = assessment.items[0].version.scenario
    data = bank.input_from(first.latest)
    with unit_of_work():
        bank.update_scenario(
            first, bank.ScenarioInput(**{**data.__dict__, "stem": data.stem + " New fact."}), by=admin, now=utcnow()
        )
        bank.publish(first.latest, Status.OPERATIONAL, by=admin, now=utcnow())
    db.session.expire_all()
    assert [i.version.id for i in assessment.items] == pinned
    with pytest.raises(services.AssessmentPublished), unit_of_work():
        services.add_item(assessment, first.latest, by=admin, now=utcnow())


def test_only_published_versions_can_be_added_once(world):
    agency, admin, assessment = world
    with unit_of_work():
        draft = make_scenario(agency, "D-1", weights={"professionalism": 1.0}, status=None)
    with pytest.raises(services.AssessmentError, match="Only published"), unit_of_work():
        services.add_item(assessment, draft.latest, by=admin, now=utcnow())
    already = assessment.items[0].version
    with pytest.raises(services.AssessmentError, match="already in"), unit_of_work():
        services.add_item(assessment, already, by=admin, now=utcnow())


def test_items_move_and_are_removed(world):
    agency, admin, assessment = world
    with unit_of_work():
        second = make_scenario(agency, "ORD-1", weights={"professionalism": 1.0})
        services.add_item(assessment, second.latest, by=admin, now=utcnow())
    codes = lambda: [i.version.scenario.code for i in assessment.items]  # noqa: E731
    first_code = codes()[0]
    with unit_of_work():
        services.move_item(assessment, assessment.items[1], -1, by=admin, now=utcnow())
    assert codes() == ["ORD-1", first_code]
    with unit_of_work():
        services.remove_item(assessment, assessment.items[0], by=admin, now=utcnow())
    assert codes() == [first_code]
    assert [i.position for i in assessment.items] == [0]


def test_practice_item_cannot_also_be_scored(world):
    _, admin, assessment = world
    scored = assessment.items[0].version
    with pytest.raises(services.AssessmentError, match="practice"), unit_of_work():
        services.update_settings(
            assessment,
            services.Settings("T", "", None, False, scored, {}, []),
            by=admin,
            now=utcnow(),
        )


def test_an_override_must_fit_its_format(world):
    _, admin, assessment = world
    with pytest.raises(services.AssessmentError), unit_of_work():
        services.update_settings(
            assessment, services.Settings("T", "", None, False, None, {"rate": "rank_rho"}, []), by=admin, now=utcnow()
        )


def test_preview_shows_items_in_order_without_keys(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    page = client.get(f"/assessments/{tenant_a.assessment_id}/preview")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "You are a payroll officer" in body
    assert 'name="item1-rate-A"' in body
    for secret in ("Rationale A", "5.6", "1.4", "rate_std", "Professionalism"):
        assert secret not in body


def test_builder_pages_add_items_and_show_coverage(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        extra = make_scenario(agency, "PAGE-1", weights={"collaboration": 1.0})
        version_id = extra.latest.public_id
    url = f"/assessments/{tenant_a.assessment_id}"
    assert "PAGE-1" in client.get(url).get_data(as_text=True)
    response = post(client, app, f"{url}/items", {"action": "add", "target": version_id})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert page.count("PAGE-1 v1") == 1
    refused = post(client, app, f"{url}/publish")
    assert refused.status_code == 302
    assert "fewer than 4 items" in client.get(url).get_data(as_text=True)
    assert post(client, app, f"{url}/items", {"action": "add", "target": "unknown"}).status_code == 404
    assert post(client, app, f"{url}/items", {"action": "fly", "target": version_id}).status_code == 400
    bad = post(client, app, f"{url}/settings", {"title": "", "time_limit_minutes": "999", "practice": ""})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "Give the assessment a title." in body and "Between 1 and 240 minutes." in body


def test_new_assessment_needs_a_position_of_the_agency(app, client, tenant_a, tenant_b):
    sign_in(client, app, tenant_a.recruiter["email"])
    response = post(client, app, "/assessments/new", {"position": tenant_b.position_id, "title": "Sneaky"})
    assert response.status_code == 422
    ok = post(client, app, "/assessments/new", {"position": tenant_a.position_id, "title": "Second screen"})
    assert ok.status_code == 302


def test_the_walk_through_shows_every_candidate_page_and_records_nothing(app, client, tenant_a):
    from sqlalchemy import func

    from assessments.models import Answer, Attempt, Invitation

    def counts():
        with app.app_context():
            return [db.session.scalar(select(func.count()).select_from(m)) for m in (Invitation, Attempt, Answer)]

    sign_in(client, app, tenant_a.recruiter["email"])
    before = counts()
    base = f"/assessments/{tenant_a.assessment_id}/walk"
    pages = {
        base: "Hello Sample Candidate",
        f"{base}?step=overview": "Before you start",
        f"{base}?step=item&n=1": "Situation 1 of 1",
        f"{base}?step=item&from=1&go=next": "Check your answers",
        f"{base}?step=review": "Send my answers",
        f"{base}?step=done": "your answers are sent",
    }
    for url, text in pages.items():
        page = client.get(url)
        assert page.status_code == 200, url
        body = page.get_data(as_text=True)
        assert text in body, url
        assert "Nothing you do here is saved or sent." in body
        assert 'method="post"' not in body.split("<main", 1)[1].split("</main>")[0], url
        assert "Rationale A" not in body and "take.js" not in body
    assert counts() == before


def test_the_assessments_list_reads_the_same_statements_however_many_assessments(app, client, tenant_a):
    """The list loads each assessment's position, client and items with the assessments, not one by one."""
    from sqlalchemy import event

    from positions.models import Position

    sign_in(client, app, tenant_a.recruiter["email"])

    def statements_for_the_list() -> tuple[int, str]:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get("/assessments")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page.status_code == 200
        return len(seen), page.get_data(as_text=True)

    def add_assessments(how_many: int) -> None:
        with app.app_context():
            agency, admin, existing = (
                db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id)),
                db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"])),
                db.session.scalar(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id)),
            )
            with unit_of_work():
                for n in range(how_many):
                    position = Position(
                        agency_id=agency.id,
                        client_id=existing.client_id,
                        title=f"Listed position {n}",
                        created_at=utcnow(),
                    )
                    db.session.add(position)
                    draft = services.create_assessment(position, f"Listed assessment {n}", by=admin, now=utcnow())
                    services.add_item(draft, existing.items[0].version, by=admin, now=utcnow())
            db.session.remove()

    add_assessments(1)
    few, _ = statements_for_the_list()
    add_assessments(5)
    many, page = statements_for_the_list()
    assert page.count("Listed assessment 0") == 2 and "Listed assessment 4" in page and "Listed position 4" in page
    assert many == few, (few, many)
