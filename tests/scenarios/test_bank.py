"""Scenario bank rules: drafts, keys, publishing, versions, duplicates, competencies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.models import Agency
from database import db, unit_of_work, utcnow
from scenarios import services
from scenarios.checks import ItemDraft, OptionDraft, blockers, checklist, option_key
from scenarios.models import Competency, KeyType, Scenario, Status
from tests.conftest import make_scenario


@pytest.fixture
def agency(ctx, tenant_a):
    return db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))


def test_agencies_start_with_the_seven_competencies(agency):
    codes = {c.code for c in services.competencies_of(agency.id)}
    assert {
        "professionalism",
        "collaboration",
        "client_focus",
        "composure",
        "prioritisation_escalation",
        "integrity_confidentiality",
        "communication",
    } <= codes
    professionalism = next(c for c in services.competencies_of(agency.id) if c.code == "professionalism")
    assert professionalism.definition.startswith("Does the job reliably")
    assert len(professionalism.indicator_list) == 6
    with unit_of_work():
        assert services.seed_competencies(agency, utcnow()) == []  # idempotent


def test_key_value_spread_and_count_come_from_the_ratings():
    key = option_key(OptionDraft("A", "x", (6, 5, 5, 6, 5)))
    assert key.value == pytest.approx(5.4)
    assert key.sd == pytest.approx(0.5477, abs=1e-4)  # scoring method A2.0's worked example
    assert key.n == 5


def test_publishing_freezes_and_editing_starts_a_new_version(agency):
    with unit_of_work():
        scenario = make_scenario(agency, "SJT-900", weights={"professionalism": 1.0})
    published = scenario.latest
    assert published.is_frozen and published.status is Status.OPERATIONAL
    with pytest.raises(services.ScenarioFrozen), unit_of_work():
        services.set_ratings(published, {"A": [("X", 1.0)]}, KeyType.EXPERT_PANEL, by=None, now=utcnow())
    data = services.input_from(published)
    changed = services.ScenarioInput(**{**data.__dict__, "stem": data.stem + " Extra fact."})
    with unit_of_work():
        draft = services.update_scenario(scenario, changed, by=None, now=utcnow())
    assert (draft.version, draft.status, draft.is_frozen) == (2, Status.DRAFT, False)
    db.session.expire_all()
    v1 = db.session.scalar(select(Scenario).where(Scenario.code == "SJT-900")).versions[0]
    assert v1.stem == data.stem  # what candidates saw is unchanged
    assert [r.value for o in v1.options for r in o.ratings] == [5.6, 1.4, 2.5, 3.4]
    # The new draft carries the key over until an option changes.
    assert [r.value for o in draft.options for r in o.ratings] == [5.6, 1.4, 2.5, 3.4]


def test_changing_an_option_clears_its_key(agency):
    with unit_of_work():
        scenario = make_scenario(agency, "SJT-901", weights={"professionalism": 1.0}, status=None)
    data = services.input_from(scenario.latest)
    options = (data.options[0], services.OptionInput("B", "A different action entirely.", ""), *data.options[2:])
    with unit_of_work():
        draft = services.update_scenario(
            scenario, services.ScenarioInput(**{**data.__dict__, "options": options}), by=None, now=utcnow()
        )
    assert [len(o.ratings) for o in draft.options] == [1, 0, 1, 1]
    with pytest.raises(services.PublishBlocked, match="at least one expert rating"), unit_of_work():
        services.publish(draft, Status.OPERATIONAL, by=None, now=utcnow())


def test_a_tie_at_the_top_of_a_pick_item_blocks_publishing(agency):
    with unit_of_work():
        scenario = make_scenario(
            agency,
            "SJT-902",
            weights={"professionalism": 1.0},
            response_format="most_least",
            key=(5.0, 5.0, 2.0, 1.0),
            status=None,
        )
    with pytest.raises(services.PublishBlocked, match="tie as the most effective"), unit_of_work():
        services.publish(scenario.latest, Status.OPERATIONAL, by=None, now=utcnow())
    assert scenario.latest.published_at is None


def test_a_tie_is_only_a_warning_for_rate_items(agency):
    with unit_of_work():
        scenario = make_scenario(agency, "SJT-903", weights={"professionalism": 1.0}, key=(5.0, 5.0, 2.0, 1.0))
    assert scenario.latest.is_frozen


def test_key_outside_the_scale_is_refused(agency):
    with unit_of_work():
        scenario = make_scenario(agency, "SJT-904", weights={"professionalism": 1.0}, status=None)
    with pytest.raises(services.ScenarioError, match="outside the 1-6 scale"), unit_of_work():
        services.set_ratings(scenario.latest, {"A": [("X", 7.0)]}, KeyType.EXPERT_PANEL, by=None, now=utcnow())
    draft = ItemDraft("stem", "rate", (OptionDraft("A", "x", (7.0,)), OptionDraft("B", "y", (2.0,))))
    assert [b.code for b in blockers(draft)] == ["key_outside_scale"]


def test_each_key_save_bumps_the_key_version(agency):
    with unit_of_work():
        scenario = make_scenario(agency, "SJT-905", weights={"professionalism": 1.0}, status=None)
        version = scenario.latest
        first = version.key_version
        services.set_ratings(
            version,
            {label: [("E1", 3.0), ("E2", 4.0)] for label in "ABCD"},
            KeyType.EXPERT_PANEL,
            by=None,
            now=utcnow(),
        )
    assert version.key_version == first + 1
    assert version.key_type is KeyType.EXPERT_PANEL


def test_key_uncertain_options_are_flagged(agency):
    with unit_of_work():
        scenario = make_scenario(agency, "SJT-906", weights={"professionalism": 1.0}, status=None)
        services.set_ratings(
            scenario.latest,
            {
                "A": [(f"E{i}", v) for i, v in enumerate((6, 6, 5, 6, 5))],
                "B": [(f"E{i}", v) for i, v in enumerate((1, 6, 2, 5, 1))],  # experts disagree
                "C": [(f"E{i}", v) for i, v in enumerate((3, 3, 4, 3, 3))],
                "D": [(f"E{i}", v) for i, v in enumerate((2, 2, 1, 2, 2))],
            },
            KeyType.EXPERT_PANEL,
            by=None,
            now=utcnow(),
        )
    assert services.uncertain(scenario.latest) == ["B"]
    checks = {c.code: c for c in services.review(scenario.latest)}
    assert checks["panel_size"].passed
    assert not checks["key_agreement"].passed


def test_unknown_competency_and_bad_shapes_are_field_errors(agency):
    data = services.ScenarioInput(
        role="astronaut",
        role_context="x",
        situation_type="S99",
        stem="",
        instruction=services.Instruction.SHOULD_DO,
        response_format=services.ResponseFormat.RATE,
        options=(services.OptionInput("A", "x"), services.OptionInput("C", "y")),
        weights={"charisma": 1.0},
    )
    with pytest.raises(services.InvalidScenario) as raised, unit_of_work():
        services.create_scenario(agency, "SJT-907", data, by=None, now=utcnow())
    assert set(raised.value.problems.errors) == {"role", "situation_type", "stem", "options", "weights"}


def test_duplicate_copies_content_without_the_key(agency):
    with unit_of_work():
        scenario = make_scenario(agency, "SJT-908", weights={"professionalism": 1.0})
        copy = services.duplicate(scenario, services.suggest_copy_code(scenario), by=None, now=utcnow())
    assert copy.code == "SJT-908-copy"
    assert copy.latest.stem == scenario.latest.stem
    assert all(not o.ratings for o in copy.latest.options)
    assert copy.latest.status is Status.DRAFT


def test_retiring_keeps_the_content(agency):
    with unit_of_work():
        scenario = make_scenario(agency, "SJT-909", weights={"professionalism": 1.0})
        services.set_status(scenario.latest, Status.RETIRED, by=None, now=utcnow())
    assert scenario.latest.status is Status.RETIRED and scenario.latest.is_frozen
    with pytest.raises(services.ScenarioError), unit_of_work():
        services.set_status(scenario.latest, Status.DRAFT, by=None, now=utcnow())


def test_parse_ratings_reports_every_bad_line():
    with pytest.raises(services.ScenarioError) as raised:
        services.parse_ratings(
            "E1, 6, 2, 3\nE2, 6, x, 3, 1\nE1, 1, 1, 1, 1\n, 1, 2, 3, 4\nE5, 9, 1, 1, 1", list("ABCD")
        )
    message = str(raised.value)
    for expected in (
        "Line 1: give 4 ratings",
        "Line 2: 'x'",
        "Line 3: E1 appears twice",
        "Line 4: start with",
        "Line 5: 9",
    ):
        assert expected in message
    parsed = services.parse_ratings("Ana, 6, 2, 3, 1\n\nBo, 5.5, 1, 3, 2", list("ABCD"))
    assert parsed["A"] == [("Ana", 6.0), ("Bo", 5.5)]


def test_checklist_measures_stem_and_options():
    stem = " ".join(["word"] * 40) + "."
    draft = ItemDraft(
        stem=stem,
        response_format="most_least",
        options=(
            OptionDraft("A", "Tell them you will always help right now and then do a great many more things", (6,)),
            OptionDraft("B", "Say no.", (2,)),
            OptionDraft("C", "Ask the lead.", (1,)),
        ),
        competency_weights={"professionalism": 1.0, "collaboration": 0.5, "composure": 0.5, "communication": 0.5},
    )
    failed = {c.code for c in checklist(draft) if not c.passed}
    assert {
        "provenance",
        "stem_length",
        "option_count",
        "option_length",
        "giveaway_words",
        "best_not_longest",
        "panel_size",
        "weights",
    } <= failed
    assert "best_separation" not in failed


def test_competencies_can_be_added_and_edited(agency):
    with unit_of_work():
        added = services.save_competency(
            agency,
            services.CompetencyInput("tact", "Tact", "Says hard things kindly.", "+ one\n\n- two"),
            competency=None,
            by=None,
            now=utcnow(),
        )
    assert added.indicator_list == ["+ one", "- two"]
    with pytest.raises(services.ScenarioError), unit_of_work():
        services.save_competency(
            agency, services.CompetencyInput("tact", "Tact again", "x", ""), competency=None, by=None, now=utcnow()
        )
    assert db.session.scalar(select(db.func.count()).select_from(Competency).where(Competency.code == "tact")) == 1


def test_a_flat_key_blocks_publishing_in_every_format(agency):
    with unit_of_work():
        scenario = make_scenario(
            agency, "FLAT-1", weights={"professionalism": 1.0}, key=(3.0, 3.0, 3.0, 3.0), status=None
        )
    with pytest.raises(services.PublishBlocked, match="same key value"), unit_of_work():
        services.publish(scenario.latest, Status.OPERATIONAL, by=None, now=utcnow())
