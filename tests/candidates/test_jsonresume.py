"""JSON Resume import: the mapping, every refusal with its JSON path, all or nothing, and the pages."""

from __future__ import annotations

from datetime import date

import pytest

from candidates import jsonresume
from tests.candidates.conftest import ACCOUNTS_CLERK, audit_actions, counts, resume, resume_bytes, upload
from tests.conftest import post

TODAY = date(2026, 11, 23)


def errors_of(document_or_raw) -> list[str]:
    raw = document_or_raw if isinstance(document_or_raw, bytes) else resume_bytes(document_or_raw)
    report = jsonresume.check_resume(raw, today=TODAY)
    assert not report.ok
    return [str(e) for e in report.errors]


def test_the_fixture_maps_onto_the_profile():
    report = jsonresume.check_resume(resume_bytes(), today=TODAY)
    assert report.ok, report.errors
    profile = report.profile
    assert profile.headline == "Accounts payable clerk, six years in shared services"
    current, earlier = profile.experience
    assert (current.role, current.employer, current.start_date, current.end_date) == (
        "Accounts payable clerk",
        "Northwind Shared Services",
        date(2019, 3, 1),
        None,
    )
    assert (current.occupation_uri, current.industry, current.fte) == (ACCOUNTS_CLERK, "N", 0.8)
    assert current.responsibilities.splitlines() == [
        "Process supplier invoices for twelve subsidiaries.",
        "- Cut late-payment penalties by matching invoices daily",
        "- Trained two new starters",
    ]
    assert (earlier.start_date, earlier.end_date, earlier.fte) == (date(2016, 1, 1), date(2019, 2, 28), 1.0)
    degree, diploma = profile.education
    assert (degree.isced_level, degree.original_text, degree.field, degree.year) == (
        6,
        "BSc (Hons)",
        "Accounting and Finance",
        2015,
    )
    assert (diploma.isced_level, diploma.original_text) == (4, "AAT Level 3 Diploma")
    assert [(s.given_name, s.level) for s in profile.skills] == [
        ("Microsoft Excel", 4),
        ("Handle customer complaints", 3),
        ("Sage 200", 4),
        ("Three-way matching", 5),
    ]
    assert profile.skills[0].evidence == "JSON Resume keywords: pivot tables, VLOOKUP"
    assert [(lang.language, lang.fluency) for lang in profile.languages] == [("English", "native"), ("Igbo", "B1")]
    assert report.not_read == ["projects"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # The schema is broken: a type, and a date that is not a date.
        ({"basics": {"name": 42}}, "basics.name: 42 is not of type 'string'."),
        (
            {"work": [{"position": "Clerk", "startDate": "March 2020"}]},
            'work[0].startDate: "March 2020" is not a date; write YYYY-MM-DD, YYYY-MM or YYYY.',
        ),
        ({"skills": [{"name": "Excel", "level": 4}]}, "skills[0].level: 4 is not of type 'string'."),
        (
            {"work": [{"position": "Clerk", "startDate": "2020", "x-rapport": {"fte": "half"}}]},
            "work[0].x-rapport.fte: \"half\" is not of type 'number'.",
        ),
        # The rules.
        (
            {"work": [{"position": "Clerk", "startDate": "2020"}, {"position": "Clerk", "startDate": "2027-01"}]},
            "work[1].startDate: 2027-01 is in the future; import only what has already happened.",
        ),
        (
            {"work": [{"position": "Clerk", "startDate": "2021-05", "endDate": "2020-12"}]},
            "work[0].endDate: 2020-12 is before the start date 2021-05.",
        ),
        (
            {"work": [{"position": "Clerk", "startDate": "2021-02-30"}]},
            "work[0].startDate: “2021-02-30” is not a real date.",
        ),
        ({"work": [{"name": "Northwind"}]}, "work[0].position: is missing; Rapport needs the job title."),
        (
            {"education": [{"studyType": "Bachelor", "x-rapport": {"iscedLevel": 9}}]},
            "education[0].x-rapport.iscedLevel: 9 is not an ISCED 2011 level; the levels run from 0 to 8.",
        ),
        (
            {"education": [{"studyType": "Diploma in Office Skills"}]},
            "education[0].studyType: Rapport cannot place “Diploma in Office Skills” on the ISCED 2011 scale; "
            'add "x-rapport": {"iscedLevel": n} to the entry with its level 0-8.',
        ),
        ({"skills": [{"name": "Payroll", "level": "9"}]}, "skills[0].level: 9 is not a skill level; use 1 to 5."),
        (
            {"skills": [{"name": "Payroll", "x-rapport": {"level": 9}}]},
            "skills[0].x-rapport.level: 9 is not a skill level; use 1 to 5.",
        ),
        (
            {"skills": [{"name": "Payroll", "level": "Wizard"}]},
            "skills[0].level: Rapport does not know the level “Wizard”; use a word such as Beginner, Developing, "
            'Intermediate, Advanced, Expert, a number 1 to 5, or add "x-rapport": {"level": n}.',
        ),
        (
            {"work": [{"position": "Clerk", "startDate": "2020", "x-rapport": {"industry": "Z"}}]},
            "work[0].x-rapport.industry: “Z” is not a NACE section; use one letter from A to U.",
        ),
        (
            {"work": [{"position": "Clerk", "startDate": "2020", "x-rapport": {"occupationUri": "http://x.test/o"}}]},
            "work[0].x-rapport.occupationUri: This is not one of the ESCO back-office occupations Rapport knows; "
            "search for the occupation.",
        ),
        (
            {"skills": [{"name": "Payroll", "level": "Expert"}] * 201},
            "skills: has 201 entries; at most 200 are accepted.",
        ),
    ],
)
def test_each_refusal_names_the_field(changes, expected):
    assert expected in errors_of(resume(**changes))


def test_every_problem_is_reported_at_once():
    document = resume(
        work=[
            {"position": "Clerk", "startDate": "2031"},
            {"position": "Clerk", "startDate": "2020", "endDate": "2019"},
        ],
        skills=[{"name": "Payroll", "level": "9"}],
    )
    assert [e.split(":")[0] for e in errors_of(document)] == ["work[0].startDate", "work[1].endDate", "skills[0].level"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"basics": {"label": "Caf\xe9 manager"}}', "The file is not UTF-8 text (line 1"),
        (b'{"work": [}', "The file is not valid JSON"),
        (b"[1, 2]", "A JSON Resume is one JSON object"),
        (b'{"x": NaN}', "The file is not valid JSON"),
        (b" " * (jsonresume.MAX_BYTES + 1), "The file is larger than 1 MB"),
    ],
)
def test_files_that_are_not_utf8_json_objects_are_refused(raw, expected):
    assert any(e.startswith(expected) for e in errors_of(raw))


def test_a_byte_order_mark_is_accepted():
    assert jsonresume.check_resume(b"\xef\xbb\xbf" + resume_bytes(), today=TODAY).ok


# --- Pages ------------------------------------------------------------------------------------------


def test_upload_preview_then_import_replaces_only_earlier_json_resume_rows(app, recruiter, tenant_a):
    base = f"/candidates/{tenant_a.candidate_id}"
    response = post(recruiter, app, f"{base}/skills/edit", {"given_name": "Payroll", "level": "3"})
    assert response.status_code == 302
    before = counts(app)

    preview = upload(recruiter, app, f"{base}/resume", resume_bytes())
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Nothing is imported until you confirm" in page
    assert "Accounts payable clerk" in page
    assert counts(app) == before  # the preview writes nothing

    document = resume()
    done = post(recruiter, app, f"{base}/resume/confirm", {"document": resume_bytes(document).decode()})
    assert done.status_code == 302
    after = counts(app)
    assert after["candidate_skill"] == before["candidate_skill"] + 4
    assert after["candidate_education"] == before["candidate_education"] + 2
    assert after["candidate_experience"] == before["candidate_experience"] + 2
    assert after["candidate_language"] == before["candidate_language"] + 2

    profile = recruiter.get(base).get_data(as_text=True)
    assert "Accounts payable clerk, six years in shared services" in profile
    assert "JSON Resume" in profile and "Recruiter" in profile
    assert "Skill and occupation labels: ESCO classification" in profile

    # A second import replaces the first one's rows and keeps the recruiter's.
    smaller = resume(work=[], education=[], languages=[], skills=[{"name": "Sage 200", "level": "Expert"}])
    post(recruiter, app, f"{base}/resume/confirm", {"document": resume_bytes(smaller).decode()})
    final = counts(app)
    assert final["candidate_skill"] == before["candidate_skill"] + 1
    assert final["candidate_experience"] == before["candidate_experience"]
    assert ("candidate.imported", tenant_a.candidate_id, tenant_a.recruiter["public_id"]) in audit_actions(app)


BAD_FILES = {
    "schema break": resume(work=[{"position": ["not", "text"], "startDate": "2020"}]),
    "future date": resume(work=[{"position": "Clerk", "startDate": "2099-01"}]),
    "end before start": resume(work=[{"position": "Clerk", "startDate": "2021", "endDate": "2019"}]),
    "unknown ISCED level": resume(education=[{"studyType": "Bachelor", "x-rapport": {"iscedLevel": 11}}]),
    "unplaceable study type": resume(education=[{"studyType": "Certificate"}]),
    "skill level 9": resume(skills=[{"name": "Payroll", "level": "9"}]),
    "too many entries": resume(languages=[{"language": "English"}] * 201),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_imports_nothing_and_lists_its_problems(app, recruiter, tenant_a, name):
    base = f"/candidates/{tenant_a.candidate_id}"
    before = counts(app)
    response = upload(recruiter, app, f"{base}/resume", resume_bytes(BAD_FILES[name]))
    assert response.status_code == 422
    assert "Nothing was imported" in response.get_data(as_text=True)
    # Even a forged confirmation of the bad document is checked again and refused.
    forged = post(recruiter, app, f"{base}/resume/confirm", {"document": resume_bytes(BAD_FILES[name]).decode()})
    assert forged.status_code == 422
    assert counts(app) == before
    assert audit_actions(app) == []


def test_a_file_in_another_encoding_is_refused_on_the_page(app, recruiter, tenant_a):
    raw = resume_bytes(resume(basics={"label": "Café manager"})).decode().encode("latin-1")
    before = counts(app)
    response = upload(recruiter, app, f"/candidates/{tenant_a.candidate_id}/resume", raw)
    assert response.status_code == 422
    assert "not UTF-8" in response.get_data(as_text=True)
    assert counts(app) == before


def test_another_agencys_candidate_cannot_be_imported_into(app, recruiter, tenant_b):
    before = counts(app)
    base = f"/candidates/{tenant_b.candidate_id}"
    assert upload(recruiter, app, f"{base}/resume", resume_bytes()).status_code == 404
    assert post(recruiter, app, f"{base}/resume/confirm", {"document": resume_bytes().decode()}).status_code == 404
    assert counts(app) == before
