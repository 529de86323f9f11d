"""The fairness page of a position: four-fifths tables on decisions and Local Law 144 tables on scores,
numbers from scoring.fairness, small categories labelled, exclusions counted, a neutralised CSV export,
counts only and inside the agency."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from accounts.models import AuditEvent, User
from analytics import fairness
from assessments import decisions
from assessments.models import Assessment, Attempt, AttemptResult, DecisionOutcome, DemographicResponse
from database import db, unit_of_work, utcnow
from positions.models import Position, PositionCompetency
from scoring.fairness import GroupCount, four_fifths, ll144_scoring_audit
from tests.assessments.test_fit_adapter import NOW, add_candidate, agency_of, assessment_for, competency, invite
from tests.conftest import Tenant, sign_in

TITLE = '=HYPERLINK("http://evil.example","Payroll")'


@dataclass(frozen=True)
class Person:
    sex: str | None  # the answer as candidates give it; None: no self-identification at all
    race: str | None
    outcome: str | None  # the current decision; None: none yet
    scored: bool = True


@dataclass
class Scene:
    position: str
    people: list[Person]
    names: list[str] = field(default_factory=list)
    scores: list[tuple[Person, float, float, float]] = field(default_factory=list)  # (person, prof, coll, overall)


def group(sex: str, races: list[tuple[str, str | None]]) -> list[Person]:
    return [Person(sex, race, outcome) for race, outcome in races]


A, H, D = "advance", "hold", "decline"
PEOPLE: list[Person] = [
    # Female 12: 7 White (2 advanced), 4 Black (1), 1 Asian (1).
    *group("Female", [("White", A), ("White", A), *[("White", D)] * 5]),
    *group("Female", [("Black or African American", A), *[("Black or African American", H)] * 3]),
    *group("Female", [("Asian", A)]),
    # Male 12: 7 White (5 advanced), 4 Black (2), 1 Asian (1).
    *group("Male", [*[("White", A)] * 5, ("White", D), ("White", H)]),
    *group("Male", [*[("Black or African American", A)] * 2, *[("Black or African American", D)] * 2]),
    *group("Male", [("Asian", A)]),
    # Another option 2: White (advanced), Two or more races.
    *group("Another option", [("White", A), ("Two or more races", D)]),
    Person(None, None, A),  # no self-identification
    Person(None, None, D),
    Person("Prefer not to say", "White", D),
    Person("Female", "Prefer not to say", H),
    Person("Female", "White", None),  # scored, no decision yet
    Person("Female", "White", None),
    Person(None, None, None, scored=False),  # invited, not yet scored
    Person(None, None, None, scored=False),
]


def build(app: Any, tenant: Tenant, people: list[Person] = PEOPLE, title: str = TITLE) -> Scene:
    """A people-skills-only position (professionalism and collaboration, minimum 0.6) and its candidates."""
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant)
        client_id = db.session.scalars(select(Position.client_id).where(Position.agency_id == agency.id)).first()
        position = Position(agency_id=agency.id, client_id=client_id, title=title, responsibilities="", created_at=NOW)
        prof, coll = competency(agency, "professionalism"), competency(agency, "collaboration")
        position.competencies = [
            PositionCompetency(competency=prof, min_score=0.6, weight=2),
            PositionCompetency(competency=coll, min_score=0.6, weight=1),
        ]
        db.session.add(position)
        db.session.flush()
        assessment_for(position).reported = [prof, coll]
        recruiter = db.session.scalars(select(User).where(User.email == tenant.recruiter["email"])).one()
        scene = Scene(position.public_id, people)
        for number, person in enumerate(people):
            name = f"Person {number:02d} {tenant.agency_name}"
            candidate = add_candidate(agency, name)
            scene.names.append(name)
            if not person.scored:
                invite(candidate, position)
                continue
            p, c = 0.3 + (number * 37 % 60) / 100, 0.25 + (number * 53 % 70) / 100
            overall = round((2 * p + c) / 3, 4)
            invitation = invite(candidate, position, pomp={"professionalism": p, "collaboration": c})
            attempt = db.session.scalars(select(Attempt).where(Attempt.invitation_id == invitation.id)).one()
            db.session.scalars(
                select(AttemptResult).where(AttemptResult.attempt_id == attempt.id)
            ).one().overall_pomp = overall
            scene.scores.append((person, p, c, overall))
            if person.sex is not None:
                db.session.add(
                    DemographicResponse(
                        attempt_id=attempt.id, sex=person.sex, race_ethnicity=person.race, recorded_at=NOW
                    )
                )
            if person.outcome is not None:
                # An earlier decision the latest one replaces: only the current decision counts.
                for outcome, reason in (("hold", ""), (person.outcome, "Reviewed with the client")):
                    decisions.record_decision(
                        position, candidate.public_id, outcome, reason, by=recruiter, now=utcnow() - timedelta(days=1)
                    )
    return scene


@pytest.fixture
def scene(app, tenant_a) -> Scene:
    return build(app, tenant_a)


def report_of(app: Any, scene: Scene) -> fairness.FairnessReport:
    with app.app_context():
        position = db.session.scalars(select(Position).where(Position.public_id == scene.position)).one()
        return fairness.position_report(position, NOW.date())


def text_of(response: Any) -> str:
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(body).split())


def signed_in(app: Any, tenant: Tenant) -> Any:
    client = app.test_client()
    sign_in(client, app, tenant.recruiter["email"])
    return client


def url(scene: Scene, suffix: str = "") -> str:
    return f"/analytics/fairness/positions/{scene.position}{suffix}"


# --- four-fifths on decisions --------------------------------------------------------------------


def test_the_decision_tables_are_scoring_fairness_on_the_same_counts(app, scene):
    report = report_of(app, scene)
    sex, race = report.decision_tables
    assert report.decided == 30 and sex.people == 30 and sex.unknown == 3 and race.unknown == 3
    expected = {
        "Sex": four_fifths([GroupCount("Male", 12, 8), GroupCount("Female", 13, 4)]),
        "Race/ethnicity": four_fifths([GroupCount("White", 16, 8), GroupCount("Black or African American", 8, 3)]),
    }
    for table in (sex, race):
        reference = expected[table.category_type]
        assert table.reference == reference.reference_group
        for impact in reference.groups:
            line = next(line for line in table.lines if line.category == impact.group)
            assert (line.applicants, line.selected) == (impact.applicants, impact.selected)
            assert line.rate == impact.selection_rate and line.impact_ratio == impact.impact_ratio
            assert line.is_reference == impact.is_reference and line.too_few is None
            test = impact.test
            if test is None:
                assert line.z_d is None and line.fisher_p is None
                continue
            assert (line.z_d, line.z_ir, line.fisher_p, line.boschloo_p) == (
                test.z_d,
                test.z_ir,
                test.fisher_p,
                test.boschloo_p,
            )
    female = next(line for line in sex.lines if line.category == "Female")
    assert female.impact_ratio == pytest.approx((4 / 13) / (8 / 12)) and female.below_four_fifths


def test_small_categories_are_labelled_not_hidden_and_never_the_reference(app, scene):
    sex, race = report_of(app, scene).decision_tables
    other = next(line for line in sex.lines if line.category == "Other")
    assert (other.applicants, other.selected, other.rate) == (2, 1, 0.5)
    assert other.too_few == "too few to compare (N = 2)" and other.impact_ratio is None and other.z_d is None
    asian = next(line for line in race.lines if line.category == "Asian")
    assert asian.rate == 1.0 and asian.too_few == "too few to compare (N = 2)"  # highest rate, yet not the reference
    assert race.reference == "White"
    assert next(line for line in race.lines if line.category == "Two or More Races").too_few == (
        "too few to compare (N = 1)"
    )
    assert fairness.is_small(4, 10) and not fairness.is_small(5, 250) and fairness.is_small(5, 251)
    assert not fairness.is_small(0, 10)


def test_exclusions_are_counted(app, scene):
    report = report_of(app, scene)
    assert report.candidates == len(PEOPLE) == 34
    assert [(e.reason, e.count) for e in report.decision_exclusions] == [
        (fairness.NOT_YET_DECIDED, 4),
        (fairness.NO_SELF_IDENTIFICATION, 2),
        (fairness.SEX_NOT_SAID, 1),
        (fairness.RACE_NOT_SAID, 1),
    ]
    assert report.scored == 32
    assert [(e.reason, e.count) for e in report.score_exclusions] == [
        (fairness.NOT_YET_SCORED, 2),
        (fairness.NO_SELF_IDENTIFICATION, 2),
        (fairness.SEX_NOT_SAID, 1),
        (fairness.RACE_NOT_SAID, 1),
    ]


# --- Local Law 144 on scores ---------------------------------------------------------------------


def masked(labels: list[str | None], small: set[str]) -> list[str | None]:
    return [None if label in small else label for label in labels]


@pytest.mark.parametrize("which", ["overall", "competency:professionalism", "fit"])
def test_the_score_tables_are_scoring_fairness_on_the_same_scores(app, scene, which):
    report = report_of(app, scene)
    table = next(t for t in report.score_tables if t.key == which)
    sexes = [fairness.SEX_CATEGORY.get(p.sex or "") for p, *_ in scene.scores]
    races = [fairness.RACE_ETHNICITY_CATEGORY.get(p.race or "") for p, *_ in scene.scores]
    if which == "overall":
        scores = [overall for *_, overall in scene.scores]
    elif which == "fit":
        scores = [min(1.0, p / 0.6) * 2 / 3 + min(1.0, c / 0.6) / 3 for _, p, c, _ in scene.scores]
    else:
        scores = [p for _, p, _, _ in scene.scores]
    assert table.people == 32 and table.unknown == {"Sex": 3, "Race/ethnicity": 3, "Intersectional": 4}
    blank = [None] * len(scores)
    expected_sex = ll144_scoring_audit(scores, masked(sexes, {"Other"}), blank)
    expected_race = ll144_scoring_audit(scores, blank, masked(races, {"Asian", "Two or More Races"}))
    assert table.median == pytest.approx(expected_sex.median)
    for category_type, audit, small in (
        ("Sex", expected_sex, {"Other"}),
        ("Race/ethnicity", expected_race, {"Asian", "Two or More Races"}),
    ):
        for line in table.lines_of(category_type):
            if line.category in small:
                assert line.too_few and line.impact_ratio is None
                assert line.excluded == f"yes: too few to compare (N = {line.assessed})"
                continue
            row = audit.row(category_type, line.category)  # type: ignore[arg-type]
            assert (line.assessed, line.above_median, line.rate) == (row.assessed, row.counted, row.rate)
            assert line.impact_ratio == row.impact_ratio
    # Intersectional: only Female White (9) and Male White (7) have 5 or more people; the others are unknown there.
    crossed = [None if s is None or r is None else f"{r} {s}" for s, r in zip(sexes, races, strict=True)]
    keep = [label in ("White Female", "White Male") for label in crossed]
    expected_both = ll144_scoring_audit(
        scores,
        [s if k else None for s, k in zip(sexes, keep, strict=True)],
        [r if k else None for r, k in zip(races, keep, strict=True)],
    )
    for line in table.lines_of("Intersectional"):
        if line.category in ("White Female", "White Male"):
            row = expected_both.row("Intersectional", line.category)
            assert (line.assessed, line.above_median) == (row.assessed, row.counted)
            assert line.impact_ratio == row.impact_ratio
        elif line.assessed:
            assert line.too_few and line.impact_ratio is None and line.excluded.startswith("yes: too few to compare")
        else:
            assert line.excluded == "yes: nobody in this category"
    assert {line.category: line.assessed for line in table.lines_of("Intersectional") if line.assessed} == {
        "White Female": 9,
        "Black or African American Female": 4,
        "Asian Female": 1,
        "White Male": 7,
        "Black or African American Male": 4,
        "Asian Male": 1,
        "White Other": 1,
        "Two or More Races Other": 1,
    }


def test_the_toy_example_of_the_spec_comes_out_of_a_position(app, tenant_a):
    """scoring.md A7.2's median check: F 3/5 = 0.60 (IR 1.000), M 2/5 = 0.40 (IR 0.667), median 60.5."""
    scores = [62, 55, 71, 48, 55, 80, 66, 59, 52, 75]
    people = [Person("Female" if n % 2 == 0 else "Male", "White", None) for n in range(10)]
    scene = build(app, tenant_a, people, title="Toy")
    with app.app_context(), unit_of_work():
        rows = (
            db.session.execute(
                select(AttemptResult).join(Attempt, Attempt.id == AttemptResult.attempt_id).order_by(Attempt.id)
            )
            .scalars()
            .all()
        )
        for row, score in zip(rows, scores, strict=True):
            row.overall_pomp = score / 100
    table = report_of(app, scene).score_tables[0]
    assert table.median == pytest.approx(0.605)
    female = next(line for line in table.lines_of("Sex") if line.category == "Female")
    male = next(line for line in table.lines_of("Sex") if line.category == "Male")
    assert (female.rate, female.impact_ratio, male.rate) == (0.6, 1.0, 0.4)
    assert fairness.ratio(male.impact_ratio) == "0.667"


# --- the page and the CSV ------------------------------------------------------------------------


def test_the_page_shows_the_tables_in_plain_words_and_counts_only(app, tenant_a, scene):
    response = signed_in(app, tenant_a).get(url(scene))
    assert response.status_code == 200
    page = text_of(response)
    assert "These are checks for people to act on, not decisions." in page
    assert "A ratio below 0.8 (four fifths) is the usual signal" in page
    assert fairness.small_rule() in page
    assert "too few to compare (N = 2)" in page and "too few to compare (N = 1)" in page
    assert "0.462 (below 0.8)" in page  # Female: (4/13) / (8/12)
    for heading in ("Overall provisional score", "Professionalism", "Collaboration", "Fit"):
        assert heading in page
    for column in fairness.SCORING_COLUMNS + fairness.SELECTION_COLUMNS:
        assert column in page
    assert f"{fairness.NOT_YET_SCORED} 2" in page and f"{fairness.NO_SELF_IDENTIFICATION} 2" in page
    for name in scene.names:
        assert name not in page  # counts only: no person is named on the page
    assert "Prefer not to say" in page  # as a reason counted, never beside a person


def test_the_csv_is_an_attachment_never_cached_with_formulas_neutralised(app, tenant_a, scene):
    response = signed_in(app, tenant_a).get(url(scene, "/export.csv"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="fairness-{scene.position}-{utcnow():%Y%m%d}.csv"'
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["Fairness checks", "'" + TITLE]
    number = re.compile(r"-?\d+(\.\d+)?")
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert number.fullmatch(cell), cell  # only a number we computed may start with a minus
    assert next(r for r in rows if r[:1] == ["Female"])[:5] == ["Female", "13", "4", "0.3077", "0.4615"]
    assert any(r[:3] == ["Sex", "Unknown (not in calculations)", "3"] for r in rows)
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "fairness.exported")).one()
        assert event.object_public_id == scene.position
    for name in scene.names:
        assert name not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("ok", "ok"),
    ],
)
def test_neutralise_cell(value, shown):
    assert fairness.neutralise_cell(value) == shown


def test_another_agency_gets_404_for_the_page_and_the_csv(app, tenant_a, tenant_b, scene):
    client = signed_in(app, tenant_b)
    assert client.get(url(scene)).status_code == 404
    assert client.get(url(scene, "/export.csv")).status_code == 404
    own = client.get(f"/analytics/fairness/positions/{tenant_b.position_id}")
    assert own.status_code == 200
    for name in scene.names:
        assert name not in own.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(app, scene):
    response = app.test_client().get(url(scene))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_position_without_anyone_has_an_empty_page(app, tenant_a):
    scene = build(app, tenant_a, [], title="Nobody yet")
    report = report_of(app, scene)
    assert report.candidates == 0 and all(not t.lines for t in report.score_tables)
    assert all(t.note for t in report.decision_tables)
    assert signed_in(app, tenant_a).get(url(scene)).status_code == 200


def test_only_the_current_decision_counts(app, scene):
    with app.app_context():
        position = db.session.scalars(select(Position).where(Position.public_id == scene.position)).one()
        current = decisions.current_decisions(position)
        assert all(entry.decision.reason == "Reviewed with the client" for entry in current.values())
        assert sum(entry.decision.outcome == DecisionOutcome.ADVANCE for entry in current.values()) == 14
        assert db.session.scalars(select(Assessment).where(Assessment.position_id == position.id)).one().reported
