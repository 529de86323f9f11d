"""Authoring in a real browser (issue 3, point 12): a recruiter writes a scenario with the live preview,
keys it, publishes it, adds a position, builds an assessment that meets the coverage minimum, publishes
it and previews it as a candidate; and the import page lists a bad file's problems with their lines.

Each check() also runs axe, asserts a clean console and saves a screenshot to docs/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, MOBILE, LivePage
from tests.conftest import Tenant, make_scenario

pytestmark = pytest.mark.browser

CODE = "SJT-101"
STEM = (
    "You work on the front desk of a busy office. You share the job with a colleague who works the late shift. "
    "When you arrive on Monday, you find a note from your colleague. It says that a courier will collect a "
    "parcel of signed contracts at ten. The note does not say where the parcel is. Your colleague is off today "
    "and does not answer the phone. The client who sent the contracts needs them back by noon. It is now nine, "
    "and three visitors are due before ten."
)
OPTIONS = {
    "A": "Look for the parcel on the desk and in the post room, and leave your colleague a message.",
    "B": "Tell the courier to come back tomorrow, and wait for your colleague to return to sort it out.",
    "C": "Ask your manager to find the parcel for you, and carry on greeting the visitors as usual.",
    "D": "Call the client to say the contracts may be late, and ask them to send a new signed copy.",
}
RATIONALES = {
    "A": "Solves the problem in time and closes the loop with the colleague (P1+, C1+).",
    "B": "Lets the deadline pass although the parcel is probably close at hand (P1-, C6-).",
    "C": "Passes a small problem upward before trying to solve it (P5-, C4-).",
    "D": "Makes the client do extra work for a problem that is ours to solve (P1-).",
}
# Five experts; the key is A 5.60, B 1.80, C 3.40, D 1.60.
RATINGS = "Expert 1, 6, 2, 3, 1\nExpert 2, 5, 2, 4, 2\nExpert 3, 6, 1, 3, 2\nExpert 4, 5, 2, 3, 1\nExpert 5, 6, 2, 4, 2"
KEY = {"A": ("5.60", "0.55"), "B": ("1.80", "0.45"), "C": ("3.40", "0.55"), "D": ("1.60", "0.55")}  # value, SD
# The rank scenario's key (make_scenario's options carry the rationales "Rationale A" to "Rationale D").
RANK_KEY = (5.6, 4.5, 3.7, 2.1)
EXTRA = ("SJT-B1", "SJT-B2", "SJT-B3", "SJT-B4")
RANK = "SJT-R1"


@pytest.fixture
def bank(app: Flask, tenant_a: Tenant) -> None:
    """Four more professionalism-and-collaboration scenarios and a rank one, keyed and published."""
    from sqlalchemy import select

    from accounts.models import Agency
    from database import db, unit_of_work

    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        for code in EXTRA:
            make_scenario(agency, code, weights={"professionalism": 1.0, "collaboration": 1.0})
        make_scenario(
            agency, RANK, weights={"professionalism": 1.0, "communication": 0.5}, response_format="rank", key=RANK_KEY
        )


def active(page: Page) -> dict[str, str | bool]:
    """The focused element's name, value and checked state."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return {name: e.name || '', value: e.value || '', checked: !!e.checked}; }"
    )


def test_a_recruiter_writes_keys_and_publishes_a_scenario_then_builds_and_previews_an_assessment(
    browser_page: LivePage, tenant_a: Tenant, bank: None
) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    nav = page.get_by_role("navigation", name="Main")
    flash = page.locator(".flashes")  # successes are role=status, errors role=alert
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])

    # --- The bank, filtered -------------------------------------------------------------------
    nav.get_by_role("link", name="Scenarios").click()
    expect(heading).to_have_text("Scenario bank")
    expect(page.get_by_text("6 scenarios.")).to_be_visible()
    page.get_by_role("searchbox", name="Search").fill("SJT-B")
    page.get_by_label("Format").select_option(label="Rate each option 1-6")
    page.get_by_label("Status", exact=True).select_option(label="Operational")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"q=SJT-B.*format=rate.*status=operational"))
    expect(page.get_by_text("4 scenarios.")).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(5)  # the header and SJT-B1 to SJT-B4
    expect(page.get_by_role("link", name=RANK)).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="SJT-B1")).to_contain_text("Professionalism, Collaboration")
    b.check("scenario-bank")

    # --- Write a scenario, with the live preview ----------------------------------------------
    page.get_by_role("link", name="Write a scenario").click()
    expect(heading).to_have_text("Write a scenario")
    preview = page.locator("#preview")
    expect(preview).to_have_text("Write the situation and options to see the preview.")
    expect(page.get_by_label("Author", exact=True)).to_have_value(tenant_a.recruiter["name"])
    b.check("scenario-new")

    page.get_by_label("Scenario id").fill(CODE)
    page.get_by_label("Role", exact=True).select_option(label="Office administration")
    page.get_by_label("Role context").fill("Front desk administrator; shared desk across two shifts; courier pickups.")
    page.get_by_label("Situation type").select_option("S08")
    page.get_by_label("Situation (the stem)").fill(STEM)
    expect(preview.locator(".stem")).to_have_text(STEM)  # fetched by preview.js after a pause in typing
    expect(preview).to_contain_text("How effective is each response?")
    page.get_by_label("Response format").select_option(label="Rate each option 1-6")
    for label, text in OPTIONS.items():
        page.get_by_label(f"Option {label}", exact=True).fill(text)
        expect(preview.get_by_role("group", name=f"{label} {text}")).to_be_visible()
        page.get_by_label(f"Why option {label} is more or less effective").fill(RATIONALES[label])
    expect(preview.get_by_role("group")).to_have_count(4)
    expect(preview.get_by_role("radio")).to_have_count(24)
    expect(preview.get_by_role("radio", name="6 Very effective")).to_have_count(4)
    page.get_by_label("Professionalism").fill("1")
    page.get_by_label("Collaboration").fill("0.5")
    page.get_by_label("Key type").select_option(label="Expert panel")
    # The preview is the candidate's view: the next one fetched, with every rationale typed, shows none of them.
    with page.expect_response(lambda r: r.url.endswith("/scenarios/preview") and r.request.method == "POST") as sent:
        page.get_by_label("Source incident").fill("A handover note that leaves out where a parcel was put.")
    fetched = sent.value.text()
    assert OPTIONS["D"] in fetched
    assert [text for text in (*RATIONALES.values(), "Professionalism", "0.5") if text in fetched] == []
    expect(preview).not_to_contain_text(RATIONALES["A"])
    page.evaluate("window.scrollTo(0, 0)")  # the preview pane is sticky: show it beside the top of the form
    b.check("scenario-new-preview")

    # A form error: the stem emptied again.
    page.get_by_label("Situation (the stem)").fill("")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    stem = page.get_by_label("Situation (the stem)")
    expect(page.locator("#stem-error")).to_have_text("Write the situation.")
    expect(stem).to_have_attribute("aria-invalid", "true")
    expect(stem).to_have_attribute("aria-describedby", re.compile(r"\bstem-error\b"))
    expect(page.get_by_label("Option A", exact=True)).to_have_value(OPTIONS["A"])  # nothing else is lost
    expect(page.get_by_label("Collaboration")).to_have_value("0.5")
    b.check("scenario-new-invalid", status=422)
    stem.fill(STEM)
    page.get_by_role("button", name="Save draft").click()

    # --- Key it ---------------------------------------------------------------------------------
    expect(heading).to_have_text(f"Key {CODE}")
    expect(flash).to_have_text("Scenario saved as a draft. Key it next.")
    page.get_by_label("Key type").select_option(label="Expert panel")
    page.get_by_label("Experts' ratings").fill(RATINGS)
    b.check("scenario-key")
    page.get_by_role("button", name="Save key").click()

    # --- The scenario page: key table and checklist, then publish --------------------------------
    expect(flash).to_have_text("Key saved for version 1.")
    expect(heading).to_contain_text(CODE)
    expect(heading).to_contain_text("Draft")
    key_rows = page.get_by_role("table").get_by_role("row")
    expect(key_rows.nth(0)).to_have_text(re.compile(r"Option\s*Key value \(1-6\)\s*SD\s*Experts\s*Rationale"))
    for label, cells in KEY.items():
        row = key_rows.filter(has_text=OPTIONS[label])
        expect(row.get_by_role("cell")).to_have_text([f"{label} {OPTIONS[label]}", *cells, "5", RATIONALES[label]])
    checks = page.get_by_role("region", name="Reviewer checklist").get_by_role("listitem")
    expect(checks.filter(has_text="The stem has 90 words")).to_contain_text("Pass")
    expect(checks.filter(has_text="Keyed by at least 5 independent experts (now 5)")).to_contain_text("Pass")
    expect(checks.filter(has_text="One primary competency at 1.0")).to_contain_text("Pass")
    expect(checks.filter(has_text="Blocker")).to_have_count(0)
    expect(page.get_by_text("Competency weights: Professionalism 1, Collaboration 0.5.")).to_be_visible()
    b.check("scenario-detail")

    page.get_by_label("Publish as").select_option(label="Operational")
    page.get_by_role("button", name="Publish version 1").click()
    expect(flash).to_have_text("Version 1 published as operational. It can no longer change.")
    expect(heading).to_contain_text("Operational")
    expect(page.get_by_text(re.compile(r"^Published \d{2} \w{3} \d{4}\. This version cannot change"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Publish version"))).to_have_count(0)
    b.check("scenario-published")

    page.get_by_role("link", name="Edit (new version)").click()
    expect(heading).to_have_text(f"Edit {CODE}")
    expect(
        page.get_by_text("Version 1 is published and cannot change. Saving creates version 2 as a draft")
    ).to_be_visible()
    expect(page.get_by_label("Situation (the stem)")).to_have_value(STEM)
    expect(page.locator("#preview .stem")).to_have_text(STEM)
    b.check("scenario-edit-new-version")

    # --- Competencies, as a recruiter -----------------------------------------------------------
    nav.get_by_role("link", name="Competencies").click()
    expect(heading).to_have_text("Competencies")
    expect(nav.get_by_role("link", name="Competencies")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=2)).to_have_count(8)
    expect(page.get_by_role("heading", name="Professionalism professionalism")).to_be_visible()
    expect(page.get_by_role("link", name="Add a competency")).to_have_count(0)  # admins only
    expect(page.get_by_role("link", name="Professionalism")).to_have_count(0)
    b.check("competencies")

    # --- A position for the tenant's client ------------------------------------------------------
    nav.get_by_role("link", name="Positions").click()
    expect(heading).to_have_text("Positions")
    page.get_by_role("link", name="Add a position").click()
    expect(heading).to_have_text("Add a position")
    page.get_by_label("Client", exact=True).select_option(label=tenant_a.client_name)
    page.get_by_label("Job title").fill("Office coordinator")
    page.get_by_label("Responsibilities").fill("Front desk and visitors\nPost and couriers\nMeeting rooms")
    b.check("position-new")
    page.get_by_role("button", name="Save profile").first.click()
    expect(flash).to_have_text("Position added. Its profile is version 1.")
    expect(heading).to_have_text("Office coordinator")

    # --- Build the assessment --------------------------------------------------------------------
    page.get_by_role("link", name="Build an assessment for this position").click()
    expect(heading).to_have_text("Build an assessment")
    expect(page.get_by_label("Position").locator("option:checked")).to_have_text(
        f"Office coordinator ({tenant_a.client_name})"
    )
    page.get_by_label("Title").fill("Office coordinator assessment")
    b.check("assessment-new")
    page.get_by_role("button", name="Create").click()
    expect(flash).to_have_text("Assessment created. Add scenarios from the bank.")
    expect(heading).to_contain_text("Office coordinator assessment")
    expect(page.get_by_text("No scenarios yet.")).to_be_visible()

    for code in (CODE, "SJT-B1"):
        page.get_by_role("button", name=f"Add {code}").click()
        expect(page.get_by_role("button", name=f"Remove: {code}")).to_be_visible()
    coverage = page.get_by_role("region", name="Coverage").get_by_role("row")
    expect(coverage.filter(has_text="Professionalism").get_by_role("cell")).to_have_text(
        ["Professionalism", "2", "2.00", "Yes", "No: publishing is refused"]
    )
    expect(coverage.filter(has_text="Collaboration").get_by_role("cell")).to_have_text(
        ["Collaboration", "2", "1.50", "Yes", "No: publishing is refused"]
    )
    b.check("assessment-builder")

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(flash).to_contain_text("These reported competencies have fewer than 4 items or a weight below 3.0:")
    expect(flash).to_contain_text("Professionalism")
    expect(flash).to_contain_text("Add scenarios, or stop reporting them.")
    expect(heading).to_contain_text("Draft")
    b.check("assessment-coverage-refused")

    for code in (*EXTRA[1:], RANK):
        page.get_by_role("button", name=f"Add {code}").click()
        expect(page.get_by_role("button", name=f"Remove: {code}")).to_be_visible()
    expect(page.get_by_role("heading", name="Scenarios in order (6)")).to_be_visible()
    expect(coverage.filter(has_text="Professionalism").get_by_role("cell")).to_have_text(
        ["Professionalism", "6", "6.00", "Yes", "Yes"]
    )
    expect(coverage.filter(has_text="Collaboration").get_by_role("cell")).to_have_text(
        ["Collaboration", "5", "4.50", "Yes", "Yes"]
    )
    # Communication (one item at 0.5) and the others stay short: stop reporting them.
    reported = page.get_by_role("group", name="Competencies to report")
    for box in reported.get_by_role("checkbox").all():
        box.uncheck()
    reported.get_by_role("checkbox", name="Professionalism").check()
    reported.get_by_role("checkbox", name="Collaboration").check()
    page.get_by_label("Instructions for candidates").fill("Read each situation, then answer every question.")
    page.get_by_label("Time limit in minutes").fill("25")
    practice = page.get_by_label("Practice item (not scored)")
    practice.select_option(practice.locator("option", has_text="Northbridge-SJT:").get_attribute("value"))
    page.get_by_role("button", name="Save settings").click()
    expect(flash).to_have_text("Settings saved.")
    expect(page.get_by_text("Practice item first (not scored): Northbridge-SJT.")).to_be_visible()
    expect(coverage.filter(has_text="Communication").get_by_role("cell")).to_have_text(
        ["Communication", "1", "0.50", "No", "No"]
    )
    expect(page.get_by_text("No: publishing is refused")).to_have_count(0)
    b.check("assessment-ready")

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(flash).to_have_text("Assessment published. Its scenarios and settings are now fixed.")
    expect(heading).to_contain_text("Published")
    expect(page.get_by_role("button", name="Add SJT-B1")).to_have_count(0)
    expect(page.get_by_text("25 minutes")).to_be_visible()
    expect(page.get_by_text("Professionalism, Collaboration")).to_be_visible()
    b.check("assessment-published")

    # --- Preview as a candidate ------------------------------------------------------------------
    page.get_by_role("link", name="Preview as a candidate").click()
    expect(heading).to_have_text("Preview: Office coordinator assessment")
    expect(page.get_by_text("Time limit: 25 minutes.")).to_be_visible()
    expect(page.get_by_text("Practice situation.")).to_be_visible()
    items = page.locator("article.item")
    expect(items).to_have_count(7)  # the practice item and six scored ones
    for n in range(1, 7):
        expect(page.get_by_role("heading", name=f"Situation {n} of 6", exact=True)).to_be_visible()
    expect(items.nth(1).locator(".stem")).to_have_text(STEM)
    for text in OPTIONS.values():
        expect(items.nth(1)).to_contain_text(text)
    # The rate scale works from the keyboard: Tab into the first group, arrows move and select, space selects.
    page.get_by_role("link", name="Back to the assessment").focus()
    page.keyboard.press("Tab")
    assert active(page) == {"name": "practice-rate-A", "value": "1", "checked": False}
    page.keyboard.press("ArrowRight")
    assert active(page) == {"name": "practice-rate-A", "value": "2", "checked": True}
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert active(page) == {"name": "practice-rate-A", "value": "4", "checked": True}
    page.keyboard.press("ArrowLeft")
    assert active(page) == {"name": "practice-rate-A", "value": "3", "checked": True}
    expect(page.locator("input[name='practice-rate-A']:checked")).to_have_count(1)
    page.keyboard.press("Tab")  # the next response's group
    assert active(page) == {"name": "practice-rate-B", "value": "1", "checked": False}
    page.keyboard.press("Space")
    assert active(page) == {"name": "practice-rate-B", "value": "1", "checked": True}
    # The rank item (the sixth) uses a select box per response.
    rank = items.nth(6)
    expect(rank).to_contain_text("Put the responses in order from most effective (1) to least effective.")
    expect(rank.get_by_role("combobox")).to_have_count(4)
    expect(rank.get_by_role("radio")).to_have_count(0)
    for n, label in enumerate("ABCD", start=1):
        box = rank.get_by_label(re.compile(f"^{label} "))
        expect(box.locator("option")).to_have_text(["Choose", "1", "2", "3", "4"])
        box.select_option(str(n))
        expect(box).to_have_value(str(n))
    # Nothing of the key reaches the candidate's page: no rationale, no key value, no weight.
    html = page.content()
    leaks = [
        *RATIONALES.values(),
        *(f"Rationale {label}" for label in "ABCD"),
        *(text for cells in KEY.values() for text in cells),
        *(f"{value:g}" for value in RANK_KEY),
        "Expert 1",
        "Professionalism",
        "Collaboration",
        "rank_rho",
        "rate_std",
    ]
    assert [text for text in leaks if text in html] == []
    b.check("assessment-preview")

    page.set_viewport_size(MOBILE)
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    b.check("assessment-preview-mobile")
    page.set_viewport_size(DESKTOP)


MISSING_FIELD = """\
format: rapport-scenario-bank
format_version: 1
scenarios:
  - id: SJT-900
    role: payroll
    situation_type: S12
    role_context: Payroll officer; monthly cut-off.
    instruction: should_do
    response_format: rate
    competency_weights: {professionalism: 1.0}
    key: {type: provisional_single_author}
    provenance: {author: Test author, source_incident: A late pay change, date: "2026-01-05"}
    options:
      - {id: A, text: Explain the procedure., ratings: [{rater: Author, value: 5}]}
      - {id: B, text: Add the rise now., ratings: [{rater: Author, value: 2}]}
      - {id: C, text: Leave the rise out., ratings: [{rater: Author, value: 3}]}
"""
UNKNOWN_COMPETENCY = MISSING_FIELD.replace(
    "    role_context:", "    stem: A pay change arrives without a signed form.\n    role_context:"
).replace("{professionalism: 1.0}", "{professionalism: 1.0, charisma: 0.5}")


def test_an_invalid_import_lists_its_problems_with_lines(browser_page: LivePage, tenant_a: Tenant, bank: None) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scenarios").click()
    page.get_by_role("link", name="Import").click()
    expect(heading).to_have_text("Import scenarios")
    b.check("scenario-import")

    upload = page.get_by_label("Scenario file (JSON or YAML)")
    upload.set_input_files(
        files=[{"name": "bank.yaml", "mimeType": "application/yaml", "buffer": MISSING_FIELD.encode()}]
    )
    page.get_by_role("button", name="Check and import").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was imported. 1 problem found:")
    expect(alert.get_by_role("listitem")).to_have_text([re.compile(r"^line 4, scenarios\[0\]: 'stem' is missing")])
    b.check("scenario-import-errors", status=422)

    upload.set_input_files(
        files=[{"name": "bank.yaml", "mimeType": "application/yaml", "buffer": UNKNOWN_COMPETENCY.encode()}]
    )
    page.get_by_role("button", name="Check and import").click()
    expect(alert).to_contain_text("Nothing was imported. 1 problem found:")
    expect(alert.get_by_role("listitem")).to_have_text(
        [re.compile(r"^line 11, scenarios\[0\]\.competency_weights\.charisma: Unknown competency 'charisma'")]
    )
    b.check("scenario-import-unknown-competency", status=422)

    page.get_by_role("link", name="Scenario bank").click()
    expect(page.get_by_text("6 scenarios.")).to_be_visible()  # nothing was imported
    expect(page.get_by_role("link", name="SJT-900")).to_have_count(0)
