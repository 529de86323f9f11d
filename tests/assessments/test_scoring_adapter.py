"""The scoring adapter: answer checks, keyed items, attempt scores (scoring.md A2-A3) and provisional display."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import scoring
from accounts.models import Agency, User
from assessments import services
from assessments.models import Assessment
from assessments.scoring_adapter import (
    ALGORITHM_VERSION,
    NO_NORM_GROUP,
    AnswerStatus,
    InvalidAnswer,
    NotScorable,
    check_answer,
    is_complete,
    keyed_item,
    provisional_percent,
    score_attempt,
)
from database import db, unit_of_work, utcnow
from positions.models import Position
from scenarios import services as bank
from scenarios.models import KeyType, ResponseFormat, Scenario, ScenarioOption, ScenarioVersion, Status
from scenarios.readability import flesch_kincaid_grade
from tests.conftest import make_scenario

# scoring.md A2/A3 worked examples: K = (5.4, 2.1, 3.8, 1.3), best A, worst D.
KEY = (5.4, 2.1, 3.8, 1.3)
X = {"A": 6, "B": 3, "C": 4, "D": 1}
POMP_ABS = 1 - 2.0 / 15.8  # 0.8734


def transient(response_format: str, labels: str = "ABCD") -> ScenarioVersion:
    """A scenario version that never touches the database (answer checks need only format and labels)."""
    return ScenarioVersion(
        response_format=ResponseFormat(response_format),
        options=[ScenarioOption(label=label, position=i, text=f"Option {label}") for i, label in enumerate(labels)],
    )


RATE, RANK, MOST_LEAST, SINGLE_BEST = (transient(f) for f in ("rate", "rank", "most_least", "single_best"))
VERSIONS = {"rate": RATE, "rank": RANK, "most_least": MOST_LEAST, "single_best": SINGLE_BEST}


# --- check_answer: valid answers and partial saves ----------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "answer", "normal", "complete"),
    [
        ("rate", {"ratings": {"D": 1, "A": 5, "C": 3, "B": 2}}, {"ratings": {"A": 5, "B": 2, "C": 3, "D": 1}}, True),
        ("rate", {"ratings": {"C": 6, "A": 1}}, {"ratings": {"A": 1, "C": 6}}, False),
        ("rate", {"ratings": {}}, {"ratings": {}}, False),
        ("rank", {"ranks": {"B": 3, "A": 1, "D": 4, "C": 2}}, {"ranks": {"A": 1, "B": 3, "C": 2, "D": 4}}, True),
        ("rank", {"ranks": {"D": 4, "B": 1}}, {"ranks": {"B": 1, "D": 4}}, False),
        ("rank", {"ranks": {}}, {"ranks": {}}, False),
        ("most_least", {"least": "C", "most": "A"}, {"most": "A", "least": "C"}, True),
        ("most_least", {"most": "A"}, {"most": "A"}, False),
        ("most_least", {"least": "D"}, {"least": "D"}, False),
        ("most_least", {}, {}, False),
        ("single_best", {"choice": "B"}, {"choice": "B"}, True),
        ("single_best", {}, {}, False),
    ],
)
def test_valid_answers_are_normalised_and_partial_ones_may_be_saved(fmt, answer, normal, complete):
    version = VERSIONS[fmt]
    result = check_answer(version, answer)
    assert result == normal
    assert list(result.get("ratings", result.get("ranks", {}))) == list(
        normal.get("ratings", normal.get("ranks", {}))
    )  # option order, whatever order the browser sent
    assert check_answer(version, result) == result
    assert is_complete(version, answer) is complete
    assert answer is not result  # a fresh dict: the caller's answer is never changed


def test_no_answer_is_not_complete():
    assert not is_complete(RATE, None)


def test_a_five_option_item_needs_five_ratings_and_ranks_up_to_five():
    rate, rank = transient("rate", "ABCDE"), transient("rank", "ABCDE")
    assert not is_complete(rate, {"ratings": dict(zip("ABCD", (1, 2, 3, 4), strict=True))})
    assert is_complete(rate, {"ratings": dict(zip("ABCDE", (1, 2, 3, 4, 6), strict=True))})
    assert is_complete(rank, {"ranks": dict(zip("ABCDE", (5, 4, 3, 2, 1), strict=True))})
    with pytest.raises(InvalidAnswer, match="from 1 to 4"):
        check_answer(RANK, {"ranks": {"A": 5}})


# --- check_answer: what is refused --------------------------------------------------------------

UNREADABLE = "We could not read this answer"
RATING = "Give each response a rating from 1 to 6."
OPTIONS = "Choose from the responses shown: A, B, C, D."


@pytest.mark.parametrize(
    ("fmt", "answer", "message"),
    [
        # wrong types at the top
        ("rate", None, UNREADABLE),
        ("rate", [], UNREADABLE),
        ("rate", "A5B2", UNREADABLE),
        ("rate", {1: {"A": 5}}, UNREADABLE),
        ("rate", {}, UNREADABLE),
        ("rate", {"ratings": [5, 2, 3, 1]}, UNREADABLE),
        ("rate", {"ratings": None}, UNREADABLE),
        ("rate", {"ratings": {"A": 5}, "comment": "x"}, UNREADABLE),
        ("rate", {"ranks": {"A": 1}}, UNREADABLE),
        # ratings
        ("rate", {"ratings": {"A": 0}}, RATING),
        ("rate", {"ratings": {"A": 7}}, RATING),
        ("rate", {"ratings": {"A": -1}}, RATING),
        ("rate", {"ratings": {"A": 10**40}}, RATING),
        ("rate", {"ratings": {"A": 5.0}}, RATING),
        ("rate", {"ratings": {"A": 4.5}}, RATING),
        ("rate", {"ratings": {"A": float("nan")}}, RATING),
        ("rate", {"ratings": {"A": "5"}}, RATING),
        ("rate", {"ratings": {"A": True}}, RATING),
        ("rate", {"ratings": {"A": None}}, RATING),
        ("rate", {"ratings": {"A": [5]}}, RATING),
        ("rate", {"ratings": {"E": 5}}, OPTIONS),
        ("rate", {"ratings": {"a": 5}}, OPTIONS),
        ("rate", {"ratings": {"": 5}}, OPTIONS),
        ("rate", {"ratings": {1: 5}}, OPTIONS),
        # ranks
        ("rank", {"ranks": {"A": 1, "B": 1, "C": 2, "D": 3}}, "Give each response a different rank."),
        ("rank", {"ranks": {"A": 2, "B": 2}}, "Give each response a different rank."),
        ("rank", {"ranks": {"A": 0}}, "Give each response a rank from 1 to 4."),
        ("rank", {"ranks": {"A": 5, "B": 1, "C": 2, "D": 3}}, "Give each response a rank from 1 to 4."),
        ("rank", {"ranks": {"A": "1"}}, "Give each response a rank from 1 to 4."),
        ("rank", {"ranks": {"A": True}}, "Give each response a rank from 1 to 4."),
        ("rank", {"ranks": {"A": 1.0}}, "Give each response a rank from 1 to 4."),
        ("rank", {"ranks": {"X": 1}}, OPTIONS),
        ("rank", {"ranks": ["A", "B", "C", "D"]}, UNREADABLE),
        ("rank", {"ranks": {"A": 1}, "ratings": {}}, UNREADABLE),
        # most / least
        ("most_least", {"most": "A", "least": "A"}, "Choose a different response for most and least effective."),
        ("most_least", {"most": "E", "least": "A"}, OPTIONS),
        ("most_least", {"most": "A", "least": None}, OPTIONS),
        ("most_least", {"most": 1, "least": "A"}, OPTIONS),
        ("most_least", {"most": True}, OPTIONS),
        ("most_least", {"most": ["A"]}, OPTIONS),
        ("most_least", {"most": "A", "least": "B", "choice": "C"}, UNREADABLE),
        ("most_least", {"best": "A"}, UNREADABLE),
        # single best
        ("single_best", {"choice": "E"}, OPTIONS),
        ("single_best", {"choice": "b"}, OPTIONS),
        ("single_best", {"choice": None}, OPTIONS),
        ("single_best", {"choice": 2}, OPTIONS),
        ("single_best", {"choice": False}, OPTIONS),
        ("single_best", {"choice": {"A": 1}}, OPTIONS),
        ("single_best", {"choice": "A", "most": "A"}, UNREADABLE),
        ("single_best", "B", UNREADABLE),
    ],
)
def test_invalid_answers_are_refused_in_plain_english(fmt, answer, message):
    with pytest.raises(InvalidAnswer) as caught:
        check_answer(VERSIONS[fmt], answer)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)
    if answer is not None:  # None is "no answer yet": not complete, not invalid
        with pytest.raises(InvalidAnswer):
            is_complete(VERSIONS[fmt], answer)


def test_the_messages_are_short_plain_english():
    answers = [
        (RATE, None),
        (RATE, {"ratings": {"A": 9}}),
        (RATE, {"ratings": {"Z": 1}}),
        (RANK, {"ranks": {"A": 1, "B": 1}}),
        (RANK, {"ranks": {"A": 9}}),
        (MOST_LEAST, {"most": "B", "least": "B"}),
    ]
    for version, answer in answers:
        with pytest.raises(InvalidAnswer) as caught:
            check_answer(version, answer)
        message = str(caught.value)
        assert flesch_kincaid_grade(message) <= 8.0, message
        assert message.endswith(".") and not any(c in message for c in "{}[]'\"_")


# --- check_answer never raises anything else ---------------------------------------------------

LABELISH = st.sampled_from(["A", "B", "C", "D", "E", "a", "", "AB", "ratings"])
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-1, 8)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=4)
    | LABELISH
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4) | LABELISH, children, max_size=5)
    ),
    max_leaves=25,
)
ANSWER_KEYS = st.sampled_from(["ratings", "ranks", "most", "least", "choice", "x", ""])
OPTION_MAPS = st.dictionaries(LABELISH, JSON_SCALARS, max_size=6)
ANSWERS = (
    JSON_VALUES
    | st.dictionaries(ANSWER_KEYS, JSON_VALUES | OPTION_MAPS | LABELISH, max_size=3)
    | st.dictionaries(st.sampled_from(["ratings", "ranks"]), st.dictionaries(LABELISH, st.integers(0, 7), max_size=5))
)
FUZZ = settings(max_examples=400, deadline=None, database=None)


@pytest.mark.parametrize("fmt", list(VERSIONS))
@FUZZ
@given(answer=ANSWERS)
def test_any_json_value_is_either_a_normalised_answer_or_invalid(fmt, answer):
    version = VERSIONS[fmt]
    try:
        normal = check_answer(version, answer)
    except InvalidAnswer as error:
        message = str(error)
        normal = None
    if normal is None:
        assert message
        return
    assert json.loads(json.dumps(normal)) == normal
    assert check_answer(version, normal) == normal
    assert isinstance(is_complete(version, normal), bool)
    assert is_complete(version, normal) == is_complete(version, answer)


# --- provisional display -----------------------------------------------------------------------


def test_provisional_percent_rounds_half_up():
    assert NO_NORM_GROUP == "no norm group yet"
    assert provisional_percent(None) is None
    assert provisional_percent(0.0) == 0
    assert provisional_percent(1.0) == 100
    assert provisional_percent(1) == 100
    assert provisional_percent(0.5411392) == 54
    assert provisional_percent(0.545) == 55  # round() would give 54 (banker's rounding of 54.5)
    assert provisional_percent(0.575) == 58  # 0.575 * 100 == 57.49999999999999 in floats
    assert provisional_percent(0.005) == 1
    assert provisional_percent(0.00499) == 0
    assert provisional_percent(0.995) == 100


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), float("inf"), True, "0.5"])
def test_provisional_percent_refuses_what_is_not_a_pomp(bad):
    with pytest.raises(ValueError, match="POMP"):
        provisional_percent(bad)


# --- Building assessments ----------------------------------------------------------------------


@dataclass
class World:
    agency: Agency
    admin: User
    position: Position


@dataclass(frozen=True)
class Spec:
    code: str
    fmt: str = "rate"
    key: tuple[float, ...] = KEY
    weights: tuple[tuple[str, float], ...] = (("professionalism", 1.0),)


@pytest.fixture
def world(ctx, tenant_a) -> World:
    agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
    admin = db.session.scalar(select(User).where(User.public_id == tenant_a.admin["public_id"]))
    position = db.session.scalar(select(Position).where(Position.public_id == tenant_a.position_id))
    return World(agency, admin, position)


def build(
    world: World,
    *specs: Spec,
    overrides: dict[str, str] | None = None,
    practice: Spec | None = None,
) -> Assessment:
    """A fresh assessment for the tenant's position with one keyed, published scenario per spec."""
    now = utcnow()
    with unit_of_work():
        assessment = services.create_assessment(world.position, "Scoring", by=world.admin, now=now)
        for spec in specs:
            scenario = make_scenario(
                world.agency, spec.code, weights=dict(spec.weights), response_format=spec.fmt, key=spec.key
            )
            services.add_item(assessment, scenario.latest, by=world.admin, now=now)
        if practice is not None:
            scenario = make_scenario(
                world.agency, practice.code, weights=dict(practice.weights), response_format=practice.fmt
            )
            assessment.practice_version = scenario.latest
        assessment.rule_overrides = dict(overrides or {})
    return assessment


def versions(assessment: Assessment) -> list[ScenarioVersion]:
    return [item.version for item in assessment.items]


def pick_answers(assessment: Assessment, *answers: dict[str, Any] | None) -> dict[int, dict[str, Any] | None]:
    return {v.id: a for v, a in zip(versions(assessment), answers, strict=True)}


# --- keyed_item --------------------------------------------------------------------------------


def test_keyed_item_uses_the_mean_expert_rating_weights_and_rule(world):
    """scoring.md A2.0: five SMEs rate option A 6, 5, 5, 6, 5, so its key value is 5.4 (SD 0.5477)."""
    now = utcnow()
    with unit_of_work():
        scenario = make_scenario(
            world.agency, "KEY-1", weights={"professionalism": 1.0, "collaboration": 0.5}, status=None
        )
        panel = {"A": [6, 5, 5, 6, 5], "B": [2, 2, 3, 2, 1], "C": [4, 4, 3, 4, 4], "D": [1, 1, 2, 1, 1]}
        bank.set_ratings(
            scenario.latest,
            {label: [(f"SME {i}", v) for i, v in enumerate(values)] for label, values in panel.items()},
            KeyType.EXPERT_PANEL,
            by=None,
            now=now,
        )
        bank.publish(scenario.latest, Status.OPERATIONAL, by=None, now=now)
    version = scenario.latest
    item = keyed_item(version, "rate_abs_distance")
    assert item.item_id == str(version.id)
    assert item.option_ids == ("A", "B", "C", "D")
    assert item.key_values == pytest.approx((5.4, 2.0, 3.8, 1.2), abs=1e-12)
    assert item.options[0].key_sd == pytest.approx(0.5477, abs=1e-4)
    assert item.options[0].key_n == 5
    assert item.weights == {"collaboration": 0.5, "professionalism": 1.0}
    assert item.item_weight == 1.0
    assert item.rule.value == "rate_abs_distance"
    assert (item.scale.min, item.scale.max) == (1, 6)
    assert item.key_version == version.key_label == "KEY-1-v1-k2"  # make_scenario keyed it once, then the panel
    assert keyed_item(version, version.effective_rule).rule.value == "rate_std"


@pytest.mark.parametrize("rule", ["most_least", "no_such_rule", ""])
def test_keyed_item_refuses_a_rule_that_cannot_score_the_format(world, rule):
    with unit_of_work():
        scenario = make_scenario(world.agency, "KEY-2", weights={"professionalism": 1.0})
    with pytest.raises(NotScorable, match="KEY-2-v1-k1"):
        keyed_item(scenario.latest, rule)


def test_keyed_item_refuses_an_option_without_a_rating():
    version = transient("single_best")
    version.scenario = Scenario(code="T-1")
    version.version, version.key_version = 1, 0
    with pytest.raises(NotScorable, match="option A has no expert rating"):
        keyed_item(version, "single_best")


# --- score_attempt -----------------------------------------------------------------------------


def test_the_a3_worked_example(world):
    """scoring.md A3: three items give R_prof 0.4367, R_collab 0.7911 and R_SJT 0.5411."""
    assessment = build(
        world,
        Spec("A3-1", "rate", weights=(("professionalism", 1.0), ("collaboration", 0.5))),
        Spec("A3-2", "most_least", weights=(("collaboration", 1.0),)),
        Spec("A3-3", "single_best", weights=(("professionalism", 1.0),)),
        overrides={"rate": "rate_abs_distance"},  # "scored here with rate_abs_distance for illustration"
    )
    answers = pick_answers(assessment, {"ratings": X}, {"most": "A", "least": "B"}, {"choice": "C"})
    result = score_attempt(assessment, answers)

    first, second, third = result.items
    assert (first.rule, first.raw, first.pomp) == ("rate_abs_distance", pytest.approx(-2.0), pytest.approx(POMP_ABS))
    assert first.pomp == pytest.approx(0.8734, abs=1e-4)
    assert (second.rule, second.raw, second.pomp) == ("most_least", 1.0, 0.75)
    assert (third.rule, third.raw, third.pomp) == ("single_best", 0.0, 0.0)
    assert all(i.status is AnswerStatus.ANSWERED for i in result.items)
    assert [i.scenario_code for i in result.items] == ["A3-1", "A3-2", "A3-3"]

    prof, collab = result.competency("professionalism"), result.competency("collaboration")
    assert prof.raw == pytest.approx(0.4367, abs=1e-4)
    assert collab.raw == pytest.approx(0.7911, abs=1e-4)
    assert result.overall == pytest.approx(0.5411, abs=1e-4)
    assert result.overall == pytest.approx(0.5411392, abs=1e-7)  # carried unrounded, as A0 says
    assert prof.raw == pytest.approx(POMP_ABS / 2, abs=1e-12)
    assert collab.raw == pytest.approx((0.5 * POMP_ABS + 0.75) / 1.5, abs=1e-12)
    assert (prof.items, prof.weight_sum, collab.items, collab.weight_sum) == (2, 2.0, 2, 1.5)
    assert provisional_percent(result.overall) == 54

    # Two items are below the minimum content rule: reported by the assessment, but not shown.
    assert prof.reported and not prof.meets_minimum_content and not prof.shown
    assert prof.flags == {"not_reported"}
    assert prof.name == "Professionalism"
    # Every competency of the agency is listed, in the agency's order; those without items have no score.
    codes = [c.code for c in result.competencies]
    assert codes[:2] == ["professionalism", "collaboration"]
    assert len(codes) == 8  # the seven defaults and the tenant's own
    client_focus = result.competency("client_focus")
    assert client_focus.raw is None
    assert client_focus.flags == {"insufficient_data", "not_reported"}
    # No item is scored by rate_std, but the form's rate profile is still computed (A2.3: store it for research).
    assert result.profile_r == pytest.approx(0.97305, abs=1e-5)

    assert result.algorithm_version == ALGORITHM_VERSION == scoring.ALGORITHM_VERSION
    assert result.key_versions == {v.id: f"{v.scenario.code}-v1-k1" for v in versions(assessment)}
    with pytest.raises(KeyError):
        result.competency("nothing")


def test_rate_std_reproduces_the_a2_worked_example(world):
    """scoring.md A2.3.c: one rate item as the whole form; r = 0.97305 and mean((zx - zk)^2) = 0.053904."""
    assessment = build(world, Spec("STD-1"))
    result = score_attempt(assessment, pick_answers(assessment, {"ratings": X}))
    item = result.items[0]
    assert item.rule == "rate_std"
    assert result.profile_r == pytest.approx(0.97305, abs=1e-5)
    assert item.raw == pytest.approx(-0.053904, abs=1e-6)
    assert item.raw == pytest.approx(2 * result.profile_r - 2, abs=1e-12)
    assert item.pomp == pytest.approx(1 - 0.053904 / 4, abs=1e-6)
    # The elevation case: X2 = X1 + 1 scores the same under rate_std.
    low = score_attempt(assessment, pick_answers(assessment, {"ratings": {"A": 5, "B": 3, "C": 4, "D": 2}}))
    high = score_attempt(assessment, pick_answers(assessment, {"ratings": {"A": 6, "B": 4, "C": 5, "D": 3}}))
    assert low.profile_r == pytest.approx(0.98945, abs=1e-5)
    assert high.profile_r == pytest.approx(low.profile_r, abs=1e-12)
    assert high.items[0].pomp == pytest.approx(low.items[0].pomp, abs=1e-12)


def test_rate_std_standardises_across_every_rate_item_of_the_form(world):
    key_two = (2.5, 4.6, 3.0, 5.2)
    assessment = build(
        world,
        Spec("POOL-1"),
        Spec("POOL-2", key=key_two),
        Spec("POOL-3", "single_best"),
    )
    second = {"A": 3, "B": 6, "C": 4, "D": 6}
    result = score_attempt(assessment, pick_answers(assessment, {"ratings": X}, {"ratings": second}, {"choice": "A"}))

    x = np.array([*X.values(), *second.values()], dtype=float)
    k = np.array([*KEY, *key_two])
    sq = ((x - x.mean()) / x.std(ddof=0) - (k - k.mean()) / k.std(ddof=0)) ** 2
    expected = [-sq[:4].mean(), -sq[4:].mean()]
    assert [i.raw for i in result.items[:2]] == pytest.approx(expected, abs=1e-12)
    assert [i.pomp for i in result.items[:2]] == pytest.approx([min(1, max(0, 1 + s / 4)) for s in expected])
    assert result.profile_r == pytest.approx(np.corrcoef(x, k)[0, 1], abs=1e-12)

    # Standardising each item on its own gives other numbers: the adapter pools.
    single = build(world, Spec("ALONE", key=key_two))
    own = score_attempt(single, pick_answers(single, {"ratings": second})).items[0].raw
    assert own != pytest.approx(expected[1], abs=1e-6)


def test_rule_overrides_change_the_item_scores(world):
    specs = (Spec("OV-1"), Spec("OV-2", key=(2.5, 4.6, 3.0, 5.2)))
    standard = build(world, *specs)
    answers = ({"ratings": X}, {"ratings": {"A": 3, "B": 6, "C": 4, "D": 6}})
    by_std = score_attempt(standard, pick_answers(standard, *answers))
    distance = build(
        world, Spec("OV-3"), Spec("OV-4", key=(2.5, 4.6, 3.0, 5.2)), overrides={"rate": "rate_abs_distance"}
    )
    by_abs = score_attempt(distance, pick_answers(distance, *answers))
    assert [i.rule for i in by_std.items] == ["rate_std", "rate_std"]
    assert [i.rule for i in by_abs.items] == ["rate_abs_distance", "rate_abs_distance"]
    assert by_abs.items[0].raw == pytest.approx(-2.0)
    assert by_abs.items[0].pomp == pytest.approx(POMP_ABS)
    assert by_std.items[0].pomp != pytest.approx(by_abs.items[0].pomp, abs=1e-3)
    assert by_std.overall != pytest.approx(by_abs.overall, abs=1e-3)
    # The override only reaches its own format.
    mixed = build(world, Spec("OV-5"), Spec("OV-6", "rank"), overrides={"rank": "rank_abs"})
    ranks = {"ranks": {"A": 1, "B": 2, "C": 3, "D": 4}}  # key ranks A1 C2 B3 D4: A2.4's example
    scored = score_attempt(mixed, pick_answers(mixed, {"ratings": X}, ranks))
    assert [i.rule for i in scored.items] == ["rate_std", "rank_abs"]
    assert (scored.items[1].raw, scored.items[1].pomp) == (-2.0, 0.75)


def test_unanswered_and_incomplete_items_and_the_20_percent_rule(world):
    specs = [Spec(f"MISS-{i}", "single_best") for i in range(5)]
    assessment = build(world, *specs)
    right, wrong = {"choice": "A"}, {"choice": "B"}

    # 1 of 5 missing (20%): still scored, over the 4 answered items.
    one = score_attempt(assessment, pick_answers(assessment, right, wrong, right, right, None))
    prof = one.competency("professionalism")
    assert (prof.raw, prof.items, prof.missing) == (0.75, 5, 1)
    assert "insufficient_data" not in prof.flags
    assert prof.meets_minimum_content and prof.shown and prof.flags == frozenset()
    assert one.overall == 0.75
    assert one.unanswered == (versions(assessment)[4].id,)
    assert one.items[4].status is AnswerStatus.UNANSWERED
    assert (one.items[4].raw, one.items[4].pomp) == (None, None)

    # 2 of 5 missing (40%): one left out of the answers, one answered partly. Both count as missing.
    two = score_attempt(assessment, {v.id: right for v in versions(assessment)[:3]} | {versions(assessment)[3].id: {}})
    prof = two.competency("professionalism")
    assert prof.raw is None
    assert prof.flags == {"insufficient_data"}
    assert (prof.items, prof.missing) == (5, 2)
    assert two.overall is None
    assert two.overall_flags == {"insufficient_data"}
    assert (two.overall_items, two.overall_missing) == (5, 2)
    assert two.incomplete == (versions(assessment)[3].id,)
    assert two.unanswered == (versions(assessment)[4].id,)
    assert provisional_percent(two.overall) is None


def test_incomplete_answers_of_every_format_count_as_unanswered(world):
    assessment = build(
        world, Spec("INC-1"), Spec("INC-2", "rank"), Spec("INC-3", "most_least"), Spec("INC-4", "single_best")
    )
    partial = ({"ratings": {"A": 6, "B": 3, "C": 4}}, {"ranks": {"A": 1}}, {"most": "A"}, {})
    result = score_attempt(assessment, pick_answers(assessment, *partial))
    assert [i.status for i in result.items] == [AnswerStatus.INCOMPLETE] * 4
    assert all(i.pomp is None for i in result.items)
    assert result.incomplete == tuple(v.id for v in versions(assessment))
    assert result.overall is None and result.profile_r is None


def test_a_flat_rate_profile_scores_none_with_its_flag(world):
    assessment = build(world, Spec("FLAT-1"), Spec("FLAT-2", "single_best"))
    flat = {"ratings": {"A": 4, "B": 4, "C": 4, "D": 4}}
    result = score_attempt(assessment, pick_answers(assessment, flat, {"choice": "A"}))
    assert result.profile_r == 0.0
    assert "flat_profile" in result.profile_flags
    assert result.items[0].pomp is None
    assert "flat_profile" in result.items[0].flags


def test_the_practice_item_is_never_scored(world):
    assessment = build(world, Spec("PR-1", "single_best"), practice=Spec("PR-PRACTICE", "single_best"))
    practice = assessment.practice_version
    assert practice is not None
    scored = pick_answers(assessment, {"choice": "A"})
    with_practice = score_attempt(assessment, scored | {practice.id: {"choice": "B"}})
    assert with_practice == score_attempt(assessment, scored)
    assert practice.id not in {i.version_id for i in with_practice.items}
    assert practice.id not in with_practice.key_versions
    # Even an answer to the practice item that would not fit it is ignored.
    assert score_attempt(assessment, scored | {practice.id: {"nonsense": 1}}) == with_practice


def test_answers_to_other_versions_and_broken_stored_answers_are_refused(world):
    assessment = build(world, Spec("BAD-1", "most_least"))
    version = versions(assessment)[0]
    with pytest.raises(NotScorable, match="not scored items"):
        score_attempt(assessment, {version.id: None, version.id + 1000: {"choice": "A"}})
    with pytest.raises(InvalidAnswer, match="different response"):
        score_attempt(assessment, {version.id: {"most": "A", "least": "A"}})


def test_an_assessment_without_items_cannot_be_scored(world):
    assessment = build(world)
    with pytest.raises(NotScorable):
        score_attempt(assessment, {})


def test_the_minimum_content_rule_agrees_with_the_builder(world):
    """0.4 + 1.0 + 0.7 + 0.9 is 2.9999999999999996 in floats; the builder's coverage accepts it, and so do we."""
    weights = (0.4, 1.0, 0.7, 0.9)
    assessment = build(
        world,
        *(
            Spec(f"W-{i}", "single_best", weights=(("composure", w), ("professionalism", 1.0)))
            for i, w in enumerate(weights)
        ),
    )
    rows = {r.competency.code: r for r in services.coverage(assessment)}
    result = score_attempt(assessment, {v.id: {"choice": "A"} for v in versions(assessment)})
    composure = result.competency("composure")
    assert composure.weight_sum < 3.0
    assert composure.weight_sum == pytest.approx(3.0)
    assert composure.meets_minimum_content == rows["composure"].meets_minimum is True
    assert composure.raw == 1.0
    for competency in result.competencies:
        assert competency.meets_minimum_content == rows[competency.code].meets_minimum, competency.code
        assert competency.items == rows[competency.code].items
        assert competency.weight_sum == pytest.approx(rows[competency.code].weight)


def test_a_competency_the_assessment_does_not_report_is_flagged(world):
    assessment = build(world, *(Spec(f"REP-{i}", "single_best") for i in range(4)))
    with unit_of_work():
        assessment.reported = [c for c in assessment.reported if c.code != "professionalism"]
    result = score_attempt(assessment, {v.id: {"choice": "A"} for v in versions(assessment)})
    prof = result.competency("professionalism")
    assert prof.meets_minimum_content and not prof.reported and not prof.shown
    assert prof.raw == 1.0  # still computed: reporting is a display decision
    assert prof.flags == {"not_reported"}


def test_scoring_is_deterministic(world):
    assessment = build(
        world,
        Spec("DET-1", weights=(("professionalism", 1.0), ("collaboration", 0.5))),
        Spec("DET-2", "rank"),
        Spec("DET-3", "most_least", weights=(("collaboration", 1.0),)),
        Spec("DET-4", key=(2.5, 4.6, 3.0, 5.2)),
    )
    answers = pick_answers(
        assessment,
        {"ratings": X},
        {"ranks": {"A": 2, "B": 1, "C": 3, "D": 4}},
        {"most": "C", "least": "D"},
        {"ratings": {"D": 5, "C": 2, "B": 5, "A": 1}},
    )
    first = score_attempt(assessment, answers)
    second = score_attempt(assessment, dict(reversed(list(answers.items()))))
    assert first == second
    assert dataclasses.asdict(first) == dataclasses.asdict(second)
    stored = dataclasses.asdict(first)
    assert stored["key_versions"] == first.key_versions
    assert stored["algorithm_version"] == ALGORITHM_VERSION
    assert all(i.pomp is not None and 0.0 <= i.pomp <= 1.0 for i in first.items)
    assert first.overall is not None and math.isfinite(first.overall)
