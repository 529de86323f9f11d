"""Freezing norm groups through the real pages: versions, the stored numbers against scoring's own, the
30-attempt floor, the labels, tenant isolation and the audit trail."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import func, select

import scoring
from accounts.models import Agency, AuditEvent, User
from analytics import item_stats, norms
from assessments import delivery
from assessments import services as builder
from assessments.models import (
    Answer,
    Assessment,
    Attempt,
    AttemptResult,
    IntegrityEvent,
    Invitation,
    NormTable,
)
from candidates.models import Candidate
from database import db, unit_of_work
from scenarios.models import Competency
from tests.conftest import Tenant, make_scenario, post, sign_in

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
# Four formats on top of the tenant's own rate item; each counts for professionalism and collaboration.
FORMATS = (
    ("single_best", (5.6, 1.4, 2.5, 3.4)),
    ("most_least", (5.6, 1.4, 2.5, 3.4)),
    ("rank", (5.6, 4.5, 3.7, 2.1)),
    ("rate", (5.6, 1.4, 2.5, 3.4)),
)
FAST_SECONDS = 3  # every candidate spends 3 s on the single-best item: the "answered fast" flag


@dataclass
class Built:
    """Public ids of what :func:`build_completed_attempts` made."""

    assessment_id: str
    scenarios: dict[str, str] = field(default_factory=dict)  # scenario code -> public id
    attempts: list[str] = field(default_factory=list)


def _clip(value: float) -> int:
    return max(1, min(6, round(value)))


def answer_for(fmt: str, theta: float, rng: random.Random) -> dict[str, Any]:
    """A complete answer from a candidate of ability theta in [0, 1]: abler candidates follow the key more."""
    if fmt == "single_best":  # option B is never chosen: a non-functioning distractor
        return {"choice": "A" if rng.random() < 0.1 + 0.8 * theta else rng.choice("CD")}
    if fmt == "most_least":
        most = "A" if rng.random() < 0.2 + 0.7 * theta else rng.choice("CD")
        least = "B" if rng.random() < 0.2 + 0.7 * theta else rng.choice([o for o in "CD" if o != most])
        return {"most": most, "least": least}
    if fmt == "rank":
        order = list("ABCD")
        if rng.random() > theta:
            rng.shuffle(order)
        return {"ranks": {label: rank for rank, label in enumerate(order, start=1)}}
    return {
        "ratings": {
            "A": _clip(1 + 5 * theta + rng.uniform(-1, 1)),
            "B": _clip(6 - 5 * theta + rng.uniform(-1, 1)),
            "C": rng.randint(2, 4),
            "D": rng.randint(2, 5),
        }
    }


def build_completed_attempts(app: Flask, tenant: Tenant, n: int, *, seed: int = 7, pilot: bool = True) -> Built:
    """Publish the tenant's assessment with five items (two reported competencies) and ``n`` submitted
    attempts with real answers, scored by delivery.score (the submission path)."""
    with app.app_context(), unit_of_work():
        agency = db.session.scalars(select(Agency).where(Agency.public_id == tenant.agency_id)).one()
        admin = db.session.scalars(select(User).where(User.public_id == tenant.admin["public_id"])).one()
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == tenant.assessment_id)).one()
        built = Built(assessment.public_id)
        for fmt, key in FORMATS:
            code = f"AN-{fmt}"
            scenario = make_scenario(
                agency,
                code,
                weights={"professionalism": 1.0, "collaboration": 1.0},
                response_format=fmt,
                key=key,
                now=NOW,
            )
            builder.add_item(assessment, scenario.latest, by=admin, now=NOW)
            built.scenarios[code] = scenario.public_id
        assessment.reported = list(
            db.session.scalars(
                select(Competency)
                .where(Competency.agency_id == agency.id, Competency.code.in_(["professionalism", "collaboration"]))
                .order_by(Competency.position)
            )
        )
        assessment.pilot = pilot
        builder.publish(assessment, by=admin, now=NOW)
        versions = [item.version for item in assessment.items]
        rng = random.Random(seed)
        for k in range(n):
            candidate = Candidate(
                agency_id=agency.id, name=f"Norm Candidate {k:03d}", email=f"norm{k}@example.org", created_at=NOW
            )
            invitation = Invitation(
                agency_id=agency.id,
                client_id=assessment.client_id,
                assessment=assessment,
                candidate=candidate,
                expires_at=NOW + timedelta(days=7),
                created_at=NOW,
            )
            submitted = NOW + timedelta(minutes=k)
            attempt = Attempt(
                invitation=invitation,
                agency_id=agency.id,
                started_at=submitted - timedelta(minutes=20),
                submitted_at=submitted,
                finalised_by="candidate",
                item_order=[v.id for v in versions],
            )
            theta = rng.random()
            for version in versions:
                attempt.answers.append(
                    Answer(
                        version_id=version.id,
                        answer=answer_for(version.response_format.value, theta, rng),
                        revision=1,
                        saved_at=submitted,
                    )
                )
            db.session.add(attempt)
            db.session.flush()
            for number, version in enumerate(versions, start=1):
                seconds = FAST_SECONDS if version.response_format.value == "single_best" else rng.randint(20, 90)
                db.session.add(
                    IntegrityEvent(
                        attempt_id=attempt.id, kind="time", item_number=number, occurred_at=submitted, seconds=seconds
                    )
                )
            delivery.score(attempt, NOW)
            built.attempts.append(attempt.public_id)
    return built


def norms_url(assessment_id: str) -> str:
    return f"/analytics/assessments/{assessment_id}/norms"


def signed_in(app: Flask, tenant: Tenant, role: str = "recruiter") -> Any:
    client = app.test_client()
    sign_in(client, app, getattr(tenant, role)["email"])
    return client


def stored_tables(app: Flask) -> list[NormTable]:
    with app.app_context():
        tables = list(db.session.scalars(select(NormTable).order_by(NormTable.version)))
        for table in tables:
            db.session.expunge(table)
        return tables


def frozen_events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "norm_table.frozen")))
        for event in events:
            db.session.expunge(event)
        return events


def expected_from_scoring(app: Flask, assessment_id: str, attempt_ids: list[int] | None = None) -> dict[str, Any]:
    """Stats and reliability computed here, straight from the stored results with scoring's functions."""
    with app.app_context():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == assessment_id)).one()
        results = db.session.execute(
            select(AttemptResult.attempt_id, AttemptResult.overall_pomp, AttemptResult.detail).order_by(
                AttemptResult.attempt_id
            )
        ).all()
        items = [item.version for item in assessment.items]
        groups = {
            "overall": [v.id for v in items],
            **{
                c.code: [v.id for v in items if any(w.competency_id == c.id for w in v.weights)]
                for c in assessment.reported
            },
        }
    chosen = [r for r in results if attempt_ids is None or r.attempt_id in attempt_ids]
    stats = {}
    overall = scoring.build_norm_table([r.overall_pomp for r in chosen], "check")
    stats["overall"] = overall
    for code in groups:
        if code == "overall":
            continue
        values = [c["raw"] for r in chosen for c in r.detail["competencies"] if c["code"] == code]
        stats[code] = scoring.build_norm_table(values, "check")
    reliability = {}
    for code, version_ids in groups.items():
        matrix = np.array(
            [[next(i["pomp"] for i in r.detail["items"] if i["version_id"] == v) for v in version_ids] for r in results]
        )
        result = scoring.alpha_with_interval(matrix)
        reliability[code] = (result, scoring.classify_reliability_sample(result.n).value)
    return {"stats": stats, "reliability": reliability}


@pytest.fixture
def forty(app, tenant_a) -> Built:
    return build_completed_attempts(app, tenant_a, 40)


# --- Freezing ----------------------------------------------------------------------------------------


def test_freezing_all_completed_attempts_stores_scorings_own_numbers(app, tenant_a, forty):
    client = signed_in(app, tenant_a)
    page = client.get(norms_url(forty.assessment_id))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count('name="attempts"') == 40
    assert "This is a pilot: its attempts may form a norm group." in body

    response = post(client, app, norms_url(forty.assessment_id), {"label": "Pilot applicants", "everyone": "y"})
    assert response.status_code == 302
    [table] = stored_tables(app)
    assert (table.version, table.label, table.n, len(table.attempt_ids)) == (1, "Pilot applicants", 40, 40)
    assert table.score_version == scoring.ALGORITHM_VERSION
    assert table.frozen_at is not None and table.frozen_by_id is not None

    expected = expected_from_scoring(app, forty.assessment_id)
    assert set(table.stats) == {"overall", "professionalism", "collaboration"}
    for code, norm in expected["stats"].items():
        stored = table.stats[code]
        assert set(stored) == {"n", "mean", "sd", "sorted"}
        assert stored["n"] == norm.n == 40
        assert stored["mean"] == pytest.approx(norm.mean, abs=1e-12)
        assert stored["sd"] == pytest.approx(norm.sd, abs=1e-12)
        assert stored["sorted"] == pytest.approx(list(norm.scores), abs=1e-12)
        assert stored["sorted"] == sorted(stored["sorted"])
    assert set(table.reliability) == {"overall", "professionalism", "collaboration"}
    for code, (alpha, status) in expected["reliability"].items():
        stored = table.reliability[code]
        assert set(stored) == {"alpha", "low", "high", "n", "status"}
        assert stored["alpha"] == pytest.approx(alpha.alpha, abs=1e-12)
        assert stored["low"] == pytest.approx(alpha.lower, abs=1e-12)
        assert stored["high"] == pytest.approx(alpha.upper, abs=1e-12)
        assert stored["n"] == alpha.n == 40
        assert stored["status"] == status == "none"

    [event] = frozen_events(app)
    assert event.object_public_id == table.public_id
    assert event.actor_public_id == tenant_a.recruiter["public_id"]
    assert event.details is not None and event.details["version"] == 1 and event.details["n"] == 40

    listed = client.get(norms_url(forty.assessment_id)).get_data(as_text=True)
    assert "Version 1: Pilot applicants" in listed
    assert "small norm group (N = 40)" in listed
    assert tenant_a.recruiter["name"] in listed
    assert "not yet established (N = 40; an interval needs 100)" in listed


def test_versions_increase_and_earlier_tables_stay_as_they_were(app, tenant_a, forty):
    client = signed_in(app, tenant_a)
    assert post(client, app, norms_url(forty.assessment_id), {"label": "All", "everyone": "y"}).status_code == 302
    [first] = stored_tables(app)
    chosen = forty.attempts[:35]
    response = post(client, app, norms_url(forty.assessment_id), {"label": "First 35", "attempts": chosen})
    assert response.status_code == 302
    again, second = stored_tables(app)
    assert (again.version, again.n, again.stats, again.reliability) == (1, 40, first.stats, first.reliability)
    assert (second.version, second.label, second.n) == (2, "First 35", 35)
    with app.app_context():
        ids = set(db.session.scalars(select(Attempt.id).where(Attempt.public_id.in_(chosen))))
    assert set(second.attempt_ids) == ids
    expected = expected_from_scoring(app, forty.assessment_id, sorted(ids))
    assert second.stats["overall"]["mean"] == pytest.approx(expected["stats"]["overall"].mean, abs=1e-12)
    # Reliability is computed on every completed attempt of the form, not only the group.
    assert second.reliability == first.reliability
    body = client.get(norms_url(forty.assessment_id)).get_data(as_text=True)
    assert body.index("Version 2: First 35") < body.index("Version 1: All")
    assert len(frozen_events(app)) == 2


def test_fewer_than_30_chosen_is_refused_and_nothing_is_written(app, tenant_a, forty):
    client = signed_in(app, tenant_a)
    response = post(client, app, norms_url(forty.assessment_id), {"label": "Too few", "attempts": forty.attempts[:29]})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "A norm group needs at least 30 completed attempts; you chose 29. Nothing was saved." in body
    assert body.count("checked") >= 29  # the choice is kept for a second try
    assert stored_tables(app) == []
    assert frozen_events(app) == []


def test_all_completed_is_refused_when_there_are_fewer_than_30(app, tenant_a):
    built = build_completed_attempts(app, tenant_a, 12)
    client = signed_in(app, tenant_a)
    page = client.get(norms_url(built.assessment_id)).get_data(as_text=True)
    assert "12 completed attempts so far: a norm group needs at least 30." in page
    response = post(client, app, norms_url(built.assessment_id), {"label": "Everyone", "everyone": "y"})
    assert response.status_code == 422
    assert "you chose 12" in response.get_data(as_text=True)
    assert stored_tables(app) == []


def test_a_label_is_required_and_unknown_attempts_are_refused(app, tenant_a, forty):
    client = signed_in(app, tenant_a)
    no_label = post(client, app, norms_url(forty.assessment_id), {"label": " ", "everyone": "y"})
    assert no_label.status_code == 422
    assert "Give the norm group a label." in no_label.get_data(as_text=True)
    stray = post(
        client, app, norms_url(forty.assessment_id), {"label": "Stray", "attempts": [*forty.attempts, "not-an-id"]}
    )
    assert stray.status_code == 422
    assert "1 of the chosen attempts are not completed attempts" in stray.get_data(as_text=True)
    assert stored_tables(app) == []


def test_only_attempts_scored_under_the_current_score_version_count(app, tenant_a, forty):
    with app.app_context(), unit_of_work():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == forty.assessment_id)).one()
        assessment.score_version = "1.0.0+knewkeys"
    client = signed_in(app, tenant_a)
    page = client.get(norms_url(forty.assessment_id)).get_data(as_text=True)
    assert "score version <strong>1.0.0+knewkeys</strong>" in page
    assert 'name="attempts"' not in page
    response = post(client, app, norms_url(forty.assessment_id), {"label": "Old scores", "everyone": "y"})
    assert response.status_code == 422
    assert stored_tables(app) == []


def test_unsubmitted_attempts_are_not_listed(app, tenant_a, forty):
    with app.app_context(), unit_of_work():
        attempt = db.session.scalars(select(Attempt).where(Attempt.public_id == forty.attempts[0])).one()
        attempt.submitted_at = None
    with app.app_context():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == forty.assessment_id)).one()
        completed = item_stats.completed_attempts(assessment, item_stats.current_score_version(assessment))
    assert len(completed) == 39
    assert forty.attempts[0] not in {a.public_id for a in completed}


def test_another_agency_gets_404_and_writes_nothing(app, tenant_a, tenant_b, forty):
    client = signed_in(app, tenant_b)
    assert client.get(norms_url(forty.assessment_id)).status_code == 404
    response = post(client, app, norms_url(forty.assessment_id), {"label": "Theirs", "everyone": "y"})
    assert response.status_code == 404
    assert stored_tables(app) == []
    assert frozen_events(app) == []


def test_labels_for_provisional_and_established_reliability_and_large_groups(app, tenant_a, forty):
    """A table frozen from 150 attempts (inserted as stored) is not small; its reliability is provisional."""
    with app.app_context(), unit_of_work():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == forty.assessment_id)).one()
        db.session.add(
            NormTable(
                agency_id=assessment.agency_id,
                assessment_id=assessment.id,
                version=1,
                label="Large group",
                score_version=scoring.ALGORITHM_VERSION,
                attempt_ids=list(range(150)),
                n=150,
                stats={"overall": {"n": 150, "mean": 0.5, "sd": 0.1, "sorted": [0.5] * 150}},
                reliability={
                    "overall": {"alpha": 0.71, "low": 0.64, "high": 0.77, "n": 150, "status": "provisional"},
                    "professionalism": {"alpha": 0.74, "low": 0.69, "high": 0.79, "n": 250, "status": "established"},
                },
                frozen_at=NOW,
                frozen_by_id=None,
            )
        )
    client = signed_in(app, tenant_a)
    body = client.get(norms_url(forty.assessment_id)).get_data(as_text=True)
    assert "Version 1: Large group" in body
    assert "small norm group (N =" not in body
    assert "0.64 to 0.77" in body
    assert "provisional (N = 150; established from 200)" in body
    assert "established (N = 250)" in body
    assert "Not normed" in body  # professionalism has a reliability but no stats in this table
    # The next freeze takes version 2.
    post(client, app, norms_url(forty.assessment_id), {"label": "Next", "everyone": "y"})
    assert [t.version for t in stored_tables(app)] == [1, 2]


def test_reliability_labels():
    assert item_stats.reliability_label({"alpha": 0.6, "n": 99, "status": "none"}).startswith("not yet established")
    assert item_stats.reliability_label({"alpha": None, "n": 300, "status": "none"}).startswith("not yet established")
    assert item_stats.reliability_label({"alpha": 0.6, "n": 100, "status": "provisional"}).startswith("provisional")
    assert item_stats.reliability_label({"alpha": 0.6, "n": 200, "status": "established"}) == "established (N = 200)"
    assert item_stats.small_group_label(99) == "small norm group (N = 99)"
    assert item_stats.small_group_label(100) is None


def test_the_service_refuses_an_empty_label_and_counts_nothing(app, tenant_a, forty):
    with app.app_context():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == forty.assessment_id)).one()
        admin = db.session.scalars(select(User).where(User.public_id == tenant_a.admin["public_id"])).one()
        with pytest.raises(norms.NormGroupError, match="label"), unit_of_work():
            norms.freeze_norm_table(assessment, None, "   ", by=admin, now=NOW)
        with pytest.raises(norms.TooFewAttempts), unit_of_work():
            norms.freeze_norm_table(assessment, forty.attempts[:3], "Three", by=admin, now=NOW)
        assert db.session.scalar(select(func.count()).select_from(NormTable)) == 0
