"""Scenario bank rules: competencies, authoring drafts, keying, publishing, versions, duplication.

The caller holds the unit of work; time is passed in. Published versions never change: editing one
starts a new draft version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select

from accounts import audit
from accounts.models import Agency, User
from database import db
from scenarios.checks import Check, ItemDraft, OptionDraft, blockers, checklist, option_key, uncertain_options
from scenarios.models import (
    OPTION_LABELS,
    ROLES,
    RULES_BY_FORMAT,
    SITUATION_TYPES,
    Competency,
    CompetencyWeight,
    ExpertRating,
    Instruction,
    KeyType,
    ResponseFormat,
    Scenario,
    ScenarioOption,
    ScenarioVersion,
    Status,
)

DEFAULT_COMPETENCIES = Path(__file__).resolve().parent / "library" / "competencies.yaml"


class ScenarioError(Exception):
    """A rule of the scenario bank refused the change; the message is safe to show."""


class ScenarioFrozen(ScenarioError):
    """A published version cannot change."""


class PublishBlocked(ScenarioError):
    """The version has a blocker: a key outside the scale, or a tie between the best options."""

    def __init__(self, problems: list[Check]) -> None:
        super().__init__("This scenario cannot be published yet: " + " ".join(p.message for p in problems))
        self.problems = problems


# --- Competencies ------------------------------------------------------------------------------


def seed_competencies(agency: Agency, now: datetime) -> list[Competency]:
    """Give an agency the seven default competencies it does not have yet (idempotent)."""
    import yaml  # loads when an agency is made, not at a web worker's start

    existing = set(db.session.scalars(select(Competency.code).where(Competency.agency_id == agency.id)))
    added = []
    for position, spec in enumerate(yaml.safe_load(DEFAULT_COMPETENCIES.read_text(encoding="utf-8"))):
        if spec["code"] in existing:
            continue
        competency = Competency(
            agency_id=agency.id,
            code=spec["code"],
            name=spec["name"],
            definition=" ".join(spec["definition"].split()),
            indicators="\n".join(spec["indicators"]),
            position=position,
            created_at=now,
        )
        db.session.add(competency)
        added.append(competency)
    db.session.flush()
    return added


def competencies_of(agency_id: int) -> list[Competency]:
    return list(
        db.session.scalars(
            select(Competency).where(Competency.agency_id == agency_id).order_by(Competency.position, Competency.name)
        )
    )


@dataclass(frozen=True)
class CompetencyInput:
    code: str
    name: str
    definition: str
    indicators: str


def save_competency(
    agency: Agency, data: CompetencyInput, *, competency: Competency | None, by: User | None, now: datetime
) -> Competency:
    """Add a competency, or change one; its code is fixed once created. Raises ScenarioError."""
    if competency is None:
        taken = db.session.scalar(
            select(Competency.id).where(Competency.agency_id == agency.id, Competency.code == data.code)
        )
        if taken is not None:
            raise ScenarioError("The agency already has a competency with this code.")
        last = db.session.scalar(select(func.max(Competency.position)).where(Competency.agency_id == agency.id))
        competency = Competency(agency_id=agency.id, code=data.code, created_at=now, position=(last or 0) + 1)
        db.session.add(competency)
        action = "competency.created"
    else:
        action = "competency.updated"
    competency.name = data.name.strip()
    competency.definition = data.definition.strip()
    competency.indicators = "\n".join(line.strip() for line in data.indicators.splitlines() if line.strip())
    db.session.flush()
    audit.record(
        action,
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id if by else None,
        object_type="competency",
        object_public_id=competency.public_id,
    )
    return competency


# --- Authoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionInput:
    label: str
    text: str
    rationale: str = ""


@dataclass(frozen=True)
class ScenarioInput:
    """Everything an author writes about a scenario version (not its key)."""

    role: str
    role_context: str
    situation_type: str
    stem: str
    instruction: Instruction
    response_format: ResponseFormat
    options: tuple[OptionInput, ...]
    weights: dict[str, float]  # competency code -> weight
    item_weight: float = 1.0
    scoring_rule: str | None = None
    provenance_author: str = ""
    provenance_source: str = ""
    provenance_date: date | None = None
    key_type: KeyType = KeyType.EXPERT_PANEL


@dataclass
class Problems:
    """Field errors found while checking an input, by field name."""

    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)


class InvalidScenario(ScenarioError):
    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.errors.items()))
        self.problems = problems


def check_input(data: ScenarioInput, competencies: dict[str, Competency]) -> Problems:
    """The shape and cross-field rules of a scenario, as field errors."""
    problems = Problems()
    if data.role not in ROLES:
        problems.add("role", "Choose one of the listed roles.")
    if data.situation_type not in SITUATION_TYPES:
        problems.add("situation_type", "Choose one of the listed situation types.")
    if not data.stem.strip():
        problems.add("stem", "Write the situation.")
    labels = [o.label for o in data.options]
    if not 3 <= len(data.options) <= 5:
        problems.add("options", "Give 3 to 5 options (4 or 5 recommended).")
    if labels != list(OPTION_LABELS[: len(labels)]):
        problems.add("options", "Options are labelled A, B, C... in order, without gaps.")
    if any(not o.text.strip() for o in data.options):
        problems.add("options", "Every option needs its text.")
    if data.scoring_rule and data.scoring_rule not in RULES_BY_FORMAT[data.response_format]:
        problems.add("scoring_rule", "This scoring rule does not fit the response format.")
    if not data.weights:
        problems.add("weights", "Give at least one competency a weight.")
    for code, weight in data.weights.items():
        if code not in competencies:
            problems.add("weights", f"Unknown competency {code!r}.")
        elif not 0 < weight <= 1:
            problems.add("weights", "Weights lie above 0 and at most 1.")
    if not 0 < data.item_weight <= 10:
        problems.add("item_weight", "The item weight lies above 0 and at most 10.")
    return problems


def _apply(version: ScenarioVersion, data: ScenarioInput, competencies: dict[str, Competency], now: datetime) -> None:
    version.role = data.role
    version.role_context = data.role_context.strip()
    version.situation_type = data.situation_type
    version.stem = data.stem.strip()
    version.instruction = data.instruction
    version.response_format = data.response_format
    version.scoring_rule = data.scoring_rule or None
    version.item_weight = data.item_weight
    version.provenance_author = data.provenance_author.strip()
    version.provenance_source = data.provenance_source.strip()
    version.provenance_date = data.provenance_date
    version.key_type = data.key_type
    version.updated_at = now
    by_label = {o.label: o for o in version.options}
    kept = []
    for position, option in enumerate(data.options):
        row = by_label.pop(option.label, None)
        if row is None:
            row = ScenarioOption(label=option.label, position=position, text="", rationale="")
        if row.text and row.text != option.text.strip() and row.ratings:
            # A changed option needs keying again: its old ratings no longer describe it.
            row.ratings.clear()
            version.key_version += 1
        row.position = position
        row.text = option.text.strip()
        row.rationale = option.rationale.strip()
        kept.append(row)
    version.options[:] = kept
    current = {w.competency.code: w for w in version.weights}
    version.weights[:] = [
        _weight(version, current.get(code), competencies[code], value) for code, value in sorted(data.weights.items())
    ]


def _weight(
    version: ScenarioVersion, row: CompetencyWeight | None, competency: Competency, value: float
) -> CompetencyWeight:
    row = row or CompetencyWeight(competency=competency)
    row.weight = value
    return row


def create_scenario(agency: Agency, code: str, data: ScenarioInput, *, by: User | None, now: datetime) -> Scenario:
    """A new scenario with a first draft version. Raises InvalidScenario or ScenarioError."""
    code = code.strip()
    competencies = {c.code: c for c in competencies_of(agency.id)}
    problems = check_input(data, competencies)
    if db.session.scalar(select(Scenario.id).where(Scenario.agency_id == agency.id, Scenario.code == code)):
        problems.add("code", "The bank already has a scenario with this id.")
    if problems:
        raise InvalidScenario(problems)
    scenario = Scenario(agency_id=agency.id, code=code, created_at=now)
    version = ScenarioVersion(
        agency_id=agency.id, version=1, status=Status.DRAFT, key_version=0, created_at=now, updated_at=now
    )
    scenario.versions.append(version)
    _apply(version, data, competencies, now)
    db.session.add(scenario)
    db.session.flush()
    _audit("scenario.created", scenario, by, now)
    return scenario


def draft_for_editing(scenario: Scenario, *, by: User | None, now: datetime) -> ScenarioVersion:
    """The scenario's open draft, or a new draft version copied from its latest version."""
    if scenario.draft is not None:
        return scenario.draft
    source = scenario.latest
    draft = ScenarioVersion(
        agency_id=scenario.agency_id,
        version=source.version + 1,
        status=Status.DRAFT,
        role=source.role,
        role_context=source.role_context,
        situation_type=source.situation_type,
        stem=source.stem,
        instruction=source.instruction,
        response_format=source.response_format,
        scoring_rule=source.scoring_rule,
        item_weight=source.item_weight,
        key_type=source.key_type,
        key_version=0,
        provenance_author=source.provenance_author,
        provenance_source=source.provenance_source,
        provenance_date=source.provenance_date,
        created_at=now,
        updated_at=now,
    )
    draft.options = [
        ScenarioOption(
            label=o.label,
            position=o.position,
            text=o.text,
            rationale=o.rationale,
            ratings=[ExpertRating(rater=r.rater, value=r.value) for r in o.ratings],
        )
        for o in source.options
    ]
    draft.weights = [CompetencyWeight(competency=w.competency, weight=w.weight) for w in source.weights]
    scenario.versions.append(draft)
    db.session.flush()
    _audit("scenario.new_version", scenario, by, now)
    return draft


def update_scenario(scenario: Scenario, data: ScenarioInput, *, by: User | None, now: datetime) -> ScenarioVersion:
    """Save an author's changes into the draft (a new version when the latest is published)."""
    competencies = {c.code: c for c in competencies_of(scenario.agency_id)}
    problems = check_input(data, competencies)
    if problems:
        raise InvalidScenario(problems)
    draft = draft_for_editing(scenario, by=by, now=now)
    _apply(draft, data, competencies, now)
    db.session.flush()
    _audit("scenario.edited", scenario, by, now)
    return draft


def set_ratings(
    version: ScenarioVersion,
    ratings: dict[str, list[tuple[str, float]]],
    key_type: KeyType,
    *,
    by: User | None,
    now: datetime,
) -> None:
    """Replace the experts' ratings of a draft's options (label -> [(rater, value)]); bumps the key version.

    Raises ScenarioFrozen for a published version and ScenarioError for a rating off the 1-6 scale.
    """
    if version.is_frozen:
        raise ScenarioFrozen("This version is published and cannot change. Edit the scenario to start a new version.")
    for label, values in ratings.items():
        for rater, value in values:
            if not 1 <= value <= 6:
                raise ScenarioError(f"{rater}'s rating of option {label} ({value}) is outside the 1-6 scale.")
    by_label = {o.label: o for o in version.options}
    unknown = set(ratings) - set(by_label)
    if unknown:
        raise ScenarioError(f"There is no option {', '.join(sorted(unknown))}.")
    for label, option in by_label.items():
        option.ratings[:] = [ExpertRating(rater=r.strip(), value=float(v)) for r, v in ratings.get(label, [])]
    version.key_type = key_type
    version.key_version += 1
    version.updated_at = now
    db.session.flush()
    _audit("scenario.keyed", version.scenario, by, now)


def item_draft(version: ScenarioVersion) -> ItemDraft:
    """The plain-data view of a version that the automatic checks read."""
    return ItemDraft(
        stem=version.stem,
        response_format=version.response_format.value,
        options=tuple(
            OptionDraft(label=o.label, text=o.text, ratings=tuple(r.value for r in o.ratings)) for o in version.options
        ),
        competency_weights={w.competency.code: w.weight for w in version.weights},
        provenance_author=version.provenance_author,
        provenance_source=version.provenance_source,
        provenance_date=version.provenance_date.isoformat() if version.provenance_date else "",
    )


def review(version: ScenarioVersion) -> list[Check]:
    """The reviewer checklist's automatic checks for a version."""
    return checklist(item_draft(version))


def warnings_of(version: ScenarioVersion) -> list[Check]:
    """The failed checks of a version (warnings and blockers alike)."""
    return [c for c in review(version) if not c.passed]


def key_table(version: ScenarioVersion) -> list[tuple[ScenarioOption, object]]:
    """Each option with its computed key (value, SD, count)."""
    return [(o, option_key(OptionDraft(o.label, o.text, tuple(r.value for r in o.ratings)))) for o in version.options]


def uncertain(version: ScenarioVersion) -> list[str]:
    """Labels of the options whose key is uncertain."""
    return uncertain_options(item_draft(version))


def publish(version: ScenarioVersion, status: Status, *, by: User | None, now: datetime) -> None:
    """Freeze a draft as pilot or operational. Raises PublishBlocked or ScenarioError."""
    if version.is_frozen:
        raise ScenarioError("This version is already published.")
    if status not in (Status.PILOT, Status.OPERATIONAL):
        raise ScenarioError("Publish as pilot or operational.")
    problems = blockers(item_draft(version))
    if problems:
        raise PublishBlocked(problems)
    version.status = status
    version.published_at = now
    version.updated_at = now
    db.session.flush()
    _audit("scenario.published", version.scenario, by, now)


def set_status(version: ScenarioVersion, status: Status, *, by: User | None, now: datetime) -> None:
    """Move a published version between pilot, operational and retired (its content stays frozen)."""
    if not version.is_frozen:
        raise ScenarioError("Publish the draft first.")
    if status is Status.DRAFT:
        raise ScenarioError("A published version cannot go back to draft. Edit the scenario to start a new version.")
    version.status = status
    version.updated_at = now
    _audit(f"scenario.{status.value}", version.scenario, by, now)


def duplicate(scenario: Scenario, new_code: str, *, by: User | None, now: datetime) -> Scenario:
    """A new scenario whose first draft copies the latest version of this one (without its key)."""
    source = scenario.latest
    agency = db.session.get_one(Agency, scenario.agency_id)
    data = input_from(source)
    copy = create_scenario(agency, new_code, data, by=by, now=now)
    copy.latest.provenance_source = f"Copied from {scenario.code} v{source.version}. {source.provenance_source}"[:300]
    return copy


def input_from(version: ScenarioVersion) -> ScenarioInput:
    """An author's input equal to what the version holds."""
    return ScenarioInput(
        role=version.role,
        role_context=version.role_context,
        situation_type=version.situation_type,
        stem=version.stem,
        instruction=version.instruction,
        response_format=version.response_format,
        options=tuple(OptionInput(o.label, o.text, o.rationale) for o in version.options),
        weights={w.competency.code: w.weight for w in version.weights},
        item_weight=version.item_weight,
        scoring_rule=version.scoring_rule,
        provenance_author=version.provenance_author,
        provenance_source=version.provenance_source,
        provenance_date=version.provenance_date,
        key_type=version.key_type,
    )


def suggest_copy_code(scenario: Scenario) -> str:
    """A free id for a copy: CODE-copy, CODE-copy-2, ..."""
    taken = set(db.session.scalars(select(Scenario.code).where(Scenario.agency_id == scenario.agency_id)))
    base = f"{scenario.code}-copy"[:36]
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _audit(action: str, scenario: Scenario, by: User | None, now: datetime) -> None:
    agency = db.session.get_one(Agency, scenario.agency_id)
    audit.record(
        action,
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id if by else None,
        object_type="scenario",
        object_public_id=scenario.public_id,
    )


def parse_ratings(text: str, labels: list[str]) -> dict[str, list[tuple[str, float]]]:
    """Parse 'Expert, r_A, r_B, ...' lines into label -> [(expert, rating)]. Raises ScenarioError naming the line."""
    result: dict[str, list[tuple[str, float]]] = {label: [] for label in labels}
    seen: set[str] = set()
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        rater, values = cells[0], cells[1:]
        if not rater:
            errors.append(f"Line {number}: start with the expert's name.")
            continue
        if rater.lower() in seen:
            errors.append(f"Line {number}: {rater} appears twice.")
            continue
        seen.add(rater.lower())
        if len(values) != len(labels):
            errors.append(f"Line {number}: give {len(labels)} ratings, one per option ({', '.join(labels)}).")
            continue
        for label, raw in zip(labels, values, strict=True):
            try:
                value = float(raw)
            except ValueError:
                errors.append(f"Line {number}: {raw!r} for option {label} is not a number.")
                continue
            if not 1 <= value <= 6:
                errors.append(f"Line {number}: {raw} for option {label} is outside the 1-6 scale.")
                continue
            result[label].append((rater[:80], value))
    if errors:
        raise ScenarioError(" ".join(errors))
    if not seen:
        raise ScenarioError("Enter at least one expert's ratings.")
    return result


def ratings_text(version: ScenarioVersion) -> str:
    """The version's ratings in the form's line format, one line per expert."""
    raters: dict[str, dict[str, float]] = {}
    for option in version.options:
        for rating in option.ratings:
            raters.setdefault(rating.rater, {})[option.label] = rating.value
    lines = []
    for rater, values in raters.items():
        cells = [f"{values[o.label]:g}" if o.label in values else "" for o in version.options]
        lines.append(", ".join([rater, *cells]))
    return "\n".join(lines)
