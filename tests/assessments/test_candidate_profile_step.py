"""The optional profile step of the test: candidates add (and remove) their own jobs, study, skills and
languages; bad input changes nothing; one candidate can never touch another's rows."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from candidates.models import Candidate, CandidateEducation, CandidateExperience, CandidateLanguage, CandidateSkill
from database import db, unit_of_work
from tests.assessments.test_delivery import begin
from tests.assessments.test_delivery import published as published  # the fixture, used by name
from tests.conftest import post

PROFILE_MODELS = (CandidateExperience, CandidateEducation, CandidateSkill, CandidateLanguage)


def counts(app):
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(m)) for m in PROFILE_MODELS]


def test_the_candidate_adds_each_kind_and_removes_one(app, client, published):
    begin(app, client, published["path"])
    page = client.get("/test/profile")
    assert page.status_code == 200
    assert "you can skip this" in page.get_data(as_text=True)
    added = [
        {"kind": "job", "role": "Night auditor", "employer": "Grand Quay Hotel", "industry": "I", "start": "2019-05",
         "end": "2023-04", "hours": "75", "responsibilities": "End of day audit"},
        {"kind": "education", "isced_level": "4", "field": "Hospitality", "institution": "Lakeview", "year": "2018"},
        {"kind": "skill", "given_name": "hotel night audit", "level": "4", "evidence": "Four years"},
        {"kind": "language", "language": "French", "fluency": "B2"},
    ]  # fmt: skip
    for body in added:
        reply = post(client, app, "/test/profile", body)
        assert reply.status_code == 302, reply.get_data(as_text=True)
    assert counts(app) == [1, 1, 1, 1]
    with app.app_context():
        job = db.session.scalars(select(CandidateExperience)).one()
        assert (job.start_date, job.end_date, job.fte, job.industry, job.source) == (
            date(2019, 5, 1),
            date(2023, 4, 30),
            0.75,
            "I",
            "candidate",
        )
        skill = db.session.scalars(select(CandidateSkill)).one()
        assert (skill.skill_key, skill.evidence_type, skill.level) == (None, "self", 4)  # a recruiter confirms a match
        language_id = db.session.scalars(select(CandidateLanguage)).one().public_id
    body = client.get("/test/profile").get_data(as_text=True)
    assert "Night auditor, Grand Quay Hotel (May 2019 to Apr 2023)" in body
    assert post(client, app, "/test/profile/remove", {"row": language_id}).status_code == 302
    assert counts(app) == [1, 1, 1, 0]


def test_bad_input_shows_the_field_and_changes_nothing(app, client, published):
    begin(app, client, published["path"])
    bad = [
        ({"kind": "job", "role": "Clerk", "start": "2030-01", "hours": "100"}, "future"),
        ({"kind": "job", "role": "Clerk", "start": "2022-05", "end": "2021-01", "hours": "100"}, "before"),
        ({"kind": "job", "role": "Clerk", "start": "May 2020", "hours": "100"}, "like 2021-03"),
        ({"kind": "job", "role": "Clerk", "start": "2020-01", "hours": "110"}, "hours"),
        ({"kind": "job", "role": "", "start": "2020-01", "hours": "100"}, None),
        ({"kind": "job", "role": "Clerk", "start": "2020-01", "hours": "100", "industry": "Z"}, "type of business"),
        ({"kind": "education", "isced_level": "9"}, "level from the list"),
        ({"kind": "education", "isced_level": "3", "year": "20x9"}, "four numbers"),
        ({"kind": "skill", "given_name": "filing", "level": "9"}, "how good"),
        ({"kind": "skill", "given_name": "", "level": "3"}, None),
        ({"kind": "language", "language": "Welsh", "fluency": "fluent-ish"}, "how well"),
    ]
    for body, words in bad:
        reply = post(client, app, "/test/profile", body)
        assert reply.status_code == 422, body
        text = reply.get_data(as_text=True)
        assert "Please check what you typed" in text
        if words:
            assert words.lower() in text.lower(), (body, words)
    assert post(client, app, "/test/profile", {"kind": "pets"}).status_code == 400
    assert counts(app) == [0, 0, 0, 0]


def test_a_candidate_cannot_remove_another_candidates_row(app, client, published, tenant_a):
    begin(app, client, published["path"])
    with app.app_context(), unit_of_work():
        other = db.session.scalars(select(Candidate).where(Candidate.public_id == tenant_a.candidate_id)).one()
        row = CandidateLanguage(candidate_id=other.id, language="German", fluency="C1", source="candidate")
        db.session.add(row)
        db.session.flush()
        row_id = row.public_id
    assert post(client, app, "/test/profile/remove", {"row": row_id}).status_code == 404
    assert counts(app) == [0, 0, 0, 1]


def test_the_page_needs_a_candidate_session(app, client):
    assert client.get("/test/profile").status_code == 404
