"""Candidate profiles and fit in a real browser (issue 7, point 9): a recruiter enters a profile by hand
(a skill matched to the vocabulary with a click, a job with an ESCO occupation and a NACE industry,
education and a language), imports a JSON Resume file (and sees a broken one refused with its JSON
paths), and reads a position's ranking, one candidate's fit, a comparison, the job profile editor and
the skill-transfer table; forms work from the keyboard and no page scrolls sideways on a 360-pixel phone.

Each check() also runs axe, asserts a clean console and saves a screenshot to docs/screenshots/.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, LivePage, focused, sideways, tab_to
from tests.conftest import Tenant

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 800}
CANDIDATE = ("Maya Lindqvist", "maya.lindqvist@example.org", "Accounts payable clerk in a shared service centre")
RESUME_CANDIDATE = ("Owen Brightwater", "owen.brightwater@example.org")
DEMO_RECRUITER = ("recruiter@northbridge.example", "silver-fern-meadow")
DEMO_POSITION = "Accounts payable clerk"
SURPRISING = "Nia Campbell"
# The demo's ranking, highest fit first: Alex Morgan has not taken the test (people skills drop out),
# Nia Campbell and Kiran Shah are surprising matches through reviewed transfer rows.
RANKING = ["Alex Morgan", "Nia Campbell", "Kiran Shah", "Robin Okoye", "Jordan Ellis"]
FITS = [98, 77, 72, 47, 40]

# A fictional back-office person's JSON Resume (https://jsonresume.org/schema), valid in every part.
RESUME: dict[str, Any] = {
    "$schema": "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json",
    "basics": {
        "name": "Owen Brightwater",
        "label": "Payroll and accounts administrator",
        "email": "owen.brightwater@example.org",
        "location": {"city": "Leeds", "countryCode": "GB"},
    },
    "work": [
        {
            "name": "Kestrel Facilities Management",
            "position": "Payroll and accounts administrator",
            "startDate": "2020-04",
            "summary": "Monthly payroll for 450 staff and supplier invoice processing.",
            "highlights": ["Moved timesheets from paper to the payroll system"],
            "x-rapport": {"industry": "N", "fte": 0.8},
        },
        {
            "name": "Aire Valley Council",
            "position": "Finance assistant",
            "startDate": "2016-09-01",
            "endDate": "2020-03-31",
            "summary": "Raised purchase orders and matched invoices to deliveries.",
            "x-rapport": {"industry": "O"},
        },
    ],
    "education": [
        {
            "institution": "Leeds City College",
            "area": "Accounting",
            "studyType": "AAT Level 3 Diploma",
            "endDate": "2016",
            "x-rapport": {"iscedLevel": 4},
        }
    ],
    "skills": [
        {"name": "Payroll", "level": "Advanced", "keywords": ["PAYE", "pensions auto-enrolment"]},
        {"name": "Invoice processing", "level": "Intermediate"},
        {"name": "Microsoft Excel", "level": "Advanced", "keywords": ["pivot tables"]},
    ],
    "languages": [{"language": "English", "fluency": "Native speaker"}, {"language": "Welsh", "fluency": "B1"}],
}


# --- Helpers ------------------------------------------------------------------------------------


def phone_fits(b: LivePage, name: str) -> None:
    """Nothing on the page is wider than a 360-pixel phone (a wide table scrolls inside its own box)."""
    b.page.set_viewport_size(PHONE)
    wide = sideways(b.page, PHONE["width"])
    b.page.set_viewport_size(DESKTOP)
    assert not wide, f"{name}: the page scrolls sideways on a 360-pixel phone: {wide}"


def check_both(b: LivePage, name: str, status: int = 200) -> None:
    """check() on the desktop, then on a 360-pixel phone (`name`-phone); neither scrolls sideways."""
    page = b.page
    wide = sideways(page, DESKTOP["width"])
    assert not wide, f"{name}: the page is wider than the window: {wide}"
    b.check(name, status)
    page.set_viewport_size(PHONE)
    wide = sideways(page, PHONE["width"])
    assert not wide, f"{name}: the page scrolls sideways on a 360-pixel phone: {wide}"
    b.check(f"{name}-phone", status)
    page.set_viewport_size(DESKTOP)


def flash(page: Page) -> Locator:
    return page.locator(".flashes")


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def resume_candidate(app: Flask, tenant_a: Tenant) -> str:
    """A candidate with no profile yet, for the JSON Resume import."""
    from accounts.models import Agency, User
    from candidates import services
    from database import db, unit_of_work, utcnow

    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        recruiter = db.session.scalar(select(User).where(User.public_id == tenant_a.recruiter["public_id"]))
        candidate = services.create_candidate(
            agency.id, name=RESUME_CANDIDATE[0], email=RESUME_CANDIDATE[1], headline="", by=recruiter, now=utcnow()
        )
        return candidate.public_id


@pytest.fixture
def demo(app: Flask, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The demo agency (demo.py): the accounts payable clerk position and its five candidates with profiles
    (three submitted), without the earlier cohort of 48 attempts with no profile, which would crowd the
    ranking's screenshot."""
    import demo
    from database import db, utcnow
    from positions.models import Position

    monkeypatch.setattr(demo, "_demo_cohort", lambda agency, now: None)
    with app.app_context():
        demo.seed_demo(utcnow())
        position = db.session.scalar(select(Position).where(Position.title == DEMO_POSITION))
        return {"position": position.public_id}


# --- 1. Entering a profile ------------------------------------------------------------------------


def test_a_recruiter_enters_a_profile_by_hand(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    nav = page.get_by_role("navigation", name="Main")
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])

    nav.get_by_role("link", name="Candidates").click()
    expect(heading).to_have_text("Candidates")
    expect(page.get_by_text("1 candidate.", exact=True)).to_be_visible()  # the tenant's own
    check_both(b, "profile-candidates-before")

    # --- A new candidate, with the keyboard only ------------------------------------------------
    page.get_by_role("link", name="Add a candidate").click()
    expect(heading).to_have_text("Add a candidate")
    check_both(b, "profile-candidate-new")
    page.locator("body").focus()
    walk = tab_to(page, name="name")
    assert [step["text"] for step in walk[:1]] == ["Skip to main content"], walk[:2]
    page.keyboard.type(CANDIDATE[0])
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "email"
    page.keyboard.type(CANDIDATE[1])
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "headline"
    page.keyboard.type(CANDIDATE[2])
    page.keyboard.press("Tab")
    assert focused(page) == {"tag": "button", "name": "", "type": "submit", "text": "Add candidate"}
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(heading).to_have_text(CANDIDATE[0])
    expect(flash(page)).to_contain_text("Candidate added.")
    profile_url = page.url

    # --- A skill in free text, then a vocabulary suggestion confirmed with a click ---------------
    page.get_by_role("link", name="Add a skill").click()
    expect(heading).to_contain_text("Add a skill")
    page.get_by_label("Skill", exact=True).fill("accounts payable")
    page.get_by_role("radio", name="4: Advanced").check()
    page.get_by_label("Evidence", exact=True).select_option(label="CV")
    page.get_by_label("Evidence details").fill("Six years of supplier invoices and payment runs")
    check_both(b, "profile-skill-form")
    page.get_by_role("button", name="Save skill").click()
    expect(flash(page)).to_contain_text("Confirm one of the suggested matches below")
    skills = page.locator("#skills")
    row = skills.get_by_role("row").filter(has_text="accounts payable")
    expect(row).to_contain_text("Not matched yet. Suggestions:")
    expect(row.get_by_role("button", name=re.compile("^Confirm"))).to_have_count(2)
    expect(row).to_contain_text("known alias of 'handle financial transactions'")
    expect(row).to_contain_text("Recruiter")
    check_both(b, "profile-candidate-suggestions")

    row.get_by_role("button", name="Confirm “handle financial transactions” for accounts payable").click()
    expect(flash(page)).to_contain_text("“accounts payable” is now matched to “handle financial transactions”.")
    expect(row).to_contain_text("Matched: handle financial transactions")
    expect(row.get_by_role("button", name="Undo match for accounts payable")).to_be_visible()

    # --- A job: an ESCO occupation from the search, a NACE industry; a bad date first -----------
    page.get_by_role("link", name="Add a job").click()
    expect(heading).to_contain_text("Add a job")
    page.get_by_label("Job title").fill("Accounts payable clerk")
    page.get_by_label("Employer", exact=True).fill("Fjord Shared Services")
    page.get_by_label("Employer's industry (NACE section)").select_option("N")
    page.get_by_label("Search ESCO occupations").fill("accounting")
    page.get_by_role("button", name="Search occupations").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^\d+ occupations found\.$"))
    occupation = page.get_by_role("radio", name="accounting assistant (ISCO 3313)")
    expect(occupation).to_be_visible()
    # What was typed survives the search.
    expect(page.get_by_label("Job title")).to_have_value("Accounts payable clerk")
    expect(page.get_by_label("Employer's industry (NACE section)")).to_have_value("N")
    check_both(b, "profile-job-occupation-results")
    occupation.check()
    page.get_by_label("Start date").fill("2021-06-01")
    page.get_by_label("End date").fill("2020-01-31")
    page.get_by_label("Share of full time (%)").fill("80")
    page.get_by_label("Responsibilities").fill("Supplier invoices\nWeekly payment runs")
    page.get_by_role("button", name="Save job").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem. Nothing was saved.")
    end = page.get_by_label("End date")
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#end_date-error")).to_have_text(
        "The end date 31 January 2020 is before the start date 01 June 2021."
    )
    expect(page.get_by_role("radio", name="accounting assistant (current choice)")).to_be_checked()
    check_both(b, "profile-job-end-before-start", status=422)
    page.goto(profile_url)
    expect(page.locator("#experience")).to_contain_text("No experience yet.")

    page.get_by_role("link", name="Add a job").click()
    page.get_by_label("Job title").fill("Accounts payable clerk")
    page.get_by_label("Employer", exact=True).fill("Fjord Shared Services")
    page.get_by_label("Employer's industry (NACE section)").select_option("N")
    page.get_by_label("Search ESCO occupations").fill("accounting")
    page.get_by_role("button", name="Search occupations").click()
    page.get_by_role("radio", name="accounting assistant (ISCO 3313)").check()
    page.get_by_label("Start date").fill("2019-03-01")
    page.get_by_label("Share of full time (%)").fill("80")
    page.get_by_role("button", name="Save job").click()
    expect(flash(page)).to_contain_text("Experience saved.")
    job = page.locator("#experience").get_by_role("row").filter(has_text="Fjord Shared Services")
    expect(job).to_contain_text("accounting assistant")
    expect(job).to_contain_text("N: Administrative and support service activities")
    expect(job).to_contain_text("Mar 2019 to now")
    expect(job).to_contain_text("80%")
    expect(job).to_contain_text("Recruiter")

    # --- Education (ISCED) and a language --------------------------------------------------------
    page.get_by_role("link", name="Add education").click()
    page.get_by_label("Level (ISCED 2011)").select_option(label="5: Short-cycle tertiary education")
    page.get_by_label("Field of study").fill("Accounting")
    page.get_by_label("Institution").fill("Bergen Business College")
    page.get_by_label("Year completed").fill("2018")
    page.get_by_role("button", name="Save education").click()
    expect(flash(page)).to_contain_text("Education saved.")
    school = page.locator("#education").get_by_role("row").filter(has_text="Bergen Business College")
    expect(school).to_contain_text("5: Short-cycle tertiary education")
    expect(school).to_contain_text("Recruiter")

    # The language form, from the keyboard: Tab to each field, type, and submit with Enter.
    page.get_by_role("link", name="Add a language").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(heading).to_contain_text("Add a language")
    check_both(b, "profile-language-form")
    tab_to(page, name="language")
    page.keyboard.type("Norwegian")
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "fluency"
    page.keyboard.type("Native")  # a closed select box picks the option whose label starts so
    expect(page.get_by_label("Fluency")).to_have_value("native")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Save language"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(flash(page)).to_contain_text("Language saved.")
    language = page.locator("#languages").get_by_role("row").filter(has_text="Norwegian")
    expect(language).to_contain_text("Native or bilingual")
    expect(language).to_contain_text("Recruiter")

    expect(page.locator("#skills-title")).to_have_text("Skills (1)")
    expect(page.locator("#education-title")).to_have_text("Education (1)")
    expect(page.locator("#experience-title")).to_have_text("Experience (1)")
    expect(page.locator("#languages-title")).to_have_text("Languages (1)")
    check_both(b, "profile-candidate-complete")

    nav.get_by_role("link", name="Candidates").click()
    expect(page.get_by_role("row").filter(has_text=CANDIDATE[0])).to_contain_text("4 of 4 sections")
    check_both(b, "profile-candidates")


# --- 2. Importing a JSON Resume -------------------------------------------------------------------


def upload(page: Page, document: Any, name: str = "resume.json") -> None:
    page.get_by_label("JSON Resume file").set_input_files(
        {"name": name, "mimeType": "application/json", "buffer": json.dumps(document, indent=2).encode("utf-8")}
    )
    page.get_by_role("button", name="Check the file").click()


def test_a_recruiter_imports_a_json_resume_and_a_broken_one_is_refused(
    browser_page: LivePage, tenant_a: Tenant, resume_candidate: str
) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])
    b.goto(f"/candidates/{resume_candidate}")
    expect(heading).to_have_text(RESUME_CANDIDATE[0])
    page.get_by_role("link", name="Import a JSON Resume").click()
    expect(heading).to_contain_text("Import a JSON Resume")
    check_both(b, "resume-upload")

    # A broken file: `work` is a string, and a skill's level is a number. Nothing is imported.
    broken = {**RESUME, "work": "Kestrel Facilities Management, 2020 to now"}
    broken["skills"] = [{"name": "Payroll", "level": 4}]
    upload(page, broken, "broken.json")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was imported.")
    problems = page.locator(".import-errors li")
    expect(problems).to_have_text(
        [
            "skills[0].level: 4 is not of type 'string'.",
            "work: \"Kestrel Facilities Management, 2020 to now\" is not of type 'array'.",
        ]
    )
    check_both(b, "resume-broken", status=422)
    page.get_by_role("link", name=f"Back to {RESUME_CANDIDATE[0]}").click()
    for section in ("Skills", "Education", "Experience", "Languages"):
        expect(page.get_by_role("heading", name=f"{section} (0)")).to_be_visible()

    # The good file: a preview to confirm, then the rows, each marked as from the JSON Resume.
    page.get_by_role("link", name="Import a JSON Resume").click()
    upload(page, RESUME, "owen-brightwater.json")
    expect(heading).to_contain_text("Check the import")
    expect(page.get_by_role("status")).to_have_text("The file is valid. Nothing is imported until you confirm.")
    expect(page.get_by_text("this is what candidates see")).to_have_count(0)  # not the assessment preview
    changes = page.get_by_role("table")
    expect(changes.get_by_role("row").filter(has_text="Skills")).to_contain_text("3")
    expect(changes.get_by_role("row").filter(has_text="Jobs")).to_contain_text("2")
    expect(page.get_by_text("The headline becomes “Payroll and accounts administrator”.")).to_be_visible()
    expect(page.get_by_text("“AAT Level 3 Diploma”: ISCED 4")).to_be_visible()
    check_both(b, "resume-preview")
    page.get_by_role("button", name="Import").click()
    expect(flash(page)).to_contain_text("JSON Resume imported: 8 rows added, 0 from the previous import replaced.")
    expect(heading).to_have_text(RESUME_CANDIDATE[0])
    expect(page.get_by_text("Payroll and accounts administrator").first).to_be_visible()
    for section, count in (("Skills", 3), ("Education", 1), ("Experience", 2), ("Languages", 2)):
        expect(page.get_by_role("heading", name=f"{section} ({count})")).to_be_visible()
    job = page.locator("#experience").get_by_role("row").filter(has_text="Kestrel Facilities Management")
    expect(job).to_contain_text("N: Administrative and support service activities")
    expect(job).to_contain_text("80%")
    expect(job).to_contain_text("JSON Resume")
    expect(page.locator("#education").get_by_role("row").filter(has_text="AAT Level 3 Diploma")).to_contain_text(
        "4: Post-secondary non-tertiary education"
    )
    payroll = page.locator("#skills").get_by_role("row").filter(has_text="Payroll")
    expect(payroll).to_contain_text("4 of 5")
    expect(payroll).to_contain_text("JSON Resume")
    expect(payroll).to_contain_text("Not matched yet.")
    expect(page.locator("#languages").get_by_role("row").filter(has_text="Welsh")).to_contain_text(
        "Intermediate (CEFR B1)"
    )
    check_both(b, "resume-imported")


# --- 3. Reading the ranking -------------------------------------------------------------------------


def test_a_recruiter_reads_the_ranking_a_candidates_fit_and_a_comparison(
    browser_page: LivePage, demo: dict[str, str]
) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    b.goto("/login")
    b.sign_in(*DEMO_RECRUITER)

    # --- The job profile and the transfer table behind the fit ---------------------------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Positions").click()
    page.get_by_role("link", name=DEMO_POSITION, exact=True).click()
    expect(heading).to_have_text(DEMO_POSITION)
    expect(page.get_by_text("Job profile version 1")).to_be_visible()
    expect(page.get_by_label("Required skill 1", exact=True)).to_have_value("allocate bills")
    expect(page.get_by_label("Weight of required skill 1")).to_have_value("3")
    expect(page.get_by_label("Ask for Professionalism")).to_be_checked()
    expect(page.get_by_label("Minimum education level (ISCED 2011)")).to_have_value("4")
    expect(page.get_by_label("H: Transportation and storage")).to_be_checked()
    check_both(b, "fit-position-profile")

    page.get_by_role("link", name="The agency's skill-transfer table").click()
    expect(heading).to_have_text("Skill-transfer table")
    expect(page.get_by_text("Only the agency's admins can change the table.")).to_be_visible()
    phone_fits(b, "fit-transfers (all rows)")
    page.get_by_label("Search either skill").fill("bills")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("3 rows matching “bills”.")).to_be_visible()
    nia_row = page.get_by_role("row").filter(has_text="record healthcare users' billing information")
    expect(nia_row).to_contain_text("allocate bills")
    expect(nia_row).to_contain_text("0.65")
    expect(nia_row).to_contain_text("Expert review")
    check_both(b, "fit-transfers")

    # --- The ranking --------------------------------------------------------------------------
    b.goto(f"/positions/{demo['position']}")
    page.get_by_role("link", name="Candidates ranked by fit").click()
    expect(heading).to_have_text(f"Candidates by fit: {DEMO_POSITION}")
    expect(page.get_by_text("Nothing here rejects anyone: a person decides.")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Showing 5 of 5 candidates.")
    ranking = page.get_by_role("region", name="Candidates ranked by fit")
    names = ranking.locator("tbody th[scope=row] a")
    expect(names).to_have_text(RANKING)
    fits = ranking.locator("tbody tr td:nth-of-type(1)")
    expect(fits).to_have_text([re.compile(rf"^{points}\b") for points in FITS])
    nia = ranking.get_by_role("row").filter(has_text=SURPRISING)
    expect(nia.get_by_text("Surprising match", exact=True)).to_be_visible()
    expect(nia).to_contain_text("Allocate bills via record healthcare users' billing information (transfer 0.65)")
    expect(nia).to_contain_text("Identify accounting errors (min level 3): closing it would add 5.0 points")
    expect(nia).to_contain_text("none set")  # the gates: this position sets no mandatory requirement
    expect(ranking.get_by_role("row").filter(has_text="Alex Morgan")).to_contain_text("People skills not yet assessed")
    check_both(b, "fit-ranking")

    # One filter, from the keyboard: a Tab walk through the filter form, Space ticks, Enter applies.
    page.get_by_label("Minimum fit (0-100)").focus()
    walk = [focused(page)["name"]]
    for _ in range(5):
        page.keyboard.press("Tab")
        walk.append(focused(page)["name"] or focused(page)["text"])
    assert walk == ["min", "gates", "surprising", "assessed", "sort", "Apply"], walk
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused(page)["name"] == "surprising"
    page.keyboard.press("Space")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"surprising=1"))
    expect(page.get_by_role("status")).to_contain_text(
        "Showing 2 of 5 candidates (3 left out by the filters you chose)."
    )
    expect(names).to_have_text([SURPRISING, "Kiran Shah"])
    expect(page.get_by_label("Surprising matches only")).to_be_checked()
    check_both(b, "fit-ranking-surprising")
    page.get_by_role("link", name="Clear filters").click()
    expect(names).to_have_count(5)

    # --- One candidate's fit: requirement, evidence, source, credit, rule ---------------------
    page.get_by_role("link", name=SURPRISING).click()
    expect(heading).to_have_text(f"{SURPRISING}: fit for {DEMO_POSITION}")
    expect(page.get_by_role("heading", name="Overall fit: 77 out of 100")).to_be_visible()
    expect(page.get_by_role("heading", name="Surprising match: yes")).to_be_visible()
    lines = page.get_by_role("table", name="Required skills: requirement, evidence, source, credit and rule")
    expect(lines.locator("thead th")).to_have_text(
        ["Requirement", "Weight", "Candidate evidence", "Source", "Credit", "Rule"]
    )
    bills = lines.get_by_role("row").filter(has_text="Allocate bills (min level 3)")
    expect(bills.get_by_role("cell")).to_have_text(
        [
            "3",
            "'record healthcare users' billing information' level 4 (CV): Coded and billed 60 patient episodes a day",
            "CV",
            "0.65",
            re.compile(r"^transfer: Allocate bills credited 0.65 via 'record healthcare users' billing information'"),
        ]
    )
    expect(page.get_by_role("link", name="Open the candidate's profile")).to_be_visible()
    check_both(b, "fit-candidate")

    # --- The comparison of three --------------------------------------------------------------
    page.get_by_role("link", name=f"All candidates for {DEMO_POSITION}").click()
    for name in RANKING[:3]:
        page.get_by_label(f"Compare {name}").check()
    page.get_by_role("button", name="Compare the chosen candidates").click()
    expect(heading).to_have_text(f"Compare candidates: {DEMO_POSITION}")
    side_by_side = page.get_by_role("region", name="Candidates side by side")
    expect(side_by_side.locator("thead th")).to_have_text(RANKING[:3])
    expect(side_by_side.get_by_role("row").filter(has_text="Surprising match")).to_contain_text(
        "Maintain financial records via manage the general ledger (transfer 0.85)"
    )
    expect(side_by_side.get_by_role("row", name=re.compile("^Fit"))).to_contain_text("98")
    check_both(b, "fit-compare")
