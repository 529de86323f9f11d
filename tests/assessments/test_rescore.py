"""`flask rescore`: a new score version from the current keys, added beside the old rows, never overwriting;
idempotent; a dry run writes nothing; bad input is refused with nothing changed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from accounts.models import Agency, AuditEvent, User
from assessments import delivery, rescoring, scoring_adapter
from assessments import services as builder
from assessments.models import Assessment, Attempt, AttemptResult
from database import db, unit_of_work
from scenarios.models import ExpertRating, ScenarioOption, ScenarioVersion
from tests.assessments.test_fit_adapter import NOW, add_candidate, agency_of, bare_position, competency, invite
from tests.conftest import make_scenario, sign_in

V1 = scoring_adapter.ALGORITHM_VERSION
RATINGS = {
    "Ada": ((6, 1, 3, 4), (5, 2, 2, 3), (6, 1, 2, 4), (4, 3, 3, 3)),
    "Ben": ((2, 5, 4, 3), (3, 4, 4, 2), (1, 6, 5, 2), (5, 3, 2, 6)),
}


@dataclass
class Scene:
    assessment: str
    assessment_id: int
    version_ids: list[int]


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def scene(app, tenant_a) -> Scene:
    """A published assessment of four professionalism items, submitted by Ada and Ben through delivery."""
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        admin = db.session.scalars(select(User).where(User.public_id == tenant_a.admin["public_id"])).one()
        position = bare_position(agency, "Payroll officer")
        assessment = builder.create_assessment(position, "Payroll SJT", by=admin, now=NOW)
        for n in range(4):
            scenario = make_scenario(agency, f"RS-{n}", weights={"professionalism": 1.0}, now=NOW)
            builder.add_item(assessment, scenario.latest, by=admin, now=NOW)
        assessment.reported = [competency(agency, "professionalism")]
        builder.publish(assessment, by=admin, now=NOW)
        for name, ratings in RATINGS.items():
            invitation = invite(add_candidate(agency, name), position, assessment=assessment)
            invitation.expires_at = datetime.now(UTC) + timedelta(days=7)
            delivery.record_consent(invitation, 0, NOW)
            attempt = delivery.start_attempt(invitation, datetime.now(UTC))
            for version_id, values in zip(attempt.item_order, ratings, strict=True):
                answer = {"ratings": dict(zip("ABCD", values, strict=True))}
                delivery.save_answer(attempt, version_id, answer, 0, datetime.now(UTC), "form")
            assert delivery.submit(attempt, datetime.now(UTC))
        return Scene(assessment.public_id, assessment.id, [item.version_id for item in assessment.items])


def stored(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(
                    AttemptResult.attempt_id,
                    AttemptResult.score_version,
                    AttemptResult.overall_pomp,
                    AttemptResult.detail,
                    AttemptResult.computed_at,
                ).order_by(AttemptResult.id)
            )
        ]


def current_version(app: Flask, scene: Scene) -> str | None:
    with app.app_context():
        return db.session.get_one(Assessment, scene.assessment_id).score_version


def audits(app: Flask, scene: Scene) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "assessment.rescored", AuditEvent.object_public_id == scene.assessment)
        )


def expected_version(app: Flask, scene: Scene) -> str:
    with app.app_context():
        pairs = sorted(
            (v.id, v.key_version)
            for v in db.session.scalars(select(ScenarioVersion).where(ScenarioVersion.id.in_(scene.version_ids)))
        )
    text = ";".join(f"{a}:{b}" for a, b in pairs)
    return f"{V1}+k{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def rekey(app: Flask, scene: Scene, option_label: str = "B", value: float = 5.5) -> None:
    """A new key for the first item (as a future re-keying would do): option B rated 5.5, key version bumped."""
    with app.app_context(), unit_of_work():
        version = db.session.get_one(ScenarioVersion, scene.version_ids[0])
        option = next(o for o in version.options if o.label == option_label)
        for rating in option.ratings:
            rating.value = value
        version.key_version += 1


def test_rescore_adds_a_new_version_and_leaves_the_old_rows_alone(app, scene):
    before = stored(app)
    assert [row[1] for row in before] == [V1, V1]
    rekey(app, scene)
    version = expected_version(app, scene)

    result = run(app, "rescore", scene.assessment)

    assert result.exit_code == 0, result.output
    after = stored(app)
    assert after[:2] == before  # untouched: same scores, same detail, same time
    assert [row[1] for row in after[2:]] == [version, version]
    assert current_version(app, scene) == version
    assert audits(app, scene) == 1
    changes = [(new[2] - old[2]) * 100 for old, new in zip(before, after[2:], strict=True)]
    assert any(abs(change) > 0 for change in changes)
    mean = sum(changes) / len(changes)
    moved = sum(1 for change in changes if abs(change) > 5)
    assert f"2 submitted attempts: 2 were re-scored, 0 already had score version {version}" in result.output
    assert f"mean change {mean:+.1f} points; {moved} moved by more than 5 points" in result.output
    assert f"Score version {version} is now current." in result.output
    # The new rows hold what the adapter computes with the new key.
    with app.app_context():
        assessment = db.session.get_one(Assessment, scene.assessment_id)
        row = db.session.scalars(select(AttemptResult).where(AttemptResult.score_version == version)).first()
        assert row is not None
        attempt_answers = {a.version_id: a.answer for a in db.session.get_one(Attempt, row.attempt_id).answers}
        assert row.overall_pomp == scoring_adapter.score_attempt(assessment, attempt_answers).overall
        assert row.detail["key_versions"][str(scene.version_ids[0])].endswith("-k2")


def test_a_second_run_changes_nothing(app, scene):
    assert run(app, "rescore", scene.assessment).exit_code == 0
    first = stored(app)

    again = run(app, "rescore", scene.assessment)

    assert again.exit_code == 0, again.output
    assert stored(app) == first
    assert audits(app, scene) == 1
    assert "0 were re-scored, 2 already had score version" in again.output
    assert "is already current: no score changed" in again.output


def test_a_dry_run_writes_nothing(app, scene):
    rekey(app, scene)
    before = stored(app)

    result = run(app, "rescore", scene.assessment, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "2 would be re-scored" in result.output
    assert "Dry run: nothing was written." in result.output
    assert stored(app) == before
    assert current_version(app, scene) is None
    assert audits(app, scene) == 0


def test_a_missing_key_is_refused_and_nothing_changes(app, scene):
    with app.app_context(), unit_of_work():
        version = db.session.get_one(ScenarioVersion, scene.version_ids[1])
        label = version.key_label
        option_ids = [o.id for o in version.options]
        db.session.execute(delete(ExpertRating).where(ExpertRating.option_id.in_(option_ids)))
    before = stored(app)

    result = run(app, "rescore", scene.assessment)

    assert result.exit_code != 0
    assert f"Missing key version: {label} (no expert rating for option A, B, C, D)" in result.output
    assert "Nothing was changed." in result.output
    assert stored(app) == before
    assert current_version(app, scene) is None
    assert audits(app, scene) == 0


def test_unknown_assessments_and_ones_without_submissions_are_refused(app, tenant_a, scene):
    unknown = run(app, "rescore", "no-such-assessment")
    assert unknown.exit_code != 0
    assert "There is no assessment with the id 'no-such-assessment'" in unknown.output

    empty = run(app, "rescore", tenant_a.assessment_id)  # invited, never submitted
    assert empty.exit_code != 0
    assert "has no submitted attempts: there is nothing to re-score" in empty.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AttemptResult)) == 2


def test_the_score_version_is_stable_and_order_free():
    assert rescoring.keyed_score_version([(3, 1), (1, 2)]) == rescoring.keyed_score_version([(1, 2), (3, 1)])
    assert rescoring.keyed_score_version([(1, 2)]) != rescoring.keyed_score_version([(1, 3)])
    version = rescoring.keyed_score_version([(1, 2)])
    assert version.startswith(f"{V1}+k") and len(version) == len(V1) + 10


def test_the_results_page_shows_the_new_version_and_what_changed(app, tenant_a, scene):
    rekey(app, scene)
    assert run(app, "rescore", scene.assessment).exit_code == 0
    version = expected_version(app, scene)
    client = app.test_client()
    sign_in(client, app, tenant_a.recruiter["email"])
    page = client.get(f"/assessments/{scene.assessment}/results").get_data(as_text=True)
    assert f"{version} (current). Versions computed: {V1}, {version}." in page
    assert f"Re-scored from {V1} to {version}." in page


def test_missing_keys_names_only_unrated_options(app, scene):
    with app.app_context(), unit_of_work():
        option = db.session.scalars(
            select(ScenarioOption).where(ScenarioOption.version_id == scene.version_ids[2], ScenarioOption.label == "C")
        ).one()
        db.session.execute(delete(ExpertRating).where(ExpertRating.option_id == option.id))
        db.session.expire_all()
        assessment = db.session.get_one(Assessment, scene.assessment_id)
        [missing] = rescoring.missing_keys(assessment)
        assert missing.endswith("(no expert rating for option C)")


def test_a_submission_after_a_rescore_is_stored_under_the_current_version_too(app, scene):
    rekey(app, scene)
    assert run(app, "rescore", scene.assessment).exit_code == 0
    version = current_version(app, scene)
    with app.app_context(), unit_of_work():
        assessment = db.session.get_one(Assessment, scene.assessment_id)
        agency = db.session.get_one(Agency, assessment.agency_id)
        invitation = invite(add_candidate(agency, "Cleo"), assessment.position, assessment=assessment)
        invitation.expires_at = datetime.now(UTC) + timedelta(days=7)
        delivery.record_consent(invitation, 0, NOW)
        attempt = delivery.start_attempt(invitation, datetime.now(UTC))
        for version_id in attempt.item_order:
            answer = {"ratings": {"A": 5, "B": 2, "C": 3, "D": 4}}
            delivery.save_answer(attempt, version_id, answer, 0, datetime.now(UTC), "form")
        assert delivery.submit(attempt, datetime.now(UTC))
        attempt_id = attempt.id
    with app.app_context():
        rows = db.session.scalars(select(AttemptResult).where(AttemptResult.attempt_id == attempt_id)).all()
        assert sorted(r.score_version for r in rows) == sorted([V1, version])
        assert rows[0].overall_pomp == rows[1].overall_pomp


def test_an_id_that_begins_with_a_dash_is_taken_as_the_id(app, scene):
    """Public ids are URL-safe base64, so about one in 64 begins with "-"; the command must not read it as an option."""
    with app.app_context(), unit_of_work():
        db.session.get_one(Assessment, scene.assessment_id).public_id = "-0" + scene.assessment[2:]
    result = run(app, "rescore", "-0" + scene.assessment[2:], "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was written." in result.output
