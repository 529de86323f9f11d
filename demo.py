"""The demo agency: idempotent, grows with every feature so that each shows after `make run`."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from accounts import services
from accounts.models import Agency, Client, Role, User
from assessments import delivery, invitations
from assessments import services as assessments
from assessments.models import Assessment, Invitation
from candidates.models import Candidate, CandidateEducation, CandidateExperience, CandidateLanguage, CandidateSkill
from database import db, unit_of_work
from positions.models import Position
from positions.services import (
    PeopleRequirement,
    ProfileInput,
    SkillRequirement,
    proposed_skills,
    save_profile,
    seed_transfer_table,
)
from scenarios import services as bank
from scenarios import transfer
from scenarios.models import Scenario, ScenarioVersion, Status
from taxonomy import vocabulary

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

# Agency admins must use two-factor sign-in; the demo admins share this published secret (demo only).
DEMO_TOTP_SECRET = "DEMOADMINRAPPORTNORTHBRIDGELAKES"  # noqa: S105 (published, demo only)
DEMO_CODE_COMMAND = f""".venv/bin/python -c "import pyotp; print(pyotp.TOTP('{DEMO_TOTP_SECRET}').now())\""""

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
    lines_after: list[str] = []
    candidate_line = ""
    for spec in DEMO_AGENCIES:
        with unit_of_work():
            agency = _agency(spec, now)
            bank.seed_competencies(agency, now)
            seed_transfer_table(agency, now)
        if spec.library:
            with unit_of_work():
                import_starter_library(agency, now)
            with unit_of_work():
                _demo_assessment(agency, now)
            with unit_of_work():
                link = _demo_candidates(agency, now)
            with unit_of_work():
                _demo_profiles(agency, now)
            with unit_of_work():
                _demo_cohort(agency, now)
            with unit_of_work():
                share = _demo_reports(agency, now)
            if share:
                lines_after.append(f"  Share link (Nia Campbell's report, no sign-in): {share}")
            with unit_of_work():
                key = _demo_integrations(agency, now)
            if key:
                lines_after.append(f"  API key ({spec.name}, read and write; demo only): {key}")
            if link:
                candidate_line = f"  Candidate link (Alex Morgan, not started): {link}"
        for demo_user in spec.users:
            where = demo_user.client or spec.name
            lines.append(f"  {demo_user.role.label:<13} {demo_user.email:<32} {demo_user.password}  ({where})")
    lines += [
        f"  Agency admins also enter a two-factor code. Their authenticator secret: {DEMO_TOTP_SECRET}",
        "  Get a code from any authenticator app (add the secret by hand, time-based), or run:",
        f"    {DEMO_CODE_COMMAND}",
    ]
    return [*lines, *([candidate_line] if candidate_line else []), *lines_after]


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
        user = db.session.scalar(select(User).where(User.email == demo_user.email))
        if user is None:
            user = services.create_user(
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
        if user.is_admin and not user.has_two_factor:
            # As if set up with the published demo secret (a demo admin who set up their own phone keeps it).
            user.totp_secret, user.two_factor_enabled_at = DEMO_TOTP_SECRET, now
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
    position = (
        db.session.scalar(select(Position).where(Position.client_id == client.id, Position.title == DEMO_POSITION[1]))
        or save_profile(position=None, client=client, data=_ap_clerk_profile(agency), by=admin, now=now).position
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
    ("Nia Campbell", "nia.campbell@candidates.example"),
    ("Jordan Ellis", "jordan.ellis@candidates.example"),
)
# Index 0 has not started, 1 is midway, the others have submitted; 3 answers close to the key.
SUBMITTED = (2, 3, 4)
STRONG = (3,)


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
                answered = attempt.item_order if index in SUBMITTED else attempt.item_order[:3]
                for version_id in answered:
                    version = db.session.get_one(ScenarioVersion, version_id)
                    answer = _keyed_answer(version) if index in STRONG else _sample_answer(version, index)
                    delivery.save_answer(attempt, version_id, answer, 0, now, "form")
                if index in SUBMITTED:
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


def _keyed_answer(version: ScenarioVersion) -> dict[str, object]:
    """An answer close to the experts' key (a strong candidate), in the stored shape."""
    keys = {o.label: sum(r.value for r in o.ratings) / max(1, len(o.ratings)) for o in version.options}
    best = sorted(keys, key=lambda label: -keys[label])
    fmt = version.response_format.value
    if fmt == "rate":
        return {"ratings": {label: min(6, max(1, round(value))) for label, value in keys.items()}}
    if fmt == "rank":
        return {"ranks": {label: best.index(label) + 1 for label in keys}}
    if fmt == "most_least":
        return {"most": best[0], "least": best[-1]}
    return {"choice": best[0]}


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


# --- Issue 7: job profiles from ESCO occupations, candidate profiles, one surprising match -------------

AP_OCCUPATION = "accounting assistant"
SERVICE_DESK = ("Harbourview Logistics", "IT service desk agent", "ICT help desk agent")


def _occupation_uri(label: str) -> str:
    return next(o.uri for o in vocabulary.occupations() if o.label == label)


def _ap_clerk_profile(agency: Agency) -> ProfileInput:
    """The demo's accounts payable clerk: built from ESCO's accounting assistant, trimmed by the recruiter."""
    competencies = {c.code: c for c in bank.competencies_of(agency.id)}
    return ProfileInput(
        title=DEMO_POSITION[1],
        responsibilities=DEMO_RESPONSIBILITIES,
        occupation_uri=_occupation_uri(AP_OCCUPATION),
        skills=(
            SkillRequirement("allocate bills", "required", 3, 3),
            SkillRequirement("check accounting records", "required", 3, 2),
            SkillRequirement("maintain financial records", "required", 3, 2),
            SkillRequirement("use accounting systems", "required", 3, 1),
            SkillRequirement("use spreadsheets software", "desired", 3, 1),
            SkillRequirement("identify accounting errors", "desired", 3, 1),
        ),
        people=(
            PeopleRequirement(competencies["professionalism"].public_id, 0.6, 2),
            PeopleRequirement(competencies["collaboration"].public_id, 0.6, 1),
        ),
        education_min_level=4,
        education_substitution_years=2,
        experience_min_years=2,
        experience_cap_years=8,
        industry_mode="bonus",
        industry_codes=("H",),
    )


@dataclass(frozen=True)
class DemoJob:
    role: str
    employer: str
    occupation: str | None
    industry: str
    start: date
    end: date | None
    fte: float
    responsibilities: str


@dataclass(frozen=True)
class DemoProfile:
    headline: str
    skills: tuple[tuple[str, int, str, str], ...]  # key, level, evidence type, evidence
    education: tuple[tuple[int, str, str, int, str], ...]  # ISCED level, field, institution, year, as written
    jobs: tuple[DemoJob, ...]
    languages: tuple[tuple[str, str], ...] = (("English", "native"),)


DEMO_PROFILES = {
    "alex.morgan@candidates.example": DemoProfile(
        headline="Accounts assistant in freight forwarding",
        skills=(
            ("allocate bills", 4, "cv", "Codes 400 supplier invoices a month to cost centres"),
            ("check accounting records", 3, "cv", "Weekly supplier statement reconciliations"),
            ("maintain financial records", 3, "cv", "Keeps the purchase ledger and supplier files"),
            ("use accounting systems", 4, "certificate", "Sage 200 certificate, 2022"),
            ("use spreadsheets software", 4, "self", "Pivot tables and lookups for month-end"),
        ),
        education=((5, "Accounting", "Northgate College", 2020, "Higher National Diploma"),),
        jobs=(
            DemoJob(
                "Accounts assistant",
                "Baltic Freight Services",
                AP_OCCUPATION,
                "H",
                date(2021, 3, 1),
                None,
                1.0,
                "Supplier invoices, payment runs, statement reconciliations",
            ),
        ),
    ),
    "kiran.shah@candidates.example": DemoProfile(
        headline="Bookkeeper for a regional retailer",
        skills=(
            ("manage the general ledger", 5, "cv", "Ran the general ledger for 14 shops"),
            ("identify accounting errors", 4, "cv", "Found and corrected duplicate supplier payments"),
            ("use accounting systems", 4, "cv", "Xero and Sage"),
            ("use spreadsheets software", 5, "assessment", "Agency spreadsheet test, 92%"),
        ),
        education=((6, "Accounting and finance", "University of Eastbury", 2017, "BSc"),),
        jobs=(
            DemoJob(
                "Bookkeeper",
                "Greenway Stores",
                "bookkeeper",
                "G",
                date(2018, 1, 8),
                date(2024, 6, 28),
                1.0,
                "General ledger, month-end close, supplier payments",
            ),
        ),
        languages=(("English", "C2"), ("Gujarati", "native")),
    ),
    "robin.okoye@candidates.example": DemoProfile(
        headline="Payroll clerk, part time",
        skills=(
            ("calculate wages", 4, "cv", "Weekly payroll for 300 staff"),
            ("use spreadsheets software", 3, "self", ""),
            ("use accounting systems", 2, "self", "Payroll module only"),
        ),
        education=((4, "Business administration", "Riverside Adult College", 2021, "Level 4 certificate"),),
        jobs=(
            DemoJob(
                "Payroll clerk",
                "Castle Components",
                "payroll clerk",
                "C",
                date(2022, 9, 5),
                None,
                0.8,
                "Timesheets, wage calculation, payroll queries",
            ),
        ),
    ),
    # The surprising match: no accounting job and no logistics job, yet hotel night audits and hospital
    # billing carry over to accounts payable through reviewed transfer rows.
    "nia.campbell@candidates.example": DemoProfile(
        headline="Night auditor, then patient billing in a hospital",
        skills=(
            ("record healthcare users' billing information", 4, "cv", "Coded and billed 60 patient episodes a day"),
            ("carry out end of day accounts", 4, "cv", "Closed the day's takings for a 200-room hotel"),
            ("maintain records of financial transactions", 4, "cv", "Kept the hotel's cash and card records"),
            ("use accounting systems", 3, "cv", "Opera PMS and the hospital's billing system"),
            ("use spreadsheets software", 4, "self", ""),
        ),
        education=((4, "Hospitality management", "Lakeview College", 2018, "Diploma"),),
        jobs=(
            DemoJob(
                "Night auditor",
                "The Grand Quay Hotel",
                "night auditor",
                "I",
                date(2019, 5, 1),
                date(2023, 4, 30),
                1.0,
                "End-of-day audit, reconciling takings, guest billing queries",
            ),
            DemoJob(
                "Patient billing coordinator",
                "St Anne's Hospital",
                "medical administrative assistant",
                "Q",
                date(2023, 5, 15),
                None,
                1.0,
                "Billing patient episodes, insurer queries, correcting rejected claims",
            ),
        ),
        languages=(("English", "native"), ("French", "B2")),
    ),
    "jordan.ellis@candidates.example": DemoProfile(
        headline="Customer service adviser",
        skills=(
            ("respond to customers' inquiries", 4, "cv", "Phone and chat for an online retailer"),
            ("handle customer complaints", 3, "cv", ""),
            ("use spreadsheets software", 2, "self", ""),
        ),
        education=((3, "", "Westfield Academy", 2021, "A levels"),),
        jobs=(
            DemoJob(
                "Customer service adviser",
                "Parcelpoint Online",
                "customer service representative",
                "G",
                date(2023, 2, 1),
                None,
                1.0,
                "Order queries, refunds, complaints",
            ),
        ),
    ),
}


def _demo_profiles(agency: Agency, now: datetime) -> None:
    """Give the demo candidates their profiles (once), and add a second position started from ESCO."""
    for email, spec in DEMO_PROFILES.items():
        candidate = db.session.scalar(
            select(Candidate).where(Candidate.agency_id == agency.id, Candidate.email == email)
        )
        if candidate is None or candidate.profile_updated_at is not None:
            continue
        candidate.headline = spec.headline
        candidate.profile_updated_at = now
        for key, level, evidence_type, evidence in spec.skills:
            label = vocabulary.skill(key).label
            candidate.skills.append(
                CandidateSkill(
                    skill_key=key, given_name=label, level=level, evidence_type=evidence_type, evidence=evidence
                )
            )
        for isced, field, institution, year, written in spec.education:
            candidate.education.append(
                CandidateEducation(
                    isced_level=isced, field=field, institution=institution, year=year, original_text=written
                )
            )
        for job in spec.jobs:
            candidate.experience.append(
                CandidateExperience(
                    role=job.role,
                    employer=job.employer,
                    occupation_uri=_occupation_uri(job.occupation) if job.occupation else None,
                    industry=job.industry,
                    start_date=job.start,
                    end_date=job.end,
                    fte=job.fte,
                    responsibilities=job.responsibilities,
                )
            )
        for language, fluency in spec.languages:
            candidate.languages.append(CandidateLanguage(language=language, fluency=fluency))
    client_name, title, occupation = SERVICE_DESK
    client = db.session.scalar(select(Client).where(Client.agency_id == agency.id, Client.name == client_name))
    admin = db.session.scalar(select(User).where(User.agency_id == agency.id, User.role == Role.ADMIN))
    if client is None or admin is None:
        return
    if db.session.scalar(select(Position.id).where(Position.client_id == client.id, Position.title == title)):
        return
    competencies = {c.code: c for c in bank.competencies_of(agency.id)}
    save_profile(
        position=None,
        client=client,
        data=ProfileInput(
            title=title,
            responsibilities="Answer staff calls and tickets about laptops, accounts and printers\n"
            "Fix what can be fixed at once, and pass the rest on with clear notes",
            occupation_uri=_occupation_uri(occupation),
            skills=tuple(s for s in proposed_skills(_occupation_uri(occupation)) if s.kind == "required"),
            people=(PeopleRequirement(competencies["collaboration"].public_id, 0.6, 2),),
            education_min_level=3,
            experience_min_years=1,
            experience_cap_years=5,
        ),
        by=admin,
        now=now,
    )


# --- Issue 8: an earlier cohort, enough completed attempts for a norm group --------------------------------

COHORT_SIZE = 120  # over 100, so the demo shows intervals (reliability labelled provisional below 200)
FIRST_NAMES = (
    "Amina", "Ben", "Carla", "Dev", "Elena", "Femi", "Grace", "Hugo", "Ines", "Jonah", "Keiko", "Luca",
    "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wen", "Yara",
)  # fmt: skip
LAST_NAMES = ("Adeyemi", "Brennan", "Castillo", "Dubois", "Eriksen", "Fischer", "Gallo", "Hussain")


def _cohort_answer(version: ScenarioVersion, rng: random.Random, skill: float) -> dict[str, object]:
    """A varied answer: near the key with probability `skill`, otherwise off by a point or two."""
    keyed = _keyed_answer(version)
    labels = [o.label for o in version.options]
    fmt = version.response_format.value
    if fmt == "rate":
        ratings = keyed["ratings"]
        assert isinstance(ratings, dict)
        return {
            "ratings": {
                label: min(6, max(1, value + (0 if rng.random() < skill else rng.choice((-2, -1, 1, 2)))))
                for label, value in ratings.items()
            }
        }
    if fmt == "rank":
        ranks = keyed["ranks"]
        assert isinstance(ranks, dict)
        order = sorted(ranks, key=lambda label: ranks[label])
        if rng.random() >= skill:
            i = rng.randrange(len(order) - 1)
            order[i], order[i + 1] = order[i + 1], order[i]
        return {"ranks": {label: order.index(label) + 1 for label in labels}}
    if fmt == "most_least":
        if rng.random() < skill:
            return keyed
        most, least = rng.sample(labels, 2)
        return {"most": most, "least": least}
    return keyed if rng.random() < skill else {"choice": rng.choice(labels)}


def _demo_cohort(agency: Agency, now: datetime) -> None:
    """An earlier cohort that took the demo assessment: enough completed attempts to freeze a norm group.

    Their invitations were sent weeks ago, so no email is queued now; answers vary from person to person
    (a fixed seed per person keeps the seed idempotent and the numbers the same on every machine).
    """
    assessment = db.session.scalar(
        select(Assessment).where(Assessment.agency_id == agency.id, Assessment.title == DEMO_ASSESSMENT)
    )
    if assessment is None or not assessment.is_published:
        return
    started = now - timedelta(days=30)
    for index in range(COHORT_SIZE):
        # Every first name meets a different surname on each round, so no two cohort names are alike.
        surname = LAST_NAMES[(index // len(FIRST_NAMES) + index) % len(LAST_NAMES)]
        name = f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {surname}"
        email = f"cohort{index + 1:03d}@candidates.example"
        if db.session.scalar(select(Candidate.id).where(Candidate.agency_id == agency.id, Candidate.email == email)):
            continue
        candidate = Candidate(agency_id=agency.id, name=name, email=email, created_at=started)
        invitation = Invitation(
            agency_id=agency.id,
            client_id=assessment.client_id,
            assessment=assessment,
            candidate=candidate,
            token_version=1,
            expires_at=started + timedelta(days=assessment.invitation_days),
            extra_time_percent=0,
            created_at=started,
        )
        db.session.add(invitation)
        db.session.flush()
        delivery.record_consent(invitation, 0, started)
        attempt = delivery.start_attempt(invitation, started)
        rng = random.Random(f"rapport-demo-cohort-{index}")
        skill = 0.2 + 0.7 * rng.random()
        for version_id in attempt.item_order:
            version = db.session.get_one(ScenarioVersion, version_id)
            delivery.save_answer(attempt, version_id, _cohort_answer(version, rng, skill), 0, started, "form")
        delivery.submit(attempt, started + timedelta(minutes=25))
        if rng.random() < 0.85:  # most answer the voluntary questions; some skip them
            delivery.record_demographics(
                attempt,
                rng.choice(delivery.SEX_CHOICES),
                rng.choice(delivery.RACE_ETHNICITY_CHOICES),
                started + timedelta(minutes=26),
            )
    _demo_norms_and_decisions(agency, assessment, now)


def _demo_norms_and_decisions(agency: Agency, assessment: Assessment, now: datetime) -> None:
    """Freeze the cohort into the first norm group, and record the recruiter's decisions on the cohort."""
    from analytics.norms import freeze_norm_table
    from assessments.decisions import board, record_decision
    from assessments.models import Decision, NormTable

    recruiter = db.session.scalar(select(User).where(User.agency_id == agency.id, User.role == Role.RECRUITER))
    if recruiter is None:
        return
    if db.session.scalar(select(NormTable.id).where(NormTable.assessment_id == assessment.id)) is None:
        freeze_norm_table(assessment, None, "Cohort of October 2026", by=recruiter, now=now)
    if db.session.scalar(select(Decision.id).where(Decision.position_id == assessment.position_id)) is not None:
        return
    cohort = db.session.scalars(
        select(Candidate)
        .where(Candidate.agency_id == agency.id, Candidate.email.like("cohort%@candidates.example"))
        .order_by(Candidate.email)
    ).all()
    evidence = board(assessment.position, now.date())
    for index, candidate in enumerate(cohort):
        outcome = ("advance", "hold", "decline", "advance")[index % 4]
        reason = ""
        if evidence.evidence_for(candidate).grounds(outcome):
            reason = "Interview feedback outweighs the test here." if outcome == "advance" else "Role filled."
        record_decision(
            assessment.position, candidate.public_id, outcome, reason, by=recruiter, now=now, evidence_board=evidence
        )


# --- Issue 9: branding, released reports, a share link ---------------------------------------------------

DEMO_RELEASED = 4  # profiled candidates first, then the cohort, in name order
DEMO_NOTES = (
    "Calm and clear on the phone screen; asked sensible questions about the month-end close.\n"
    "Hospital billing background: check supplier-statement reconciliation at interview."
)


def _demo_reports(agency: Agency, now: datetime) -> str | None:
    """Brand the agency and its first client, release a few candidates' reports to Harbourview (once), and
    return the URL of a live share link to Nia Campbell's report. The consumer renders the PDFs."""
    from assessments.models import Attempt
    from reports import services as reports
    from reports.demo_branding import apply_demo_branding
    from reports.models import Report, ShareLink
    from tasks import huey

    clients = list(db.session.scalars(select(Client).where(Client.agency_id == agency.id).order_by(Client.id)))
    apply_demo_branding(agency, clients, now)
    recruiter = db.session.scalar(select(User).where(User.agency_id == agency.id, User.role == Role.RECRUITER))
    assessment = db.session.scalar(
        select(Assessment).where(Assessment.agency_id == agency.id, Assessment.title == DEMO_ASSESSMENT)
    )
    if recruiter is None or assessment is None:
        return None
    invitations = db.session.scalars(
        select(Invitation)
        .join(Attempt, Attempt.invitation_id == Invitation.id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Invitation.assessment_id == assessment.id, Attempt.submitted_at.is_not(None))
        .order_by(Candidate.email.like("cohort%"), Candidate.name)
    ).all()
    if db.session.scalar(select(Report.id).where(Report.agency_id == agency.id)) is None:
        for invitation in invitations[:DEMO_RELEASED]:
            report = reports.ensure_report(invitation, now)
            if invitation.candidate.name == "Nia Campbell":
                reports.save_notes(report, DEMO_NOTES, by=recruiter, now=now)
            # The consumer renders the PDFs after `make run`; where tasks run inline (tests), the first
            # download renders instead, so seeding stays quick.
            reports.release(report, by=recruiter, now=now, render=not huey.immediate)
    nia = db.session.scalar(
        select(Report)
        .join(Invitation, Invitation.id == Report.invitation_id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Report.agency_id == agency.id, Candidate.name == "Nia Campbell")
    )
    if nia is None or not nia.is_released:
        return None
    live = [
        link for link in db.session.scalars(select(ShareLink).where(ShareLink.report_id == nia.id)) if link.live(now)
    ]
    if live:
        return reports.share_url(live[0])
    _, url = reports.create_share_link(nia, days=14, by=recruiter, now=now)
    return url


DEMO_API_KEY = "rpk_northbridge1_demo-key-for-the-rapport-api-on-a-demo-only"
DEMO_WEBHOOK_URL = "https://ats.example.com/hooks/rapport"


def _demo_integrations(agency: Agency, now: datetime) -> str | None:
    """An API key with a known value (printed, so the API can be tried at once) and a webhook endpoint, left
    disabled because the demo's ATS does not exist; once each. Returns the key when it is still active."""
    from api.keys import create_key, find_key
    from api.models import ApiKey
    from webhooks import WebhookEndpoint, create_endpoint, disable_endpoint

    admin = db.session.scalar(select(User).where(User.agency_id == agency.id, User.role == Role.ADMIN))
    if admin is None:
        return None
    prefix = DEMO_API_KEY.split("_")[1]
    if db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
        create_key(agency.id, name="Demo ATS", scope="write", by=admin, now=now, plaintext=DEMO_API_KEY)
    if db.session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.agency_id == agency.id)) is None:
        endpoint = create_endpoint(
            agency.id,
            url=DEMO_WEBHOOK_URL,
            events=["invitation.started", "attempt.submitted", "result.released"],
            description="Demo ATS (disabled: it does not exist)",
            by=admin,
            now=now,
        )
        disable_endpoint(endpoint, by=admin, now=now)
    db.session.flush()
    return DEMO_API_KEY if find_key(DEMO_API_KEY) is not None else None
