"""Candidate-to-position fit (skills-and-fit.md §4.4-§4.6 as settled in DECISIONS): golden, units, properties."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.errors import InsufficientDataError, ScoringError
from scoring.fit import (
    DEFAULT_FIT_WEIGHTS,
    CandidateProfile,
    CandidateSkill,
    CompetencyRequirement,
    ComponentStatus,
    EducationRecord,
    EducationRequirement,
    EvidenceSource,
    ExperienceRequirement,
    FitComponent,
    FitInputError,
    FitPath,
    GateStatus,
    IndustryMode,
    IndustryRequirement,
    Job,
    Occupation,
    PositionProfile,
    SkillRequirement,
    TransferRow,
    compute_fit,
    occupation_relevance,
)

# --- the §4.6 fixture vocabulary (illustrative names, declared here, apart from any seeded ESCO data) ---

BOOKKEEPING = "test:bookkeeping"
INVOICES = "test:invoice-processing"
SPREADSHEET = "test:spreadsheet"
RECEIVABLES = "test:accounts-receivable-processing"
PAYROLL = "test:payroll"
FILING = "test:filing"
PROFESSIONALISM = "professionalism"
COLLABORATION = "collaboration"
LABELS = {
    BOOKKEEPING: "bookkeeping",
    INVOICES: "invoice processing",
    SPREADSHEET: "spreadsheet",
    RECEIVABLES: "accounts-receivable processing",
    PAYROLL: "payroll",
}
RATIONALE = "same document flow, reversed direction"

AP_CLERK = Occupation(
    "test:occupation/accounts-payable-clerk",
    "4311",
    frozenset({BOOKKEEPING, INVOICES, SPREADSHEET}),
    frozenset({PAYROLL}),
)
RECEPTIONIST = Occupation("test:occupation/receptionist", "4226", frozenset({FILING}), frozenset({SPREADSHEET}))
PAYROLL_CLERK = Occupation("test:occupation/payroll-clerk", "4313", frozenset({PAYROLL}), frozenset({BOOKKEEPING}))

AR_TO_INVOICES = TransferRow(RECEIVABLES, INVOICES, 0.8, RATIONALE, "expert", "A. Reviewer", "2026-01-15")
TRANSFERS = (AR_TO_INVOICES,)


def worked_position(**changes: object) -> PositionProfile:
    """§4.6's target: accounts-payable clerk in a hospital (no desired skills)."""
    position = PositionProfile(
        required_skills=(
            SkillRequirement(BOOKKEEPING, 3, 3),
            SkillRequirement(INVOICES, 3, 2),
            SkillRequirement(SPREADSHEET, 3, 1),
        ),
        competencies=(CompetencyRequirement(PROFESSIONALISM, 0.6, 2), CompetencyRequirement(COLLABORATION, 0.6, 1)),
        education=EducationRequirement(4, 2.0),
        experience=ExperienceRequirement(2, 10),
        industry=IndustryRequirement(frozenset({"Q"}), IndustryMode.BONUS),
        occupation=AP_CLERK,
    )
    return dataclasses.replace(position, **changes)


def worked_candidate(**changes: object) -> CandidateProfile:
    """§4.6's candidate: 5 years as accounting clerk in a manufacturing plant (industry C), ISCED 4."""
    candidate = CandidateProfile(
        skills=(
            CandidateSkill(BOOKKEEPING, 4, "cv", "Maintained the general ledger for 4 years"),
            CandidateSkill(RECEIVABLES, 4, "cv"),
            CandidateSkill(SPREADSHEET, 3, "assessment"),
        ),
        education=(EducationRecord(4, "accounting"),),
        jobs=(Job("accounting clerk", AP_CLERK, "C", 5.0),),
        pomp={PROFESSIONALISM: 0.72, COLLABORATION: 0.61},
    )
    return dataclasses.replace(candidate, **changes)


def fit(position: PositionProfile | None = None, candidate: CandidateProfile | None = None, transfers=TRANSFERS):
    return compute_fit(position or worked_position(), candidate or worked_candidate(), transfers, labels=LABELS)


# --- golden: §4.6 ------------------------------------------------------------------------------------


def test_worked_example_overall_and_components():
    result = fit()
    assert result.overall == pytest.approx(0.9185, abs=1e-4)
    assert result.overall == pytest.approx((0.35 * 5.6 / 6 + 0.25 + 0.15 + 0.10) / 0.90, abs=1e-12)
    assert result.overall == pytest.approx(0.918518, abs=1e-6)
    assert result.overall_display == 92
    assert result.component("required_skills").value == pytest.approx(0.93333, abs=1e-5)
    assert result.component(FitComponent.PEOPLE_SKILLS).value == 1.0
    assert result.component(FitComponent.EDUCATION).value == 1.0
    assert result.component(FitComponent.EXPERIENCE).value == 1.0
    assert result.component(FitComponent.INDUSTRY).value == 0.0
    assert result.gates == ()
    assert result.gates_met
    assert "/ 0.9 = 0.9185 (shown 92)" in result.overall_text


def test_worked_example_invoice_processing_is_credited_through_the_transfer_row():
    line = fit().component(FitComponent.REQUIRED_SKILLS).lines[1]
    assert line.key == INVOICES
    assert line.path is FitPath.TRANSFER
    assert line.credit == pytest.approx(0.8)
    assert line.transfer == AR_TO_INVOICES
    assert line.evidence_skill == RECEIVABLES
    assert line.evidence_level == 4
    assert line.source == "cv"
    assert line.text.startswith(
        "Invoice processing credited 0.80 via 'accounts-receivable processing' (level 4, CV). "
        "Transfer 0.8: same document flow, reversed direction"
    )
    assert "A. Reviewer" in line.text
    assert "2026-01-15" in line.text
    bookkeeping, _, spreadsheet = fit().component(FitComponent.REQUIRED_SKILLS).lines
    assert (bookkeeping.path, bookkeeping.credit) == (FitPath.DIRECT, 1.0)
    assert "Maintained the general ledger" in bookkeeping.evidence
    assert (spreadsheet.path, spreadsheet.source) == (FitPath.DIRECT, "assessment")


def test_worked_example_desired_skills_drop_out_and_weights_are_rescaled():
    result = fit()
    desired = result.component(FitComponent.DESIRED_SKILLS)
    assert desired.status is ComponentStatus.NOT_USED
    assert not desired.used
    assert desired.value is None
    assert desired.weight == pytest.approx(0.10)
    assert desired.effective_weight == 0.0
    for component in result.components:
        if component.used:
            assert component.effective_weight == pytest.approx(component.weight / 0.90, abs=1e-12)
    assert sum(c.effective_weight for c in result.components) == pytest.approx(1.0, abs=1e-12)
    assert sum(c.contribution for c in result.components) == pytest.approx(result.overall, abs=1e-12)


def test_worked_example_is_a_surprising_match():
    result = fit()
    assert result.surprising
    assert result.transfer_share == pytest.approx(1.6 / 5.6, abs=1e-12)
    assert [line.key for line in result.surprising_paths] == [INVOICES]
    assert "no job in a preferred industry" in result.surprising_text


# --- skills ------------------------------------------------------------------------------------------


def skills_only(*required: SkillRequirement, desired: tuple[SkillRequirement, ...] = ()) -> PositionProfile:
    weights = {"required_skills": 0.8, "desired_skills": 0.2} if desired else {"required_skills": 1.0}
    return PositionProfile(required_skills=required, desired_skills=desired, weights=weights)


def with_skills(*skills: CandidateSkill) -> CandidateProfile:
    return CandidateProfile(skills=skills)


def test_direct_credit_is_level_over_minimum_capped_at_one():
    result = fit(skills_only(SkillRequirement(BOOKKEEPING, 3)), with_skills(CandidateSkill(BOOKKEEPING, 2)))
    assert result.overall == pytest.approx(2 / 3)
    line = result.component(FitComponent.REQUIRED_SKILLS).lines[0]
    assert (line.path, line.text.endswith("min(1, 2/3) = 0.67")) == (FitPath.DIRECT, True)
    assert fit(skills_only(SkillRequirement(BOOKKEEPING, 3)), with_skills(CandidateSkill(BOOKKEEPING, 5))).overall == 1


def test_missing_skill_and_missing_row_give_no_credit():
    result = fit(skills_only(SkillRequirement(INVOICES, 3)), with_skills(CandidateSkill(PAYROLL, 5)))
    line = result.component(FitComponent.REQUIRED_SKILLS).lines[0]
    assert (line.path, line.credit, line.transfer) == (FitPath.NONE, 0.0, None)
    assert result.overall == 0.0


def test_transfer_rows_are_directed():
    # The row goes receivables -> invoices; holding invoice processing earns nothing towards receivables.
    result = fit(skills_only(SkillRequirement(RECEIVABLES, 3)), with_skills(CandidateSkill(INVOICES, 5)))
    assert result.component(FitComponent.REQUIRED_SKILLS).lines[0].path is FitPath.NONE


def test_transfer_uses_the_best_path_and_the_source_level():
    rows = (
        AR_TO_INVOICES,
        TransferRow(PAYROLL, INVOICES, 0.5, "shared ledger entries", "expert", "B. Reviewer", "2026-02-01"),
    )
    candidate = with_skills(CandidateSkill(RECEIVABLES, 2, "self"), CandidateSkill(PAYROLL, 5, "certificate"))
    line = fit(skills_only(SkillRequirement(INVOICES, 4)), candidate, rows).component("required_skills").lines[0]
    # receivables: 0.8 x min(1, 2/4) = 0.40; payroll: 0.5 x 1 = 0.50 wins.
    assert (line.path, line.credit, line.transfer) == (FitPath.TRANSFER, 0.5, rows[1])
    assert line.source == "certificate"


def test_transfer_beats_a_weaker_direct_credit():
    candidate = with_skills(CandidateSkill(INVOICES, 1), CandidateSkill(RECEIVABLES, 4))
    line = fit(skills_only(SkillRequirement(INVOICES, 3)), candidate).component("required_skills").lines[0]
    assert (line.path, line.credit) == (FitPath.TRANSFER, pytest.approx(0.8))
    assert "direct evidence (level 1) gives only 0.33" in line.text


def test_a_tie_between_direct_and_transfer_goes_to_direct():
    row = TransferRow(RECEIVABLES, INVOICES, 1.0, "equivalent", "expert", "A. Reviewer", "2026-01-15")
    candidate = with_skills(CandidateSkill(RECEIVABLES, 3), CandidateSkill(INVOICES, 3))
    line = fit(skills_only(SkillRequirement(INVOICES, 3)), candidate, (row,)).component("required_skills").lines[0]
    assert (line.path, line.credit, line.transfer) == (FitPath.DIRECT, 1.0, None)
    assert "direct path is preferred" in line.text


def test_between_equal_direct_entries_the_stronger_source_is_shown():
    candidate = with_skills(CandidateSkill(BOOKKEEPING, 4, "self"), CandidateSkill(BOOKKEEPING, 4, "assessment"))
    line = fit(skills_only(SkillRequirement(BOOKKEEPING, 3)), candidate).component("required_skills").lines[0]
    assert line.source == EvidenceSource.ASSESSMENT


def test_desired_skills_component_and_weighted_mean():
    position = skills_only(
        SkillRequirement(BOOKKEEPING, 3, 2),
        desired=(SkillRequirement(PAYROLL, 2, 1), SkillRequirement(SPREADSHEET, 4, 3)),
    )
    candidate = with_skills(CandidateSkill(BOOKKEEPING, 3), CandidateSkill(SPREADSHEET, 2))
    result = fit(position, candidate)
    desired = result.component(FitComponent.DESIRED_SKILLS)
    assert desired.value == pytest.approx((1 * 0 + 3 * 0.5) / 4)
    assert result.overall == pytest.approx(0.8 * 1 + 0.2 * 0.375)
    assert "(1x0 + 3x0.5) / 4 = 0.375" in desired.rule_text


# --- people skills -----------------------------------------------------------------------------------


def people_position(*competencies: CompetencyRequirement) -> PositionProfile:
    return PositionProfile(
        required_skills=(SkillRequirement(BOOKKEEPING, 3),),
        competencies=competencies,
        weights={"required_skills": 0.5, "people_skills": 0.5},
    )


def test_people_skills_use_pomp_over_the_minimum():
    position = people_position(CompetencyRequirement(PROFESSIONALISM, 0.8, 3), CompetencyRequirement(COLLABORATION))
    candidate = CandidateProfile(
        skills=(CandidateSkill(BOOKKEEPING, 3),), pomp={PROFESSIONALISM: 0.6, COLLABORATION: 0.9}
    )
    people = fit(position, candidate).component(FitComponent.PEOPLE_SKILLS)
    assert people.value == pytest.approx((3 * 0.75 + 1 * 1) / 4)
    assert [line.path for line in people.lines] == [FitPath.MEASURED, FitPath.MEASURED]
    assert people.lines[0].text.endswith("min(1, 0.6/0.8) = 0.75")


def test_a_competency_without_score_counts_zero_and_is_flagged():
    position = people_position(CompetencyRequirement(PROFESSIONALISM, weight=2), CompetencyRequirement(COLLABORATION))
    candidate = CandidateProfile(skills=(CandidateSkill(BOOKKEEPING, 3),), pomp={PROFESSIONALISM: 0.6})
    result = fit(position, candidate)
    people = result.component(FitComponent.PEOPLE_SKILLS)
    assert people.used
    assert people.value == pytest.approx(2 / 3)
    assert people.lines[1].path is FitPath.NOT_ASSESSED
    assert people.lines[1].credit == 0.0
    assert result.not_assessed == (COLLABORATION,)
    assert result.overall == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_people_skills_drop_out_when_no_competency_is_assessed():
    position = people_position(CompetencyRequirement(PROFESSIONALISM), CompetencyRequirement(COLLABORATION))
    candidate = CandidateProfile(skills=(CandidateSkill(BOOKKEEPING, 3),), pomp={COLLABORATION: None})
    result = fit(position, candidate)
    people = result.component(FitComponent.PEOPLE_SKILLS)
    assert people.status is ComponentStatus.NOT_YET_ASSESSED
    assert (people.value, people.effective_weight) == (None, 0.0)
    assert "not yet assessed" in people.rule_text
    assert result.not_assessed == (PROFESSIONALISM, COLLABORATION)
    assert result.overall == 1.0  # only required skills count, rescaled to weight 1
    assert result.component(FitComponent.REQUIRED_SKILLS).effective_weight == 1.0


def test_nothing_to_score_raises_insufficient_data():
    position = PositionProfile(competencies=(CompetencyRequirement(PROFESSIONALISM),), weights={"people_skills": 1})
    with pytest.raises(InsufficientDataError):
        compute_fit(position, CandidateProfile())


# --- education ---------------------------------------------------------------------------------------


def education_fit(requirement: EducationRequirement, level: int, years: float, experience=None):
    position = PositionProfile(
        education=requirement,
        experience=experience,
        occupation=AP_CLERK,
        weights={"education": 0.5, "experience": 0.5} if experience else {"education": 1.0},
    )
    candidate = CandidateProfile(education=(EducationRecord(level),), jobs=(Job("clerk", AP_CLERK, None, years),))
    return compute_fit(position, candidate).component(FitComponent.EDUCATION)


def test_education_met_and_shortfall_without_substitution():
    assert education_fit(EducationRequirement(4), 5, 0).value == 1.0
    short = education_fit(EducationRequirement(6), 4, 20)
    assert short.value == pytest.approx(0.5)
    assert short.lines[0].path is FitPath.SHORTFALL
    assert education_fit(EducationRequirement(8), 0, 0).value == 0.0


def test_education_substitution_uses_years_above_the_experience_minimum():
    component = education_fit(EducationRequirement(6, 2.0), 5, 6.0, ExperienceRequirement(2, 10))
    line = component.lines[0]
    assert component.value == 1.0
    assert line.path is FitPath.SUBSTITUTION
    assert line.text.startswith("Level 5 vs required 6; 4 extra years of relevant experience substituted for 1 level")
    assert "(without it: 0.75)" in line.text


def test_education_partial_substitution_and_floor():
    # gap 3, 5 extra years at 2 per level -> 2 levels substituted -> 1 - 0.25 x 1.
    assert education_fit(EducationRequirement(6, 2.0), 3, 5.0).value == pytest.approx(0.75)
    # 0.6 / 0.2 is 2.9999999999999996 in floats: still 3 levels.
    assert education_fit(EducationRequirement(6, 0.2), 3, 0.6).value == 1.0
    # Too few extra years to substitute a level: the shortfall rule, and the text says why.
    short = education_fit(EducationRequirement(6, 2.0), 5, 3.5, ExperienceRequirement(2))
    assert short.value == pytest.approx(0.75)
    assert "1.5 extra years" in short.lines[0].text


def test_education_substitution_counts_only_years_under_the_cap():
    # 12 relevant years, capped at 4, minimum 2: 2 extra years substitute 1 level of a 2-level gap.
    component = education_fit(EducationRequirement(6, 2.0), 4, 12.0, ExperienceRequirement(2, 4))
    assert component.value == pytest.approx(0.75)


def test_education_uses_the_highest_completed_level():
    position = PositionProfile(education=EducationRequirement(6), weights={"education": 1.0})
    candidate = CandidateProfile(
        education=(EducationRecord(4), EducationRecord(7, completed=False), EducationRecord(5))
    )
    result = compute_fit(position, candidate)
    assert result.overall == pytest.approx(0.75)
    nothing = compute_fit(position, CandidateProfile()).component(FitComponent.EDUCATION)
    assert nothing.value == 0.0
    assert "no completed education" in nothing.lines[0].evidence


# --- experience --------------------------------------------------------------------------------------


def experience_fit(requirement: ExperienceRequirement, *jobs: Job, occupation: Occupation | None = AP_CLERK):
    position = PositionProfile(experience=requirement, occupation=occupation, weights={"experience": 1.0})
    return compute_fit(position, CandidateProfile(jobs=jobs))


def test_experience_sums_years_fte_and_relevance():
    result = experience_fit(
        ExperienceRequirement(4, 10),
        Job("AP clerk", AP_CLERK, "C", 2.0, 0.5),  # 1.0
        Job("payroll clerk", PAYROLL_CLERK, "C", 1.0),  # other ISCO group, bookkeeping shared: 0.2 + 0.6 x 1/3
        Job("unknown", None, None, 5.0),  # 0.2 x 5 = 1.0
    )
    component = result.component(FitComponent.EXPERIENCE)
    assert [line.path for line in component.lines] == [
        FitPath.SAME_OCCUPATION,
        FitPath.SKILL_OVERLAP,
        FitPath.UNKNOWN_OCCUPATION,
    ]
    assert [line.contribution for line in component.lines] == pytest.approx([1.0, 0.4, 1.0])
    assert component.value == pytest.approx(2.4 / 4)


def test_experience_is_capped_and_min_zero_is_full_credit():
    capped = experience_fit(ExperienceRequirement(4, 5), Job("AP clerk", AP_CLERK, None, 30.0))
    assert capped.overall == 1.0
    assert "capped at 5" in capped.component(FitComponent.EXPERIENCE).rule_text
    assert experience_fit(ExperienceRequirement(0)).overall == 1.0


def test_experience_without_position_occupation_counts_all_work():
    result = experience_fit(ExperienceRequirement(4), Job("anything", RECEPTIONIST, None, 2.0), occupation=None)
    assert result.overall == pytest.approx(0.5)
    assert result.component(FitComponent.EXPERIENCE).lines[0].path is FitPath.ANY_WORK


# --- occupation relevance ----------------------------------------------------------------------------


def test_occupation_relevance_tiers():
    target = Occupation("test:target", "4311", frozenset({"a", "b", "c", "d"}), frozenset({"e"}))
    assert occupation_relevance(target, target) == 1.0
    assert occupation_relevance(target, Occupation("test:sibling", "4311")) == 0.8
    # 2 of the 4 essential skills listed (one as optional): 0.2 + 0.6 x 2/4.
    other = Occupation("test:other", "2411", frozenset({"a"}), frozenset({"c", "x"}))
    assert occupation_relevance(target, other) == pytest.approx(0.5)
    everything = Occupation("test:all", "9999", frozenset(), frozenset({"a", "b", "c", "d"}))
    assert occupation_relevance(target, everything) == pytest.approx(0.8)
    assert occupation_relevance(target, Occupation("test:none", None)) == pytest.approx(0.2)
    assert occupation_relevance(target, None) == 0.2
    assert occupation_relevance(Occupation("test:bare", None), other) == 0.2
    # No ISCO code on the target: two occupations without codes are not "the same group".
    assert occupation_relevance(Occupation("test:t", None, frozenset({"a"})), Occupation("test:u", None)) == 0.2
    with pytest.raises(ScoringError):
        occupation_relevance("test:target", target)


def test_essential_skills_are_part_of_all_skills():
    assert Occupation("test:o", None, frozenset({"a"}), frozenset({"b"})).all_skills == {"a", "b"}


# --- industry ----------------------------------------------------------------------------------------


def industry_fit(mode: str, *industries: str | None):
    position = PositionProfile(
        required_skills=(SkillRequirement(BOOKKEEPING, 3),),
        industry=IndustryRequirement(frozenset({"Q", "K"}), mode),
        weights={"required_skills": 0.5, "industry": 0.5},
    )
    jobs = tuple(Job(f"job {i}", None, code, 1.0) for i, code in enumerate(industries))
    return compute_fit(position, CandidateProfile(skills=(CandidateSkill(BOOKKEEPING, 3),), jobs=jobs))


def test_industry_modes():
    unused = industry_fit("none", "C")
    assert unused.component(FitComponent.INDUSTRY).status is ComponentStatus.NOT_USED
    assert unused.overall == 1.0
    assert industry_fit("bonus", "C", "K").component(FitComponent.INDUSTRY).value == 1.0
    no_match = industry_fit("bonus", "C", None)
    assert no_match.overall == pytest.approx(0.5)
    assert no_match.gates == ()
    required = industry_fit("required", "C")
    assert [(gate.component, gate.status) for gate in required.gates] == [(FitComponent.INDUSTRY, GateStatus.NOT_MET)]
    assert required.overall == no_match.overall
    assert industry_fit("required", "Q").gates[0].met


# --- gates -------------------------------------------------------------------------------------------


def knockout_position() -> PositionProfile:
    return worked_position(
        required_skills=(
            SkillRequirement(BOOKKEEPING, 3, 3, knockout=True),
            SkillRequirement(INVOICES, 3, 2, knockout=True),
            SkillRequirement(SPREADSHEET, 3, 1),
        ),
        competencies=(
            CompetencyRequirement(PROFESSIONALISM, 0.6, 2, knockout=True),
            CompetencyRequirement(COLLABORATION, 0.65, 1, knockout=True),
            CompetencyRequirement("integrity", 0.6, 1, knockout=True),
        ),
        education=EducationRequirement(5, None, knockout=True),
        experience=ExperienceRequirement(6, 10, knockout=True),
        industry=IndustryRequirement(frozenset({"Q"}), IndustryMode.REQUIRED),
    )


def test_gates_are_listed_and_never_change_the_score():
    with_gates = fit(knockout_position())
    without = fit(
        dataclasses.replace(
            knockout_position(),
            required_skills=tuple(dataclasses.replace(r, knockout=False) for r in knockout_position().required_skills),
            competencies=tuple(dataclasses.replace(c, knockout=False) for c in knockout_position().competencies),
            education=EducationRequirement(5),
            experience=ExperienceRequirement(6, 10),
            industry=IndustryRequirement(frozenset({"Q"}), IndustryMode.BONUS),
        )
    )
    assert without.gates == ()
    assert with_gates.overall == without.overall
    assert [c.value for c in with_gates.components] == [c.value for c in without.components]
    statuses = {gate.key: gate.status for gate in with_gates.gates}
    assert statuses == {
        BOOKKEEPING: GateStatus.MET,
        INVOICES: GateStatus.NOT_MET,  # a transfer credit of 0.8 does not meet a mandatory skill
        PROFESSIONALISM: GateStatus.MET,
        COLLABORATION: GateStatus.NOT_MET,  # 0.61 < 0.65
        "integrity": GateStatus.NOT_ASSESSED,
        "education": GateStatus.NOT_MET,
        "experience": GateStatus.NOT_MET,  # 5 < 6
        "industry": GateStatus.NOT_MET,
    }
    assert not with_gates.gates_met
    messages = [gate.message for gate in with_gates.gates]
    assert "does not meet mandatory requirement: invoice processing (min level 3)" in messages
    assert "mandatory requirement not yet assessed: integrity (minimum 0.6)" in messages


def test_education_gate_is_met_through_substitution():
    position = worked_position(education=EducationRequirement(5, 2.0, knockout=True))
    assert fit(position).gates[0].status is GateStatus.MET  # 3 years above the minimum substitute 1 level


# --- gaps --------------------------------------------------------------------------------------------


def gap_position() -> PositionProfile:
    return worked_position(
        required_skills=(
            SkillRequirement(BOOKKEEPING, 3, 3),
            SkillRequirement(INVOICES, 3, 2),
            SkillRequirement(PAYROLL, 4, 2),
        ),
        desired_skills=(SkillRequirement(FILING, 2, 1),),
        competencies=(CompetencyRequirement(PROFESSIONALISM, 0.6, 2), CompetencyRequirement("integrity", 0.6, 1)),
        experience=ExperienceRequirement(8, 10),
        weights=DEFAULT_FIT_WEIGHTS,
    )


def gap_candidate(**changes: object) -> CandidateProfile:
    candidate = worked_candidate(
        skills=(
            CandidateSkill(BOOKKEEPING, 4, "cv"),
            CandidateSkill(RECEIVABLES, 4, "cv"),
            CandidateSkill(PAYROLL, 1, "self"),
        )
    )
    return dataclasses.replace(candidate, **changes)


def test_gaps_list_low_lines_and_components_below_one_with_exact_gains():
    result = fit(gap_position(), gap_candidate())
    assert [(gap.component, gap.key) for gap in sorted(result.gaps, key=lambda g: (g.component, g.key or ""))] == [
        (FitComponent.DESIRED_SKILLS, FILING),
        (FitComponent.EXPERIENCE, None),
        (FitComponent.INDUSTRY, None),
        (FitComponent.PEOPLE_SKILLS, "integrity"),
        (FitComponent.REQUIRED_SKILLS, PAYROLL),  # 1/4 < 0.5; invoice processing at 0.8 is not a gap
    ]
    gains = [gap.gain for gap in result.gaps]
    assert gains == sorted(gains, reverse=True)
    by_key = {gap.key or gap.component: gap for gap in result.gaps}
    base = result.overall
    skills = (CandidateSkill(BOOKKEEPING, 4), CandidateSkill(RECEIVABLES, 4), CandidateSkill(PAYROLL, 4))
    closed = {
        PAYROLL: gap_candidate(skills=skills),
        FILING: gap_candidate(skills=(*gap_candidate().skills, CandidateSkill(FILING, 2))),
        "integrity": gap_candidate(pomp={PROFESSIONALISM: 0.72, "integrity": 0.6}),
        FitComponent.EXPERIENCE: gap_candidate(jobs=(Job("accounting clerk", AP_CLERK, "C", 8.0),)),
        FitComponent.INDUSTRY: gap_candidate(jobs=(Job("accounting clerk", AP_CLERK, "Q", 5.0),)),
    }
    for key, candidate in closed.items():
        assert fit(gap_position(), candidate).overall - base == pytest.approx(by_key[key].gain, abs=1e-12), key
    assert by_key[PAYROLL].gain == pytest.approx(0.35 * (2 / 7) * 0.75, abs=1e-12)


def test_no_gap_when_everything_is_met():
    position = skills_only(SkillRequirement(BOOKKEEPING, 3))
    assert fit(position, with_skills(CandidateSkill(BOOKKEEPING, 3))).gaps == ()


# --- surprising match --------------------------------------------------------------------------------


def test_surprising_match_needs_all_three_conditions():
    # Same occupation and a preferred industry: not surprising however much came by transfer.
    in_field = worked_candidate(jobs=(Job("AP clerk", AP_CLERK, "Q", 5.0),))
    assert not fit(candidate=in_field).surprising
    assert fit(candidate=in_field).surprising_paths == ()
    # A job in another occupation (industry matched) is enough for the background condition.
    elsewhere = worked_candidate(jobs=(Job("receptionist", RECEPTIONIST, "Q", 5.0),))
    result = fit(candidate=elsewhere)
    assert result.overall >= 0.70
    assert result.surprising
    # Below the transfer share.
    assert not fit(worked_position(surprising_transfer_share=0.3)).surprising
    # Below the overall threshold.
    assert not fit(worked_position(surprising_min_overall=0.95)).surprising


def test_same_isco_group_counts_as_in_field():
    sibling = Occupation("test:occupation/bookkeeping-clerk", "4311")
    candidate = worked_candidate(jobs=(Job("bookkeeping clerk", sibling, "Q", 5.0),))
    assert not fit(candidate=candidate).surprising


def test_without_position_occupation_only_industry_can_make_it_surprising():
    no_occupation = worked_position(occupation=None)
    assert fit(no_occupation).surprising  # industry C is not the preferred Q
    matched = worked_candidate(jobs=(Job("receptionist", RECEPTIONIST, "Q", 5.0),))
    assert not fit(no_occupation, matched).surprising


def test_transfer_share_is_zero_without_skill_credit():
    result = fit(skills_only(SkillRequirement(BOOKKEEPING, 3)), CandidateProfile())
    assert result.transfer_share == 0.0
    assert not result.surprising


# --- display -----------------------------------------------------------------------------------------


def test_display_rounds_half_up():
    row = TransferRow(RECEIVABLES, INVOICES, 0.85, "similar", "expert", "A. Reviewer", "2026-01-15")
    position = skills_only(SkillRequirement(BOOKKEEPING, 3), SkillRequirement(INVOICES, 3))
    result = fit(position, with_skills(CandidateSkill(BOOKKEEPING, 3), CandidateSkill(RECEIVABLES, 3)), (row,))
    assert result.overall == pytest.approx(0.925)
    assert result.overall_display == 93  # round() would give 92


def test_labels_default_to_ids():
    result = compute_fit(skills_only(SkillRequirement(BOOKKEEPING, 3)), with_skills(CandidateSkill(BOOKKEEPING, 3)))
    assert result.component(FitComponent.REQUIRED_SKILLS).lines[0].requirement == f"{BOOKKEEPING} (min level 3)"


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: EducationRecord(9), id="education level 9"),
        pytest.param(lambda: EducationRequirement(9), id="education minimum 9"),
        pytest.param(lambda: SkillRequirement(BOOKKEEPING, 9), id="skill level 9"),
        pytest.param(lambda: SkillRequirement(BOOKKEEPING, 0), id="skill level 0"),
        pytest.param(lambda: CandidateSkill(BOOKKEEPING, 6), id="candidate level 6"),
        pytest.param(lambda: CandidateSkill(BOOKKEEPING, True), id="bool level"),
        pytest.param(lambda: CandidateSkill(BOOKKEEPING, 3, "rumour"), id="unknown source"),
        pytest.param(lambda: SkillRequirement(BOOKKEEPING, 3, 0), id="zero weight"),
        pytest.param(lambda: PositionProfile(weights={"required_skills": 0.5}), id="weights not summing to 1"),
        pytest.param(lambda: PositionProfile(weights={"required_skills": 1.2, "industry": -0.2}), id="negative weight"),
        pytest.param(lambda: PositionProfile(weights={"charisma": 1.0}), id="unknown component"),
        pytest.param(lambda: Job("clerk", None, None, -1.0), id="negative years"),
        pytest.param(lambda: Job("clerk", None, None, 1.0, 1.5), id="fte above 1"),
        pytest.param(lambda: Job("clerk", None, "Z", 1.0), id="unknown industry section"),
        pytest.param(lambda: Job("clerk", None, None, float("nan")), id="nan years"),
        pytest.param(lambda: IndustryRequirement(frozenset({"Q"}), "sometimes"), id="unknown industry mode"),
        pytest.param(lambda: IndustryRequirement(frozenset(), "bonus"), id="bonus without preferred"),
        pytest.param(
            lambda: PositionProfile(
                required_skills=(SkillRequirement(BOOKKEEPING, 3),),
                desired_skills=(SkillRequirement(BOOKKEEPING, 2),),
                weights={"required_skills": 1.0},
            ),
            id="duplicate skill requirement",
        ),
        pytest.param(
            lambda: PositionProfile(
                competencies=(CompetencyRequirement(PROFESSIONALISM), CompetencyRequirement(PROFESSIONALISM)),
                weights={"people_skills": 1.0},
            ),
            id="duplicate competency",
        ),
        pytest.param(lambda: CompetencyRequirement(PROFESSIONALISM, 0.0), id="min POMP 0"),
        pytest.param(lambda: CompetencyRequirement(PROFESSIONALISM, 1.2), id="min POMP above 1"),
        pytest.param(lambda: CandidateProfile(pomp={PROFESSIONALISM: 1.5}), id="POMP above 1"),
        pytest.param(lambda: ExperienceRequirement(5, 3), id="cap below minimum"),
        pytest.param(lambda: ExperienceRequirement(-1), id="negative minimum"),
        pytest.param(lambda: EducationRequirement(4, 0.0), id="zero substitution years"),
        pytest.param(lambda: Occupation("test:o", "43"), id="short ISCO code"),
        pytest.param(lambda: Occupation("", None), id="empty uri"),
        pytest.param(lambda: TransferRow(INVOICES, INVOICES, 0.5, "x", "expert", "A", "2026"), id="self transfer"),
        pytest.param(lambda: TransferRow(RECEIVABLES, INVOICES, 1.5, "x", "expert", "A", "2026"), id="credit above 1"),
        pytest.param(lambda: TransferRow(RECEIVABLES, INVOICES, 0.5, "", "expert", "A", "2026"), id="no rationale"),
        pytest.param(lambda: PositionProfile(gap_below=2.0), id="gap_below above 1"),
        pytest.param(lambda: PositionProfile(surprising_transfer_share=0.0), id="transfer share 0"),
        pytest.param(lambda: PositionProfile(required_skills=(BOOKKEEPING,)), id="requirement not a dataclass"),
        pytest.param(lambda: fit(transfers=(AR_TO_INVOICES, AR_TO_INVOICES)), id="duplicate transfer row"),
        pytest.param(lambda: fit(transfers=AR_TO_INVOICES), id="a row instead of rows"),
    ],
)
def test_bad_input_raises_a_scoring_error(build):
    with pytest.raises(ScoringError):
        build()


def test_fit_input_error_is_a_scoring_error():
    assert issubclass(FitInputError, ScoringError)
    assert issubclass(FitInputError, ValueError)


def test_weights_within_tolerance_are_accepted():
    weights = {"required_skills": 0.3333333, "desired_skills": 0.3333333, "industry": 0.3333334}
    assert PositionProfile(weights=weights).weight("industry") == pytest.approx(0.3333334)


# --- purity ------------------------------------------------------------------------------------------


def test_the_module_imports_only_scoring_and_the_standard_library():
    tree = ast.parse((Path(__file__).resolve().parents[2] / "scoring" / "fit.py").read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "collections", "dataclasses", "enum", "math", "re", "types", "typing", "scoring"}


def test_no_demographic_input_exists():
    fields = {
        f.name for cls in (CandidateProfile, CandidateSkill, EducationRecord, Job) for f in dataclasses.fields(cls)
    }
    assert not fields & {"age", "birth_date", "date_of_birth", "gender", "sex", "nationality", "photo", "ethnicity"}


# --- properties --------------------------------------------------------------------------------------

SKILLS = [BOOKKEEPING, INVOICES, SPREADSHEET, RECEIVABLES, PAYROLL, FILING]
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROPERTY_ROWS = (
    AR_TO_INVOICES,
    TransferRow(PAYROLL, BOOKKEEPING, 0.6, "ledger entries", "expert", "A. Reviewer", "2026-01-15"),
    TransferRow(SPREADSHEET, FILING, 0.3, "organising records", "expert", "A. Reviewer", "2026-01-15"),
    TransferRow(BOOKKEEPING, INVOICES, 0.7, "same ledger", "expert", "A. Reviewer", "2026-01-15"),
)


@st.composite
def positions(draw) -> PositionProfile:
    chosen = draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=5))
    split = draw(st.integers(0, len(chosen)))
    requirements = [
        SkillRequirement(skill, draw(st.integers(1, 5)), draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])))
        for skill in chosen
    ]
    competencies = tuple(
        CompetencyRequirement(name, draw(st.sampled_from([0.3, 0.6, 1.0])), draw(st.sampled_from([1.0, 2.0])))
        for name in draw(st.lists(st.sampled_from([PROFESSIONALISM, COLLABORATION]), unique=True))
    )
    raw = [draw(st.integers(0, 5)) for _ in FitComponent]
    if sum(raw) == 0:
        raw[0] = 1
    weights = {component: value / sum(raw) for component, value in zip(FitComponent, raw, strict=True)}
    return PositionProfile(
        required_skills=tuple(requirements[:split]),
        desired_skills=tuple(requirements[split:]),
        competencies=competencies,
        education=draw(st.none() | st.builds(EducationRequirement, st.integers(0, 8), st.none() | st.just(2.0))),
        experience=draw(st.none() | st.builds(ExperienceRequirement, st.just(3.0), st.just(6.0))),
        industry=draw(
            st.none() | st.builds(IndustryRequirement, st.just(frozenset({"Q"})), st.sampled_from(IndustryMode))
        ),
        occupation=draw(st.none() | st.just(AP_CLERK)),
        weights=weights,
    )


@st.composite
def candidates(draw) -> CandidateProfile:
    skills = tuple(
        CandidateSkill(skill, draw(st.integers(1, 5)), draw(st.sampled_from(EvidenceSource)))
        for skill in draw(st.lists(st.sampled_from(SKILLS), max_size=6))
    )
    jobs = tuple(
        Job(
            "job",
            draw(st.sampled_from([None, AP_CLERK, RECEPTIONIST, PAYROLL_CLERK])),
            draw(st.sampled_from([None, "C", "Q"])),
            draw(st.floats(0, 20)),
            draw(st.floats(0, 1)),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    pomp = {name: draw(st.none() | st.floats(0, 1)) for name in (PROFESSIONALISM, COLLABORATION)}
    education = tuple(EducationRecord(level) for level in draw(st.lists(st.integers(0, 8), max_size=2)))
    return CandidateProfile(skills=skills, education=education, jobs=jobs, pomp=pomp)


def fit_or_none(position: PositionProfile, candidate: CandidateProfile):
    try:
        return compute_fit(position, candidate, PROPERTY_ROWS)
    except InsufficientDataError:
        return None


@PROPERTY_SETTINGS
@given(positions(), candidates())
def test_overall_lies_in_the_unit_interval(position, candidate):
    result = fit_or_none(position, candidate)
    if result is None:
        return
    assert 0.0 <= result.overall <= 1.0
    assert 0 <= result.overall_display <= 100
    assert 0.0 <= result.transfer_share <= 1.0
    for component in result.components:
        assert component.value is None or 0.0 <= component.value <= 1.0
    assert sum(c.effective_weight for c in result.components) == pytest.approx(1.0)


@PROPERTY_SETTINGS
@given(positions(), candidates(), st.data())
def test_raising_a_skill_level_never_lowers_the_overall(position, candidate, data):
    if not candidate.skills:
        return
    index = data.draw(st.integers(0, len(candidate.skills) - 1))
    skill = candidate.skills[index]
    higher = data.draw(st.integers(skill.level, 5))
    raised = list(candidate.skills)
    raised[index] = dataclasses.replace(skill, level=higher)
    before = fit_or_none(position, candidate)
    after = fit_or_none(position, dataclasses.replace(candidate, skills=tuple(raised)))
    if before is None:
        return
    assert after is not None
    assert after.overall >= before.overall
