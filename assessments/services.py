"""Assessment rules: build a test for a position from published scenario versions, check its coverage,
publish it (which pins everything a candidate will see)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from accounts import audit
from accounts.models import User
from assessments.models import Assessment, AssessmentItem, AssessmentStatus
from database import db
from positions.models import Position
from scenarios.models import RULES_BY_FORMAT, Competency, ResponseFormat, ScenarioVersion, Status
from scenarios.services import competencies_of

MIN_ITEMS = 4
MIN_WEIGHT = 3.0
USABLE = (Status.PILOT, Status.OPERATIONAL)


class AssessmentError(Exception):
    """A rule of assessments refused the change; the message is safe to show."""


class AssessmentPublished(AssessmentError):
    """A published assessment cannot change."""


@dataclass(frozen=True)
class CoverageRow:
    competency: Competency
    items: int
    weight: float
    reported: bool

    @property
    def meets_minimum(self) -> bool:
        """The minimum content rule: at least 4 items and a weight sum of at least 3.0."""
        return self.items >= MIN_ITEMS and self.weight >= MIN_WEIGHT - 1e-9


def create_assessment(position: Position, title: str, *, by: User, now: datetime) -> Assessment:
    """A draft assessment for a position; it reports every competency of the agency until told otherwise."""
    assessment = Assessment(
        agency_id=position.agency_id,
        client_id=position.client_id,
        position=position,
        title=title.strip(),
        instructions="",
        randomize_order=False,
        rule_overrides={},
        status=AssessmentStatus.DRAFT,
        created_at=now,
    )
    assessment.reported = competencies_of(position.agency_id)
    db.session.add(assessment)
    db.session.flush()
    _audit("assessment.created", assessment, by, now)
    return assessment


def _require_draft(assessment: Assessment) -> None:
    if assessment.is_published:
        raise AssessmentPublished("This assessment is published and cannot change.")


def add_item(assessment: Assessment, version: ScenarioVersion, *, by: User, now: datetime) -> AssessmentItem:
    """Place a published scenario version at the end. Raises AssessmentError."""
    _require_draft(assessment)
    if version.agency_id != assessment.agency_id:
        raise AssessmentError("That scenario is not in this agency's bank.")
    if version.status not in USABLE:
        raise AssessmentError("Only published (pilot or operational) scenario versions can be used.")
    if any(i.version.scenario_id == version.scenario_id for i in assessment.items):
        raise AssessmentError("This scenario is already in the assessment.")
    practice = assessment.practice_version
    if practice is not None and practice.scenario_id == version.scenario_id:
        raise AssessmentError("This scenario is the practice item.")
    item = AssessmentItem(version=version, position=len(assessment.items))
    assessment.items.append(item)
    db.session.flush()
    _audit("assessment.item_added", assessment, by, now)
    return item


def move_item(assessment: Assessment, item: AssessmentItem, step: int, *, by: User, now: datetime) -> None:
    """Move an item one place up (-1) or down (+1)."""
    _require_draft(assessment)
    items = list(assessment.items)
    index = items.index(item)
    target = index + step
    if not 0 <= target < len(items):
        return
    items[index], items[target] = items[target], items[index]
    _renumber(assessment, items)
    _audit("assessment.item_moved", assessment, by, now)


def remove_item(assessment: Assessment, item: AssessmentItem, *, by: User, now: datetime) -> None:
    _require_draft(assessment)
    items = [i for i in assessment.items if i is not item]
    assessment.items.remove(item)
    db.session.flush()
    _renumber(assessment, items)
    _audit("assessment.item_removed", assessment, by, now)


def _renumber(assessment: Assessment, items: list[AssessmentItem]) -> None:
    # Two passes so that no two rows ever share a position mid-way.
    for offset, row in enumerate(items):
        row.position = 1000 + offset
    db.session.flush()
    for offset, row in enumerate(items):
        row.position = offset
    db.session.flush()
    db.session.refresh(assessment, ["items"])


@dataclass(frozen=True)
class Settings:
    title: str
    instructions: str
    time_limit_minutes: int | None
    randomize_order: bool
    practice_version: ScenarioVersion | None
    rule_overrides: dict[str, str]
    reported: list[Competency]
    invitation_days: int = 7
    reminder_days: tuple[int, ...] = ()
    pilot: bool | None = None  # None: unchanged


def parse_reminder_days(text: str) -> tuple[int, ...]:
    """'3, 6' -> (3, 6). Raises AssessmentError unless it is up to three rising whole days from 1 to 60."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise AssessmentError("Write the reminder days as whole numbers separated by commas, for example: 3, 6.")
    days = tuple(int(p) for p in parts)
    if len(days) > 3 or any(not 1 <= d <= 60 for d in days) or list(days) != sorted(set(days)):
        raise AssessmentError("Give up to three different days between 1 and 60, in order, for example: 3, 6.")
    return days


def update_settings(assessment: Assessment, settings: Settings, *, by: User, now: datetime) -> None:
    """Change the title, instructions, time limit, order, practice item, rule overrides and reported competencies."""
    _require_draft(assessment)
    for fmt, rule in settings.rule_overrides.items():
        if rule not in RULES_BY_FORMAT[ResponseFormat(fmt)]:
            raise AssessmentError(f"{rule} cannot score the {fmt} format.")
    practice = settings.practice_version
    if practice is not None:
        if practice.status not in USABLE or practice.agency_id != assessment.agency_id:
            raise AssessmentError("The practice item must be a published scenario of the bank.")
        if any(i.version.scenario_id == practice.scenario_id for i in assessment.items):
            raise AssessmentError("The practice item cannot also be a scored item.")
    assessment.title = settings.title.strip()
    assessment.instructions = settings.instructions.strip()
    assessment.time_limit_minutes = settings.time_limit_minutes
    assessment.randomize_order = settings.randomize_order
    assessment.practice_version = practice
    assessment.rule_overrides = dict(settings.rule_overrides)
    assessment.reported = list(settings.reported)
    assessment.invitation_days = settings.invitation_days
    assessment.reminder_days = list(settings.reminder_days)
    _audit("assessment.settings_updated", assessment, by, now)
    if settings.pilot is not None:
        set_pilot(assessment, settings.pilot, by=by, now=now)


def set_pilot(assessment: Assessment, pilot: bool, *, by: User, now: datetime) -> bool:
    """Mark the assessment as a pilot or not, before or after publishing; audited. True when it changed."""
    if assessment.pilot == pilot:
        return False
    assessment.pilot = pilot
    _audit("assessment.pilot_on" if pilot else "assessment.pilot_off", assessment, by, now)
    return True


def coverage(assessment: Assessment) -> list[CoverageRow]:
    """Items and weight per competency of the agency, and whether each reported one meets the minimum."""
    reported = {c.id for c in assessment.reported}
    rows = []
    for competency in competencies_of(assessment.agency_id):
        weights = [w.weight for i in assessment.items for w in i.version.weights if w.competency_id == competency.id]
        rows.append(CoverageRow(competency, len(weights), sum(weights), competency.id in reported))
    return rows


def rule_for(assessment: Assessment, version: ScenarioVersion) -> str:
    """The scoring rule an item uses in this assessment: the assessment's override, else the item's own."""
    return assessment.rule_overrides.get(version.response_format.value) or version.effective_rule


def publish(assessment: Assessment, *, by: User, now: datetime) -> None:
    """Freeze the assessment. Raises AssessmentError when it has no items, reports nothing, or a reported
    competency is below the minimum content rule."""
    _require_draft(assessment)
    if not assessment.items:
        raise AssessmentError("Add scenarios before publishing.")
    rows = coverage(assessment)
    if not any(r.reported for r in rows):
        raise AssessmentError("Choose at least one competency to report.")
    short = [r.competency.name for r in rows if r.reported and not r.meets_minimum]
    if short:
        raise AssessmentError(
            "These reported competencies have fewer than 4 items or a weight below 3.0: "
            + ", ".join(short)
            + ". Add scenarios, or stop reporting them."
        )
    retired = [i.version.scenario.code for i in assessment.items if i.version.status not in USABLE]
    if retired:
        raise AssessmentError("Remove the retired scenarios first: " + ", ".join(retired) + ".")
    # The items' versions (and so their own rules) and the overrides are frozen from here on.
    assessment.status = AssessmentStatus.PUBLISHED
    assessment.published_at = now
    _audit("assessment.published", assessment, by, now)


def usable_versions(agency_id: int) -> list[ScenarioVersion]:
    """The latest published, non-retired version of each scenario in the bank."""
    versions = db.session.scalars(
        select(ScenarioVersion)
        .where(ScenarioVersion.agency_id == agency_id, ScenarioVersion.status.in_(USABLE))
        .order_by(ScenarioVersion.scenario_id, ScenarioVersion.version)
    ).all()
    latest: dict[int, ScenarioVersion] = {}
    for version in versions:
        latest[version.scenario_id] = version
    return list(latest.values())


def _audit(action: str, assessment: Assessment, by: User, now: datetime) -> None:
    audit.record(
        action,
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="assessment",
        object_public_id=assessment.public_id,
    )
