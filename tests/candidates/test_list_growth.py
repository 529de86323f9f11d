"""The candidate list in a large agency: a count capped at COUNT_CAP, and pages that need no exact total.

Most tests make the cap 5 and the pages 2 rows long, so that a handful of candidates is "a large agency".
Agency A starts with one candidate, "Alpha Candidate …", who comes first by name.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from accounts.models import Agency, Scope
from candidates import queries, services
from database import db, unit_of_work, utcnow
from tests.conftest import Tenant

SEARCHED = ("Ann Archer", "Anna Bell", "Annika Berg", "Hannah Moss", "Joanne Ng", "Leanne Ford")  # all hold "ann"


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count at most 5 candidates; 2 candidates a page."""
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    monkeypatch.setattr(queries, "PER_PAGE", 2)


def add(app: Flask, tenant: Tenant, *names: str) -> None:
    with app.app_context(), unit_of_work():
        agency = db.session.scalars(select(Agency.id).where(Agency.public_id == tenant.agency_id)).one()
        for name in names:
            email = name.lower().replace(" ", ".") + "@people.example"
            services.create_candidate(agency, name=name, email=email, by=None, now=utcnow())


def listing(client: Any, **args: Any) -> str:
    response = client.get("/candidates", query_string=args)
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def summary(page: str) -> str:
    """The line above the list that says how many candidates there are."""
    found = re.search(r'<p aria-live="polite">(.*?)</p>', page, re.DOTALL)
    assert found is not None
    return " ".join(found.group(1).split())


def page_label(page: str) -> str | None:
    """The page links' "Page 2 of 3" or "Page 2", None without them."""
    nav = re.search(r'<nav aria-label="Pages of candidates"[^>]*>(.*?)</nav>', page, re.DOTALL)
    if nav is None:
        return None
    label = re.search(r"<span>(.*?)</span>", nav.group(1))
    assert label is not None
    return label.group(1)


def link(page: str, text: str) -> int | None:
    """The page number the "Next page" or "Previous page" link goes to, None without one."""
    found = re.search(r'<a href="[^"]*\bpage=(-?\d+)">' + text + "</a>", page)
    return int(found.group(1)) if found else None


def names(page: str) -> list[str]:
    return re.findall(r'<td><a href="/candidates/[^"]+">([^<]+)</a>', page)


def test_under_and_at_the_cap_the_exact_number_is_shown(app, recruiter, tenant_a, small_pages):
    page = listing(recruiter)
    assert summary(page) == "1 candidate."
    assert page_label(page) is None  # one page: no page links

    add(app, tenant_a, "Ann Archer", "Anna Bell", "Zoe Quinn")
    assert summary(listing(recruiter)) == "4 candidates."
    assert summary(listing(recruiter, q="ann")) == "2 candidates match “ann”."
    assert summary(listing(recruiter, q="zoe")) == "1 candidate matches “zoe”."
    assert summary(listing(recruiter, q="nobody")) == "0 candidates match “nobody”."

    add(app, tenant_a, "Joanne Ng")
    page = listing(recruiter)
    assert summary(page) == "5 candidates."  # exactly the cap is still an exact count
    assert page_label(page) == "Page 1 of 3"
    add(app, tenant_a, "Hannah Moss", "Leanne Ford")
    assert summary(listing(recruiter, q="ann")) == "5 candidates match “ann”."


def test_over_the_cap_the_count_says_more_than(app, recruiter, tenant_a, small_pages):
    add(app, tenant_a, *SEARCHED[:5])
    page = listing(recruiter)
    assert summary(page) == "More than 5 candidates."
    assert "6 candidates" not in page
    assert page_label(page) == "Page 1"

    add(app, tenant_a, SEARCHED[5], "Zoe Quinn")
    assert summary(listing(recruiter, q="ann")) == "More than 5 candidates match “ann”."
    assert summary(listing(recruiter, q="ANNIKA")) == "1 candidate matches “ANNIKA”."


def test_the_real_cap_is_written_with_a_thousands_separator(recruiter, monkeypatch):
    capped = queries.CandidatePage(
        rows=[],
        total=queries.COUNT_CAP,
        total_capped=True,
        cap=queries.COUNT_CAP,
        page=1,
        pages=None,
        has_next=True,
    )
    monkeypatch.setattr(queries, "list_candidates", lambda *args: capped)
    page = listing(recruiter, q="ann")
    assert summary(page) == "More than 10,000 candidates match “ann”."
    assert page_label(page) == "Page 1"
    assert link(page, "Next page") == 2
    assert summary(listing(recruiter)) == "More than 10,000 candidates."


def test_a_known_total_gives_page_n_of_m(app, recruiter, tenant_a, small_pages):
    add(app, tenant_a, "Ann Archer", "Anna Bell", "Zoe Quinn")  # 4 candidates: 2 pages of 2
    first = listing(recruiter)
    assert page_label(first) == "Page 1 of 2"
    assert (link(first, "Previous page"), link(first, "Next page")) == (None, 2)
    assert names(first)[1:] == ["Ann Archer"]
    second = listing(recruiter, page=2)
    assert page_label(second) == "Page 2 of 2"
    assert (link(second, "Previous page"), link(second, "Next page")) == (1, None)
    assert names(second) == ["Anna Bell", "Zoe Quinn"]

    searched = listing(recruiter, q="ann", page=1)
    assert page_label(searched) is None  # 2 matches fit on one page
    assert names(searched) == ["Ann Archer", "Anna Bell"]


def test_the_next_link_shows_exactly_when_another_candidate_follows(app, recruiter, tenant_a, small_pages):
    add(app, tenant_a, *SEARCHED[:5])  # 6 candidates, more than the cap: 3 full pages
    seen = []
    for number in (1, 2, 3):
        page = listing(recruiter, page=number)
        assert page_label(page) == f"Page {number}"
        assert link(page, "Previous page") == (number - 1 or None)
        assert len(names(page)) == 2
        seen += names(page)
        if number < 3:
            assert link(page, "Next page") == number + 1
        else:
            assert link(page, "Next page") is None  # a full last page: nothing follows
    assert seen[1:] == list(SEARCHED[:5])

    add(app, tenant_a, "Zoe Quinn")  # one more: page 3 is followed by a page of one
    assert link(listing(recruiter, page=3), "Next page") == 4
    last = listing(recruiter, page=4)
    assert names(last) == ["Zoe Quinn"]
    assert (page_label(last), link(last, "Previous page"), link(last, "Next page")) == ("Page 4", 3, None)

    add(app, tenant_a, SEARCHED[5])
    searched = listing(recruiter, q="ann", page=3)  # 6 matches: the third page is the last
    assert (page_label(searched), link(searched, "Next page")) == ("Page 3", None)
    assert "q=ann&amp;page=2" in searched  # the links keep the search


def test_a_page_past_the_end_of_a_known_total_shows_the_last_page(app, recruiter, tenant_a, small_pages):
    add(app, tenant_a, "Ann Archer", "Anna Bell", "Zoe Quinn")
    page = listing(recruiter, page=9)
    assert page_label(page) == "Page 2 of 2"
    assert names(page) == ["Anna Bell", "Zoe Quinn"]
    assert "There are no candidates on page" not in page
    for number in (0, -3):
        assert page_label(listing(recruiter, page=number)) == "Page 1 of 2"


def test_a_page_past_the_end_of_an_unknown_total_says_so(app, recruiter, tenant_a, small_pages):
    add(app, tenant_a, *SEARCHED[:5])  # 6 candidates, more than the cap: 3 pages
    page = listing(recruiter, page=4)
    assert summary(page) == "More than 5 candidates."
    assert names(page) == []
    assert "There are no candidates on page 4: the list ends on an earlier page." in page
    assert 'href="/candidates">Go to the first page</a>' in page
    assert (page_label(page), link(page, "Previous page"), link(page, "Next page")) == ("Page 4", 3, None)
    assert "No candidates yet" not in page

    searched = listing(recruiter, q="ann", page=7)
    assert summary(searched) == "5 candidates match “ann”."  # a known total: back to the last page
    assert page_label(searched) == "Page 3 of 3"

    far = listing(recruiter, page=10**30)  # no OFFSET too large for the database
    assert "There are no candidates on page" in far
    assert link(far, "Next page") is None


def test_the_count_statement_carries_a_limit(ctx: Flask, tenant_a: Tenant) -> None:
    agency = db.session.scalars(select(Agency.id).where(Agency.public_id == tenant_a.agency_id)).one()
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        for search in ("", "alpha"):
            page = queries.list_candidates(Scope(agency, None), search)
            assert (page.total, page.total_capped, page.pages, page.has_next) == (1, False, 1, False)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    counts = [(s, p) for s, p in statements if "count(*)" in s.lower()]
    assert len(counts) == 2, statements
    assert queries.COUNT_CAP == 10_000
    for statement, parameters in counts:
        assert "LIMIT" in statement.upper(), statement
        assert "ORDER BY" not in statement.upper(), statement  # counting needs no sorting
        values = parameters.values() if isinstance(parameters, dict) else parameters
        assert queries.COUNT_CAP + 1 in values, (statement, parameters)
