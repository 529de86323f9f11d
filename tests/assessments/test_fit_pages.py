"""The fit pages: a position's candidates ranked by fit, one candidate's fit in full, and the comparison."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

import taxonomy
from assessments import scoring_adapter
from database import db, unit_of_work
from positions.models import Position
from tests.assessments.test_fit_adapter import (
    ACCOUNTING_ASSISTANT,
    BOOKKEEPING,
    DEMOGRAPHIC_NAMES,
    INVOICES,
    SPREADSHEET,
    WORKED_POMP,
    add_candidate,
    add_transfer,
    agency_of,
    invite,
    names_in,
    worked_candidate,
    worked_position,
)
from tests.conftest import Tenant, sign_in

DECISION = "Nothing here rejects anyone: a person decides."


@dataclass
class Scene:
    position: str
    worked: str
    direct: str
    unassessed: str
    stranger: str  # a candidate of the agency not invited for this position


@pytest.fixture
def scene(app, tenant_a) -> Scene:
    """§4.6's position with three candidates: §4.6's own (92), a direct match (100) and one not yet assessed."""
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = worked_position(agency)
        add_transfer(agency)
        worked = worked_candidate(agency, "Wren Worked")
        invite(worked, position, pomp=WORKED_POMP)
        direct = add_candidate(
            agency,
            "Ada Direct",
            skills=((BOOKKEEPING, 3, "cv"), (INVOICES, 3, "cv"), (SPREADSHEET, 4, "interview")),
            education=(4,),
            jobs=(("Accounts assistant", ACCOUNTING_ASSISTANT, "Q", date(2022, 1, 1), None, 1.0),),
        )
        invite(direct, position, pomp={"professionalism": 0.8, "collaboration": 0.7})
        unassessed = add_candidate(agency, "Zed Unassessed", skills=((BOOKKEEPING, 3, "self"),))
        invite(unassessed, position)
        stranger = add_candidate(agency, "Sam Stranger", skills=((BOOKKEEPING, 5, "cv"),))
        return Scene(position.public_id, worked.public_id, direct.public_id, unassessed.public_id, stranger.public_id)


def signed_in(app: Any, tenant: Tenant, role: str = "recruiter") -> Any:
    client = app.test_client()
    sign_in(client, app, getattr(tenant, role)["email"])
    return client


def text_of(response: Any) -> str:
    """The page as a person reads it: tags dropped, entities decoded, white space collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(body).split())


def order(page: str, *names: str) -> list[str]:
    return sorted(names, key=page.index)


def row_of(page: str, name: str) -> str:
    """The ranking's row of one candidate, from the name cell on (after the hidden "Compare <name>" label)."""
    start = page.index(f"Compare {name} ") + len("Compare ")
    return page[start + len(name) + 1 :]


def url(scene: Scene, suffix: str = "") -> str:
    return f"/assessments/positions/{scene.position}/fit{suffix}"


# --- ranking --------------------------------------------------------------------------------------


def test_the_ranking_lists_every_invited_candidate_by_fit(app, tenant_a, scene):
    response = signed_in(app, tenant_a).get(url(scene))
    assert response.status_code == 200
    page = text_of(response)
    assert order(page, "Ada Direct", "Wren Worked", "Zed Unassessed") == ["Ada Direct", "Wren Worked", "Zed Unassessed"]
    assert "Sam Stranger" not in page
    assert DECISION in page
    assert "People skills not yet assessed" in page
    # Overall and the breakdown per part: §4.6 gives 92, required skills 93, industry 0.
    assert row_of(page, "Wren Worked").startswith("Wren Worked 92 93 100 100 100 0 none set"), row_of(
        page, "Wren Worked"
    )
    assert row_of(page, "Ada Direct").startswith("Ada Direct 100 100 100 100 100 100 none set No no gap")
    # The surprising match with its transfer path, and the two largest gaps in points.
    assert "Surprising match Issue sales invoices via allocate bills (transfer 0.8)" in page
    # Versions and weights are printed.
    assert "profile version 1" in page
    assert "Fit algorithm version " + scoring_adapter.ALGORITHM_VERSION in page
    assert "Required skills 0.35" in page and "Desired skills 0.10 No" in page
    with app.app_context():
        version = scoring_adapter.transfers_version(scoring_adapter.agency_transfers(agency_of(tenant_a).id))
    assert version in page
    assert taxonomy.ESCO_ATTRIBUTION in page


def test_the_gaps_name_what_would_change_the_score(app, tenant_a, scene):
    page = text_of(signed_in(app, tenant_a).get(url(scene)))
    row = row_of(page, "Wren Worked")
    assert "Preferred industry: Q (bonus): closing it would add 5.6 points" in row[: row.index("Zed Unassessed")]
    unassessed = row_of(page, "Zed Unassessed")
    assert "Issue sales invoices (min level 3): closing it would add" in unassessed


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("?min=90", ["Ada Direct", "Wren Worked"]),
        ("?min=93", ["Ada Direct"]),
        ("?surprising=1", ["Wren Worked"]),
        ("?assessed=1", ["Ada Direct", "Wren Worked"]),
        ("?sort=name", ["Ada Direct", "Wren Worked", "Zed Unassessed"]),
        ("?min=101&sort=sideways", ["Ada Direct", "Wren Worked", "Zed Unassessed"]),
    ],
)
def test_filters_and_sort(app, tenant_a, scene, query, shown):
    response = signed_in(app, tenant_a).get(url(scene, query))
    assert response.status_code == 200
    page = text_of(response)
    listed = page[page.index("Candidates for Accounts payable clerk, ") :]
    present = [name for name in ("Ada Direct", "Wren Worked", "Zed Unassessed") if name in listed]
    assert order(listed, *present) == shown
    hidden = 3 - len(shown)
    assert f"Showing {len(shown)} of 3 candidates" in page
    assert (f"({hidden} left out by the filters you chose)" in page) == bool(hidden)
    if "min=101" in query:
        assert "The minimum fit must be a whole number from 0 to 100; it was ignored." in page
        assert "Sort by fit or by name" in page


def test_sorting_by_name_puts_ada_first_even_below_the_others(app, tenant_a, scene):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = db.session.scalars(select(Position).where(Position.public_id == scene.position)).one()
        low = add_candidate(agency, "Aaron Low")
        invite(low, position, pomp={"professionalism": 0.1, "collaboration": 0.1})
    page = text_of(signed_in(app, tenant_a).get(url(scene, "?sort=name")))
    listed = page[page.index("by name. Fit and parts") :]
    assert order(listed, "Aaron Low", "Ada Direct", "Wren Worked", "Zed Unassessed")[0] == "Aaron Low"
    by_fit = text_of(signed_in(app, tenant_a).get(url(scene)))
    by_fit = by_fit[by_fit.index("highest fit first") :]
    assert order(by_fit, "Aaron Low", "Ada Direct", "Wren Worked")[-1] == "Aaron Low"


def test_unmet_mandatory_requirements_are_flagged_never_hidden(app, tenant_a, scene):
    with app.app_context(), unit_of_work():
        position = db.session.scalars(select(Position).where(Position.public_id == scene.position)).one()
        next(s for s in position.skills if s.skill_key == INVOICES).knockout = True
        position.experience_knockout = True
    client = signed_in(app, tenant_a)
    page = text_of(client.get(url(scene)))
    for name in ("Ada Direct", "Wren Worked", "Zed Unassessed"):
        assert name in page
    assert "does not meet mandatory requirement: issue sales invoices (min level 3)" in page
    assert "does not meet mandatory requirement: at least 2 years of relevant experience" in page
    assert "2 are flagged for a mandatory requirement: flagged, still listed." in page
    assert DECISION in page
    met_only = text_of(client.get(url(scene, "?gates=1")))
    listed = met_only[met_only.index("Candidates for Accounts payable clerk, ") :]
    assert "Ada Direct" in listed and "Wren Worked" not in listed and "Zed Unassessed" not in listed
    assert "Showing 1 of 3 candidates (2 left out by the filters you chose)" in met_only


def test_a_position_without_requirements_says_what_to_add(app, tenant_a):
    response = signed_in(app, tenant_a).get(f"/assessments/positions/{tenant_a.position_id}/fit")
    assert response.status_code == 200
    page = text_of(response)
    assert "Fit cannot be computed for this position: the position has no requirements yet." in page
    assert "Add required or desired skills, people skills, a minimum education level" in page
    with app.app_context():
        candidate_name = db.session.scalar(select(Position.title).where(Position.public_id == tenant_a.position_id))
    assert candidate_name in page
    assert "Alpha Candidate" in page  # still listed
    detail = signed_in(app, tenant_a).get(
        f"/assessments/positions/{tenant_a.position_id}/fit/candidate?c={tenant_a.candidate_id}"
    )
    assert detail.status_code == 200
    assert "the position has no requirements yet" in text_of(detail)


def test_the_assessment_page_links_to_the_ranking(app, tenant_a):
    page = signed_in(app, tenant_a).get(f"/assessments/{tenant_a.assessment_id}").get_data(as_text=True)
    assert f'href="/assessments/positions/{tenant_a.position_id}/fit"' in page


# --- one candidate --------------------------------------------------------------------------------


def test_the_detail_traces_every_credit(app, tenant_a, scene):
    response = signed_in(app, tenant_a).get(url(scene, f"/candidate?c={scene.worked}"))
    assert response.status_code == 200
    page = text_of(response)
    assert "Wren Worked: fit for Accounts payable clerk" in page
    assert "Overall fit: 92 out of 100" in page
    assert DECISION in page
    # Skills: requirement -> evidence -> source -> credit -> rule, with the transfer row quoted.
    assert "Issue sales invoices (min level 3) 2 'allocate bills' level 4 (CV) CV 0.80 transfer : " in page
    assert (
        "Transfer 0.8: same document flow, reversed direction (expert, reviewed by A. Reviewer on 2026-01-15)" in page
    )
    assert (
        "Maintain financial records (min level 3) 3 'maintain financial records' level 4 (CV) CV 1.00 direct evidence"
        in page
    )
    # People skills: provisional scores out of 100 against the minimum, no norm group.
    assert "Professionalism 2 72 (no norm group yet) 60 1.00" in page
    assert "Collaboration 1 61 (no norm group yet) 60 1.00" in page
    assert "precision not yet established" in page
    # Education names the substitution rule; experience shows years x FTE x relevance and its source.
    assert "Substitution rule: every 2 years of relevant experience above the experience minimum" in page
    assert "accounting assistant" in page and "same ESCO occupation" in page
    assert "Jan 2021 to Jan 2026 accounting assistant C: Manufacturing 5.00 1 1.00 same ESCO occupation : " in page
    assert "Accounting clerk: 4.9993 years x 1 FTE x 1 (same ESCO occupation: 1.0) = 4.9993 relevant years" in page
    assert "C: Manufacturing" in page
    assert "no job in a preferred section (Q); jobs in C: 0" in page
    assert "Surprising match: yes" in page
    assert "Preferred industry: Q (bonus) 0.00 5.6" in page
    assert "The position sets no mandatory requirement." in page
    assert "profile version 1" in page and taxonomy.ESCO_ATTRIBUTION in page


def test_the_detail_of_someone_not_yet_assessed(app, tenant_a, scene):
    page = text_of(signed_in(app, tenant_a).get(url(scene, f"/candidate?c={scene.unassessed}")))
    assert "Not yet assessed: the candidate has no submitted assessment for this position." in page
    assert "Professionalism 2 not yet assessed" in page


def test_the_detail_answers_404_for_anyone_not_a_candidate_of_the_position(app, tenant_a, tenant_b, scene):
    client = signed_in(app, tenant_a)
    for candidate in (scene.stranger, tenant_b.candidate_id, tenant_a.candidate_id, "nonsense"):
        assert client.get(url(scene, f"/candidate?c={candidate}")).status_code == 404, candidate
    other = f"/assessments/positions/{tenant_b.position_id}/fit"
    assert client.get(other).status_code == 404
    assert client.get(f"{other}/candidate?c={tenant_b.candidate_id}").status_code == 404
    assert client.get(f"{other}/compare?c={tenant_b.candidate_id}&c=x").status_code == 404
    chooser = client.get(url(scene, "/candidate"))
    assert chooser.status_code == 200
    assert "Whose fit would you like to see in full?" in text_of(chooser)


def test_admins_see_the_pages_and_signed_out_people_are_sent_to_sign_in(app, tenant_a, scene):
    assert signed_in(app, tenant_a, "admin").get(url(scene)).status_code == 200
    response = app.test_client().get(url(scene, f"/candidate?c={scene.worked}"))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- comparison -----------------------------------------------------------------------------------


def test_compare_two_to_four_candidates_side_by_side(app, tenant_a, scene):
    client = signed_in(app, tenant_a)
    response = client.get(url(scene, f"/compare?c={scene.worked}&c={scene.direct}&c={scene.unassessed}"))
    assert response.status_code == 200
    page = text_of(response)
    header = page[page.index("3 candidates side by side") :]
    assert order(header, "Wren Worked", "Ada Direct", "Zed Unassessed") == [
        "Wren Worked",
        "Ada Direct",
        "Zed Unassessed",
    ]
    assert "Fit 92 100 " in page
    assert "Industry (weight 0.05) 0 100 " in page
    assert "People skills (weight 0.25) 100 100 not yet assessed" in page
    assert "Mandatory requirements none set none set none set" in page
    assert "Surprising match Surprising match" in page
    assert "What would change the score" in page
    assert DECISION in page


@pytest.mark.parametrize("count", [1, 5])
def test_compare_refuses_fewer_than_two_or_more_than_four(app, tenant_a, scene, count):
    ids = [scene.worked, scene.direct, scene.unassessed, scene.stranger, "e"][:count]
    response = signed_in(app, tenant_a).get(url(scene, "/compare?" + "&".join(f"c={i}" for i in ids)))
    assert response.status_code == 422
    assert f"Choose 2 to 4 candidates to compare; you chose {count}." in text_of(response)


def test_compare_counts_a_repeated_candidate_once_and_offers_a_chooser(app, tenant_a, scene):
    client = signed_in(app, tenant_a)
    assert client.get(url(scene, f"/compare?c={scene.worked}&c={scene.worked}")).status_code == 422
    chooser = client.get(url(scene, "/compare"))
    assert chooser.status_code == 200
    page = text_of(chooser)
    assert "Choose 2 to 4 candidates to compare side by side" in page
    assert "Ada Direct" in page and "Sam Stranger" not in page


def test_compare_answers_404_for_an_unknown_or_foreign_candidate(app, tenant_a, tenant_b, scene):
    client = signed_in(app, tenant_a)
    for other in (scene.stranger, tenant_b.candidate_id, "nonsense"):
        assert client.get(url(scene, f"/compare?c={scene.worked}&c={other}")).status_code == 404, other


def test_the_ranking_offers_the_comparison_with_checkboxes(app, tenant_a, scene):
    body = signed_in(app, tenant_a).get(url(scene)).get_data(as_text=True)
    assert f'action="/assessments/positions/{scene.position}/fit/compare"' in body
    assert f'<input type="checkbox" name="c" value="{scene.worked}"' in body
    assert '<th scope="col">Candidate ' in body and "<caption>" in body
    assert "<script" not in body.split("</header>", 1)[1]


def test_the_fit_pages_never_name_demographic_data():
    assert not names_in("assessments/fit_views.py") & DEMOGRAPHIC_NAMES
