"""Candidate profile rules: adding and changing rows, the problems they report by field, skill matches, audit."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from accounts.models import AuditEvent
from candidates import services
from candidates.models import Candidate
from candidates.services import ImportedProfile, ProfileError, SkillInput
from database import db, unit_of_work, utcnow
from tests.candidates.conftest import ACCOUNTS_CLERK

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=utcnow().tzinfo)


def test_a_skill_is_stored_as_given_and_unmatched_even_when_it_is_an_exact_label(candidate, staff):
    with unit_of_work():
        row = services.add_skill(
            candidate, given_name="  Handle customer complaints ", level=4, source="recruiter", now=NOW, by=staff
        )
    assert (row.given_name, row.skill_key, row.level, row.evidence_type, row.source) == (
        "Handle customer complaints",
        None,
        4,
        "cv",
        "recruiter",
    )
    assert candidate.profile_updated_at == NOW


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"given_name": "", "level": 3}, {"given_name"}),
        ({"given_name": "Payroll", "level": 9}, {"level"}),
        ({"given_name": "Payroll", "level": 0}, {"level"}),
        ({"given_name": "x" * 201, "level": 3}, {"given_name"}),
        ({"given_name": "Payroll", "level": 3, "evidence_type": "rumour"}, {"evidence_type"}),
        ({"given_name": "Pay\x00roll", "level": 3}, {"given_name"}),
    ],
)
def test_a_bad_skill_names_its_fields_and_adds_nothing(candidate, values, fields):
    before = len(candidate.skills)
    with pytest.raises(ProfileError) as caught, unit_of_work():
        services.add_skill(candidate, **values, source="candidate", now=NOW)
    assert set(caught.value.problems) == fields
    assert isinstance(caught.value, ValueError)
    db.session.expire_all()
    assert len(candidate.skills) == before


def test_experience_dates_and_share_of_full_time_are_checked(candidate):
    today = NOW.date()
    cases = [
        ({"start_date": today + timedelta(days=1)}, {"start_date"}),
        ({"start_date": date(2020, 5, 1), "end_date": date(2020, 4, 30)}, {"end_date"}),
        ({"start_date": date(2020, 5, 1), "end_date": today + timedelta(days=1)}, {"end_date"}),
        ({"start_date": date(2020, 5, 1), "fte": 0}, {"fte"}),
        ({"start_date": date(2020, 5, 1), "fte": 1.5}, {"fte"}),
        ({"start_date": date(2020, 5, 1), "industry": "Z"}, {"industry"}),
        ({"start_date": date(2020, 5, 1), "occupation_uri": "http://example.org/not-esco"}, {"occupation_uri"}),
        ({"start_date": date(2020, 5, 1), "role": ""}, {"role"}),
    ]
    for changes, fields in cases:
        values = {"role": "Payroll officer", **changes}
        with pytest.raises(ProfileError) as caught, unit_of_work():
            services.add_experience(candidate, **values, source="recruiter", now=NOW)
        assert set(caught.value.problems) == fields, changes
    with unit_of_work():
        row = services.add_experience(
            candidate,
            role="Accounts assistant",
            start_date=date(2021, 1, 4),
            end_date=None,
            fte=0.6,
            occupation_uri=ACCOUNTS_CLERK,
            industry="K",
            source="recruiter",
            now=NOW,
        )
    assert (row.end_date, row.fte, row.industry, row.occupation_uri) == (None, 0.6, "K", ACCOUNTS_CLERK)


def test_education_levels_and_years_are_checked(candidate):
    for values, fields in [
        ({"isced_level": 9}, {"isced_level"}),
        ({"isced_level": -1}, {"isced_level"}),
        ({"isced_level": 6, "year": NOW.year + 1}, {"year"}),
        ({"isced_level": 6, "year": 1850}, {"year"}),
    ]:
        with pytest.raises(ProfileError) as caught, unit_of_work():
            services.add_education(candidate, **values, source="recruiter", now=NOW)
        assert set(caught.value.problems) == fields
    with unit_of_work():
        row = services.add_education(
            candidate, isced_level=6, field="Accounting", year=2015, source="candidate", now=NOW
        )
    assert (row.isced_level, row.field, row.year, row.source) == (6, "Accounting", 2015, "candidate")


def test_languages_need_a_name(candidate):
    with pytest.raises(ProfileError) as caught, unit_of_work():
        services.add_language(candidate, language=" ", fluency="B2", source="recruiter", now=NOW)
    assert set(caught.value.problems) == {"language"}


def test_confirming_a_match_needs_a_vocabulary_key_not_held_by_another_skill(candidate, staff):
    with unit_of_work():
        excel = services.add_skill(candidate, given_name="Excel", level=4, source="recruiter", now=NOW)
        sheets = services.add_skill(candidate, given_name="Spreadsheets", level=3, source="recruiter", now=NOW)
    with pytest.raises(ProfileError) as caught, unit_of_work():
        services.confirm_skill(excel, "not a skill at all", now=NOW, by=staff)
    assert set(caught.value.problems) == {"skill_key"}
    with unit_of_work():
        services.confirm_skill(excel, "use spreadsheets software", now=NOW, by=staff)
    assert excel.skill_key == "use spreadsheets software"
    with pytest.raises(ProfileError) as caught, unit_of_work():
        services.confirm_skill(sheets, "use spreadsheets software", now=NOW, by=staff)
    assert "already matched" in caught.value.problems["skill_key"]
    db.session.expire_all()
    assert sheets.skill_key is None
    with unit_of_work():
        services.unmatch_skill(excel, now=NOW, by=staff)
    assert excel.skill_key is None


def test_new_words_clear_a_match_and_an_edit_takes_the_editors_source(candidate, staff):
    with unit_of_work():
        row = services.add_skill(candidate, given_name="Excel", level=4, source="json_resume", now=NOW)
        services.confirm_skill(row, "use spreadsheets software", now=NOW, by=staff)
        services.update_skill(
            row, given_name="Excel", level=5, evidence_type="certificate", evidence="MOS", source="recruiter", now=NOW
        )
    assert (row.skill_key, row.level, row.source) == ("use spreadsheets software", 5, "recruiter")
    with unit_of_work():
        services.update_skill(
            row, given_name="Excel and Power BI", level=5, evidence_type="cv", evidence="", source="recruiter", now=NOW
        )
    assert row.skill_key is None


def test_deleting_a_row_removes_it_and_audits_the_change(candidate, staff):
    with unit_of_work():
        row = services.add_language(candidate, language="Polish", fluency="C1", source="recruiter", now=NOW, by=staff)
    with unit_of_work():
        services.delete_row(row, now=NOW, by=staff)
    db.session.expire_all()
    assert candidate.languages == []
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.profile_updated")).all()
    assert len(events) == 2
    assert {(e.object_type, e.object_public_id, e.actor_public_id) for e in events} == {
        ("candidate", candidate.public_id, staff.public_id)
    }


def test_a_change_without_a_staff_user_is_recorded_as_the_candidates_own(candidate):
    with unit_of_work():
        services.add_skill(candidate, given_name="Minute taking", level=3, source="candidate", now=NOW)
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.actor_public_id, event.object_public_id) == (
        "candidate.profile_updated",
        candidate.public_id,
        candidate.public_id,
    )


def test_candidates_are_unique_by_email_within_an_agency(candidate, staff, tenant_b):
    with pytest.raises(ProfileError) as caught, unit_of_work():
        services.create_candidate(candidate.agency_id, name="Someone", email=candidate.email.upper(), by=staff, now=NOW)
    assert set(caught.value.problems) == {"email"}
    with pytest.raises(ProfileError) as caught, unit_of_work():
        services.create_candidate(candidate.agency_id, name="", email="not an address", by=staff, now=NOW)
    assert set(caught.value.problems) == {"name", "email"}
    other_agency = db.session.scalars(select(Candidate).where(Candidate.public_id == tenant_b.candidate_id)).one()
    with unit_of_work():
        twin = services.create_candidate(
            other_agency.agency_id, name="Same address", email=candidate.email, by=staff, now=NOW
        )
    assert twin.email == candidate.email  # another agency may know the same person


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2021", date(2021, 1, 1), date(2021, 12, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2021-03-15", date(2021, 3, 15), date(2021, 3, 15)),
    ],
)
def test_a_period_covers_what_a_partial_date_can_mean(text, first, last):
    assert services.period_of(text) == (first, last)


@pytest.mark.parametrize("text", ["2021-02-30", "2021-13", "21-03", "March 2021", ""])
def test_a_period_refuses_what_is_not_a_date(text):
    with pytest.raises(ValueError, match="date"):
        services.period_of(text)


def test_replacing_imported_rows_keeps_other_sources_and_confirmed_matches(candidate, staff):
    with unit_of_work():
        mine = services.add_skill(candidate, given_name="Payroll", level=3, source="recruiter", now=NOW)
        old = services.add_skill(candidate, given_name="Excel", level=3, source="json_resume", now=NOW)
        services.add_education(candidate, isced_level=3, source="json_resume", now=NOW)
        services.confirm_skill(old, "use spreadsheets software", now=NOW, by=staff)
        services.confirm_skill(mine, "manage payroll", now=NOW, by=staff)
    profile = ImportedProfile(
        skills=(SkillInput(" excel ", 4), SkillInput("Payroll", 5)),
        headline="Payroll and accounts assistant",
    )
    with unit_of_work():
        done = services.replace_imported_rows(candidate, profile, source="json_resume", today=NOW.date())
    assert (done.removed, done.added, done.matches_kept) == (2, 2, 1)
    db.session.expire_all()
    rows = {(s.given_name, s.source): (s.level, s.skill_key) for s in candidate.skills}
    assert rows == {
        ("Payroll", "recruiter"): (3, "manage payroll"),
        ("excel", "json_resume"): (4, "use spreadsheets software"),
        ("Payroll", "json_resume"): (5, None),  # the recruiter's row holds that match
    }
    assert candidate.education == []
    assert candidate.headline == "Payroll and accounts assistant"
