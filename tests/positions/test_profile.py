"""The job profile editor: a full save, every refused input (422, message on the field, nothing changed),
round-trips of the page as shown, and starting a profile from an ESCO occupation."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import Agency, AuditEvent
from database import db
from positions.models import Position
from positions.services import profile_snapshot
from scenarios.models import Competency
from taxonomy import ESCO_ATTRIBUTION, vocabulary
from tests.conftest import post, sign_in
from tests.positions.page_form import posted

WEIGHTS = {
    "required_skills": 35,
    "desired_skills": 10,
    "people_skills": 25,
    "experience": 15,
    "education": 10,
    "industry": 5,
}


def competency_id(app, tenant, code: str = "professionalism") -> str:
    with app.app_context():
        return db.session.scalar(
            select(Competency.public_id)
            .join(Agency, Agency.id == Competency.agency_id)
            .where(Competency.code == code, Agency.public_id == tenant.agency_id)
        )


def profile_data(app, tenant, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": "save",
        "client": tenant.client_id,
        "title": "Accounts payable clerk",
        "responsibilities": "Process supplier invoices\n\nReconcile supplier statements\n",
        "occupation_uri": "",
        "required-0-include": "y",
        "required-0-skill": "Issue sales invoices",
        "required-0-min_level": "3",
        "required-0-weight": "3",
        "required-0-knockout": "y",
        "required-1-include": "y",
        "required-1-skill": "use spreadsheets software",
        "required-1-min_level": "4",
        "required-1-weight": "1",
        "required-2-include": "y",
        "required-2-skill": "",
        "required-2-min_level": "3",
        "required-2-weight": "1",
        "desired-0-include": "y",
        "desired-0-skill": "perform dunning activities",
        "desired-0-min_level": "2",
        "desired-0-weight": "2",
        "people-0-competency": competency_id(app, tenant),
        "people-0-include": "y",
        "people-0-min_score": "70",
        "people-0-weight": "2",
        "people-1-competency": competency_id(app, tenant, "collaboration"),
        "people-1-min_score": "60",
        "people-1-weight": "1",
        "education_min_level": "4",
        "education_substitution_years": "2",
        "experience_min_years": "2",
        "experience_cap_years": "10",
        "experience_knockout": "y",
        "industry_mode": "bonus",
        "industry_codes": ["Q", "K"],
    }
    data |= {f"weight_{name}": str(value) for name, value in WEIGHTS.items()}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def state(app, public_id: str) -> tuple[int, dict[str, Any], int]:
    """The position's version and profile, and the number of audit events."""
    with app.app_context():
        position = db.session.scalar(select(Position).where(Position.public_id == public_id))
        events = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action.like("position.%")))
        return position.profile_version, profile_snapshot(position), events


def test_the_editor_saves_the_whole_profile_in_one_version(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    page = client.get(f"/positions/{tenant_a.position_id}")
    assert page.status_code == 200
    assert ESCO_ATTRIBUTION in html.unescape(page.get_data(as_text=True))

    response = post(client, app, f"/positions/{tenant_a.position_id}", profile_data(app, tenant_a))
    assert response.status_code == 302, html.unescape(response.get_data(as_text=True))
    version, profile, _ = state(app, tenant_a.position_id)
    assert version == 2
    assert profile["title"] == "Accounts payable clerk"
    assert profile["responsibilities"] == ["Process supplier invoices", "Reconcile supplier statements"]
    assert profile["skills"] == {
        "issue sales invoices": {"kind": "required", "min_level": 3, "weight": 3.0, "knockout": True},
        "use spreadsheets software": {"kind": "required", "min_level": 4, "weight": 1.0, "knockout": False},
        "perform dunning activities": {"kind": "desired", "min_level": 2, "weight": 2.0, "knockout": False},
    }
    assert profile["people_skills"] == {
        competency_id(app, tenant_a): {"min_score": 0.7, "weight": 2.0, "knockout": False}
    }
    assert profile["education"] == {"min_level": 4, "substitution_years": 2.0, "knockout": False}
    assert profile["experience"] == {"min_years": 2.0, "cap_years": 10.0, "knockout": True}
    assert profile["industry"] == {"mode": "bonus", "codes": ["K", "Q"]}
    assert profile["weights"] == {name: value / 100 for name, value in WEIGHTS.items()}
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.object_public_id) == ("position.profile_updated", tenant_a.position_id)
        assert event.actor_public_id == tenant_a.recruiter["public_id"]

    # The page shows the saved profile: posting it back as it stands changes nothing, not even the version.
    page = client.get(f"/positions/{tenant_a.position_id}").get_data(as_text=True)
    assert "Job profile version 2" in page
    assert 'value="issue sales invoices"' in page  # shown by its ESCO label
    again = post(client, app, f"/positions/{tenant_a.position_id}", posted(page, "profile-form") | {"action": "save"})
    assert again.status_code == 302
    assert state(app, tenant_a.position_id)[:2] == (2, profile)
    assert "Nothing had changed" in client.get(f"/positions/{tenant_a.position_id}").get_data(as_text=True)

    # One change: a new version, one more audit event; unticking a row removes the skill.
    events = state(app, tenant_a.position_id)[2]
    changed = posted(page, "profile-form") | {"action": "save"}
    changed.pop("desired-0-include")
    assert post(client, app, f"/positions/{tenant_a.position_id}", changed).status_code == 302
    version, profile, after = state(app, tenant_a.position_id)
    assert version == 3 and after == events + 1
    assert "perform dunning activities" not in profile["skills"]


BAD_INPUTS = [
    ("level 9", {"required-0-min_level": "9"}, "required-0-error", "Choose a minimum level from 1 to 5."),
    ("weight 0", {"required-0-weight": "0"}, "required-0-error", "Choose a weight from 1 to 3."),
    ("weight 4", {"desired-0-weight": "4"}, "desired-0-error", "Choose a weight from 1 to 3."),
    ("unknown skill", {"required-1-skill": "juggling torches"}, "required-1-error", "is not in the skills list"),
    ("misspelt skill", {"required-1-skill": "use spreadsheet softwre"}, "required-1-error", "Did you mean"),
    ("duplicate skill", {"desired-0-skill": "issue sales invoices"}, "desired-0-error", "is already in the profile"),
    ("unknown ISCED level", {"education_min_level": "9"}, "education_min_level-error", "Choose a level from the list"),
    ("cap below minimum", {"experience_cap_years": "1"}, "experience_cap_years-error", "cannot be below the minimum"),
    ("negative years", {"experience_min_years": "-1"}, "experience_min_years-error", "from 0 to 60"),
    ("weights not 100", {"weight_industry": "10"}, "weights-error", "The weights add up to 105%"),
    ("weight not a number", {"weight_education": "ten"}, "weight_education-error", "Not a valid integer"),
    ("score 0", {"people-0-min_score": "0"}, "people-0-error", "Enter a minimum score from 1 to 100."),
    ("score missing", {"people-0-min_score": ""}, "people-0-error", "Enter a minimum score from 1 to 100."),
    ("unknown NACE letter", {"industry_codes": ["Q", "Z"]}, "industry_codes-error", "Unknown industry section: Z."),
    ("bonus without industry", {"industry_codes": None}, "industry_codes-error", "Tick at least one industry"),
    ("no title", {"title": ""}, "title-error", "Enter the job title."),
]


@pytest.mark.parametrize(("case", "changes", "error_id", "message"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_on_its_field_and_changes_nothing(app, client, tenant_a, case, changes, error_id, message):
    sign_in(client, app, tenant_a.recruiter["email"])
    before = state(app, tenant_a.position_id)
    response = post(client, app, f"/positions/{tenant_a.position_id}", profile_data(app, tenant_a, **changes))
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422, case
    assert message in body
    assert f'id="{error_id}"' in body
    assert re.search(rf'aria-describedby="[^"]*\b{re.escape(error_id)}\b', body), "the message is not linked"
    assert state(app, tenant_a.position_id) == before


def test_the_forms_and_the_rules_problems_show_together(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    data = profile_data(
        app,
        tenant_a,
        weight_industry="20",
        experience_cap_years="1",
        **{"required-1-skill": "juggling flaming torches", "required-0-min_level": "9"},
    )
    response = post(client, app, f"/positions/{tenant_a.position_id}", data)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "The weights add up to 115%" in body and body.count("The weights add up to") == 1
    assert "is not in the skills list" in body
    assert "The cap cannot be below the minimum years." in body
    assert body.count("Choose a minimum level from 1 to 5.") == 1


def test_a_competency_of_another_agency_is_refused(app, client, tenant_a, tenant_b):
    sign_in(client, app, tenant_a.recruiter["email"])
    before = state(app, tenant_a.position_id)
    data = profile_data(app, tenant_a, **{"people-0-competency": tenant_b.competency_id})
    response = post(client, app, f"/positions/{tenant_a.position_id}", data)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "not one of the agency's competencies" in body
    assert 'id="people-0-error"' in body
    assert state(app, tenant_a.position_id) == before


def test_finding_skills_and_adding_rows_keep_what_was_typed_and_save_nothing(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    before = state(app, tenant_a.position_id)
    data = profile_data(app, tenant_a, action="find", skill_search="invoices", title="Typed, not saved")
    response = post(client, app, f"/positions/{tenant_a.position_id}", data)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert 'value="Typed, not saved"' in body
    assert "Skills matching “invoices”" in body
    assert '<option value="issue sales invoices">' in body  # offered in the skill boxes
    more = post(client, app, f"/positions/{tenant_a.position_id}", profile_data(app, tenant_a, action="more-required"))
    assert more.status_code == 200
    assert 'id="required-5-skill"' in more.get_data(as_text=True)
    assert state(app, tenant_a.position_id) == before


def test_a_new_position_starts_from_an_esco_occupation(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    search = client.get(f"/positions/new?client={tenant_a.client_id}&occupation_q=accounting+assistant")
    body = html.unescape(search.get_data(as_text=True))
    occupation = vocabulary.search_occupations("accounting assistant")[0]
    assert search.status_code == 200
    assert "Propose the skills of “accounting assistant”" in body
    assert ESCO_ATTRIBUTION in body

    with app.app_context():
        count = db.session.scalar(select(func.count(Position.id)))
    proposed = client.get(f"/positions/new?client={tenant_a.client_id}&occupation={occupation.uri}")
    page = proposed.get_data(as_text=True)
    assert proposed.status_code == 200
    assert "nothing is added until you save" in html.unescape(page).lower()
    with app.app_context():
        assert db.session.scalar(select(func.count(Position.id))) == count  # proposing adds nothing

    data = posted(page, "profile-form")
    assert data["title"] == "Accounting assistant"
    assert data["occupation_uri"] == occupation.uri
    assert data["client"] == tenant_a.client_id
    # Essential skills come ticked (required, level 3, weight 1); optional ones are offered unticked.
    essential = [vocabulary.skill(k).label for k in occupation.essential_keys]
    assert [data[f"required-{i}-skill"] for i in range(len(essential))] == essential
    assert all(data[f"required-{i}-include"] == "y" for i in range(len(essential)))
    assert all(data[f"required-{i}-min_level"] == "3" and data[f"required-{i}-weight"] == "1" for i in range(3))
    assert "desired-0-include" not in data
    assert data["desired-0-skill"] == vocabulary.skill(occupation.optional_keys[0]).label
    data |= {"desired-0-include": "y", "required-1-include": None, "action": "save"}
    data = {k: v for k, v in data.items() if v is not None}

    created = post(client, app, "/positions/new", data)
    assert created.status_code == 302, html.unescape(created.get_data(as_text=True))
    with app.app_context():
        position = db.session.scalar(select(Position).where(Position.title == "Accounting assistant"))
        assert position.occupation_uri == occupation.uri
        assert position.profile_version == 1
        required = {s.skill_key for s in position.skills if s.kind == "required"}
        desired = {s.skill_key for s in position.skills if s.kind == "desired"}
        assert required == set(occupation.essential_keys) - {occupation.essential_keys[1]}
        assert desired == {occupation.optional_keys[0]}
        assert {(s.min_level, s.weight) for s in position.skills} == {(3, 1.0)}
        assert (
            db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first().action == "position.created"
        )
    # Once the profile has skills, the occupation panel is gone.
    again = client.get(f"{created.headers['Location']}?occupation={occupation.uri}").get_data(as_text=True)
    assert "Start from an ESCO occupation" not in again
    assert "Proposed from the ESCO occupation" not in again


def test_an_existing_position_without_skills_can_start_from_an_occupation(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    occupation = vocabulary.search_occupations("payroll clerk")[0]
    page = client.get(f"/positions/{tenant_a.position_id}?occupation={occupation.uri}").get_data(as_text=True)
    data = posted(page, "profile-form")
    assert data["title"].startswith("Alpha Position")  # an existing title is kept
    assert post(client, app, f"/positions/{tenant_a.position_id}", data | {"action": "save"}).status_code == 302
    version, profile, _ = state(app, tenant_a.position_id)
    assert version == 2
    assert profile["occupation"] == occupation.uri
    assert set(profile["skills"]) == set(occupation.essential_keys)


def test_an_unknown_occupation_is_not_proposed(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    page = client.get("/positions/new?occupation=http://example.invalid/x")
    assert page.status_code == 200
    assert "not in the list" in page.get_data(as_text=True)
    forged = post(client, app, "/positions/new", profile_data(app, tenant_a, occupation_uri="http://example.invalid/x"))
    assert forged.status_code == 422
    assert "not one of the back-office occupations" in forged.get_data(as_text=True)


def test_another_agencys_position_answers_404(app, client, tenant_a, tenant_b):
    sign_in(client, app, tenant_a.admin["email"])
    before = state(app, tenant_b.position_id)
    assert client.get(f"/positions/{tenant_b.position_id}").status_code == 404
    assert post(client, app, f"/positions/{tenant_b.position_id}", profile_data(app, tenant_a)).status_code == 404
    assert state(app, tenant_b.position_id) == before
