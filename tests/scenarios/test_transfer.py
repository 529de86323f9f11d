"""Import and export of the bank: schema, located errors, all-or-nothing, round trips."""

from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from accounts.models import Agency
from database import db, unit_of_work, utcnow
from scenarios import transfer
from scenarios.models import Scenario, Status
from tests.conftest import build_tenant, make_scenario

GOOD = """\
format: rapport-scenario-bank
format_version: 1
scenarios:
  - id: IMP-1
    status: operational
    role: accounts
    role_context: Accounts payable clerk; weekly payment runs.
    situation_type: S07
    stem: You are an accounts payable clerk. A supplier calls about a payment.
    instruction: should_do
    response_format: most_least
    competency_weights: {integrity_confidentiality: 1.0, professionalism: 0.5}
    key: {type: provisional_single_author}
    provenance: {author: Tester, source_incident: A supplier call, date: 2026-11-22}
    options:
      - {id: A, text: Explain the procedure., rationale: IC+, ratings: [{rater: Author, value: 5.7}]}
      - {id: B, text: Update the details now., rationale: IC-, ratings: [{rater: Author, value: 1.1}]}
      - {id: C, text: End the call., rationale: CF-, ratings: [{rater: Author, value: 2.8}]}
      - {id: D, text: Ask the manager., rationale: P5, ratings: [{rater: Author, value: 1.9}]}
"""


@pytest.fixture
def agency(ctx, tenant_a):
    return db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))


def load(text: str) -> dict:
    return transfer._normalise(yaml.safe_load(text))


def scenario_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Scenario)) or 0


def check(agency, text: str | bytes, name: str = "bank.yaml"):
    raw = text.encode() if isinstance(text, str) else text
    return transfer.check_file(raw, name, agency.id)


def test_the_published_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(transfer.schema())


def test_a_good_file_imports_and_publishes(agency):
    report = check(agency, GOOD)
    assert report.ok, report.errors
    with unit_of_work():
        [scenario] = transfer.import_bank(report, agency, by=None, now=utcnow())
    version = scenario.latest
    assert version.status is Status.OPERATIONAL and version.is_frozen
    assert [o.ratings[0].value for o in version.options] == [5.7, 1.1, 2.8, 1.9]
    assert {w.competency.code: w.weight for w in version.weights} == {
        "integrity_confidentiality": 1.0,
        "professionalism": 0.5,
    }


def test_every_error_is_reported_with_its_path_and_line_and_nothing_is_written(agency):
    before = scenario_count()
    bad = (
        GOOD.replace("    role: accounts\n", "")
        .replace("value: 5.7", "value: 7")
        .replace("integrity_confidentiality: 1.0", "charisma: 1.0")
    )
    bad += GOOD.split("scenarios:\n", 1)[1].replace("stem: You are", "stem: 42\n    extra: field\n    #")
    report = check(agency, bad)
    assert not report.ok
    text = [str(e) for e in report.errors]
    assert any("scenarios[0]" in t and "'role' is missing" in t and "line 4" in t for t in text), text
    assert any("scenarios[0].options[0].ratings[0].value" in t and "line 15" in t for t in text), text
    assert any("scenarios[1].stem" in t and "not of type 'string'" in t for t in text), text
    assert any("Unknown field" in t and "extra" in t for t in text), text
    assert scenario_count() == before


def test_semantic_errors_are_reported_after_the_schema_passes(agency, tenant_a):
    doc = load(GOOD)
    item = doc["scenarios"][0]
    twin = json.loads(json.dumps(item))
    clash = json.loads(json.dumps(item))
    clash["id"] = db.session.scalar(select(Scenario.code).where(Scenario.public_id == tenant_a.scenario_id))
    item["competency_weights"] = {"charisma": 1.0}
    twin["options"][1]["ratings"][0]["value"] = 5.7  # a tie at the top of a most/least item
    doc["scenarios"] = [item, twin, clash]
    report = check(agency, yaml.safe_dump(doc))
    messages = " | ".join(str(e) for e in report.errors)
    assert "Unknown competency 'charisma'" in messages
    assert "appears twice in the file" in messages
    assert "tie as the most effective" in messages
    assert "The bank already has a scenario" in messages


@pytest.mark.parametrize(
    ("payload", "name", "expected"),
    [
        (b"\xff\xfe bad", "x.yaml", "not UTF-8"),
        (b"{not json", "x.json", "Not valid JSON"),
        (b"a: [unclosed", "x.yaml", "Not valid YAML"),
        (b"base: &a [1]\nrefs: [*a, *a]", "x.yaml", "anchors and aliases"),
        (b"[]", "x.yaml", "is not of type 'object'"),
        (b"format: other\nformat_version: 1\nscenarios: []", "x.yaml", "'rapport-scenario-bank' was expected"),
    ],
)
def test_unreadable_files_get_one_clear_error(agency, payload, name, expected):
    report = check(agency, payload, name)
    assert not report.ok
    assert expected in str(report.errors[0])


def test_a_file_over_the_limit_is_refused_before_parsing(agency):
    report = check(agency, b"#" * (transfer.MAX_BYTES + 1))
    assert "larger than 8 MB" in str(report.errors[0])


@pytest.mark.parametrize("count", [2001, 10_000])
def test_too_many_scenarios_are_refused_as_a_whole(agency, count):
    item = load(GOOD)["scenarios"][0]
    doc = {
        "format": "rapport-scenario-bank",
        "format_version": 1,
        "scenarios": [dict(item, id=f"X-{i}") for i in range(count)],
    }
    report = check(agency, json.dumps(doc), "big.json")
    [error] = report.errors  # one clear error: too many entries, or (10,000 here) too many bytes
    assert "at most 2000 are accepted" in error.message or "larger than 8 MB" in error.message
    assert scenario_count() == 1  # the tenant's own, nothing more


def test_error_reports_are_capped_but_counted(agency):
    item = load(GOOD)["scenarios"][0]
    del item["role"]
    doc = {
        "format": "rapport-scenario-bank",
        "format_version": 1,
        "scenarios": [dict(item, id=f"X-{i}") for i in range(300)],
    }
    report = check(agency, json.dumps(doc), "many.json")
    assert len(report.errors) == transfer.MAX_ERRORS
    assert report.more_errors == 100


def test_round_trip_loses_nothing(app, agency):
    with unit_of_work():
        make_scenario(agency, "RT-1", weights={"professionalism": 1.0, "collaboration": 0.5})
        make_scenario(agency, "RT-2", weights={"composure": 1.0}, response_format="rank", status="pilot")
        make_scenario(agency, "RT-3", weights={"communication": 1.0}, status=None)
    scenarios = list(
        db.session.scalars(
            select(Scenario)
            .where(Scenario.agency_id == agency.id, Scenario.code.startswith("RT-"))
            .order_by(Scenario.code)
        )
    )
    for kind in ("yaml", "json"):
        exported = transfer.export_bank(scenarios, kind, now=utcnow())
        other = build_tenant(app, "Gamma")
        db.session.rollback()  # end this session's read snapshot, to see the new tenant (SQLite)
        target = db.session.scalar(select(Agency).where(Agency.public_id == other.agency_id))
        other_codes = set(db.session.scalars(select(Scenario.code).where(Scenario.agency_id == target.id)))
        report = transfer.check_file(exported.encode(), f"bank.{kind}", target.id)
        assert report.ok, report.errors
        with unit_of_work():
            imported = transfer.import_bank(report, target, by=None, now=utcnow())
        again = transfer.export_bank(imported, kind, now=utcnow())
        first, second = (transfer_doc(text, kind) for text in (exported, again))
        assert first == second
        assert not other_codes & {s.code for s in imported}


def transfer_doc(text: str, kind: str) -> dict:
    doc = json.loads(text) if kind == "json" else yaml.safe_load(text)
    doc.pop("exported_at")
    return doc


def test_exports_validate_against_the_schema(agency):
    with unit_of_work():
        make_scenario(agency, "EX-1", weights={"professionalism": 1.0})
    scenarios = list(db.session.scalars(select(Scenario).where(Scenario.agency_id == agency.id)))
    for kind in ("yaml", "json"):
        text = transfer.export_bank(scenarios, kind, now=utcnow())
        doc = json.loads(text) if kind == "json" else yaml.safe_load(text)
        assert list(Draft202012Validator(transfer.schema()).iter_errors(transfer._normalise(doc))) == []


def test_rule_errors_are_reported_beside_shape_errors_of_other_scenarios(agency):
    doc = load(GOOD)
    broken = json.loads(json.dumps(doc["scenarios"][0]))
    del broken["stem"]
    unknown = json.loads(json.dumps(doc["scenarios"][0]))
    unknown["id"] = "IMP-2"
    unknown["competency_weights"] = {"charisma": 1.0}
    doc["scenarios"] = [broken, unknown]
    messages = [str(e) for e in check(agency, yaml.safe_dump(doc)).errors]
    assert any("scenarios[0]" in m and "'stem' is missing" in m for m in messages), messages
    assert any("scenarios[1].competency_weights.charisma" in m for m in messages), messages
