"""The demo agency: idempotent, grows with every feature so that each shows after `make run`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from accounts import services
from accounts.models import Agency, Client, Role, User
from database import db, unit_of_work


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
    ),
    DemoAgency(
        name="Lakeside Staffing",
        privacy_contact="privacy@lakeside.example",
        clients=(("Copperleaf Accounting", "people@copperleaf.example"),),
        users=(DemoUser("admin@lakeside.example", "Priya Nair", Role.ADMIN, "quiet-orchid-bay"),),
    ),
)


def seed_demo(now: datetime) -> list[str]:
    """Create what is missing of the demo data and return the demo logins; running it twice changes nothing."""
    lines = []
    for spec in DEMO_AGENCIES:
        with unit_of_work():
            agency = db.session.scalar(select(Agency).where(Agency.name == spec.name))
            if agency is None:
                agency = services.create_agency(spec.name, now)
                agency.privacy_contact = spec.privacy_contact
            clients = {}
            for client_name, contact in spec.clients:
                client = db.session.scalar(
                    select(Client).where(Client.agency_id == agency.id, Client.name == client_name)
                )
                if client is None:
                    client = services.create_client(
                        agency, name=client_name, contact_email=contact, notes="", by=None, now=now
                    )
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
        for demo_user in spec.users:
            if demo_user.role is not Role.CLIENT:
                lines.append(f"  {demo_user.role.label:<13} {demo_user.email:<32} {demo_user.password}  ({spec.name})")
    return lines
