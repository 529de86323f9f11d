"""The report context, without WeasyPrint: bands as the scoring adapter computes them, provisional scores and
what is missing, competency lines and their evidence, the sections a client may see, hashing, strengths and
development areas, the candidate's feedback, the shortlist; and what must never enter a context (item text,
demographic answers)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from accounts.models import Client, Scope
from assessments import scoring_adapter
from assessments import services as builder
from assessments.models import Assessment, Invitation
from assessments.results import latest_norm_group
from database import db, unit_of_work
from positions.models import Position
from reports import context as report_context
from reports import services as report_services
from reports.context import (
    CompetencyLine,
    Score,
    context_hash,
    current_result,
    dossier_context,
    feedback_context,
    shortlist_context,
    strengths_and_development,
    two_weakest,
)
from reports.models import Report
from reports.render import html_for
from scenarios.models import SITUATION_TYPES
from tests.assessments.test_fit_adapter import NOW, agency_of
from tests.reports.report_scene import MARKERS, NORM_LABEL, RACE, SEX, World, admin_of, build_world


def serialised(context: object) -> str:
    return json.dumps(dataclasses.asdict(context), default=str, ensure_ascii=False)  # type: ignore[call-overload]


def dossier_of(world: World, name: str = "Ada Able") -> report_context.DossierContext:
    return dossier_context(db.session.get_one(Report, world.reports[name]))


# --- Scores against a norm table, and without one ------------------------------------------------------


def test_against_a_norm_table_the_overall_sten_and_interval_are_band_score_s(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context():
        context = dossier_of(world)
        assessment = db.session.get_one(Assessment, world.assessment_id)
        report = db.session.get_one(Report, world.reports["Ada Able"])
        result = current_result(assessment, db.session.get_one(Invitation, report.invitation_id).attempt)
        norm = latest_norm_group(assessment)
        assert result is not None and result.overall_pomp is not None and norm is not None
        expected = scoring_adapter.band_score(result.overall_pomp, norm.scope(scoring_adapter.OVERALL_SCOPE))

        overall = context.overall
        assert overall is not None and overall.normed
        assert (overall.sten, overall.t, overall.interval, overall.sten_range) == (
            expected.sten,
            expected.t,
            expected.interval,
            expected.sten_range,
        )
        assert overall.interval is not None and overall.sten_range is not None
        assert overall.interval[0] < overall.t < overall.interval[1]  # type: ignore[operator]
        assert (overall.percentile, overall.percentile_kind) == (expected.percentile, expected.percentile_kind)
        assert overall.provisional == expected.provisional
        low, high = overall.sten_range
        span = f"stens {low}-{high}" if low != high else f"sten {low}"
        assert overall.text == f"Sten {overall.sten} (90% interval: {span})"
        assert context.norm_group == f"{NORM_LABEL} (version 1, N = 150)"
        assert context.methodology.norm_group == context.norm_group and context.methodology.norm_version == "v1"
        # alpha 0.85: SEM_T = 10 * sqrt(0.15) = 3.87, and the interval is T +/- 1.645 SEM_T.
        assert context.methodology.sem == "SEM 3.9 T points; 90% interval = T +/- 6.4"
        half_width = (overall.interval[1] - overall.interval[0]) / 2
        assert half_width == pytest.approx(1.645 * 10 * 0.15**0.5, abs=0.1)
        assert not any("norm group" in line for line in context.missing)

        # Each reported competency the same way, against its own scope.
        pomp = scoring_adapter.competency_pomp(result.detail)
        for line in context.competencies:
            if line.score is None:
                continue
            banded = scoring_adapter.band_score(pomp[line.code], norm.scope(line.code))
            assert (line.score.sten, line.score.interval, line.score.sten_range) == (
                banded.sten,
                banded.interval,
                banded.sten_range,
            )


def test_without_a_norm_table_every_score_is_provisional_and_missing_says_so(app, tenant_a):
    world = build_world(app, tenant_a, norms=False)
    with app.app_context():
        context = dossier_of(world)
        scores = [context.overall] + [line.score for line in context.competencies if line.score is not None]
        assert len(scores) == 3  # overall, professionalism, collaboration
        for score in scores:
            assert score is not None and not score.normed
            assert (score.sten, score.t, score.interval, score.sten_range, score.percentile) == (None,) * 5
            assert score.notes == ("no norm group yet",)
            assert score.text == f"Provisional score {score.provisional} of 100 (no norm group yet)"
        assert context.norm_group is None and context.methodology.norm_group is None
        assert any(
            "no norm group for this test yet" in line and "no sten, percentile or interval" in line
            for line in context.missing
        ), context.missing


# --- Competency lines -------------------------------------------------------------------------------


def test_competency_lines_follow_the_competencies_order_with_the_situation_types_that_measure_them(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context():
        context = dossier_of(world)
        assessment = db.session.get_one(Assessment, world.assessment_id)
        # reported was given as [collaboration, professionalism] (+ client focus): the report uses the order
        # of the agency's competencies, as the assessment's own relationship does.
        assert [c.code for c in assessment.reported] == ["professionalism", "collaboration", "client_focus"]
        lines = {line.code: line for line in context.competencies}
        assert list(lines) == ["professionalism", "collaboration", "client_focus"]
        assert [line.name for line in context.competencies] == [
            "Professionalism",
            "Collaboration",
            "Client focus",
        ]
        types = SITUATION_TYPES
        assert lines["professionalism"].situation_types == (types["S02"], types["S07"], types["S12"])
        assert lines["collaboration"].situation_types == (types["S03"], types["S07"], types["S10"], types["S12"])
        assert lines["client_focus"].situation_types == (types["S10"],)
        assert [(line.items, line.weight_sum) for line in context.competencies] == [(4, 4.0), (4, 4.0), (1, 0.5)]


def test_a_thin_competency_is_listed_as_not_reported(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context():
        context = dossier_of(world)
        thin = context.competencies[-1]
        assert thin.code == "client_focus" and thin.score is None
        assert all(line.score is not None for line in context.competencies[:-1])
        assert "Not reported, because too few situations measured them: Client focus." in context.missing
        # Never a strength, a development area or an interview topic.
        named = [b.competency for b in (*context.strengths, *context.development)] + [
            p.competency for p in context.interview
        ]
        assert "Client focus" not in named
        html = html_for(context)
        assert "not reported" in html


def test_a_candidate_without_a_profile_still_gets_a_context_that_says_what_is_missing(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context():
        context = dossier_of(world, "Ben Bold")
        assert context.candidate_name == "Ben Bold"
        assert context.overall is not None and context.overall.normed
        assert (
            "The candidate has no skills, education or experience on record, so the fit covers the assessment only."
            in context.missing
        )
        with_profile = dossier_of(world, "Ada Able")
        assert not any("no skills, education or experience" in line for line in with_profile.missing)


# --- What never enters a context ------------------------------------------------------------------------


def test_no_item_stem_option_or_rationale_enters_any_context(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context(), unit_of_work():
        for report_id in world.reports.values():
            db.session.get_one(Report, report_id).released_at = NOW
    with app.app_context():
        assessment = db.session.get_one(Assessment, world.assessment_id)
        texts = [item.version.stem for item in assessment.items]
        texts += [option.text for item in assessment.items for option in item.version.options]
        texts += [option.rationale for item in assessment.items for option in item.version.options]
        texts += [item.version.role_context for item in assessment.items]
        assert len(texts) == 6 + 24 + 24 + 6 and all(texts)
        report = db.session.get_one(Report, world.reports["Ada Able"])
        contexts = [
            dossier_context(report),
            feedback_context(report),
            shortlist_context(db.session.get_one(Position, world.position_id), NOW.date()),
        ]
        assert len(contexts[2].rows) == 2
        for context in contexts:
            text = serialised(context)
            leaked = [t for t in texts if t in text] + [m for m in MARKERS if m in text]
            assert not leaked, (context.kind, leaked)


def test_demographic_answers_are_never_read(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context(), unit_of_work():
        db.session.get_one(Report, world.reports["Ada Able"]).released_at = NOW
    with app.app_context():
        statements: list[str] = []

        def remember(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement.lower())

        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            report = db.session.get_one(Report, world.reports["Ada Able"])
            contexts = [
                dossier_context(report),
                feedback_context(report),
                shortlist_context(db.session.get_one(Position, world.position_id), NOW.date()),
            ]
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        assert statements, "the listener saw no query"
        assert not [s for s in statements if "demographic" in s]
        for context in contexts:
            text = serialised(context)
            assert SEX not in text and RACE not in text


# --- Sections, pilot, hashing -----------------------------------------------------------------------


def test_a_client_that_receives_only_the_summary_gets_the_summary_and_the_methodology(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context():
        full = html_for(dossier_of(world))
        assert "<h2>Interview guide</h2>" in full and "<h2>Methodology</h2>" in full  # the control
    with app.app_context(), unit_of_work():
        db.session.get_one(Client, world.client_id).disclosure = ["summary"]
    with app.app_context():
        context = dossier_of(world)
        assert context.sections == ("summary",)
        html = html_for(context)
        assert "<h2>Summary</h2>" in html and "<h2>Methodology</h2>" in html
        for heading in ("Interview guide", "Competency profile", "Evidence", "Skills, education and experience"):
            assert f"<h2>{heading}</h2>" not in html, heading


def test_a_pilot_assessment_s_context_is_marked_pilot(app, tenant_a):
    world = build_world(app, tenant_a, names=("Ben Bold",))
    with app.app_context():
        assert dossier_of(world, "Ben Bold").pilot is False
    with app.app_context(), unit_of_work():
        assessment = db.session.get_one(Assessment, world.assessment_id)
        builder.set_pilot(assessment, True, by=admin_of(agency_of(tenant_a)), now=NOW)
    with app.app_context():
        context = dossier_of(world, "Ben Bold")
        assert context.pilot is True
        assert "Pilot assessment" in html_for(context)


def test_the_context_hash_is_stable_and_changes_with_the_notes(app, tenant_a):
    world = build_world(app, tenant_a, names=("Ben Bold",))
    with app.app_context():
        first = context_hash(dossier_of(world, "Ben Bold"))
    with app.app_context():
        assert context_hash(dossier_of(world, "Ben Bold")) == first
        assert re.fullmatch(r"[0-9a-f]{64}", first)
    with app.app_context(), unit_of_work():
        report = db.session.get_one(Report, world.reports["Ben Bold"])
        report_services.save_notes(
            report, "Met him on Tuesday: calm and precise.", by=admin_of(agency_of(tenant_a)), now=NOW
        )
    with app.app_context():
        changed = context_hash(dossier_of(world, "Ben Bold"))
        assert changed != first
        assert context_hash(dossier_of(world, "Ben Bold")) == changed


# --- Strengths and development areas (pure) -------------------------------------------------------------


def normed(sten: int, t: float) -> Score:
    return Score(
        provisional=50,
        normed=True,
        sten=sten,
        t=t,
        interval=(t - 5, t + 5),
        sten_range=(max(1, sten - 1), min(10, sten + 1)),
        percentile=None,
        percentile_kind=None,
        notes=(),
    )


def provisional(value: int) -> Score:
    return Score(value, False, None, None, None, None, None, None, ("no norm group yet",))


def line(code: str, score: Score | None) -> CompetencyLine:
    return CompetencyLine(code, code.title(), "", score, 4, 4.0, ())


def test_strengths_need_sten_7_and_development_areas_sten_4_against_a_norm_group():
    lines = [
        line("a", normed(8, 65)),
        line("b", normed(3, 36)),
        line("c", normed(6, 55)),
        line("d", normed(7, 62)),
        line("e", None),
        line("f", normed(5, 48)),
    ]
    top, bottom = strengths_and_development(lines)
    assert [x.code for x in top] == ["a", "d"]
    assert [x.code for x in bottom] == ["b"]  # f (sten 5) is low in the profile but not a development area
    assert [x.code for x in two_weakest(lines)] == ["b", "f"]  # the interview guide probes them whatever the level

    flat = [line("a", normed(6, 56)), line("b", normed(5, 50)), line("c", normed(5, 52))]
    assert strengths_and_development(flat) == ((), ())


def test_without_a_norm_group_the_profile_s_own_top_and_bottom_are_used_never_one_line_in_both():
    two = [line("a", provisional(40)), line("b", provisional(90)), line("d", None)]
    assert codes(strengths_and_development(two)) == (["b"], ["a"])
    three = [line("a", provisional(40)), line("b", provisional(90)), line("c", provisional(70))]
    assert codes(strengths_and_development(three)) == (["b"], ["a", "c"])
    five = [line(code, provisional(value)) for code, value in zip("abcde", (40, 90, 70, 10, 55), strict=True)]
    assert codes(strengths_and_development(five)) == (["b", "c"], ["d", "a"])
    assert strengths_and_development([line("a", provisional(40)), line("d", None)]) == ((), ())


def codes(split: tuple[tuple[CompetencyLine, ...], tuple[CompetencyLine, ...]]) -> tuple[list[str], list[str]]:
    return [x.code for x in split[0]], [x.code for x in split[1]]


def test_a_competency_with_norms_keeps_the_sten_rule_beside_one_without_norms():
    """A norm table may have no usable scope for one competency (scoring leaves out a scope it refuses, an SD
    of 0 say): that competency stays provisional while the others are banded. The banded ones must keep the
    rule "a strength needs sten 7 or more, a development area sten 4 or less". Today the rule is dropped as soon
    as one line is provisional, and T scores are ranked against provisional 0-100 scores as if on one scale.
    """
    # Sten 9 ranks below a provisional 80 (T 68 < 80), so it is shown to the client as an area to explore.
    strong_normed, provisional_80 = line("a", normed(9, 68)), line("b", provisional(80))
    top, bottom = strengths_and_development([strong_normed, provisional_80])
    assert "a" not in [x.code for x in bottom], "a sten of 9 is listed as an area to explore"
    # Sten 2 ranks above a provisional 20 (T 35 > 20), so it is shown as a strength.
    weak_normed, provisional_20 = line("a", normed(2, 35)), line("b", provisional(20))
    top, bottom = strengths_and_development([weak_normed, provisional_20])
    assert "a" not in [x.code for x in top], "a sten of 2 is listed as a strength"


def test_the_real_profile_gives_professionalism_as_strength_and_collaboration_to_explore(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context():
        context = dossier_of(world)
        stens = {line.code: line.score.sten for line in context.competencies if line.score is not None}
        assert stens["professionalism"] >= 7 and stens["collaboration"] <= 4, stens  # the scene's premise
        assert [b.competency for b in context.strengths] == ["Professionalism"]
        assert [b.competency for b in context.development] == ["Collaboration"]
        assert [p.competency for p in context.interview] == ["Collaboration", "Professionalism"]


# --- The candidate's feedback -------------------------------------------------------------------------


def test_the_feedback_context_has_no_numbers_and_no_norms(app, tenant_a):
    world = build_world(app, tenant_a)
    with app.app_context():
        report = db.session.get_one(Report, world.reports["Ada Able"])
        feedback = feedback_context(report)
        assert feedback.first_name == "Ada"
        assert [b.competency for b in feedback.strengths] == ["Professionalism"]
        assert [b.competency for b in feedback.tips] == ["Collaboration"]
        fields = {f.name for f in dataclasses.fields(feedback)}
        assert not fields & {"overall", "competencies", "norm_group", "sten", "score", "notes", "fit"}
        words = json.dumps([dataclasses.asdict(b) for b in (*feedback.strengths, *feedback.tips)])
        assert not re.search(r"\d", words), words
        assert not re.search(r"\b(?:stens?|percentiles?|norms?|scores?|interval)\b", words, re.IGNORECASE), words
        assert NORM_LABEL not in serialised(feedback)


# --- The shortlist ---------------------------------------------------------------------------------


def test_the_shortlist_lists_released_not_withdrawn_reports_in_name_order(app, tenant_a):
    names = ("Cara Cole", "Abel Ames", "Bea Bird", "Dan Dale")
    world = build_world(app, tenant_a, names=names)
    with app.app_context(), unit_of_work():
        admin = admin_of(agency_of(tenant_a))
        for name in ("Cara Cole", "Abel Ames", "Bea Bird"):
            report = db.session.get_one(Report, world.reports[name])
            report.released_at = NOW  # directly: release() would email and render
        report_services.withdraw(
            db.session.get_one(Report, world.reports["Bea Bird"]), by=admin, now=NOW + timedelta(hours=1)
        )
    with app.app_context():
        context = shortlist_context(db.session.get_one(Position, world.position_id), NOW.date())
        assert [row.candidate_name for row in context.rows] == ["Abel Ames", "Cara Cole"]
        assert context.competency_names == ("Professionalism", "Collaboration", "Client focus")
        for row in context.rows:
            assert len(row.competencies) == 3 and row.competencies[2] is None
            assert row.overall is not None and row.overall.normed
        assert context.norm_groups == (f"{NORM_LABEL} (version 1, N = 150)",)
        assert context.missing == ()


def test_the_shortlist_leaves_out_the_reports_of_an_assessment_made_a_pilot_after_release(app, tenant_a):
    """A pilot's results are never released to clients. Marking the assessment a pilot after its reports were
    released already takes them off the client's portal list and stops their share links; the shortlist (and
    so a position batch, which renders one dossier per released report) must leave them out too."""
    world = build_world(app, tenant_a, released=("Ada Able", "Ben Bold"))
    with app.app_context():
        position = db.session.get_one(Position, world.position_id)
        assert len(shortlist_context(position, NOW.date()).rows) == 2  # the control
    with app.app_context(), unit_of_work():
        assessment = db.session.get_one(Assessment, world.assessment_id)
        builder.set_pilot(assessment, True, by=admin_of(agency_of(tenant_a)), now=NOW)
    with app.app_context():
        assert report_services.portal_positions(Scope(world.agency_id, world.client_id)) == []
        position = db.session.get_one(Position, world.position_id)
        assert report_context.released_reports(position) == []
        context = shortlist_context(position, NOW.date())
        assert [row.candidate_name for row in context.rows] == []


def test_a_shortlist_with_nothing_released_says_so(app, tenant_a):
    world = build_world(app, tenant_a, names=("Ben Bold",), norms=False)
    with app.app_context():
        context = shortlist_context(db.session.get_one(Position, world.position_id), NOW.date())
        assert context.rows == ()
        assert context.missing == ("No candidate's report has been released for this position yet.",)


@pytest.fixture(autouse=True)
def _no_renders(monkeypatch):
    """Nothing here renders a PDF: a request for one would be a mistake in the test."""

    def refuse(job_id: int) -> None:
        raise AssertionError(f"report job {job_id} was enqueued by a context test")

    monkeypatch.setattr("reports.jobs._enqueue", refuse)
