"""Recruiters' decisions: recorded from the fit pages, append-only with their history, a reason required
exactly when the decision goes against the evidence, 404 outside the position, nothing written on bad input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import AuditEvent, User
from assessments import decisions
from assessments.decisions import Evidence
from assessments.models import Attempt, AttemptResult, Decision, Invitation
from database import db, unit_of_work, utcnow
from positions.models import Position
from tests.assessments.test_fit_adapter import (
    ACCOUNTING_ASSISTANT,
    BOOKKEEPING,
    INVOICES,
    SPREADSHEET,
    WORKED_POMP,
    add_candidate,
    add_transfer,
    agency_of,
    invite,
    worked_candidate,
    worked_position,
)
from tests.assessments.test_fit_pages import signed_in, text_of
from tests.conftest import csrf_token


@dataclass
class Scene:
    position: str
    ada: str  # fit 100, every gate met
    wren: str  # fit 92 (§4.6), every gate met
    low: str  # fails the collaboration knock-out, overall provisional score 45
    unassessed: str  # strong on paper, people skills not yet assessed: the collaboration gate is not yet known
    stranger: str  # a candidate of the agency never invited for this position


def set_overall(invitation: Invitation, overall: float) -> None:
    attempt = db.session.scalars(select(Attempt).where(Attempt.invitation_id == invitation.id)).one()
    result = db.session.scalars(select(AttemptResult).where(AttemptResult.attempt_id == attempt.id)).one()
    result.overall_pomp = overall


@pytest.fixture
def scene(app, tenant_a) -> Scene:
    """§4.6's position, collaboration made a knock-out; assessed fits 100, 92 and Low's, so the median is 92."""
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = worked_position(agency)
        position.competencies[1].knockout = True  # collaboration, minimum 0.6
        add_transfer(agency)
        ada = add_candidate(
            agency,
            "Ada Direct",
            skills=((BOOKKEEPING, 3, "cv"), (INVOICES, 3, "cv"), (SPREADSHEET, 4, "interview")),
            education=(4,),
            jobs=(("Accounts assistant", ACCOUNTING_ASSISTANT, "Q", date(2022, 1, 1), None, 1.0),),
        )
        set_overall(invite(ada, position, pomp={"professionalism": 0.8, "collaboration": 0.7}), 0.75)
        wren = worked_candidate(agency, "Wren Worked")
        set_overall(invite(wren, position, pomp=WORKED_POMP), 0.68)
        low = add_candidate(agency, "Lou Low", skills=((BOOKKEEPING, 1, "self"),))
        set_overall(invite(low, position, pomp={"professionalism": 0.5, "collaboration": 0.4}), 0.45)
        unassessed = add_candidate(
            agency,
            "Zed Unassessed",
            skills=((BOOKKEEPING, 3, "cv"), (INVOICES, 3, "cv"), (SPREADSHEET, 4, "cv")),
            education=(4,),
            jobs=(("Accounts assistant", ACCOUNTING_ASSISTANT, "Q", date(2022, 1, 1), None, 1.0),),
        )
        invite(unassessed, position)
        stranger = add_candidate(agency, "Sam Stranger", skills=((BOOKKEEPING, 5, "cv"),))
        return Scene(
            position.public_id, ada.public_id, wren.public_id, low.public_id, unassessed.public_id, stranger.public_id
        )


def decide(client: Any, app: Any, scene: Scene, candidate: str, **fields: str) -> Any:
    data = {"c": candidate, "csrf_token": csrf_token(client, app), **fields}
    return client.post(f"/assessments/positions/{scene.position}/decisions", data=data)


def stored(app: Any) -> list[tuple[str, str, bool, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Decision.outcome, Decision.reason, Decision.against_evidence, Decision.public_id).order_by(
                Decision.id
            )
        ).all()
        return [(str(o), r, a, p) for o, r, a, p in rows]


def audit_count(app: Any, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0


def candidate_page(client: Any, scene: Scene, candidate: str) -> Any:
    return client.get(f"/assessments/positions/{scene.position}/fit/candidate?c={candidate}")


# --- the rule, exactly ---------------------------------------------------------------------------


def evidence(**changes: Any) -> Evidence:
    base: dict[str, Any] = {
        "fit": 80,
        "median_fit": 80.0,
        "gap_threshold": 50,
        "gates_met": True,
        "failed_gates": (),
        "overall_score": 70,
        "lowest_minimum": 60,
    }
    return Evidence(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "against"),
    [
        ({}, True),  # at the median, every gate met
        ({"fit": 81}, True),
        ({"fit": 79}, False),
        ({"fit": 80, "median_fit": 80.5}, False),  # the median of shown fits may end in .5
        ({"gates_met": False}, False),  # a gate not met (or not yet assessed): declining needs no reason
        ({"fit": None}, False),  # no fit: nothing says the candidate is strong
        ({"median_fit": None}, False),  # nobody assessed has a fit yet
    ],
)
def test_decline_goes_against_the_evidence_at_or_above_the_median_with_every_gate_met(changes, against):
    assert evidence(**changes).against("decline") is against
    assert not evidence(**changes).against("hold")


@pytest.mark.parametrize(
    ("changes", "grounds"),
    [
        ({}, 0),
        ({"fit": 50}, 0),  # at the gap threshold is not below it
        ({"fit": 49}, 1),
        ({"failed_gates": ("Collaboration",)}, 1),
        ({"overall_score": 60}, 0),  # at the lowest minimum is not below every minimum
        ({"overall_score": 59}, 1),
        ({"overall_score": 10, "lowest_minimum": None}, 0),  # no people-skill minimums
        ({"overall_score": None}, 0),
        ({"fit": None, "gap_threshold": None}, 0),
        ({"fit": 30, "failed_gates": ("Collaboration",), "overall_score": 40}, 3),
    ],
)
def test_advance_goes_against_the_evidence_below_the_gap_threshold_a_failed_gate_or_every_minimum(changes, grounds):
    found = evidence(**changes).grounds("advance")
    assert len(found) == grounds
    assert not evidence(**changes).against("hold")


def test_the_grounds_say_why_in_plain_words():
    assert evidence().grounds("decline") == (
        "the fit of 80 is at or above the median fit of the assessed candidates (80) and every mandatory "
        "requirement is met",
    )
    assert evidence(fit=30, failed_gates=("Collaboration",), overall_score=40).grounds("advance") == (
        "the fit of 30 is below the gap threshold of 50",
        "a mandatory requirement is not met (Collaboration)",
        "the overall provisional score of 40 is below every people-skill minimum of the position (the lowest is 60)",
    )
    assert "median fit of the assessed candidates (80.5)" in evidence(fit=81, median_fit=80.5).grounds("decline")[0]


def test_the_board_reads_the_scene(app, scene):
    with app.app_context():
        position = db.session.scalars(select(Position).where(Position.public_id == scene.position)).one()
        board = decisions.board(position, utcnow().date())
        by_name = {c.name: board.evidence_for(c) for c in _candidates(position)}
    assert board.median_fit == 92 and board.gap_threshold == 50 and board.lowest_minimum == 60
    assert by_name["Ada Direct"].fit == 100 and by_name["Ada Direct"].against("decline")
    assert by_name["Wren Worked"].fit == 92 and by_name["Wren Worked"].against("decline")
    low = by_name["Lou Low"]
    assert low.failed_gates == ("Collaboration (minimum 0.6)",) and low.overall_score == 45
    assert not low.against("decline") and low.against("advance")
    assert not by_name["Ada Direct"].against("advance")
    zed = by_name["Zed Unassessed"]  # a gate not yet assessed is neither met nor failed
    assert zed.fit is not None and not zed.gates_met and zed.failed_gates == ()
    assert not zed.against("decline") and not zed.against("advance")
    assert not any(e.against("hold") for e in by_name.values())


def _candidates(position: Position) -> list[Any]:
    from assessments import fit_queries

    return fit_queries.position_candidates(position)


# --- recording and history -----------------------------------------------------------------------


def test_a_decision_is_recorded_audited_and_kept_with_its_history(app, tenant_a, scene):
    client = signed_in(app, tenant_a)
    response = decide(client, app, scene, scene.ada, outcome="advance", back="candidate")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"c={scene.ada}#decision")
    response = decide(client, app, scene, scene.ada, outcome="hold", reason="Waiting for references", back="ranking")
    assert response.headers["Location"].endswith(f"/fit#decision-{scene.ada}")
    rows = stored(app)
    assert [(o, r, a) for o, r, a, _ in rows] == [("advance", "", False), ("hold", "Waiting for references", False)]

    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "decision.recorded")).all()
        recruiter = db.session.scalars(select(User).where(User.email == tenant_a.recruiter["email"])).one()
        assert [e.object_public_id for e in events] == [p for *_, p in rows]
        for event in events:
            assert event.actor_public_id == recruiter.public_id and event.agency_public_id == tenant_a.agency_id
            assert event.details == {"position": scene.position, "candidate": scene.ada}
            assert "Waiting" not in str(event.details) and "Ada" not in str(event.details)

    page = text_of(candidate_page(client, scene, scene.ada))
    assert f"Current decision: Hold , recorded by {tenant_a.recruiter['name']}" in page
    history = page[page.index("Decisions on Ada Direct for this position, newest first") :]
    assert history.index("Hold") < history.index("Advance")
    assert "Waiting for references" in history and "(none given)" in history
    assert tenant_a.recruiter["name"] in history

    ranking = text_of(client.get(f"/assessments/positions/{scene.position}/fit"))
    assert "Hold Decision on Ada Direct" in ranking
    assert "No decision yet Decision on Wren Worked" in ranking


def test_the_forms_choose_nothing_for_the_recruiter(app, tenant_a, scene):
    client = signed_in(app, tenant_a)
    body = candidate_page(client, scene, scene.wren).get_data(as_text=True)
    radios = re.findall(r'<input type="radio"[^>]*name="outcome"[^>]*>', body)
    assert len(radios) == 3 and not any("checked" in radio for radio in radios)
    ranking = client.get(f"/assessments/positions/{scene.position}/fit").get_data(as_text=True)
    selects = re.findall(r'<select[^>]*name="outcome"[^>]*>(.*?)</select>', ranking, re.S)
    assert len(selects) == 4  # one per candidate, each joined to its own form outside the comparison form
    for options in selects:
        assert re.findall(r'<option value="([^"]*)"', options) == ["", "advance", "hold", "decline"]
        assert "selected" not in options
    assert len(re.findall(r'<form id="decide-[^"]+" method="post"', ranking)) == 4
    assert stored(app) == []  # reading the pages decides nothing


def test_the_pages_show_why_a_reason_is_needed(app, tenant_a, scene):
    client = signed_in(app, tenant_a)
    page = text_of(candidate_page(client, scene, scene.wren))
    assert (
        "A reason is needed if you choose decline, because the fit of 92 is at or above the median fit of the "
        "assessed candidates (92) and every mandatory requirement is met." in page
    )
    assert decisions.RULE in page
    low = text_of(candidate_page(client, scene, scene.low))
    assert "A reason is needed if you choose advance, because " in low
    assert "a mandatory requirement is not met (Collaboration (minimum 0.6))" in low
    assert "the overall provisional score of 45 is below every people-skill minimum of the position" in low
    unassessed = text_of(candidate_page(client, scene, scene.unassessed))
    assert "No reason is needed for any decision here; you may still give one." in unassessed
    ranking = text_of(client.get(f"/assessments/positions/{scene.position}/fit"))
    assert "Reason needed to decline: fit 100 at or above the median 92, every mandatory requirement met." in ranking
    assert "Reason needed to advance: fit 28 below 50; a mandatory requirement not met; overall score 45" in ranking


@pytest.mark.parametrize(
    ("who", "outcome", "grounds"),
    [
        ("ada", "decline", "the fit of 100 is at or above the median fit of the assessed candidates (92)"),
        ("wren", "decline", "the fit of 92 is at or above the median fit of the assessed candidates (92)"),
        (
            "low",
            "advance",
            "the fit of 28 is below the gap threshold of 50; a mandatory requirement is not met (Collaboration "
            "(minimum 0.6)); the overall provisional score of 45 is below every people-skill minimum of the position "
            "(the lowest is 60)",
        ),
    ],
)
def test_a_decision_against_the_evidence_needs_a_reason(app, tenant_a, scene, who, outcome, grounds):
    client = signed_in(app, tenant_a)
    candidate = getattr(scene, who)
    for reason in ("", "   "):
        response = decide(client, app, scene, candidate, outcome=outcome, reason=reason, back="ranking")
        assert response.status_code == 422
        page = text_of(response)
        assert "Nothing was recorded." in page
        assert "A reason is needed because " + grounds in page
        assert f'value="{outcome}" checked' in response.get_data(as_text=True)  # what was chosen stays chosen
    assert stored(app) == [] and audit_count(app, "decision.recorded") == 0

    response = decide(client, app, scene, candidate, outcome=outcome, reason="Agreed with the client after interview")
    assert response.status_code == 302
    assert [(o, a) for o, _, a, _ in stored(app)] == [(outcome, True)]


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("low", "decline"),
        ("ada", "advance"),
        ("wren", "advance"),
        ("wren", "hold"),
        ("unassessed", "decline"),
        ("unassessed", "advance"),
    ],
)
def test_a_decision_with_the_evidence_needs_no_reason(app, tenant_a, scene, who, outcome):
    response = decide(signed_in(app, tenant_a), app, scene, getattr(scene, who), outcome=outcome)
    assert response.status_code == 302
    assert [(o, r, a) for o, r, a, _ in stored(app)] == [(outcome, "", False)]


@pytest.mark.parametrize(
    "fields",
    [{}, {"outcome": ""}, {"outcome": "reject"}, {"outcome": "ADVANCE"}, {"outcome": "advance", "back": "elsewhere"}],
)
def test_bad_input_answers_422_and_writes_nothing(app, tenant_a, scene, fields):
    response = decide(signed_in(app, tenant_a), app, scene, scene.ada, **fields)
    assert response.status_code == 422
    assert "Nothing was recorded." in text_of(response)
    assert stored(app) == [] and audit_count(app, "decision.recorded") == 0


def test_a_reason_that_is_too_long_is_refused(app, tenant_a, scene):
    response = decide(signed_in(app, tenant_a), app, scene, scene.ada, outcome="hold", reason="x" * 2001)
    assert response.status_code == 422
    assert stored(app) == []


def test_a_candidate_outside_the_position_answers_404_and_nothing_is_written(app, tenant_a, tenant_b, scene):
    client = signed_in(app, tenant_a)
    for candidate in (scene.stranger, tenant_b.candidate_id, "no-such-candidate", ""):
        response = decide(client, app, scene, candidate, outcome="advance", reason="because")
        assert response.status_code == 404, candidate
    assert stored(app) == [] and audit_count(app, "decision.recorded") == 0
    assert audit_count(app, "access.denied.scope") == 4


def test_another_agencys_position_answers_404_and_nothing_is_written(app, tenant_a, tenant_b, scene):
    client = signed_in(app, tenant_b)
    for candidate in (scene.ada, tenant_b.candidate_id):
        assert decide(client, app, scene, candidate, outcome="advance").status_code == 404
        assert candidate_page(client, scene, candidate).status_code == 404
    own = f"/assessments/positions/{tenant_b.position_id}/decisions"
    response = client.post(own, data={"c": scene.ada, "outcome": "hold", "csrf_token": csrf_token(client, app)})
    assert response.status_code == 404  # A's candidate on B's own position
    assert stored(app) == []


def test_the_service_refuses_before_writing(app, tenant_a, scene):
    with app.app_context():
        position = db.session.scalars(select(Position).where(Position.public_id == scene.position)).one()
        recruiter = db.session.scalars(select(User).where(User.email == tenant_a.recruiter["email"])).one()
        now = utcnow()
        cases: list[tuple[str, str, type[Exception]]] = [
            (scene.stranger, "advance", decisions.NotACandidate),
            (scene.ada, "promote", decisions.UnknownOutcome),
            (scene.ada, "decline", decisions.ReasonRequired),
        ]
        for candidate, outcome, error in cases:
            with pytest.raises(error), unit_of_work():
                decisions.record_decision(position, candidate, outcome, " ", by=recruiter, now=now)
        assert db.session.scalar(select(func.count()).select_from(Decision)) == 0
        with unit_of_work():
            decision = decisions.record_decision(position, scene.ada, "decline", " Moved ", by=recruiter, now=now)
        assert decision.reason == "Moved" and decision.against_evidence


def test_the_client_user_and_anonymous_cannot_decide(app, tenant_a, scene):
    client = app.test_client()
    response = client.post(f"/assessments/positions/{scene.position}/decisions", data={"c": scene.ada})
    assert response.status_code in (302, 400)  # to sign in, or refused for the missing CSRF token
    assert stored(app) == []


def test_a_direct_tenant_check(app, tenant_a, tenant_b, scene):
    """The service refuses a recruiter of another agency even if a view forgot to scope the position."""
    with app.app_context():
        position = db.session.scalars(select(Position).where(Position.public_id == scene.position)).one()
        other = db.session.scalars(select(User).where(User.email == tenant_b.recruiter["email"])).one()
        with pytest.raises(decisions.NotACandidate), unit_of_work():
            decisions.record_decision(position, scene.ada, "hold", "", by=other, now=utcnow())
    assert stored(app) == []
