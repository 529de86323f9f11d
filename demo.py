"""The demo agency: idempotent, grows with every feature so that each shows after `make run`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from accounts import services
from accounts.models import Agency, Client, Role, User
from assessments import delivery, invitations
from assessments import services as assessments
from assessments.models import Assessment, Invitation
from candidates.models import Candidate
from database import db, unit_of_work
from positions.models import Position
from positions.services import save_position
from scenarios import services as bank
from scenarios import transfer
from scenarios.models import Scenario, ScenarioVersion, Status

STARTER_LIBRARY = Path(__file__).resolve().parent / "scenarios" / "library" / "starter.yaml"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role
    password: str
    client: str | None = None


@dataclass(frozen=True)
class DemoAgency:
    name: str
    privacy_contact: str
    clients: tuple[tuple[str, str], ...]
    users: tuple[DemoUser, ...]
    library: bool = False


DEMO_AGENCIES = (
    DemoAgency(
        name="Northbridge Talent Partners",
        privacy_contact="privacy@northbridge.example",
        clients=(
            ("Harbourview Logistics", "hr@harbourview.example"),
            ("Meridian Health Services", "talent@meridian.example"),
        ),
        users=(
            DemoUser("admin@northbridge.example", "Amara Okafor", Role.ADMIN, "amber-kite-harbour"),
            DemoUser("recruiter@northbridge.example", "Jun Park", Role.RECRUITER, "silver-fern-meadow"),
            DemoUser(
                "client@harbourview.example",
                "Sam Rivera",
                Role.CLIENT,
                "copper-lane-river",
                client="Harbourview Logistics",
            ),
        ),
        library=True,
    ),
    DemoAgency(
        name="Lakeside Staffing",
        privacy_contact="privacy@lakeside.example",
        clients=(("Copperleaf Accounting", "people@copperleaf.example"),),
        users=(DemoUser("admin@lakeside.example", "Priya Nair", Role.ADMIN, "quiet-orchid-bay"),),
    ),
)

DEMO_POSITION = ("Harbourview Logistics", "Accounts payable clerk")
DEMO_RESPONSIBILITIES = (
    "Process supplier invoices and weekly payment runs\n"
    "Keep supplier master data accurate, including bank details\n"
    "Answer supplier questions by phone and email\n"
    "Work with purchasing and receivables to resolve mismatches"
)
DEMO_ASSESSMENT = "Back-office people skills: accounts payable"
DEMO_REPORTED = ("professionalism", "collaboration")


def seed_demo(now: datetime) -> list[str]:
    """Create what is missing of the demo data and return the demo logins; running it twice changes nothing."""
    lines = []
    candidate_line = ""
    for spec in DEMO_AGENCIES:
        with unit_of_work():
            agency = _agency(spec, now)
            bank.seed_competencies(agency, now)
        if spec.library:
            with unit_of_work():
                import_starter_library(agency, now)
            with unit_of_work():
                _demo_assessment(agency, now)
            with unit_of_work():
                link = _demo_candidates(agency, now)
            if link:
                candidate_line = f"  Candidate link (Alex Morgan, not started): {link}"
        for demo_user in spec.users:
            if demo_user.role is not Role.CLIENT:
                lines.append(f"  {demo_user.role.label:<13} {demo_user.email:<32} {demo_user.password}  ({spec.name})")
    return [*lines, candidate_line] if candidate_line else lines


def _agency(spec: DemoAgency, now: datetime) -> Agency:
    agency = db.session.scalar(select(Agency).where(Agency.name == spec.name))
    if agency is None:
        agency = services.create_agency(spec.name, now)
        agency.privacy_contact = spec.privacy_contact
    clients = {}
    for client_name, contact in spec.clients:
        client = db.session.scalar(select(Client).where(Client.agency_id == agency.id, Client.name == client_name))
        if client is None:
            client = services.create_client(agency, name=client_name, contact_email=contact, notes="", by=None, now=now)
        clients[client_name] = client
    for demo_user in spec.users:
        if db.session.scalar(select(User.id).where(User.email == demo_user.email)) is None:
            services.create_user(
                agency,
                email=demo_user.email,
                name=demo_user.name,
                role=demo_user.role,
                client=clients[demo_user.client] if demo_user.client else None,
                now=now,
                by=None,
                password=demo_user.password,
                send_setup_email=False,
            )
    return agency


def import_starter_library(agency: Agency, now: datetime) -> int:
    """Add the starter library's scenarios that the agency's bank lacks; returns how many were added.

    Raises ValueError when the library file does not pass its own checks (a bug in the repository).
    """
    report = transfer.ImportReport()
    data, _ = transfer.parse(STARTER_LIBRARY.read_bytes(), STARTER_LIBRARY.name, report)
    if not report.ok:
        raise ValueError(f"starter library unreadable: {report.errors}")
    existing = set(db.session.scalars(select(Scenario.code).where(Scenario.agency_id == agency.id)))
    missing = [s for s in data["scenarios"] if s["id"] not in existing]
    if not missing:
        return 0
    report = transfer.check_document({**data, "scenarios": missing}, {}, agency.id)
    if not report.ok:
        raise ValueError("starter library invalid: " + "; ".join(map(str, report.errors[:5])))
    return len(transfer.import_bank(report, agency, by=None, now=now))


def _demo_assessment(agency: Agency, now: datetime) -> None:
    """A published assessment built from the library that reports professionalism and collaboration."""
    if db.session.scalar(
        select(Assessment.id).where(Assessment.agency_id == agency.id, Assessment.title == DEMO_ASSESSMENT)
    ):
        return
    client = db.session.scalar(select(Client).where(Client.agency_id == agency.id, Client.name == DEMO_POSITION[0]))
    admin = db.session.scalar(select(User).where(User.agency_id == agency.id, User.role == Role.ADMIN))
    if client is None or admin is None:
        return
    position = db.session.scalar(
        select(Position).where(Position.client_id == client.id, Position.title == DEMO_POSITION[1])
    ) or save_position(
        position=None, client=client, title=DEMO_POSITION[1], responsibilities=DEMO_RESPONSIBILITIES, by=admin, now=now
    )
    usable = [v for v in assessments.usable_versions(agency.id) if v.status is Status.OPERATIONAL]
    chosen = _pick([v for v in usable if v.response_format.value != "single_best"])
    if not chosen:
        return
    assessment = assessments.create_assessment(position, DEMO_ASSESSMENT, by=admin, now=now)
    for version in chosen:
        assessments.add_item(assessment, version, by=admin, now=now)
    practice = next(
        (v for v in usable if v not in chosen and v.response_format.value == "single_best"),
        next((v for v in usable if v not in chosen), None),
    )
    competencies = [c for c in bank.competencies_of(agency.id) if c.code in DEMO_REPORTED]
    assessments.update_settings(
        assessment,
        assessments.Settings(
            title=DEMO_ASSESSMENT,
            instructions=(
                "You will read short work situations. For each one, judge how effective each response is. "
                "There are no trick questions. Answer on your own, without help. Your answers save as you go."
            ),
            time_limit_minutes=40,
            randomize_order=False,
            practice_version=practice,
            rule_overrides={},
            reported=competencies,
            reminder_days=(3, 6),
        ),
        by=admin,
        now=now,
    )
    assessments.publish(assessment, by=admin, now=now)


DEMO_CANDIDATES = (
    ("Alex Morgan", "alex.morgan@candidates.example"),
    ("Kiran Shah", "kiran.shah@candidates.example"),
    ("Robin Okoye", "robin.okoye@candidates.example"),
)


def _demo_candidates(agency: Agency, now: datetime) -> str | None:
    """Invite three demo candidates to the demo assessment: one not started, one midway, one submitted.

    Returns a working link for the one who has not started (a new signature of the same link each run).
    """
    assessment = db.session.scalar(
        select(Assessment).where(Assessment.agency_id == agency.id, Assessment.title == DEMO_ASSESSMENT)
    )
    admin = db.session.scalar(select(User).where(User.agency_id == agency.id, User.role == Role.ADMIN))
    if assessment is None or admin is None or not assessment.is_published:
        return None
    for index, (name, email) in enumerate(DEMO_CANDIDATES):
        invitation = db.session.scalar(
            select(Invitation)
            .join(Invitation.candidate)
            .where(Invitation.assessment_id == assessment.id, Candidate.email == email)
        )
        if invitation is None:
            invitation = invitations.invite(assessment, name=name, email=email, by=admin, now=now)
            if index > 0:
                delivery.record_consent(invitation, 0, now)
                attempt = delivery.start_attempt(invitation, now)
                answered = attempt.item_order if index == 2 else attempt.item_order[:3]
                for version_id in answered:
                    version = db.session.get_one(ScenarioVersion, version_id)
                    delivery.save_answer(attempt, version_id, _sample_answer(version, index), 0, now, "form")
                if index == 2:
                    delivery.submit(attempt, now)
        if index == 0:
            first = invitation
    return invitations.link_for(first)


def _sample_answer(version: ScenarioVersion, seed: int) -> dict[str, object]:
    """A plausible answer: the option order of the key, nudged by the seed, in the stored shape."""
    labels = [o.label for o in version.options]
    fmt = version.response_format.value
    if fmt == "rate":
        return {"ratings": {label: 1 + (i * 2 + seed) % 6 for i, label in enumerate(labels)}}
    if fmt == "rank":
        return {"ranks": {label: i + 1 for i, label in enumerate(labels)}}
    if fmt == "most_least":
        return {"most": labels[seed % len(labels)], "least": labels[(seed + 1) % len(labels)]}
    return {"choice": labels[seed % len(labels)]}


def _pick(usable: list[ScenarioVersion], size: int = 14) -> list[ScenarioVersion]:
    """Up to `size` items keyed on professionalism or collaboration, alternating between them."""

    def keyed(version: ScenarioVersion, code: str) -> bool:
        return any(w.competency.code == code and w.weight >= 0.5 for w in version.weights)

    by_code = {code: [v for v in usable if keyed(v, code)] for code in DEMO_REPORTED}
    chosen: list[ScenarioVersion] = []
    while len(chosen) < size and any(by_code.values()):
        for code in DEMO_REPORTED:
            while by_code[code]:
                version = by_code[code].pop(0)
                if version not in chosen:
                    chosen.append(version)
                    break
    return chosen[:size]
