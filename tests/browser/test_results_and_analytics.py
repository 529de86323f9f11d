"""Results, norm groups, analytics, decisions and fairness in a real browser (issue 8, point 7), on the demo
agency with its cohort of 120 submitted attempts and its first norm group: a recruiter freezes a second norm
group (and sees a group of five refused), reads the analytics page (charts with a title and a summary in
words, item flags in words, a link to the scenario), records a decision that needs a reason, reads and
downloads the results (sorted, filtered, pilot) and reads the fairness checks. Every page is looked at on
the desktop and on a 360-pixel phone, where nothing may scroll sideways.

Each check() also runs axe, asserts a clean console and saves a screenshot to docs/screenshots/.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select

from tests.browser.conftest import DESKTOP, LivePage, focused, sideways, tab_to

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 800}
RECRUITER = ("recruiter@northbridge.example", "silver-fern-meadow")
ASSESSMENT = "Back-office people skills: accounts payable"
POSITION = "Accounts payable clerk"
FIRST_NORM = "Cohort of October 2026"
COMPLETED = 123  # the cohort's 120 and three of the five candidates with profiles
INVITED = 125
SURPRISING = "Nia Campbell"  # fit 77, above the median fit (25): declining her goes against the evidence
# A name a spreadsheet would run as a formula; the CSV export must hand it over as text.
FORMULA_NAME = '=HYPERLINK("https://example.com/x","Open me")'


# --- Helpers ------------------------------------------------------------------------------------


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


def sign_in(b: LivePage) -> None:
    b.goto("/login")
    b.sign_in(*RECRUITER)


def overall_points(table: Locator) -> list[int]:
    """The provisional overall score (0-100) of every row of the results table, in order."""
    cells = table.locator("tbody tr td:nth-of-type(2)").all_inner_texts()
    return [int(m.group(1)) for cell in cells if (m := re.search(r"score (\d+)/100", cell))]


def download_csv(page: Page, link: Locator) -> tuple[str, list[list[str]]]:
    """Click a download link; the suggested file name and the rows of the CSV (BOM removed)."""
    with page.expect_download() as info:
        link.click()
    download = info.value
    path = download.path()
    text = path.read_text(encoding="utf-8-sig")
    return download.suggested_filename, list(csv.reader(io.StringIO(text)))


def norm_tables(app: Flask, assessment: str) -> int:
    from assessments.models import Assessment, NormTable
    from database import db

    with app.app_context():
        found = db.session.scalars(select(Assessment).where(Assessment.public_id == assessment)).one()
        return db.session.scalars(select(func.count(NormTable.id)).where(NormTable.assessment_id == found.id)).one()


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def demo(app: Flask) -> dict[str, str]:
    """The whole demo: the accounts payable assessment, its cohort of 120 submitted attempts, the first norm
    group and the cohort's decisions."""
    import demo
    from assessments.models import Assessment
    from database import db, utcnow
    from positions.models import Position

    with app.app_context():
        demo.seed_demo(utcnow())
        position = db.session.scalars(select(Position).where(Position.title == POSITION)).one()
        assessment = db.session.scalars(select(Assessment).where(Assessment.title == ASSESSMENT)).one()
        return {"position": position.public_id, "assessment": assessment.public_id}


# --- 1. Norm groups -------------------------------------------------------------------------------


def test_a_recruiter_freezes_a_norm_group_and_a_group_of_five_is_refused(
    browser_page: LivePage, demo: dict[str, str], app: Flask
) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    sign_in(b)
    b.goto(f"/assessments/{demo['assessment']}")
    page.get_by_role("link", name="norm groups", exact=True).click()
    expect(heading).to_have_text(f"Norm groups: {ASSESSMENT}")
    expect(page.get_by_role("heading", name="Frozen norm groups (1)")).to_be_visible()
    first = page.get_by_role("region", name="Norm group version 1")
    expect(page.get_by_role("heading", name=f"Version 1: {FIRST_NORM}")).to_be_visible()
    expect(first.get_by_role("row").filter(has_text="Overall")).to_contain_text("provisional")
    attempts = page.get_by_role("region", name="Completed attempts")
    expect(attempts.locator("caption")).to_have_text(f"Completed attempts under score version 1.0.0 ({COMPLETED})")
    expect(attempts.get_by_role("checkbox")).to_have_count(COMPLETED)
    check_both(b, "norms")

    # --- Five attempts: refused with a plain message, nothing written, the choice kept ------------
    page.get_by_label("Label for the norm group").fill("Five people only")
    boxes = attempts.get_by_role("checkbox")
    for i in range(5):
        boxes.nth(i).check()
    page.get_by_role("button", name="Freeze the norm group").click()
    expect(page.get_by_role("alert")).to_have_text(
        "A norm group needs at least 30 completed attempts; you chose 5. Nothing was saved."
    )
    expect(page.get_by_role("heading", name="Frozen norm groups (1)")).to_be_visible()
    expect(page.get_by_label("Label for the norm group")).to_have_value("Five people only")
    expect(attempts.locator("input[type=checkbox]:checked")).to_have_count(5)
    check_both(b, "norms-too-few", status=422)
    assert norm_tables(app, demo["assessment"]) == 1

    # --- Every completed attempt, from the keyboard: Tab to the label, type, tick "all", Enter ------
    b.goto(f"/analytics/assessments/{demo['assessment']}/norms")
    page.locator("body").focus()
    tab_to(page, name="label")
    page.keyboard.type("All applicants, November 2026")
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "everyone"
    page.keyboard.press("Space")
    expect(page.get_by_label("Use all completed attempts")).to_be_checked()
    page.keyboard.press("Shift+Tab")
    assert focused(page)["name"] == "label"
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the form
    expect(flash(page)).to_contain_text(f"Norm group version 2 frozen from {COMPLETED} completed attempts.")
    expect(page.get_by_role("heading", name="Frozen norm groups (2)")).to_be_visible()
    expect(page.get_by_role("heading", name="Version 2: All applicants, November 2026")).to_be_visible()
    second = page.get_by_role("region", name="Norm group version 2")
    expect(second.get_by_role("row").filter(has_text="Overall")).to_contain_text(str(COMPLETED))
    check_both(b, "norms-frozen")
    assert norm_tables(app, demo["assessment"]) == 2

    # The results now compare with the new group.
    b.goto(f"/assessments/{demo['assessment']}/results")
    expect(page.get_by_text(f"All applicants, November 2026 (version 2, N = {COMPLETED})")).to_be_visible()


# --- 2. Analytics ---------------------------------------------------------------------------------


def test_a_recruiter_reads_the_analytics_and_follows_a_flag_to_its_scenario(
    browser_page: LivePage, demo: dict[str, str]
) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    sign_in(b)
    b.goto(f"/assessments/{demo['assessment']}")
    page.get_by_role("link", name="Analytics: score distributions, reliability, item analysis").click()
    expect(heading).to_have_text(f"Analytics: {ASSESSMENT}")
    expect(page.get_by_text(f"{COMPLETED} completed attempts under this version.")).to_be_visible()

    # --- Charts: an image with a title, a description with every bar, and a summary in words -------
    figures = page.locator("figure.chart-figure")
    expect(figures).to_have_count(3)
    for scope in ("Overall", "Professionalism", "Collaboration"):
        chart = page.get_by_role("img", name=f"{scope}: distribution of scores")
        expect(chart).to_be_visible()
        # Named by its <title> and <desc>: the summary, then the count in every bar.
        expect(chart).to_have_accessible_name(
            re.compile(rf"^{scope}: distribution of scores N = {COMPLETED}, mean \d+\.\d.*90 to 100: \d+\.$")
        )
        expect(figures.filter(has=chart).locator("figcaption")).to_have_text(
            re.compile(rf"^{scope}: N = {COMPLETED}, mean \d+\.\d, SD \d+\.\d, lowest \d+\.\d, highest \d+\.\d\.$")
        )
    box = page.get_by_role("img", name="Overall: distribution of scores").bounding_box()
    assert box is not None and box["height"] >= 150, f"the chart is too small to read: {box}"

    reliability = page.get_by_role("region", name="Reliability by score")
    expect(reliability.get_by_role("row").filter(has_text="Overall")).to_contain_text(
        f"provisional (N = {COMPLETED}; established from 200)"
    )

    # --- Item analysis: flags in words, each with a link to review the scenario ------------------
    items = page.get_by_role("region", name="Item statistics")
    flags = items.locator(".flag-list li")
    expect(flags.first).to_be_visible()
    for words in flags.all_inner_texts():
        assert re.fullmatch(r"[A-Z][^_]+\.", words), f"a flag not in words: {words!r}"
    flagged = items.get_by_role("row").filter(has=page.locator(".flag-list")).first
    expect(flagged).to_contain_text("Check the key: a wrong option is chosen more often")
    item = flagged.get_by_role("rowheader").inner_text()
    expect(page.get_by_role("status")).to_contain_text(f"N = {COMPLETED}: provisional flags")
    check_both(b, "analytics")

    # Another score's items, from the keyboard: Tab to the choice, pick by typing, Tab to Show, Enter.
    page.locator("body").focus()
    tab_to(page, name="scope")
    page.keyboard.type("Prof")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Show"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Item analysis: Professionalism")).to_be_visible()
    expect(page).to_have_url(re.compile(r"scope=professionalism"))
    b.goto(f"/analytics/assessments/{demo['assessment']}")

    code, version = item.split(" v")
    page.get_by_role("link", name=f"Review {item}").click()
    expect(heading).to_contain_text(f"{code} version {version}")
    b.check("analytics-flagged-scenario")  # the scenario page belongs to the bank's tests; desktop only here


# --- 3. A decision that needs a reason ------------------------------------------------------------


def test_a_decision_against_the_evidence_needs_a_reason(browser_page: LivePage, demo: dict[str, str]) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    sign_in(b)
    b.goto(f"/assessments/positions/{demo['position']}/fit")
    page.get_by_role("link", name=SURPRISING, exact=True).click()
    expect(heading).to_have_text(f"{SURPRISING}: fit for {POSITION}")
    expect(page.get_by_text("No decision recorded yet.")).to_be_visible()
    decision = page.locator("#decision")
    expect(decision.locator("#decision-reason-hint")).to_have_text(
        re.compile(r"^\s*A reason is needed if you choose decline, because the fit of 77 is at or above the median fit")
    )
    check_both(b, "decision-form")

    # --- Hold, from the keyboard: Tab to the outcomes, arrow to Hold, Tab past the reason, Enter ----
    page.get_by_role("link", name="Record a decision").focus()
    tab_to(page, name="outcome")
    assert focused(page)["type"] == "radio"
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="Hold")).to_be_checked()
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "reason"
    page.keyboard.press("Tab")
    assert focused(page) == {"tag": "button", "name": "", "type": "submit", "text": "Record the decision"}
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(flash(page)).to_contain_text("Decision recorded: Hold.")
    expect(page.get_by_text(re.compile(r"^Current decision: Hold, recorded by "))).to_be_visible()

    # --- Decline without a reason: the field says why one is needed; nothing is recorded -----------
    decision.get_by_role("radio", name="Decline").check()
    decision.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was recorded.")
    reason = decision.get_by_label("Reason")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#decision-reason-error")).to_have_text(
        re.compile(r"^A reason is needed because the fit of 77 is at or above the median fit of the assessed")
    )
    expect(reason).to_have_accessible_description(re.compile("A reason is needed because the fit of 77"))
    expect(decision.get_by_role("radio", name="Decline")).to_be_checked()
    expect(page.get_by_text(re.compile(r"^Current decision: Hold"))).to_be_visible()
    check_both(b, "decision-reason-needed", status=422)

    # --- With a reason: saved, and in the history with "against the evidence" -------------------------
    reason.fill("She has accepted another offer and withdrew by phone on Monday.")
    decision.get_by_role("button", name="Record the decision").click()
    expect(flash(page)).to_contain_text("Decision recorded: Decline.")
    history = decision.get_by_role("table", name=f"Decisions on {SURPRISING} for this position, newest first")
    rows = history.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("Decline")
    expect(rows.nth(0).locator("td").nth(3)).to_have_text("Yes")
    expect(rows.nth(0).locator("td").nth(4)).to_have_text(
        "She has accepted another offer and withdrew by phone on Monday."
    )
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("Hold")
    expect(rows.nth(1).locator("td").nth(4)).to_have_text("(none given)")
    check_both(b, "decision-history")

    # The ranking shows the decision in the candidate's row, and takes one in another's.
    page.get_by_role("link", name=f"All candidates for {POSITION}").click()
    ranking = page.get_by_role("region", name="Candidates ranked by fit")
    expect(ranking.get_by_role("row").filter(has_text=SURPRISING).first).to_contain_text("Decline")
    kiran = ranking.get_by_role("row").filter(has_text="Kiran Shah").first
    kiran.get_by_label("Decision on Kiran Shah", exact=True).select_option("hold")
    kiran.get_by_role("button", name="Record the decision on Kiran Shah").click()
    expect(flash(page)).to_contain_text("Decision recorded: Hold.")
    expect(page).to_have_url(re.compile(r"/fit#decision-"))
    expect(kiran).to_contain_text("Hold")
    # The screenshots show the two surprising matches only: 125 rows would make a 50,000-pixel image.
    page.get_by_label("Surprising matches only").check()
    page.get_by_role("button", name="Apply").click()
    expect(ranking.locator("tbody th[scope=row] a")).to_have_text([SURPRISING, "Kiran Shah"])
    expect(ranking.get_by_role("row").filter(has_text=SURPRISING)).to_contain_text(
        "Decline (against the evidence, reason given)"
    )
    check_both(b, "decision-ranking")


# --- 4. Results, the CSV and pilot labels ---------------------------------------------------------


def test_a_recruiter_reads_sorts_filters_and_downloads_the_results_and_sees_pilot_labels(
    browser_page: LivePage, demo: dict[str, str]
) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    sign_in(b)

    # A candidate whose name reads as a spreadsheet formula.
    b.goto(f"/assessments/{demo['assessment']}")
    page.get_by_label("Candidate's name").fill(FORMULA_NAME)
    page.get_by_label("Candidate's email").fill("formula.name@example.org")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(flash(page)).to_be_visible()

    page.get_by_role("link", name="Results: every candidate's scores, with the fit and the context").click()
    expect(heading).to_have_text(f"Results: {ASSESSMENT}")
    expect(page.locator(".facts")).to_contain_text(f"{FIRST_NORM} (version 1, N = {COMPLETED})")
    expect(page.get_by_role("status")).to_have_text(
        re.compile(rf"^Showing {INVITED + 1} of {INVITED + 1} invitations\.")
    )
    table = page.get_by_role("region", name="Results table (scrolls sideways)")
    normed = table.locator("tbody tr").filter(has_text="Sten").first
    expect(normed.locator("td").nth(1)).to_contain_text(re.compile(r"Sten \d+\s+90% interval: sten \d+–\d+"))
    expect(normed.locator("td").nth(1)).to_contain_text("provisional interval")
    expect(table.get_by_role("rowheader", name=FORMULA_NAME)).to_be_visible()  # shown as text
    check_both(b, "results")

    # --- Sort by overall, from the keyboard: the filter form's Tab walk, then Enter ------------------
    page.get_by_label("Status").focus()
    walk = [focused(page)["name"]]
    for _ in range(3):
        page.keyboard.press("Tab")
        walk.append(focused(page)["name"] or focused(page)["text"])
    assert walk == ["status", "min", "sort", "Apply"], walk
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("Overall")  # a closed select box picks the option whose label starts so
    expect(page.get_by_label("Sort by")).to_have_value("overall")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=overall"))
    expect(table.locator("caption")).to_contain_text("sorted by overall score, highest first")
    expect(table.locator("thead th[aria-sort=descending]")).to_have_text("Overall")
    points = overall_points(table)
    assert len(points) == COMPLETED and points == sorted(points, reverse=True), points

    # --- A filter: submitted, overall 95 or more ------------------------------------------------------
    page.get_by_label("Status").select_option("submitted")
    page.get_by_label("Minimum overall score (0-100)").fill("95")
    page.get_by_role("button", name="Apply").click()
    status = page.get_by_role("status")
    expect(status).to_have_text(
        re.compile(rf"^Showing (\d+) of {INVITED + 1} invitations \((\d+) left out by the filters you chose\)\.")
    )
    showing = re.search(r"Showing (\d+)", status.inner_text())
    assert showing is not None
    shown = int(showing.group(1))
    points = overall_points(table)
    assert 0 < shown < COMPLETED and len(points) == shown and min(points) >= 95, points
    check_both(b, "results-filtered")

    # --- The CSV: an attachment, never cached, the same filters, the formula neutralised ------------
    link = page.get_by_role("link", name="Download these results (CSV)")
    query = parse_qs(urlparse(link.get_attribute("href") or "").query)
    assert query == {"status": ["submitted"], "min": ["95"], "sort": ["overall"]}, query
    response = page.request.get(b.url(link.get_attribute("href") or ""))
    assert response.status == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        rf'attachment; filename="results-{re.escape(demo["assessment"])}-\d{{8}}-\d{{4}}\.csv"',
        response.headers["content-disposition"],
    ), response.headers["content-disposition"]
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    filename, rows = download_csv(page, link)
    assert filename.startswith(f"results-{demo['assessment']}-") and filename.endswith(".csv")
    header = rows[0]
    assert header[:6] == ["Assessment", "Pilot", "Candidate", "Status", "Submitted (UTC)", "Overall score (0-100)"]
    assert "Overall 90% interval stens" in header and "Norm group" in header
    assert len(rows) == 1 + shown
    scores = [int(row[header.index("Overall score (0-100)")]) for row in rows[1:]]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 95
    assert {row[header.index("Norm group")] for row in rows[1:]} == {FIRST_NORM}

    page.get_by_role("link", name="Clear filters").click()
    _, everyone = download_csv(page, page.get_by_role("link", name="Download these results (CSV)"))
    names = [row[header.index("Candidate")] for row in everyone[1:]]
    assert "'" + FORMULA_NAME in names, [n for n in names if "HYPERLINK" in n]
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)

    # --- Pilot: set on the assessment page, labelled on the results and in the CSV ----------------
    page.get_by_role("link", name=ASSESSMENT, exact=True).first.click()
    expect(heading).to_contain_text(ASSESSMENT)
    page.get_by_label("Pilot: label this assessment's scores as pilot scores").check()
    page.get_by_role("button", name="Save pilot setting").click()
    expect(flash(page)).to_contain_text("Pilot mode on: its scores are labelled Pilot.")
    page.get_by_role("link", name="Results: every candidate's scores, with the fit and the context").click()
    expect(heading.locator(".badge-pilot")).to_have_text("Pilot")
    expect(page.locator("#pilot-banner")).to_contain_text(
        "These scores come from a pilot: they are for trying the test out"
    )
    expect(table.locator("tbody th .badge-pilot").first).to_have_text("Pilot")
    _, piloted = download_csv(page, page.get_by_role("link", name="Download these results (CSV)"))
    assert {row[header.index("Pilot")] for row in piloted[1:]} == {"Pilot"}
    # The screenshots show the top scores only (the whole list is in "results").
    b.goto(f"{b.path}?status=submitted&min=95&sort=overall")
    expect(table.locator("tbody th .badge-pilot")).to_have_count(shown)
    check_both(b, "results-pilot")

    # The position's results list every assessment of the position, with the pilot label.
    page.get_by_role("link", name=f"All results for {POSITION}").click()
    expect(heading).to_contain_text(f"Results: {POSITION}")
    expect(page.get_by_role("heading", level=2).filter(has_text=ASSESSMENT)).to_contain_text("Pilot")
    b.goto(f"{b.path}?status=submitted&min=95&sort=overall")
    expect(table.locator("tbody tr")).to_have_count(shown)
    check_both(b, "results-position")


# --- 5. Fairness --------------------------------------------------------------------------------------


def test_a_recruiter_reads_the_fairness_checks_and_downloads_them(browser_page: LivePage, demo: dict[str, str]) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    sign_in(b)
    b.goto(f"/assessments/positions/{demo['position']}/fit")
    page.get_by_role("link", name="Fairness checks for this position").click()
    expect(heading).to_have_text(f"Fairness checks: {POSITION}")
    expect(page.get_by_text("These are checks for people to act on, not decisions.")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        re.compile(rf"^{INVITED} candidates for this position; \d+ gave a self-identification, \d+ have a decision")
    )

    # Who is left out, and why.
    left_out = page.get_by_role("table", name="Who is left out of the decision tables, or is unknown in them")
    expect(left_out.get_by_role("row").filter(has_text="No decision recorded yet")).to_contain_text(
        "not in these tables"
    )
    expect(left_out.get_by_role("row").filter(has_text="No self-identification given")).to_contain_text(
        "unknown in every table"
    )
    expect(
        page.get_by_role("table", name="Who is left out of the score tables, or is unknown in them")
        .get_by_role("row")
        .filter(has_text="Not yet scored")
    ).to_be_visible()

    # Impact ratios, with the four-fifths flag in words and the reference group named.
    by_sex = page.get_by_role("table", name="Decisions by sex: selection rates and impact ratios")
    expect(by_sex.locator("thead th")).to_have_text(
        [
            "Category",
            "N",
            "Advanced",
            "Selection rate",
            "Impact ratio",
            "Z_D",
            "Z_IR",
            "Fisher p",
            "Boschloo p",
            "Reference group",
            "Note",
        ]
    )
    expect(by_sex.get_by_role("row").filter(has_text="highest selection rate")).to_have_count(1)
    expect(by_sex.get_by_text("(below 0.8)").first).to_be_visible()
    expect(by_sex.get_by_role("row").filter(has_text="Unknown (not in calculations)")).to_be_visible()

    # Small categories: counts shown, no ratio, labelled in words.
    overall = page.get_by_role(
        "table", name="Overall provisional score: scoring rates and impact ratios by sex, race/ethnicity and both"
    )
    small = overall.get_by_role("row").filter(has_text=re.compile(r"too few to compare \(N = \d\)"))
    expect(small.first).to_be_visible()
    expect(small.first.locator("td").nth(4)).to_have_text("n/a")
    check_both(b, "fairness")

    # The download link is reachable from the keyboard.
    page.locator("body").focus()
    tab_to(page, text="Download these tables (CSV)")
    link = page.get_by_role("link", name="Download these tables (CSV)")
    response = page.request.get(b.url(link.get_attribute("href") or ""))
    assert response.status == 200
    assert re.fullmatch(
        rf'attachment; filename="fairness-{re.escape(demo["position"])}-\d{{8}}\.csv"',
        response.headers["content-disposition"],
    ), response.headers["content-disposition"]
    assert "no-store" in response.headers["cache-control"]
    filename, rows = download_csv(page, link)
    assert filename.startswith(f"fairness-{demo['position']}-")
    assert rows[0] == ["Fairness checks", POSITION]
    text = [",".join(row) for row in rows]
    assert "Decisions (advance = selected), four-fifths rule: Sex" in text
    assert any(line.startswith("No decision recorded yet,") for line in text)
