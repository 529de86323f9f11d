"""Reports in a real browser (issue 9): a recruiter reviews a candidate, adds notes, creates the PDF, releases it
and shares it; the client's user signs in to the portal and downloads the report and the shortlist; a share
link opens without an account; rendering a whole position shows progress and ends in one ZIP.

The PDFs are read back with pdftotext, and page 2 of the dossier is saved to docs/screenshots/ as a PNG. Each
check() also runs axe, asserts a clean console and saves a screenshot of the page.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import SCREENSHOTS, LivePage
from tests.reports.pdftools import pdf_pages_png, pdf_text

pytestmark = pytest.mark.browser

RECRUITER = ("recruiter@northbridge.example", "silver-fern-meadow")
CLIENT = ("client@harbourview.example", "copper-lane-river")
ASSESSMENT = "Back-office people skills: accounts payable"
POSITION = "Accounts payable clerk"
RELEASED_BY_DEMO = "Nia Campbell"


def download(page: Page, click: object) -> tuple[str, bytes]:
    with page.expect_download() as info:
        click()  # type: ignore[operator]
    value = info.value
    return value.suggested_filename, value.path().read_bytes()


@pytest.fixture
def demo(app: Flask) -> dict[str, str]:
    """The demo: four reports already released to Harbourview, and a cohort candidate not yet reported."""
    import demo
    from assessments.models import Attempt, Invitation
    from candidates.models import Candidate
    from database import db, utcnow
    from positions.models import Position
    from reports.models import Report

    with app.app_context():
        lines = demo.seed_demo(utcnow())
        share = next(line.split(": ", 1)[1] for line in lines if "Share link" in line)
        position = db.session.scalars(select(Position).where(Position.title == POSITION)).one()
        reported = select(Report.invitation_id)
        fresh = db.session.execute(
            select(Invitation.public_id, Candidate.name)
            .join(Attempt, Attempt.invitation_id == Invitation.id)
            .join(Candidate, Candidate.id == Invitation.candidate_id)
            .where(Attempt.submitted_at.is_not(None), Invitation.id.not_in(reported))
            .order_by(Candidate.name)
            .limit(1)
        ).one()
        return {"position": position.public_id, "invitation": fresh[0], "name": fresh[1], "share": share}


def test_a_recruiter_releases_a_report_and_the_client_downloads_it(
    browser_page: LivePage, demo: dict[str, str], app: Flask, tmp_path: Path
) -> None:
    b, page = browser_page, browser_page.page
    b.goto("/login")
    b.sign_in(*RECRUITER)

    # The review page of a submitted candidate who has no report yet.
    b.goto(f"/reports/invitations/{demo['invitation']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(demo["name"])
    b.check("report-review")

    # A note that is too long is refused with a clear message; a real one is saved.
    notes = page.get_by_label("Recruiter's notes")
    notes.evaluate("(el) => el.removeAttribute('maxlength')")
    notes.fill("x" * 10_000)
    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_text("The limit is 3,000")).to_be_visible()
    b.check("report-review-notes-too-long", 422)
    notes = page.get_by_label("Recruiter's notes")
    notes.fill("Steady under pressure in the phone screen.\nAsk about month-end at interview.")
    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_text("Notes saved.")).to_be_visible()

    # Create the PDF (rendered at once in tests) and read it back.
    page.get_by_role("button", name="Create PDF").click()
    expect(page.get_by_text("is ready to download")).to_be_visible()
    name, pdf = download(page, page.get_by_role("link", name="Download the candidate report (PDF)").click)
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in (demo["name"], POSITION, "Harbourview Logistics", "90% interval", "Cohort of October 2026"):
        assert expected in text, expected
    assert "Ask about month-end at interview." in text
    assert "Draft, not released" in text

    # Release, then share.
    page.get_by_role("button", name="Release to Harbourview Logistics").click()
    expect(page.get_by_text("Report released.")).to_be_visible()
    page.get_by_role("button", name="Create a share link").click()
    expect(page.get_by_text("Share link created.")).to_be_visible()
    b.check("report-review-released")

    # The whole position: progress, then one ZIP with every released report and the shortlist.
    b.goto(f"/reports/positions/{demo['position']}")
    b.check("report-position")
    page.get_by_role("button", name="Create all reports").click()
    expect(page.get_by_text("ready")).to_be_visible()
    b.check("report-batch")
    _, archive = download(page, page.get_by_role("link", name="Download all (ZIP)").click)
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert len(names) == 6, names  # five released candidates and the shortlist
    assert any(n.startswith("shortlist-") for n in names)

    page.get_by_role("button", name="Sign out").click()

    # The client's user: the portal lists the released reports of Harbourview only.
    b.goto("/login")
    b.sign_in(*CLIENT)
    assert b.path.startswith("/portal")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Harbourview Logistics")
    expect(page.get_by_role("row", name=demo["name"])).to_be_visible()
    expect(page.get_by_role("row", name=RELEASED_BY_DEMO)).to_be_visible()
    b.check("portal")
    row = page.get_by_role("row", name=demo["name"])
    name, pdf = download(page, row.get_by_role("link").click)
    text = pdf_text(pdf)
    assert demo["name"] in text and "Draft, not released" not in text
    _, shortlist = download(page, page.get_by_role("link", name="Shortlist (PDF)").first.click)
    text = pdf_text(shortlist)
    assert "SHORTLIST REPORT" in text.upper() and demo["name"] in text and RELEASED_BY_DEMO in text

    # Staff pages stay closed to the client's user.
    b.goto(f"/reports/positions/{demo['position']}")
    assert b.last_status in (403, 404)
    b.assert_no_console_errors("client on a staff page")


def test_a_share_link_opens_the_report_without_an_account(
    browser_page: LivePage, demo: dict[str, str], tmp_path: Path
) -> None:
    b, page = browser_page, browser_page.page
    path = "/r/" + demo["share"].split("/r/", 1)[1]
    with page.expect_download() as info:
        page.evaluate("(url) => { const a = document.createElement('a'); a.href = url; a.click(); }", b.url(path))
    pdf = info.value.path().read_bytes()
    text = pdf_text(pdf)
    assert RELEASED_BY_DEMO in text and POSITION in text
    # A tampered token is refused with the generic page.
    b.goto(path[:-3] + "xyz")
    b.check("share-link-invalid", 404)


def test_the_dossier_page_looks_right(app: Flask, demo: dict[str, str], tmp_path: Path) -> None:
    """Render the demo's released dossier and save its summary page as docs/screenshots/report-dossier.png."""
    from database import db
    from reports import context, render
    from reports.models import Report
    from reports.pool import render_in_process

    with app.app_context():
        reports = db.session.scalars(select(Report).where(Report.released_at.is_not(None))).all()
        dossier = next(
            ctx for ctx in (context.dossier_context(r) for r in reports) if ctx.candidate_name == RELEASED_BY_DEMO
        )
        with app.test_request_context():
            rendered = render_in_process(render.html_for(dossier), render.stylesheet_for(dossier))
    page = pdf_pages_png(rendered.pdf, tmp_path / "pages")[1]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(page, SCREENSHOTS / "report-dossier.png")
    from PIL import Image

    with Image.open(page) as image:
        colours = image.convert("L").getextrema()
    assert colours[0] < 100 < colours[1], "the page is blank"
