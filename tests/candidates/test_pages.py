"""Candidate pages: the list, adding by hand, the profile and its rows, skill suggestions, tenant isolation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from accounts.models import AuditEvent
from candidates.models import Candidate, CandidateSkill
from database import db
from tests.candidates.conftest import PAYROLL_CLERK, audit_actions, counts
from tests.conftest import post


def candidate_row(app, public_id: str) -> Candidate:
    with app.app_context():
        found = db.session.scalars(select(Candidate).where(Candidate.public_id == public_id)).one()
        for section in (found.skills, found.education, found.experience, found.languages):
            list(section)
        return found


def new_candidate(app, client, name="Ines Duarte", email="ines.duarte@example.org", headline="") -> str:
    response = post(client, app, "/candidates/new", {"name": name, "email": email, "headline": headline})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_the_list_searches_by_name_or_email_and_shows_completeness(app, recruiter, tenant_a, tenant_b):
    ines = new_candidate(app, recruiter, headline="Office administrator")
    post(recruiter, app, f"/candidates/{ines}/skills/edit", {"given_name": "Diary management", "level": "4"})
    post(recruiter, app, f"/candidates/{ines}/languages/edit", {"language": "Portuguese", "fluency": "native"})

    page = recruiter.get("/candidates").get_data(as_text=True)
    assert "Ines Duarte" in page and "Alpha Candidate" in page
    assert "2 of 4 sections" in page and "Missing: education, experience" in page
    assert "1 skill to match" in page
    assert "0 of 4 sections" in page
    for secret in tenant_b.secrets:
        assert secret not in page

    by_email = recruiter.get("/candidates?q=DUARTE@example").get_data(as_text=True)
    assert "Ines Duarte" in by_email and "Alpha Candidate" not in by_email
    by_name = recruiter.get("/candidates?q=alpha cand").get_data(as_text=True)
    assert "Alpha Candidate" in by_name and "Ines Duarte" not in by_name
    nobody = recruiter.get("/candidates?q=100%25_").get_data(as_text=True)
    assert "0 candidates" in nobody


def test_a_candidate_is_added_by_hand_with_an_email_unique_in_the_agency(app, recruiter, tenant_a):
    public_id = new_candidate(app, recruiter, email="Ines.Duarte@Example.org")
    assert candidate_row(app, public_id).email == "ines.duarte@example.org"
    again = post(recruiter, app, "/candidates/new", {"name": "Ines D", "email": "ines.duarte@example.org"})
    page = again.get_data(as_text=True)
    assert again.status_code == 422
    assert 'href="#email"' in page  # the error summary links to the field
    assert "The agency already has a candidate with this email address." in page
    empty = post(recruiter, app, "/candidates/new", {"name": "", "email": ""})
    assert empty.status_code == 422
    assert 'href="#name"' in empty.get_data(as_text=True)
    assert ("candidate.created", public_id, tenant_a.recruiter["public_id"]) in audit_actions(app)


def test_name_email_and_headline_can_be_changed(app, recruiter, tenant_a):
    base = f"/candidates/{tenant_a.candidate_id}"
    assert "Alpha Candidate" in recruiter.get(f"{base}/edit").get_data(as_text=True)
    response = post(
        recruiter, app, f"{base}/edit", {"name": "Alpha Renamed", "email": "renamed@alpha.example", "headline": "HR"}
    )
    assert response.status_code == 302
    row = candidate_row(app, tenant_a.candidate_id)
    assert (row.name, row.email, row.headline) == ("Alpha Renamed", "renamed@alpha.example", "HR")


def test_a_typed_skill_is_suggested_and_confirmed_in_one_click(app, recruiter, tenant_a):
    base = f"/candidates/{tenant_a.candidate_id}"
    assert recruiter.get(f"{base}/skills/edit").status_code == 200
    response = post(
        recruiter,
        app,
        f"{base}/skills/edit",
        {"given_name": "Handle customer complaints", "level": "4", "evidence_type": "interview", "evidence": "Panel"},
    )
    assert response.status_code == 302
    (skill,) = candidate_row(app, tenant_a.candidate_id).skills
    assert skill.skill_key is None  # even an exact label is only a suggestion
    page = recruiter.get(base).get_data(as_text=True)
    assert "Not matched yet. Suggestions" in page
    assert "Confirm “handle customer complaints”" in page
    assert "same as the ESCO label" in page
    assert "Skill and occupation labels: ESCO classification" in page

    key = {"skill_key": "handle customer complaints"}
    confirm = post(recruiter, app, f"{base}/skills/{skill.public_id}/confirm", key)
    assert confirm.status_code == 302
    assert candidate_row(app, tenant_a.candidate_id).skills[0].skill_key == "handle customer complaints"
    page = recruiter.get(base).get_data(as_text=True)
    assert "Matched: <strong>handle customer complaints</strong>" in page

    undo = post(recruiter, app, f"{base}/skills/{skill.public_id}/unmatch")
    assert undo.status_code == 302
    assert candidate_row(app, tenant_a.candidate_id).skills[0].skill_key is None

    refused = post(recruiter, app, f"{base}/skills/{skill.public_id}/confirm", {"skill_key": "juggling"})
    assert refused.status_code == 302
    assert "Choose one of the suggested skills." in recruiter.get(base).get_data(as_text=True)
    assert candidate_row(app, tenant_a.candidate_id).skills[0].skill_key is None


def test_other_words_can_be_searched_for_an_unmatched_skill(app, recruiter, tenant_a):
    base = f"/candidates/{tenant_a.candidate_id}"
    post(recruiter, app, f"{base}/skills/edit", {"given_name": "Sage 200", "level": "3"})
    (skill,) = candidate_row(app, tenant_a.candidate_id).skills
    page = recruiter.get(f"{base}?row={skill.public_id}&q=Microsoft+Excel").get_data(as_text=True)
    assert "Suggestions for “Microsoft Excel”" in page
    assert "Confirm “use spreadsheets software”" in page


def test_a_bad_skill_shows_the_errors_next_to_the_fields(app, recruiter, tenant_a):
    before = counts(app)
    url = f"/candidates/{tenant_a.candidate_id}/skills/edit"
    response = post(recruiter, app, url, {"given_name": "", "level": "9"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#given_name"' in page and 'href="#level-0"' in page
    assert "<legend>Level</legend>" in page
    assert counts(app) == before


def test_rows_of_each_section_are_added_edited_and_deleted(app, recruiter, tenant_a):
    base = f"/candidates/{tenant_a.candidate_id}"
    forms = {
        "skills": {"given_name": "Bank reconciliations", "level": "3", "evidence_type": "cv"},
        "education": {"isced_level": "6", "field": "Accounting", "institution": "Open University", "year": "2014"},
        "experience": {
            "role": "Payroll clerk",
            "employer": "Calder Foods",
            "industry": "C",
            "start_date": "2019-09-02",
            "end_date": "",
            "fte": "60",
            "occupation_uri": PAYROLL_CLERK,
            "action": "save",
        },
        "languages": {"language": "Welsh", "fluency": "B2"},
    }
    for kind, data in forms.items():
        assert recruiter.get(f"{base}/{kind}/edit").status_code == 200
        response = post(recruiter, app, f"{base}/{kind}/edit", data)
        assert response.status_code == 302, (kind, response.get_data(as_text=True))
    row = candidate_row(app, tenant_a.candidate_id)
    job = row.experience[0]
    assert (job.fte, job.industry, job.occupation_uri, job.end_date, job.source) == (
        0.6,
        "C",
        PAYROLL_CLERK,
        None,
        "recruiter",
    )
    assert (row.education[0].isced_level, row.languages[0].fluency) == (6, "B2")
    page = recruiter.get(base).get_data(as_text=True)
    assert "payroll clerk" in page and "C: Manufacturing" in page and "60%" in page
    assert "Upper intermediate (CEFR B2)" in page and "6: Bachelor" in page

    edit_page = recruiter.get(f"{base}/experience/edit?row={job.public_id}").get_data(as_text=True)
    assert 'value="60"' in edit_page and "payroll clerk (current choice)" in edit_page
    edited = dict(forms["experience"], fte="100", end_date="2024-03-31")
    assert post(recruiter, app, f"{base}/experience/edit?row={job.public_id}", edited).status_code == 302
    job = candidate_row(app, tenant_a.candidate_id).experience[0]
    assert (job.fte, str(job.end_date)) == (1.0, "2024-03-31")

    for kind, rows in (
        ("skills", row.skills),
        ("education", row.education),
        ("experience", row.experience),
        ("languages", row.languages),
    ):
        assert post(recruiter, app, f"{base}/{kind}/{rows[0].public_id}/delete").status_code == 302
    row = candidate_row(app, tenant_a.candidate_id)
    assert (row.skills, row.education, row.experience, row.languages) == ([], [], [], [])
    assert [a[0] for a in audit_actions(app)].count("candidate.profile_updated") == 9


def test_a_job_ending_before_it_starts_is_refused_on_the_form(app, recruiter, tenant_a):
    data = {"role": "Clerk", "start_date": "2022-05-01", "end_date": "2021-01-01", "fte": "100", "action": "save"}
    response = post(recruiter, app, f"/candidates/{tenant_a.candidate_id}/experience/edit", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#end_date"' in page and "is before the start date" in page
    assert candidate_row(app, tenant_a.candidate_id).experience == []


def test_occupations_are_searched_without_saving(app, recruiter, tenant_a):
    data = {"role": "Payroll administrator", "occupation_query": "payroll", "action": "search", "fte": "100"}
    response = post(recruiter, app, f"/candidates/{tenant_a.candidate_id}/experience/edit", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r"\d+ occupations? found", page)
    assert "payroll clerk (ISCO 4313)" in page
    assert 'value="Payroll administrator"' in page  # what was typed is kept
    assert "Skill and occupation labels: ESCO classification" in page
    assert candidate_row(app, tenant_a.candidate_id).experience == []


def test_a_row_of_another_candidate_answers_404(app, recruiter, tenant_a):
    other = new_candidate(app, recruiter)
    post(recruiter, app, f"/candidates/{other}/skills/edit", {"given_name": "Filing", "level": "2"})
    (skill,) = candidate_row(app, other).skills
    base = f"/candidates/{tenant_a.candidate_id}"
    assert recruiter.get(f"{base}/skills/edit?row={skill.public_id}").status_code == 404
    assert post(recruiter, app, f"{base}/skills/{skill.public_id}/delete").status_code == 404
    assert post(recruiter, app, f"{base}/skills/{skill.public_id}/confirm", {"skill_key": "filing"}).status_code == 404
    assert len(candidate_row(app, other).skills) == 1


def test_another_agencys_candidate_answers_404_everywhere(app, recruiter, tenant_b):
    base = f"/candidates/{tenant_b.candidate_id}"
    for url in (base, f"{base}/edit", f"{base}/skills/edit", f"{base}/education/edit", f"{base}/resume"):
        assert recruiter.get(url).status_code == 404, url
    before = counts(app)
    writes = {
        f"{base}/edit": {"name": "Taken over", "email": "x@example.org"},
        f"{base}/skills/edit": {"given_name": "Payroll", "level": "3"},
        f"{base}/experience/edit": {"role": "Clerk", "start_date": "2020-01-01", "fte": "100"},
        f"{base}/languages/edit": {"language": "French"},
    }
    for url, data in writes.items():
        assert post(recruiter, app, url, data).status_code == 404, url
    assert counts(app) == before
    assert candidate_row(app, tenant_b.candidate_id).name.startswith("Beta Candidate")


def test_client_users_and_strangers_cannot_reach_the_pages(app, client, tenant_a):
    response = client.get("/candidates")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["admin", "recruiter"])
def test_admins_and_recruiters_may_change_profiles(app, client, tenant_a, role):
    from tests.conftest import sign_in

    sign_in(client, app, getattr(tenant_a, role)["email"])
    response = post(client, app, f"/candidates/{tenant_a.candidate_id}/languages/edit", {"language": "Dutch"})
    assert response.status_code == 302


def test_audit_events_carry_random_ids_and_no_personal_data(app, recruiter, tenant_a):
    public_id = new_candidate(app, recruiter, name="Ines Duarte", email="ines.duarte@example.org")
    post(recruiter, app, f"/candidates/{public_id}/skills/edit", {"given_name": "Payroll", "level": "3"})
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("candidate.%"))).all()
        values = [str(getattr(e, column.name)) for e in events for column in AuditEvent.__table__.columns]
        skill_ids = set(db.session.scalars(select(CandidateSkill.public_id)))
    assert len(events) == 2
    assert not any(word in value for value in values for word in ("Ines", "duarte", "Payroll"))
    assert {e.object_public_id for e in events} == {public_id}
    assert not skill_ids & set(values)
