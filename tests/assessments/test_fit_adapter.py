"""The fit adapter on a seeded database: translation of positions, candidates, scores and transfer rows
into scoring.fit, §4.6's worked example end to end, and what never enters a fit."""

from __future__ import annotations

import ast
import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import scoring
from accounts.models import Agency, User
from assessments import delivery, fit_queries, scoring_adapter
from assessments import services as builder
from assessments.models import Assessment, Attempt, AttemptResult, DemographicResponse, Invitation
from candidates.models import Candidate, CandidateEducation, CandidateExperience, CandidateSkill
from database import db, unit_of_work
from positions.models import Position, PositionCompetency, PositionSkill, SkillTransfer
from scenarios.models import Competency
from tests.conftest import Tenant, make_scenario

# §4.6 mirrored with keys of the seeded ESCO vocabulary: an accounting assistant (ISCO 3313).
ACCOUNTING_ASSISTANT = "http://data.europa.eu/esco/occupation/bfe142b9-a049-4d41-89c4-fd2f34ac56b6"
BOOKKEEPER = "http://data.europa.eu/esco/occupation/c3aae59e-1441-4b3e-bdd1-6da50dc7cf42"  # also ISCO 3313
RECEPTIONIST_LIKE = "http://data.europa.eu/esco/occupation/6353b3e8-e8f2-4ecb-b230-186927139892"  # data entry clerk
BOOKKEEPING = "maintain financial records"
INVOICES = "issue sales invoices"
SPREADSHEET = "use spreadsheets software"
RECEIVABLES = "allocate bills"
RATIONALE = "same document flow, reversed direction"
AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


# --- builders (call inside an app context and a unit of work) ---------------------------------------


def agency_of(tenant: Tenant) -> Agency:
    return db.session.scalars(select(Agency).where(Agency.public_id == tenant.agency_id)).one()


def competency(agency: Agency, code: str) -> Competency:
    return db.session.scalars(
        select(Competency).where(Competency.agency_id == agency.id, Competency.code == code)
    ).one()


def worked_position(agency: Agency, **fields: Any) -> Position:
    """§4.6's target: required skills 3/2/1 at level 3, professionalism (w2) and collaboration (w1) at 0.6,
    ISCED 4 with 2 years per level, 2 years of experience (cap 10), healthcare (Q) as a bonus."""
    client_id = db.session.scalars(select(Position.client_id).where(Position.agency_id == agency.id)).first()
    position = Position(
        agency_id=agency.id,
        client_id=client_id,
        title=fields.pop("title", "Accounts payable clerk"),
        responsibilities="",
        created_at=NOW,
        occupation_uri=ACCOUNTING_ASSISTANT,
        education_min_level=4,
        education_substitution_years=2.0,
        experience_min_years=2.0,
        experience_cap_years=10.0,
        industry_mode="bonus",
        industry_codes="Q",
        **fields,
    )
    position.skills = [
        PositionSkill(skill_key=BOOKKEEPING, kind="required", min_level=3, weight=3),
        PositionSkill(skill_key=INVOICES, kind="required", min_level=3, weight=2),
        PositionSkill(skill_key=SPREADSHEET, kind="required", min_level=3, weight=1),
    ]
    position.competencies = [
        PositionCompetency(competency=competency(agency, "professionalism"), min_score=0.6, weight=2),
        PositionCompetency(competency=competency(agency, "collaboration"), min_score=0.6, weight=1),
    ]
    db.session.add(position)
    db.session.flush()
    return position


def bare_position(agency: Agency, title: str = "Position without requirements") -> Position:
    client_id = db.session.scalars(select(Position.client_id).where(Position.agency_id == agency.id)).first()
    position = Position(agency_id=agency.id, client_id=client_id, title=title, responsibilities="", created_at=NOW)
    db.session.add(position)
    db.session.flush()
    return position


def add_transfer(agency: Agency, from_skill: str = RECEIVABLES, to_skill: str = INVOICES, credit: float = 0.8) -> None:
    db.session.add(
        SkillTransfer(
            agency_id=agency.id,
            from_skill=from_skill,
            to_skill=to_skill,
            credit=credit,
            rationale=RATIONALE,
            source="expert",
            reviewer="A. Reviewer",
            reviewed_on=date(2026, 1, 15),
        )
    )
    db.session.flush()


def add_candidate(
    agency: Agency,
    name: str,
    *,
    skills: tuple[tuple[str | None, int, str], ...] = (),
    education: tuple[int, ...] = (),
    jobs: tuple[tuple[str, str | None, str | None, date, date | None, float], ...] = (),
) -> Candidate:
    """A candidate with skills (key or None for unconfirmed, level, evidence type), ISCED levels and jobs."""
    slug = name.lower().replace(" ", ".")
    candidate = Candidate(agency_id=agency.id, name=name, email=f"{slug}@example.org", created_at=NOW)
    candidate.skills = [
        CandidateSkill(skill_key=key, given_name=key or f"unmatched {n}", level=level, evidence_type=kind)
        for n, (key, level, kind) in enumerate(skills)
    ]
    candidate.education = [CandidateEducation(isced_level=level, field="accounting") for level in education]
    candidate.experience = [
        CandidateExperience(
            role=role, occupation_uri=occupation, industry=industry, start_date=start, end_date=end, fte=fte
        )
        for role, occupation, industry, start, end, fte in jobs
    ]
    db.session.add(candidate)
    db.session.flush()
    return candidate


def worked_candidate(agency: Agency, name: str = "Worked Example") -> Candidate:
    """§4.6's candidate: 5 years (1,826 days) as an accounting assistant in manufacturing (C), ISCED 4."""
    return add_candidate(
        agency,
        name,
        skills=((BOOKKEEPING, 4, "cv"), (RECEIVABLES, 4, "cv"), (SPREADSHEET, 3, "assessment")),
        education=(4,),
        jobs=(("Accounting clerk", ACCOUNTING_ASSISTANT, "C", date(2021, 1, 1), date(2026, 1, 1), 1.0),),
    )


def assessment_for(position: Position, title: str = "Accounts SJT") -> Assessment:
    found = db.session.scalars(select(Assessment).where(Assessment.position_id == position.id)).first()
    if found is not None:
        return found
    assessment = Assessment(
        agency_id=position.agency_id, client_id=position.client_id, position=position, title=title, created_at=NOW
    )
    db.session.add(assessment)
    db.session.flush()
    return assessment


def stored_detail(pomp: dict[str, float | None], *, shown: bool = True) -> dict[str, Any]:
    """An AttemptResult.detail as delivery stores it (dataclasses.asdict of the adapter's AttemptScore)."""
    competencies = tuple(
        scoring_adapter.CompetencyResult(
            code=code,
            name=code.title(),
            raw=value,
            items=4,
            missing=0,
            weight_sum=4.0,
            reported=shown,
            meets_minimum_content=shown,
        )
        for code, value in pomp.items()
    )
    score = scoring_adapter.AttemptScore(
        items=(),
        competencies=competencies,
        overall=None,
        overall_items=0,
        overall_missing=0,
        overall_flags=frozenset(),
        profile_r=None,
        profile_flags=frozenset(),
        key_versions={},
        unanswered=(),
        incomplete=(),
    )
    return delivery._plain(dataclasses.asdict(score))


def invite(
    candidate: Candidate,
    position: Position,
    *,
    pomp: dict[str, float | None] | None = None,
    submitted_at: datetime | None = NOW,
    assessment: Assessment | None = None,
) -> Invitation:
    """Invite the candidate to the position's assessment; with ``pomp``, a submitted attempt and its scores."""
    assessment = assessment or assessment_for(position)
    invitation = Invitation(
        agency_id=position.agency_id,
        client_id=position.client_id,
        assessment=assessment,
        candidate=candidate,
        expires_at=NOW + timedelta(days=7),
        created_at=NOW,
    )
    db.session.add(invitation)
    if pomp is not None:
        attempt = Attempt(
            invitation=invitation,
            agency_id=position.agency_id,
            started_at=(submitted_at or NOW) - timedelta(minutes=20),
            submitted_at=submitted_at,
            item_order=[],
        )
        db.session.add(attempt)
        db.session.flush()
        if submitted_at is not None:
            db.session.add(
                AttemptResult(
                    attempt_id=attempt.id,
                    algorithm_version=scoring_adapter.ALGORITHM_VERSION,
                    score_version=scoring_adapter.ALGORITHM_VERSION,
                    overall_pomp=None,
                    detail=stored_detail(pomp),
                    computed_at=submitted_at,
                )
            )
    db.session.flush()
    return invitation


WORKED_POMP: dict[str, float | None] = {"professionalism": 0.72, "collaboration": 0.61}


# --- §4.6 end to end ---------------------------------------------------------------------------------


def test_the_worked_example_through_the_database_gives_0_9185(app, tenant_a):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = worked_position(agency)
        add_transfer(agency)
        candidate = worked_candidate(agency)
        invite(candidate, position, pomp=WORKED_POMP)
        position_id, candidate_id = position.public_id, candidate.public_id
    with app.app_context():
        position = db.session.scalars(select(Position).where(Position.public_id == position_id)).one()
        found = fit_queries.candidate_fit(position, candidate_id, AS_OF)
        assert found is not None
        context, row = found
        result = row.result
        assert result is not None and row.unavailable is None
        assert row.scores is not None and dict(row.scores.pomp) == WORKED_POMP

        assert result.overall == pytest.approx(0.9185, abs=1e-4)
        assert result.overall == pytest.approx(0.826667 / 0.90, abs=1e-6)
        assert result.overall_display == 92
        values = {c.name.value: c.value for c in result.components}
        assert values["required_skills"] == pytest.approx(5.6 / 6)
        assert values["desired_skills"] is None
        assert values["people_skills"] == pytest.approx(1.0)
        assert values["education"] == values["experience"] == pytest.approx(1.0)
        assert values["industry"] == 0.0
        invoices = next(line for line in result.component("required_skills").lines if line.key == INVOICES)
        assert invoices.path.value == "transfer" and invoices.credit == pytest.approx(0.8)
        assert invoices.transfer is not None and invoices.transfer.rationale == RATIONALE
        assert "via 'allocate bills' (level 4, CV)" in invoices.text
        assert result.transfer_share == pytest.approx(1.6 / 5.6)
        assert result.surprising
        assert [line.key for line in result.surprising_paths] == [INVOICES]

        # The same number as scoring's own for the same inputs, built by hand from the vocabulary.
        occupation = scoring_adapter._occupation(ACCOUNTING_ASSISTANT)
        assert occupation is not None
        by_hand = scoring.compute_fit(
            scoring.PositionProfile(
                required_skills=(
                    scoring.SkillRequirement(BOOKKEEPING, 3, 3),
                    scoring.SkillRequirement(INVOICES, 3, 2),
                    scoring.SkillRequirement(SPREADSHEET, 3, 1),
                ),
                competencies=(
                    scoring.CompetencyRequirement("professionalism", 0.6, 2),
                    scoring.CompetencyRequirement("collaboration", 0.6, 1),
                ),
                education=scoring.EducationRequirement(4, 2.0),
                experience=scoring.ExperienceRequirement(2, 10),
                industry=scoring.IndustryRequirement(frozenset({"Q"}), scoring.IndustryMode.BONUS),
                occupation=occupation,
            ),
            scoring.CandidateProfile(
                skills=(
                    scoring.CandidateSkill(BOOKKEEPING, 4, "cv"),
                    scoring.CandidateSkill(RECEIVABLES, 4, "cv"),
                    scoring.CandidateSkill(SPREADSHEET, 3, "assessment"),
                ),
                education=(scoring.EducationRecord(4, "accounting"),),
                jobs=(scoring.Job("Accounting clerk", occupation, "C", 1826 / 365.25),),
                pomp=WORKED_POMP,
            ),
            (scoring.TransferRow(RECEIVABLES, INVOICES, 0.8, RATIONALE, "expert", "A. Reviewer", "2026-01-15"),),
        )
        assert result.overall == pytest.approx(by_hand.overall, abs=1e-12)
        assert [c.value for c in result.components] == [c.value for c in by_hand.components]
        assert (
            context.transfer_table_version.startswith("sha256:") and len(context.transfers) == 2
        )  # with the tenant's own


# --- translation ----------------------------------------------------------------------------------


def test_position_profile_translates_every_field(app, tenant_a):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = worked_position(agency, education_knockout=True, experience_knockout=True)
        position.skills.append(PositionSkill(skill_key="use office systems", kind="desired", min_level=2, weight=1.5))
        position.skills[0].knockout = True
        position.industry_mode, position.industry_codes = "required", "K,Q"
        db.session.flush()
        profile = scoring_adapter.position_profile(position)
        assert [(r.skill, r.min_level, r.weight, r.knockout) for r in profile.required_skills] == [
            (BOOKKEEPING, 3, 3.0, True),
            (INVOICES, 3, 2.0, False),
            (SPREADSHEET, 3, 1.0, False),
        ]
        assert [(r.skill, r.min_level, r.weight) for r in profile.desired_skills] == [("use office systems", 2, 1.5)]
        assert [(c.competency, c.min_pomp, c.weight) for c in profile.competencies] == [
            ("professionalism", 0.6, 2.0),
            ("collaboration", 0.6, 1.0),
        ]
        assert profile.education == scoring.EducationRequirement(4, 2.0, True)
        assert profile.experience == scoring.ExperienceRequirement(2.0, 10.0, True)
        assert profile.industry == scoring.IndustryRequirement(frozenset({"K", "Q"}), scoring.IndustryMode.REQUIRED)
        assert profile.occupation is not None and profile.occupation.isco_code == "3313"
        assert BOOKKEEPING in profile.occupation.essential
        assert profile.occupation.essential <= profile.occupation.all_skills
        assert "follow up accounts receivables" in profile.occupation.all_skills
        assert dict(profile.weights) == pytest.approx(dict(scoring.DEFAULT_FIT_WEIGHTS))
        assert scoring_adapter.fit_context(position).used == (
            "required_skills",
            "desired_skills",
            "people_skills",
            "education",
            "experience",
            "industry",
        )

        # Zero experience minimum, no substitution years, no industry: those parts are not used.
        position.experience_min_years, position.education_substitution_years = 0.0, None
        position.industry_mode, position.industry_codes = "none", ""
        profile = scoring_adapter.position_profile(position)
        assert profile.experience is None and profile.industry is None
        assert profile.education is not None and profile.education.substitution_years_per_level is None


def test_candidate_profile_counts_confirmed_skills_and_years_from_dates(app, tenant_a):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        candidate = add_candidate(
            agency,
            "Dates Person",
            skills=((BOOKKEEPING, 4, "certificate"), (None, 5, "self"), (SPREADSHEET, 2, "self")),
            education=(3, 5),
            jobs=(
                ("Bookkeeper", BOOKKEEPER, "K", date(2018, 1, 1), date(2020, 1, 1), 0.5),
                ("Temp", "http://example.org/not-in-the-vocabulary", None, date(2020, 2, 1), date(2020, 8, 1), 1.0),
                ("Accounting assistant", ACCOUNTING_ASSISTANT, "C", date(2024, 6, 30), None, 1.0),
                ("Starts later", None, None, date(2026, 9, 1), None, 1.0),
                ("Ends later", None, None, date(2026, 1, 1), date(2027, 1, 1), 1.0),
            ),
        )
        profile = scoring_adapter.candidate_profile(candidate, {"professionalism": 0.5}, AS_OF)
        assert [(s.skill, s.level, s.source.value) for s in profile.skills] == [
            (BOOKKEEPING, 4, "certificate"),
            (SPREADSHEET, 2, "self"),
        ]
        assert [e.level for e in profile.education] == [3, 5]
        years = [job.years for job in profile.jobs]
        assert years[0] == pytest.approx(730 / 365.25)
        assert years[2] == pytest.approx((AS_OF - date(2024, 6, 30)).days / 365.25)  # current: up to as_of
        assert years[3] == 0.0  # not started yet
        assert years[4] == pytest.approx((AS_OF - date(2026, 1, 1)).days / 365.25)  # no future years
        assert profile.jobs[0].fte == 0.5
        first, unknown = profile.jobs[0].occupation, profile.jobs[1].occupation
        assert first is not None and first.uri == BOOKKEEPER and first.isco_code == "3313"
        assert unknown is None
        assert dict(profile.pomp) == {"professionalism": 0.5}


def test_competency_pomp_reads_only_shown_competencies():
    detail = stored_detail({"professionalism": 0.7, "collaboration": None})
    assert scoring_adapter.competency_pomp(detail) == {"professionalism": 0.7}
    assert scoring_adapter.competency_pomp(stored_detail({"professionalism": 0.7}, shown=False)) == {}
    assert scoring_adapter.competency_pomp({}) == {}
    assert scoring_adapter.competency_pomp({"competencies": "nonsense"}) == {}
    assert scoring_adapter.competency_pomp({"competencies": [{"code": "x", "raw": True}, 3]}) == {}


def test_a_real_submitted_attempt_feeds_the_people_skills(app, tenant_a):
    """Four professionalism items answered and submitted through delivery: the stored score is the one used."""
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        admin = db.session.scalars(select(User).where(User.public_id == tenant_a.admin["public_id"])).one()
        position = bare_position(agency, "Assessed position")
        position.competencies = [PositionCompetency(competency=competency(agency, "professionalism"), min_score=0.6)]
        assessment = builder.create_assessment(position, "Four items", by=admin, now=NOW)
        for n in range(4):
            scenario = make_scenario(agency, f"FIT-{n}", weights={"professionalism": 1.0}, now=NOW)
            builder.add_item(assessment, scenario.latest, by=admin, now=NOW)
        assessment.reported = [competency(agency, "professionalism")]
        builder.publish(assessment, by=admin, now=NOW)
        candidate = add_candidate(agency, "Real Attempt")
        invitation = invite(candidate, position, assessment=assessment)
        invitation.expires_at = datetime.now(UTC) + timedelta(days=7)
        delivery.record_consent(invitation, 0, NOW)
        attempt = delivery.start_attempt(invitation, datetime.now(UTC))
        for version_id, ratings in zip(
            attempt.item_order, ((6, 1, 3, 4), (5, 2, 2, 3), (6, 1, 2, 4), (4, 3, 3, 3)), strict=True
        ):
            answer = {"ratings": dict(zip("ABCD", ratings, strict=True))}
            delivery.save_answer(attempt, version_id, answer, 0, datetime.now(UTC), "form")
        assert delivery.submit(attempt, datetime.now(UTC))
        stored = db.session.scalars(select(AttemptResult).where(AttemptResult.attempt_id == attempt.id)).one()
        expected = next(c["raw"] for c in stored.detail["competencies"] if c["code"] == "professionalism")
        assert expected is not None
        _, row = fit_queries.candidate_fit(position, candidate.public_id, AS_OF) or (None, None)
        assert row is not None and row.scores is not None and row.result is not None
        assert row.scores.pomp == {"professionalism": expected}
        assert row.result.overall == pytest.approx(min(1.0, expected / 0.6))


def test_the_latest_submitted_scored_attempt_wins(app, tenant_a):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = worked_position(agency)
        candidate = worked_candidate(agency)
        old = Assessment(
            agency_id=agency.id, client_id=position.client_id, position=position, title="Old", created_at=NOW
        )
        new = Assessment(
            agency_id=agency.id, client_id=position.client_id, position=position, title="New", created_at=NOW
        )
        open_one = Assessment(
            agency_id=agency.id, client_id=position.client_id, position=position, title="Open", created_at=NOW
        )
        invite(
            candidate, position, assessment=old, pomp={"professionalism": 0.3}, submitted_at=NOW - timedelta(days=30)
        )
        invite(candidate, position, assessment=new, pomp={"professionalism": 0.9}, submitted_at=NOW - timedelta(days=1))
        invite(candidate, position, assessment=open_one, pomp={"professionalism": 0.1}, submitted_at=None)
        scores = fit_queries.latest_scores(position, [candidate.id])
        assert scores[candidate.id].assessment_title == "New"
        assert dict(scores[candidate.id].pomp) == {"professionalism": 0.9}
        assert fit_queries.latest_scores(position, []) == {}


# --- never a 500 ----------------------------------------------------------------------------------


def test_fit_for_explains_instead_of_raising(app, tenant_a):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        candidate = worked_candidate(agency)
        bare = bare_position(agency)
        outcome = scoring_adapter.fit_for(bare, candidate, {}, AS_OF)
        assert isinstance(outcome, scoring_adapter.FitUnavailable)
        assert outcome.reason == scoring_adapter.NO_REQUIREMENTS
        assert outcome.text.startswith("Fit cannot be computed: the position has no requirements yet.")

        people_only = bare_position(agency, "People only")
        people_only.competencies = [PositionCompetency(competency=competency(agency, "professionalism"))]
        db.session.flush()
        outcome = scoring_adapter.fit_for(people_only, candidate, {}, AS_OF)
        assert outcome == scoring_adapter.FitUnavailable(scoring_adapter.NOT_YET_ASSESSED)
        assessed = scoring_adapter.fit_for(people_only, candidate, {"professionalism": 0.3}, AS_OF)
        assert isinstance(assessed, scoring.FitResult) and assessed.overall == pytest.approx(0.5)

        bad_weights = worked_position(agency, title="Bad weights", fit_weights={"required_skills": 0.5})
        outcome = scoring_adapter.fit_for(bad_weights, candidate, {}, AS_OF)
        assert isinstance(outcome, scoring_adapter.FitUnavailable)
        assert "weights must sum to 1" in outcome.reason

        zero = worked_position(agency, title="Zero weights", fit_weights={"desired_skills": 1.0})
        outcome = scoring_adapter.fit_for(zero, candidate, {}, AS_OF)
        assert outcome == scoring_adapter.FitUnavailable(scoring_adapter.NO_WEIGHT)

        with pytest.raises(ValueError, match="another position"):
            scoring_adapter.fit_for(bare, candidate, {}, AS_OF, context=scoring_adapter.fit_context(people_only))


def test_unknown_occupation_is_left_out_with_a_note(app, tenant_a):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = worked_position(agency, title="Odd occupation")
        position.occupation_uri = "http://example.org/occupation/unknown"
        context = scoring_adapter.fit_context(position)
        assert context.profile is not None and context.profile.occupation is None
        assert context.notes and "not in the vocabulary" in context.notes[0]


# --- transfer rows --------------------------------------------------------------------------------


def test_agency_transfers_are_the_agencys_own_and_versioned(app, tenant_a, tenant_b):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        before = scoring_adapter.agency_transfers(agency.id)
        assert [(r.from_skill, r.to_skill) for r in before] == [("answer incoming calls", "handle customer complaints")]
        assert all("Beta" not in r.rationale for r in before)
        version = scoring_adapter.transfers_version(before)
        assert version == scoring_adapter.transfers_version(tuple(reversed(before)))
        add_transfer(agency)
        after = scoring_adapter.agency_transfers(agency.id)
        assert [(r.from_skill, r.reviewed_on) for r in after] == [  # ordered by skill, dates as ISO text
            (RECEIVABLES, "2026-01-15"),
            ("answer incoming calls", "2026-01-05"),
        ]
        assert scoring_adapter.transfers_version(after) != version
        # An edit in place (same rows, same count) is read at once: the checked rows are cached by content only.
        edited = db.session.scalars(select(SkillTransfer).where(SkillTransfer.from_skill == RECEIVABLES)).one()
        edited.credit = 0.25
        rows = scoring_adapter.agency_transfers(agency.id)
        assert next(r.credit for r in rows if r.from_skill == RECEIVABLES) == 0.25
        assert scoring_adapter.transfers_version(rows) != scoring_adapter.transfers_version(after)


# --- demographic data never enters ----------------------------------------------------------------


def test_demographic_answers_change_no_fit_number(app, tenant_a):
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        position = worked_position(agency)
        add_transfer(agency)
        candidate = worked_candidate(agency)
        invitation = invite(candidate, position, pomp=WORKED_POMP)
        attempt = invitation.attempt
        assert attempt is not None

        def numbers() -> tuple[Any, ...]:
            _, row = fit_queries.candidate_fit(position, candidate.public_id, AS_OF) or (None, None)
            assert row is not None and row.result is not None
            result = row.result
            return (
                result.overall,
                result.overall_display,
                tuple((c.value, c.effective_weight) for c in result.components),
                tuple((g.key, g.gain) for g in result.gaps),
                tuple(g.status for g in result.gates),
                result.transfer_share,
                result.surprising,
            )

        without = numbers()
        answers = DemographicResponse(attempt_id=attempt.id, sex="Female", race_ethnicity="Asian", recorded_at=NOW)
        db.session.add(answers)
        db.session.flush()
        first = numbers()
        answers.sex, answers.race_ethnicity = "Male", "White"
        db.session.flush()
        assert without == first == numbers()


DEMOGRAPHIC_NAMES = frozenset({"DemographicResponse", "race_ethnicity", "sex", "record_demographics"})


def names_in(module: str) -> set[str]:
    """Every name, attribute and imported name in a module of the repository."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / module).read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return names | {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}


@pytest.mark.parametrize("module", ["assessments/scoring_adapter.py", "assessments/fit_queries.py"])
def test_the_fit_never_names_demographic_data(module):
    assert not names_in(module) & DEMOGRAPHIC_NAMES
