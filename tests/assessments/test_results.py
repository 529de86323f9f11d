"""The results pages and their CSV exports: bands against a norm table (or provisional scores without one),
the small-group and precision labels, pilot labels, sorting and filters, CSV injection, tenant isolation."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

import scoring
from accounts.models import AuditEvent, User
from assessments import results, scoring_adapter
from assessments.models import Assessment, Attempt, AttemptResult, Invitation, NormTable
from database import db, unit_of_work
from positions.models import PositionCompetency
from tests.assessments.test_fit_adapter import NOW, add_candidate, agency_of, bare_position, competency, stored_detail
from tests.conftest import Tenant, post, sign_in

V1 = scoring_adapter.ALGORITHM_VERSION
V2 = f"{V1}+kdeadbeef"
INJECTIONS = ("=HYPERLINK(1)", "+1+1", "-2+3", "@SUM(A1)", "\tTabbed")


@dataclass
class Scene:
    assessment: str
    position: str
    assessment_id: int


def add_invitation(
    assessment: Assessment,
    name: str,
    *,
    overall: float | None = None,
    pomp: dict[str, float] | None = None,
    started: bool = False,
    version: str = V1,
) -> Invitation:
    """An invitation; with ``pomp``, a submitted attempt scored under ``version``; ``started``: begun only."""
    candidate = add_candidate(agency_of_id(assessment.agency_id), name)
    invitation = Invitation(
        agency_id=assessment.agency_id,
        client_id=assessment.client_id,
        assessment=assessment,
        candidate=candidate,
        expires_at=NOW + timedelta(days=3650),
        created_at=NOW,
    )
    db.session.add(invitation)
    if pomp is not None or started:
        attempt = Attempt(
            invitation=invitation,
            agency_id=assessment.agency_id,
            started_at=NOW - timedelta(minutes=20),
            submitted_at=None if pomp is None else NOW,
            item_order=[],
        )
        db.session.add(attempt)
        db.session.flush()
        if pomp is not None:
            add_result(attempt, overall, pomp, version)
    db.session.flush()
    return invitation


def add_result(attempt: Attempt, overall: float | None, pomp: dict[str, float], version: str) -> None:
    db.session.add(
        AttemptResult(
            attempt_id=attempt.id,
            algorithm_version=V1,
            score_version=version,
            overall_pomp=overall,
            detail=stored_detail(dict(pomp)),
            computed_at=NOW if version == V1 else NOW + timedelta(days=1),
        )
    )
    db.session.flush()


def agency_of_id(agency_id: int) -> Any:
    from accounts.models import Agency

    return db.session.get(Agency, agency_id)


def norm_stats(n: int, mean: float = 0.5, sd: float = 0.15) -> dict[str, Any]:
    """Stats as the freezing service stores them: N, mean, ddof=1 SD and the sorted scores (exactly mean, sd)."""
    base = np.linspace(-1.0, 1.0, n)
    base = (base - base.mean()) / base.std(ddof=1)
    values = np.sort(mean + sd * base)
    return {"n": n, "mean": float(values.mean()), "sd": float(values.std(ddof=1)), "sorted": values.tolist()}


def freeze(
    assessment: Assessment, *, n: int, reliability: dict[str, dict[str, Any]], label: str = "Applicants"
) -> None:
    """A frozen norm table for the assessment's current score version, built directly (as analytics would)."""
    version = 1 + len(db.session.scalars(select(NormTable).where(NormTable.assessment_id == assessment.id)).all())
    db.session.add(
        NormTable(
            agency_id=assessment.agency_id,
            assessment_id=assessment.id,
            version=version,
            label=label,
            score_version=scoring_adapter.current_score_version(assessment),
            attempt_ids=[],
            n=n,
            stats={scope: norm_stats(n) for scope in ("overall", "professionalism", "collaboration")},
            reliability=reliability,
            frozen_at=NOW,
        )
    )
    db.session.flush()


def reliability(n: int, alpha: float) -> dict[str, Any]:
    return {"alpha": alpha, "low": alpha - 0.1, "high": alpha + 0.05, "n": n, "status": "stored status is ignored"}


@pytest.fixture
def scene(app, tenant_a) -> Scene:
    """A position asking for professionalism (min 0.6); its assessment reports professionalism and collaboration.

    Ada: overall 0.80, professionalism 0.50 (fit 83); Ben: 0.55, 0.82 (fit 100); Cy started; Di invited.
    """
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = bare_position(agency, "Payroll officer")
        position.competencies = [PositionCompetency(competency=competency(agency, "professionalism"), min_score=0.6)]
        assessment = Assessment(
            agency_id=agency.id, client_id=position.client_id, position=position, title="Payroll SJT", created_at=NOW
        )
        assessment.reported = [competency(agency, "professionalism"), competency(agency, "collaboration")]
        db.session.add(assessment)
        db.session.flush()
        add_invitation(assessment, "Ada Able", overall=0.80, pomp={"professionalism": 0.50, "collaboration": 0.70})
        add_invitation(assessment, "Ben Bright", overall=0.55, pomp={"professionalism": 0.82, "collaboration": 0.40})
        add_invitation(assessment, "Cy Started", started=True)
        add_invitation(assessment, "Di Invited")
        return Scene(assessment.public_id, position.public_id, assessment.id)


def signed_in(app: Any, tenant: Tenant) -> Any:
    client = app.test_client()
    sign_in(client, app, tenant.recruiter["email"])
    return client


def text_of(response: Any) -> str:
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(body).split())


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def names(page: str, *candidates: str) -> list[str]:
    return sorted((c for c in candidates if c in page), key=page.index)


def table_of(page: str) -> str:
    return page[page.index("Results for") :]


def with_assessment(app: Any, scene: Scene, change: Any) -> None:
    with app.app_context(), unit_of_work():
        change(db.session.get(Assessment, scene.assessment_id))


# --- without a norm table -----------------------------------------------------------------------------


def test_without_a_norm_table_the_provisional_scores_say_no_norm_group_yet(app, tenant_a, scene):
    response = signed_in(app, tenant_a).get(f"/assessments/{scene.assessment}/results")
    assert response.status_code == 200
    page = text_of(response)
    assert "Results: Payroll SJT" in page
    assert "no norm group yet" in page
    ada = page[page.index("Ada Able") :]
    # Overall 80 and the two competencies, each provisional; the fit (83) and the context beside them.
    assert ada.startswith(
        "Ada Able Submitted 30 Jun 2026 80 /100 provisional; no norm group yet 50 /100 provisional; no norm group yet"
        " 70 /100 provisional; no norm group yet 83 /100 Left the page 0×, pasted 0×, reloaded 0× Time taken: 20 min"
    ), ada[:300]
    assert not re.search(r"Sten \d", page) and "Percentile" not in page and "90% interval:" not in page
    assert "Cy Started Started" in page and "Di Invited Queued" in page
    assert f"Score version {V1} (current)" in page
    # Accessible table: a caption, column and row headers, a labelled scrolling region.
    body = response.get_data(as_text=True)
    assert "<caption>" in body and 'scope="col"' in body and 'scope="row"' in body
    assert 'role="region" aria-label="Results table (scrolls sideways)" tabindex="0"' in body


def test_the_csv_has_the_same_columns_and_safe_headers(app, tenant_a, scene):
    response = signed_in(app, tenant_a).get(f"/assessments/{scene.assessment}/results.csv")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="results-')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.mimetype == "text/csv"
    rows = rows_of(response)
    assert [row["Candidate"] for row in rows] == ["Ada Able", "Ben Bright", "Cy Started", "Di Invited"]
    ada = rows[0]
    assert ada["Overall score (0-100)"] == "80"
    assert ada["Overall notes"] == "no norm group yet"
    assert ada["Overall sten"] == "" and ada["Overall percentile"] == ""
    assert ada["Professionalism score (0-100)"] == "50"
    assert ada["Fit (0-100)"] == "83"
    assert ada["Time taken (seconds)"] == "1200"
    assert (ada["Score version"], ada["Norm group"], ada["Norm version"], ada["Pilot"]) == (V1, "", "", "")
    assert rows[2]["Status"] == "started" and rows[2]["Left the page"] == "0"
    assert rows[3]["Status"] == "queued" and rows[3]["Left the page"] == ""


# --- with a norm table --------------------------------------------------------------------------------


def test_with_a_norm_table_scores_carry_sten_interval_and_percentile(app, tenant_a, scene):
    """N = 150: percentiles "estimated"; overall reliability on 150 (provisional), professionalism on 250
    (established), collaboration on 80 (precision not yet established)."""
    with app.app_context(), unit_of_work():
        assessment = db.session.get(Assessment, scene.assessment_id)
        freeze(
            assessment,
            n=150,
            reliability={
                "overall": reliability(150, 0.70),
                "professionalism": reliability(250, 0.46),
                "collaboration": reliability(80, 0.80),
            },
        )
    stats = norm_stats(150)
    table = scoring.NormTable("v1", 150, stats["mean"], stats["sd"], np.array(stats["sorted"]))
    overall = scoring.norm_score(0.80, table)
    band = scoring.t_band(overall.t, 0.70)
    assert band.upper - overall.t == pytest.approx(1.645 * 10 * (1 - 0.70) ** 0.5)
    professionalism = scoring.norm_score(0.50, table)
    professional_band = scoring.t_band(professionalism.t, 0.46)
    collaboration = scoring.norm_score(0.70, table)

    response = signed_in(app, tenant_a).get(f"/assessments/{scene.assessment}/results")
    page = text_of(response)
    assert "Norm group Applicants (version 1, N = 150), frozen 30 Jun 2026." in page
    assert "provisional; no norm group yet" not in page
    ada = page[page.index("Ada Able") : page.index("Ben Bright")]
    t = scoring.t_for_display
    assert (
        f"Sten {overall.sten} 90% interval: sten {band.sten_lower}–{band.sten_upper} "
        f"T {t(overall.t):.1f} ({t(band.lower):.1f}–{t(band.upper):.1f}) "
        f"Percentile {scoring.display_percentile(overall.percentile):.1f} (estimated) provisional interval "
        "score 80/100"
    ) in ada, ada
    assert (
        f"Sten {professionalism.sten} 90% interval: sten {professional_band.sten_lower}–{professional_band.sten_upper}"
    ) in ada
    assert f"Sten {collaboration.sten} T {t(collaboration.t):.1f} Percentile" in ada
    assert "precision not yet established score 70/100" in ada
    # The hand-checked numbers behind them: z = 2, T 70, sten 10, 90% band 61.0-79.0 (stens 8-10), PR 97.7.
    assert (overall.sten, t(overall.t), t(band.lower), t(band.upper)) == (10, 70.0, 61.0, 79.0)
    assert (band.sten_lower, band.sten_upper) == (8, 10)
    assert scoring.display_percentile(overall.percentile) == 97.7

    rows = rows_of(signed_in(app, tenant_a).get(f"/assessments/{scene.assessment}/results.csv"))
    ada_row = rows[0]
    assert ada_row["Overall sten"] == "10"
    assert (ada_row["Overall 90% interval T from"], ada_row["Overall 90% interval T to"]) == ("61.0", "79.0")
    assert ada_row["Overall 90% interval stens"] == "8 to 10"
    assert ada_row["Overall percentile"] == "97.7"
    assert ada_row["Overall notes"] == "provisional; estimated percentile"
    assert ada_row["Collaboration notes"] == "precision not yet established; estimated percentile"
    assert ada_row["Collaboration 90% interval T from"] == ""
    assert (ada_row["Norm group"], ada_row["Norm version"], ada_row["Norm group N"]) == ("Applicants", "v1", "150")


def test_a_small_norm_group_has_no_percentile_and_says_so(app, tenant_a, scene):
    with app.app_context(), unit_of_work():
        freeze(db.session.get(Assessment, scene.assessment_id), n=45, reliability={"overall": reliability(99, 0.9)})
    page = text_of(signed_in(app, tenant_a).get(f"/assessments/{scene.assessment}/results"))
    assert "small norm group (N = 45)" in page
    assert "Percentile" not in page
    ada = page[page.index("Ada Able") : page.index("Ben Bright")]
    # A reliability on 99 attempts is not enough for an interval.
    assert "small norm group (N = 45) precision not yet established score 80/100" in ada
    assert "90% interval:" not in ada


def test_the_latest_norm_table_of_the_current_score_version_is_used(app, tenant_a, scene):
    with app.app_context(), unit_of_work():
        assessment = db.session.get(Assessment, scene.assessment_id)
        freeze(assessment, n=45, reliability={}, label="Old group")
        freeze(assessment, n=120, reliability={}, label="New group")
        stale = NormTable(
            agency_id=assessment.agency_id,
            assessment_id=assessment.id,
            version=3,
            label="Other version",
            score_version=V2,
            attempt_ids=[],
            n=300,
            stats={"overall": norm_stats(300)},
            reliability={},
            frozen_at=NOW,
        )
        db.session.add(stale)
    page = text_of(signed_in(app, tenant_a).get(f"/assessments/{scene.assessment}/results"))
    assert "New group (version 2, N = 120)" in page
    assert "Old group" not in page and "Other version" not in page


def test_band_score_follows_the_decisions(app):
    stats = norm_stats(400)
    group = scoring_adapter.norm_group(
        public_id="x",
        label="Big",
        version=1,
        n=400,
        score_version=V1,
        frozen_at=NOW,
        stats={"overall": stats, "broken": {"n": 40, "mean": 0.5, "sd": 0.0, "sorted": []}},
        reliability={"overall": reliability(210, 0.8)},
    )
    assert group.scope("broken") is None  # a scope scoring refuses stays provisional
    scored = scoring_adapter.band_score(0.65, group.scope("overall"))
    assert scored.percentile_kind == "empirical" and scored.precision == "established" and scored.notes == ()
    table = scoring.NormTable("v1", 400, stats["mean"], stats["sd"], np.array(stats["sorted"]))
    assert scored.percentile == scoring.display_percentile(scoring.empirical_percentile(0.65, table))
    provisional = scoring_adapter.band_score(0.654, None)
    assert (provisional.provisional, provisional.notes, provisional.sten) == (65, ("no norm group yet",), None)
    negative = scoring_adapter.norm_group(
        public_id="y",
        label="Odd",
        version=1,
        n=400,
        score_version=V1,
        frozen_at=NOW,
        stats={"overall": stats},
        reliability={"overall": reliability(300, -0.2)},
    )
    assert scoring_adapter.band_score(0.65, negative.scope("overall")).notes == ("precision not yet established",)


# --- pilot --------------------------------------------------------------------------------------------


def test_pilot_scores_are_labelled_on_the_page_and_in_the_csv(app, tenant_a, scene):
    with_assessment(app, scene, lambda a: setattr(a, "pilot", True))
    client = signed_in(app, tenant_a)
    response = client.get(f"/assessments/{scene.assessment}/results")
    assert 'id="pilot-banner"' in response.get_data(as_text=True)
    page = text_of(response)
    assert "Pilot. These scores come from a pilot" in page
    assert "Ada Able Pilot Submitted" in page
    rows = rows_of(client.get(f"/assessments/{scene.assessment}/results.csv"))
    assert {row["Pilot"] for row in rows} == {"Pilot"}
    position_page = text_of(client.get(f"/assessments/positions/{scene.position}/results"))
    assert "Pilot. These scores come from a pilot" in position_page


def test_the_pilot_switch_works_before_and_after_publishing_and_is_audited(app, tenant_a):
    client = signed_in(app, tenant_a)
    url = f"/assessments/{tenant_a.assessment_id}"
    detail = client.get(url).get_data(as_text=True)
    assert 'name="pilot"' in detail
    form = {
        "title": "Alpha Assessment",
        "invitation_days": "7",
        "practice": "",
        "rule_rate": "",
        "rule_most_least": "",
        "rule_rank": "",
        "rule_single_best": "",
        "pilot": "y",
    }
    assert post(client, app, f"{url}/settings", form).status_code == 302
    with app.app_context(), unit_of_work():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id)).one()
        assert assessment.pilot is True
        assessment.published_at = NOW  # published: the other settings are fixed, the pilot switch is not
    assert "Pilot" in text_of(client.get(url))
    assert post(client, app, f"{url}/settings", {}).status_code == 302
    with app.app_context():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == tenant_a.assessment_id)).one()
        assert assessment.pilot is False
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_public_id == tenant_a.assessment_id)
        ).all()
        actor = db.session.scalars(select(User).where(User.public_id == tenant_a.recruiter["public_id"])).one()
        assert actor is not None
    assert "assessment.pilot_on" in actions and "assessment.pilot_off" in actions


# --- CSV injection ------------------------------------------------------------------------------------


def test_csv_cells_that_start_a_formula_are_neutralised(app, tenant_a, scene):
    with app.app_context(), unit_of_work():
        assessment = db.session.get(Assessment, scene.assessment_id)
        for name in INJECTIONS:
            add_invitation(assessment, name, overall=0.3, pomp={"professionalism": 0.3})
        assessment.title = "=cmd|' /C calc'!A0"
    rows = rows_of(signed_in(app, tenant_a).get(f"/assessments/{scene.assessment}/results.csv"))
    found = {row["Candidate"] for row in rows}
    for name in INJECTIONS:
        assert "'" + name in found
    assert {row["Assessment"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert "Ada Able" in found  # ordinary text untouched
    assert results.neutralise("\rx") == "'\rx" and results.neutralise("4 to 8") == "4 to 8"
    assert results.neutralise(None) == ""


# --- sorting and filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("", ["Ada Able", "Ben Bright", "Cy Started", "Di Invited"]),
        ("?sort=overall", ["Ada Able", "Ben Bright", "Cy Started", "Di Invited"]),
        ("?sort=fit", ["Ben Bright", "Ada Able", "Cy Started", "Di Invited"]),
        ("?sort=c:professionalism", ["Ben Bright", "Ada Able", "Cy Started", "Di Invited"]),
        ("?sort=c:collaboration", ["Ada Able", "Ben Bright", "Cy Started", "Di Invited"]),
        ("?status=submitted", ["Ada Able", "Ben Bright"]),
        ("?status=started", ["Cy Started"]),
        ("?min=60", ["Ada Able"]),
        ("?min=50&sort=fit", ["Ben Bright", "Ada Able"]),
        ("?min=abc&status=nonsense&sort=sideways", ["Ada Able", "Ben Bright", "Cy Started", "Di Invited"]),
    ],
)
def test_sorting_and_filters(app, tenant_a, scene, query, shown):
    client = signed_in(app, tenant_a)
    everyone = ("Ada Able", "Ben Bright", "Cy Started", "Di Invited")
    page = text_of(client.get(f"/assessments/{scene.assessment}/results{query}"))
    assert names(table_of(page), *everyone) == shown
    rows = rows_of(client.get(f"/assessments/{scene.assessment}/results.csv{query}"))
    assert [row["Candidate"] for row in rows] == shown
    if "nonsense" in query:
        assert "The minimum overall score must be a whole number" in page
        assert "That status is not one of the list" in page
        assert "That sort is not available" in page


def test_the_position_page_lists_every_assessment_and_filters_pilots(app, tenant_a, scene):
    with app.app_context(), unit_of_work():
        first = db.session.get(Assessment, scene.assessment_id)
        pilot = Assessment(
            agency_id=first.agency_id,
            client_id=first.client_id,
            position=first.position,
            title="Payroll pilot",
            created_at=NOW + timedelta(days=1),
            pilot=True,
        )
        pilot.reported = list(first.reported)
        db.session.add(pilot)
        db.session.flush()
        add_invitation(pilot, "Eve Pilot", overall=0.9, pomp={"professionalism": 0.9})
    client = signed_in(app, tenant_a)
    base = f"/assessments/positions/{scene.position}/results"
    page = text_of(client.get(base))
    everyone = ("Ada Able", "Ben Bright", "Cy Started", "Di Invited", "Eve Pilot")
    assert names(table_of(page), *everyone) == list(everyone)
    assert "Eve Pilot Pilot Payroll pilot" in page
    assert "Scores from the assessments marked Pilot come from a pilot" in page
    assert names(table_of(text_of(client.get(f"{base}?pilot=pilot"))), *everyone) == ["Eve Pilot"]
    assert "Eve Pilot" not in table_of(text_of(client.get(f"{base}?pilot=not-pilot")))
    assert names(table_of(text_of(client.get(f"{base}?sort=overall"))), *everyone)[:3] == [
        "Eve Pilot",
        "Ada Able",
        "Ben Bright",
    ]
    rows = rows_of(client.get(f"{base}.csv?pilot=pilot"))
    assert [(row["Candidate"], row["Assessment"], row["Pilot"]) for row in rows] == [
        ("Eve Pilot", "Payroll pilot", "Pilot")
    ]


# --- score versions -----------------------------------------------------------------------------------


def test_the_current_score_version_and_what_changed_are_shown(app, tenant_a, scene):
    with app.app_context(), unit_of_work():
        assessment = db.session.get(Assessment, scene.assessment_id)
        attempts = {
            i.candidate.name: i.attempt for i in db.session.scalars(select(Invitation)).all() if i.attempt is not None
        }
        add_result(attempts["Ada Able"], 0.90, {"professionalism": 0.6}, V2)  # +10 points
        add_result(attempts["Ben Bright"], 0.57, {"professionalism": 0.82}, V2)  # +2 points
        assessment.score_version = V2
        late = add_invitation(assessment, "Fay Late", overall=0.4, pomp={"professionalism": 0.4})
        assert late.attempt is not None
    page = text_of(signed_in(app, tenant_a).get(f"/assessments/{scene.assessment}/results"))
    assert f"Score version {V2} (current). Versions computed: {V1}, {V2}." in page
    assert (
        f"Re-scored from {V1} to {V2}. On the 2 attempts scored under both, the overall score moved by +6.0 points "
        "on average; 1 moved by more than 5 points."
    ) in page
    assert "Ada Able Submitted 30 Jun 2026 90 /100" in page
    # Fay was scored at submission only: her row names its own version and says it is not the current one.
    fay = page[page.index("Fay Late") :]
    assert f"{V1} not the current version ({V2})" in fay


def test_the_fit_uses_the_current_score_version(app, tenant_a, scene):
    from assessments import fit_queries

    with app.app_context(), unit_of_work():
        assessment = db.session.get(Assessment, scene.assessment_id)
        ada = db.session.scalars(
            select(Invitation).where(Invitation.assessment_id == assessment.id).order_by(Invitation.id)
        ).first()
        assert ada is not None and ada.attempt is not None
        add_result(ada.attempt, 0.9, {"professionalism": 0.3}, V2)
        before = fit_queries.latest_scores(assessment.position, [ada.candidate_id])[ada.candidate_id]
        assessment.score_version = V2
        db.session.flush()
        after = fit_queries.latest_scores(assessment.position, [ada.candidate_id])[ada.candidate_id]
    assert dict(before.pomp) == {"professionalism": 0.5, "collaboration": 0.7}
    assert dict(after.pomp) == {"professionalism": 0.3}


# --- isolation ----------------------------------------------------------------------------------------


def test_another_agency_gets_404(app, tenant_a, tenant_b, scene):
    client = signed_in(app, tenant_b)
    for url in (
        f"/assessments/{scene.assessment}/results",
        f"/assessments/{scene.assessment}/results.csv",
        f"/assessments/positions/{scene.position}/results",
        f"/assessments/positions/{scene.position}/results.csv",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Ada Able" not in response.get_data(as_text=True)
    own = text_of(client.get(f"/assessments/{tenant_b.assessment_id}/results"))
    assert "Ada Able" not in own and "Beta Candidate" in own
