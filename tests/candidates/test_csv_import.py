"""CSV import of candidates with profiles: the checks by line and column, all or nothing, updates, the pages."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from candidates import csv_import
from candidates.csv_import import CsvFileError
from candidates.models import Candidate
from database import db, unit_of_work, utcnow
from tests.candidates.conftest import audit_actions, counts, upload

TODAY = date(2026, 11, 23)
HEADER = "name,email,headline,skills,education_level,education_field,job_title,employer,industry,job_start,job_end,fte"
# Fictional back-office people.
PEOPLE = (
    "Noor Haddad,noor.haddad@example.org,Payroll officer,Payroll:4;Microsoft Excel:Advanced,6,Business,"
    "Payroll officer,Calder Foods,C,2020-04,,80",
    "Tomasz Kowalski,tomasz.kowalski@example.org,,ServiceNow:3,4,IT support,IT service desk analyst,"
    "Brightline Energy,D,2018,2023-06,100%",
    "Grace Mensah,grace.mensah@example.org,HR administrator,,,,,,,,,",
)


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


def check(raw: bytes, agency_id: int = 0):
    return csv_import.check_csv(raw, agency_id=agency_id, today=TODAY)


def test_good_rows_become_candidates_with_profiles(ctx):
    report = check(csv_bytes(*PEOPLE))
    assert report.ok, [str(e) for e in report.errors]
    noor, tomasz, grace = report.rows
    assert (noor.line, noor.name, noor.email) == (2, "Noor Haddad", "noor.haddad@example.org")
    assert [(s.given_name, s.level) for s in noor.profile.skills] == [("Payroll", 4), ("Microsoft Excel", 4)]
    (job,) = noor.profile.experience
    assert (job.role, job.employer, job.industry, job.start_date, job.end_date, job.fte) == (
        "Payroll officer",
        "Calder Foods",
        "C",
        date(2020, 4, 1),
        None,
        0.8,
    )
    assert tomasz.profile.experience[0].end_date == date(2023, 6, 30)
    assert tomasz.profile.experience[0].fte == 1.0
    assert tomasz.profile.headline is None
    assert (tomasz.profile.education[0].isced_level, tomasz.profile.education[0].field) == (4, "IT support")
    assert grace.profile == csv_import.ImportedProfile(headline="HR administrator")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("Noor Haddad,,,,,,,,,,,", "line 2, column email: Enter the email address."),
        (",noor@example.org,,,,,,,,,,", "line 2, column name: Enter the name."),
        ("Noor Haddad,not-an-address,,,,,,,,,,", "line 2, column email: The email address is not valid"),
        ("=HYPERLINK(1),noor@example.org,,,,,,,,,,", "line 2, column name: Starts with “=”"),
        ("Noor,noor@example.org,,Payroll:9,,,,,,,,", "line 2, column skills: The level of “Payroll” is 9; use 1 to 5."),
        ("Noor,noor@example.org,,Payroll,,,,,,,,", "line 2, column skills: “Payroll” has no level"),
        ("Noor,noor@example.org,,Payroll:Wizard,,,,,,,,", "line 2, column skills: The level of “Payroll” is “Wizard”"),
        ("Noor,noor@example.org,,,9,,,,,,,", "line 2, column education_level: “9” is not an ISCED 2011 level"),
        ("Noor,noor@example.org,,,,Business,,,,,,", "line 2, column education_level: Give the ISCED level"),
        ("Noor,noor@example.org,,,,,,Calder Foods,,,,", "line 2, column job_title: Give the job title"),
        ("Noor,noor@example.org,,,,,Clerk,,,,,", "line 2, column job_start: The start date is missing"),
        ("Noor,noor@example.org,,,,,Clerk,,,2099-01,,", "line 2, column job_start: 2099-01 is in the future."),
        ("Noor,noor@example.org,,,,,Clerk,,,2021,2019,", "line 2, column job_end: 2019 is before the start date 2021."),
        ("Noor,noor@example.org,,,,,Clerk,,,2021-02-30,,", "line 2, column job_start: “2021-02-30” is not a real"),
        ("Noor,noor@example.org,,,,,Clerk,,Z,2021,,", "line 2, column industry: “Z” is not a NACE section"),
        ("Noor,noor@example.org,,,,,Clerk,,,2021,,0.5", "line 2, column fte: “0.5” is not a share of full time"),
        ("Noor,noor@example.org,,,,,Clerk,,,2021,,150", "line 2, column fte: “150” is not a share of full time"),
        ("Noor,noor@example.org,,,,,,,,,,,extra", "line 2, column number 13: This row has more cells"),
    ],
)
def test_each_problem_names_its_line_and_column(ctx, row, expected):
    report = check(csv_bytes(row))
    assert not report.ok
    assert any(str(error).startswith(expected) for error in report.errors), [str(e) for e in report.errors]


def test_unknown_or_repeated_columns_and_repeated_addresses_are_problems(ctx):
    report = check(csv_bytes("Noor,noor@example.org,x", "Noor H,NOOR@example.org,y", header="name,email,skils"))
    assert [str(e) for e in report.errors][:1] == [
        "line 1, column skils: Unknown column. The columns are: " + ", ".join(csv_import.COLUMNS) + "."
    ]
    report = check(csv_bytes("Noor,noor@example.org", "Noor H,NOOR@example.org", header="name,email"))
    assert [str(e) for e in report.errors] == [
        "line 3, column email: The same address as line 2; list each candidate once."
    ]
    report = check(csv_bytes("Noor,noor@example.org,a,b", header="name,email,headline,headline"))
    assert "line 1, column headline: This column is named twice; keep one." in [str(e) for e in report.errors]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("name,email\r\nNoor,noor@example.org\r\nZoë,zoe@example.org".encode("latin-1"), "not UTF-8 text: line 3"),
        (
            "name,email\r\nZoë,zoe@example.org\r\n".encode() + "Zoë,zoe2@example.org\r\n".encode("latin-1"),
            "another encoding or mixes encodings",
        ),
        ("name,email\r\n".encode("utf-16"), "not UTF-8 text"),
        (b"", "The file is empty"),
        (b"headline\r\nx\r\n", "no name or email column"),
        (b"name,email\r\n", "no candidates below it"),
        (b"name,email\r\n" + b"x" * csv_import.MAX_FILE_BYTES, "larger than 2 MB"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(ctx, raw, expected):
    with pytest.raises(CsvFileError, match=expected):
        check(raw)


def test_more_than_5000_rows_are_refused(ctx):
    rows = [f"Person {n},p{n}@example.org" for n in range(csv_import.MAX_ROWS + 1)]
    with pytest.raises(CsvFileError, match="more than 5,000 rows"):
        check(csv_bytes(*rows, header="name,email"))


def test_a_byte_order_mark_and_any_column_order_are_accepted(ctx):
    report = check(b"\xef\xbb\xbf" + csv_bytes("noor@example.org,Noor Haddad", header="Email, NAME "))
    assert report.ok
    assert report.rows[0].name == "Noor Haddad"


def test_the_error_report_neutralises_formulas():
    errors = [csv_import.RowError(2, "skills", "=cmd|' /C calc'!A0"), csv_import.RowError(3, "@name", "+1")]
    lines = list(csv.reader(io.StringIO(csv_import.error_report_csv(errors))))
    assert lines == [["line", "column", "reason"], ["2", "skills", "'=cmd|' /C calc'!A0"], ["3", "'@name", "'+1"]]


def test_existing_addresses_update_only_the_rows_of_earlier_csv_imports(ctx, candidate, staff):
    from candidates import services

    with unit_of_work():
        services.add_skill(candidate, given_name="Minute taking", level=3, source="recruiter", now=utcnow())
    email = candidate.email
    row = f"Renamed Person,{email.upper()},Office manager,Payroll:2,,,Clerk,,,2020,,"
    first = check(csv_bytes(row), candidate.agency_id)
    assert first.ok and first.existing == 1
    with unit_of_work():
        done = csv_import.import_rows(first, candidate.agency_id, by=staff, now=utcnow())
    assert (done.created, done.updated) == (0, 1)
    second = check(csv_bytes(f"Renamed Person,{email},,Payroll:5,,,,,,,,"), candidate.agency_id)
    with unit_of_work():
        csv_import.import_rows(second, candidate.agency_id, by=staff, now=utcnow())
    db.session.expire_all()
    assert candidate.name != "Renamed Person"  # the name is left as it is
    assert candidate.headline == "Office manager"  # an empty headline cell changes nothing
    assert sorted((s.given_name, s.level, s.source) for s in candidate.skills) == [
        ("Minute taking", 3, "recruiter"),
        ("Payroll", 5, "csv"),
    ]
    assert candidate.experience == []  # the first file's job came from a CSV and the second has none


# --- Pages ------------------------------------------------------------------------------------------


def test_a_good_file_is_imported_from_the_list_page(app, recruiter, tenant_a):
    assert "Import candidates from a CSV file" in recruiter.get("/candidates").get_data(as_text=True)
    before = counts(app)
    response = upload(recruiter, app, "/candidates/import", csv_bytes(*PEOPLE), "people.csv")
    assert response.status_code == 302
    page = recruiter.get("/candidates").get_data(as_text=True)
    assert "Imported 3 candidates: 3 new, 0 updated." in page
    after = counts(app)
    assert after["candidate"] == before["candidate"] + 3
    assert after["candidate_skill"] == before["candidate_skill"] + 3
    assert after["candidate_experience"] == before["candidate_experience"] + 2
    assert after["candidate_education"] == before["candidate_education"] + 2
    imported = [a for a in audit_actions(app) if a[0] == "candidate.imported"]
    assert len(imported) == 3
    with app.app_context():
        names = set(db.session.scalars(select(Candidate.name).where(Candidate.public_id.in_([a[1] for a in imported]))))
    assert names == {"Noor Haddad", "Tomasz Kowalski", "Grace Mensah"}


def test_a_file_with_one_bad_row_imports_nothing_and_offers_the_problems_as_csv(app, recruiter):
    before = counts(app)
    bad = "Sam Lee,sam.lee@example.org,,=SUM(A1):9,,,,,,,,"
    response = upload(recruiter, app, "/candidates/import", csv_bytes(*PEOPLE, bad), "people.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported. 1 problem found." in page
    assert "line 5, column skills: Starts with “=”" in page
    assert counts(app) == before
    assert audit_actions(app) == []
    url = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)" download', page)
    assert url is not None
    report = base64.b64decode(url.group(1)).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(report)))[1][:2] == ["5", "skills"]


@pytest.mark.parametrize(
    "raw",
    [
        "name,email\r\nZoë Brown,zoe@example.org\r\n".encode("cp1252"),
        "name,email\r\nZoë Brown,zoe@example.org\r\n".encode() + "Zoë Green,zoe.g@example.org\r\n".encode("cp1252"),
    ],
    ids=["windows-1252", "mixed"],
)
def test_other_or_mixed_encodings_are_refused_on_the_page(app, recruiter, raw):
    before = counts(app)
    response = upload(recruiter, app, "/candidates/import", raw, "people.csv")
    assert response.status_code == 422
    assert "not UTF-8 text" in response.get_data(as_text=True)
    assert counts(app) == before


def test_the_upload_needs_a_file(app, recruiter):
    from tests.conftest import post

    response = post(recruiter, app, "/candidates/import", {}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a CSV file to upload." in response.get_data(as_text=True)
