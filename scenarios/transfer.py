"""Import and export of the scenario bank as JSON or YAML, against a published JSON Schema.

A file is checked whole before anything is written: every error is reported with its path and line,
and a file with any error writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from accounts.models import Agency, User
from database import db
from scenarios import services
from scenarios.checks import ItemDraft, OptionDraft, blockers
from scenarios.models import Instruction, KeyType, ResponseFormat, Scenario, Status

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "scenario-bank.schema.json"
MAX_BYTES = 8 * 1024 * 1024
MAX_ERRORS = 200
FORMAT = "rapport-scenario-bank"


@dataclass(frozen=True)
class FileError:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.path or 'the file'}: {self.message}"


@dataclass
class ImportReport:
    errors: list[FileError] = field(default_factory=list)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    more_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, path: str, line: int | None, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(FileError(path, line, message))
        else:
            self.more_errors += 1


@cache
def schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _path_text(path: list[Any] | tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_map(text: str) -> dict[tuple[Any, ...], int]:
    import yaml  # PyYAML and jsonschema load on the first import or export, not at a web worker's start

    """Line numbers (1-based) of every mapping key and sequence item, by path."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                walk(value, (*path, index))

    if root is not None:
        walk(root, ())
    return lines


def _line_of(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def parse(raw: bytes, filename: str, report: ImportReport) -> tuple[Any, dict[tuple[Any, ...], int]]:
    import yaml

    """Decode and parse JSON or YAML; parse errors go to the report."""
    if len(raw) > MAX_BYTES:
        report.add("", None, f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files.")
        return None, {}
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.add("", None, f"The file is not UTF-8 text (byte {exc.start}).")
        return None, {}
    is_json = filename.lower().endswith(".json") or text.lstrip().startswith("{")
    if is_json:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            report.add("", exc.lineno, f"Not valid JSON: {exc.msg} (column {exc.colno}).")
            return None, {}
    else:
        try:
            if any(isinstance(t, yaml.AliasToken | yaml.AnchorToken) for t in yaml.scan(text, Loader=yaml.SafeLoader)):
                report.add("", None, "YAML anchors and aliases are not accepted; write each value out.")
                return None, {}
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            report.add("", mark.line + 1 if mark else None, f"Not valid YAML: {getattr(exc, 'problem', exc)}.")
            return None, {}
    return _normalise(data), _line_map(text)


def _normalise(value: Any) -> Any:
    """YAML reads unquoted dates as dates; the schema expects text."""
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def check_file(raw: bytes, filename: str, agency_id: int) -> ImportReport:
    """Parse and check a whole file against the schema and the bank; nothing is written."""
    report = ImportReport()
    data, lines = parse(raw, filename, report)
    if not report.ok:
        return report
    return check_document(data, lines, agency_id, report)


def check_document(
    data: Any, lines: dict[tuple[Any, ...], int], agency_id: int, report: ImportReport | None = None
) -> ImportReport:
    """Check a parsed document against the schema and the bank; nothing is written."""
    report = report or ImportReport()
    limit = schema()["properties"]["scenarios"]["maxItems"]
    if isinstance(data, dict) and isinstance(data.get("scenarios"), list) and len(data["scenarios"]) > limit:
        report.add(
            "scenarios",
            _line_of(lines, ("scenarios",)),
            f"has {len(data['scenarios'])} entries; at most {limit} are accepted in one file. Split it.",
        )
        return report
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(schema(), format_checker=FormatChecker())
    misshapen: set[int] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(error.absolute_path)
        report.add(_path_text(path), _line_of(lines, path), _plain(error))
        if len(path) >= 2 and path[0] == "scenarios" and isinstance(path[1], int):
            misshapen.add(path[1])
        else:
            misshapen.add(-1)  # the document itself is wrong: nothing more can be checked
    if -1 in misshapen:
        return report
    competencies = {c.code for c in services.competencies_of(agency_id)}
    existing = set(db.session.scalars(select(Scenario.code).where(Scenario.agency_id == agency_id)))
    seen: dict[str, int] = {}
    for index, item in enumerate(data["scenarios"]):
        if index in misshapen:
            continue  # its shape errors are reported; the rules below need a well-formed scenario
        base = ("scenarios", index)

        def add(rel: tuple[Any, ...], message: str, base: tuple[Any, ...] = base) -> None:
            report.add(_path_text((*base, *rel)), _line_of(lines, (*base, *rel)), message)

        code = item["id"]
        if code in seen:
            add(("id",), f"The id {code} appears twice in the file (first at scenarios[{seen[code]}]).")
        seen.setdefault(code, index)
        if code in existing:
            add(("id",), f"The bank already has a scenario {code}.")
        for name in item["competency_weights"]:
            if name not in competencies:
                add(
                    ("competency_weights", name),
                    f"Unknown competency {name!r}; the agency has {', '.join(sorted(competencies))}.",
                )
        labels = [o["id"] for o in item["options"]]
        if labels != ["A", "B", "C", "D", "E"][: len(labels)]:
            add(("options",), "Options are labelled A, B, C... in order, without gaps or repeats.")
        for o_index, option in enumerate(item["options"]):
            raters = [r["rater"].strip().lower() for r in option["ratings"]]
            if len(set(raters)) != len(raters):
                add(("options", o_index, "ratings"), "An expert rates an option once.")
        rule = item.get("scoring_rule")
        if rule and rule not in services.RULES_BY_FORMAT[ResponseFormat(item["response_format"])]:
            add(("scoring_rule",), f"{rule} cannot score the {item['response_format']} format.")
        if item.get("status", "draft") != "draft":
            draft = ItemDraft(
                stem=item["stem"],
                response_format=item["response_format"],
                options=tuple(
                    OptionDraft(o["id"], o["text"], tuple(float(r["value"]) for r in o["ratings"]))
                    for o in item["options"]
                ),
            )
            for problem in blockers(draft):
                add(("status",), f"Cannot be {item['status']}: {problem.message}")
    if report.ok:
        report.scenarios = list(data["scenarios"])
    return report


def _plain(error: Any) -> str:
    """A plain-English message for a schema error that never quotes a whole object back."""
    kind, limit, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        return str(error.message).replace("is a required property", "is missing")
    if kind == "additionalProperties":
        return str(error.message).replace("Additional properties are not allowed", "Unknown field")
    if kind == "maxItems":
        return f"has {len(value)} entries; at most {limit} are accepted."
    if kind == "minItems":
        return f"has {len(value)} entries; at least {limit} are needed."
    if kind == "maxLength":
        return f"is {len(value)} characters long; at most {limit} are accepted."
    if kind == "minLength":
        return "is empty."
    if kind == "type":
        return f"{_short(value)} is not of type {limit!r}"
    if kind in ("enum", "const"):
        allowed = ", ".join(repr(v) for v in (limit if kind == "enum" else [limit]))
        return f"{_short(value)} is not allowed; use {allowed}" if kind == "enum" else f"{allowed} was expected"
    message = str(error.message)
    return message if len(message) <= 200 else message[:197] + "..."


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def import_bank(report: ImportReport, agency: Agency, *, by: User | None, now: datetime) -> list[Scenario]:
    """Write a checked file's scenarios into the bank (inside the caller's unit of work)."""
    created = []
    for item in report.scenarios:
        data = services.ScenarioInput(
            role=item["role"],
            role_context=item["role_context"],
            situation_type=item["situation_type"],
            stem=item["stem"],
            instruction=Instruction(item["instruction"]),
            response_format=ResponseFormat(item["response_format"]),
            options=tuple(services.OptionInput(o["id"], o["text"], o.get("rationale", "")) for o in item["options"]),
            weights={k: float(v) for k, v in item["competency_weights"].items()},
            item_weight=float(item.get("item_weight", 1.0)),
            scoring_rule=item.get("scoring_rule"),
            provenance_author=item["provenance"]["author"],
            provenance_source=item["provenance"]["source_incident"],
            provenance_date=date.fromisoformat(item["provenance"]["date"]),
            key_type=KeyType(item["key"]["type"]),
        )
        scenario = services.create_scenario(agency, item["id"], data, by=by, now=now)
        version = scenario.latest
        version.version = int(item.get("version", 1))
        ratings = {o["id"]: [(r["rater"], float(r["value"])) for r in o["ratings"]] for o in item["options"]}
        if any(ratings.values()):
            services.set_ratings(version, ratings, data.key_type, by=by, now=now)
        key_version = str(item["key"].get("version", ""))
        if key_version.isdigit():
            version.key_version = int(key_version)
        status = Status(item.get("status", "draft"))
        if status is not Status.DRAFT:
            services.publish(version, Status.OPERATIONAL if status is Status.RETIRED else status, by=by, now=now)
            if status is Status.RETIRED:
                services.set_status(version, Status.RETIRED, by=by, now=now)
        created.append(scenario)
    return created


def scenario_document(scenario: Scenario) -> dict[str, Any]:
    """One scenario's latest version in the file format."""
    version = scenario.latest
    return {
        "id": scenario.code,
        "version": version.version,
        "status": version.status.value,
        "role": version.role,
        "role_context": version.role_context,
        "situation_type": version.situation_type,
        "stem": version.stem,
        "instruction": version.instruction.value,
        "response_format": version.response_format.value,
        "scoring_rule": version.scoring_rule,
        "item_weight": version.item_weight,
        "competency_weights": {
            w.competency.code: w.weight for w in sorted(version.weights, key=lambda w: w.competency.position)
        },
        "key": {"type": version.key_type.value, "version": str(version.key_version)},
        "provenance": {
            "author": version.provenance_author,
            "source_incident": version.provenance_source,
            "date": version.provenance_date.isoformat() if version.provenance_date else "",
        },
        "options": [
            {
                "id": o.label,
                "text": o.text,
                "rationale": o.rationale,
                "ratings": [{"rater": r.rater, "value": r.value} for r in o.ratings],
            }
            for o in version.options
        ],
    }


def export_bank(scenarios: list[Scenario], kind: str, *, now: datetime) -> str:
    import yaml

    """The scenarios as a JSON or YAML document that validates against the schema."""
    document = {
        "format": FORMAT,
        "format_version": 1,
        "exported_at": now.isoformat(timespec="seconds"),
        "source": "Rapport",
        "scenarios": [scenario_document(s) for s in scenarios],
    }
    if kind == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
