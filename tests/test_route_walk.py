"""Walk every route in app.url_map as each kind of actor, with users of two agencies.

Fails for a route without a declared access policy, for a route that answers a protected request
from the wrong actor, and for any response that shows the other agency's objects. Later issues add
actor kinds (client users of the portal, candidates, API keys) to ACTORS and fixtures to `world`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from accounts.access import AccessPolicy, policy_of
from accounts.models import ADMIN_ONLY, STAFF_ROLES, Agency, AuditEvent, Client, Role, User
from assessments.models import Assessment, AssessmentItem, Invitation, InviteBatch
from candidates.models import Candidate, CandidateEducation, CandidateExperience, CandidateSkill
from database import db, unit_of_work, utcnow
from mailer import EmailMessage
from positions.models import Position, PositionSkill, SkillTransfer
from scenarios.models import Competency, Scenario, ScenarioVersion
from tests.conftest import Tenant, build_tenant, sign_in

ACTORS = ("anonymous", "client_user", "candidate", "recruiter", "admin")
OWNED = (
    User,
    Client,
    EmailMessage,
    Competency,
    Scenario,
    Position,
    Assessment,
    Invitation,
    InviteBatch,
    Candidate,
    SkillTransfer,
)
SKIP_METHODS = {"HEAD", "OPTIONS"}


@dataclass
class World:
    app: Flask
    a: Tenant
    b: Tenant
    batches: dict[str, str] = field(default_factory=dict)  # agency public id -> its batch

    def owned_by(self, tenant: Tenant, model: type | None) -> str | None:
        return {
            User: tenant.recruiter["public_id"],
            Client: tenant.client_id,
            EmailMessage: tenant.email_id,
            Competency: tenant.competency_id,
            Scenario: tenant.scenario_id,
            Position: tenant.position_id,
            Assessment: tenant.assessment_id,
            Invitation: tenant.invitation_id,
            InviteBatch: self.batches.get(tenant.agency_id),
            Candidate: tenant.candidate_id,
            SkillTransfer: tenant.transfer_id,
        }.get(model)  # type: ignore[arg-type]


@pytest.fixture
def world(app: Flask) -> World:
    world = World(app=app, a=build_tenant(app, "Alpha"), b=build_tenant(app, "Beta"))
    for tenant in (world.a, world.b):
        world.batches[tenant.agency_id] = add_batch(app, tenant)
    return world


def add_batch(app: Flask, tenant: Tenant) -> str:
    """A finished bulk invitation with one rejected row, for the walk to probe (build_tenant makes none)."""
    rejected_name = f"Rejected {tenant.agency_name}"
    with app.app_context(), unit_of_work():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == tenant.assessment_id)).one()
        batch = InviteBatch(
            agency_id=assessment.agency_id,
            client_id=assessment.client_id,
            assessment_id=assessment.id,
            status="done",
            rows=[],
            rejected=[{"line": 2, "name": rejected_name, "email": "not-an-address", "reason": "Not valid."}],
            total_rows=0,
            processed_rows=0,
            invited=0,
            already_invited=0,
            created_at=utcnow(),
            finished_at=utcnow(),
        )
        db.session.add(batch)
        db.session.flush()
        batch_id = batch.public_id
    tenant.secrets += [batch_id, rejected_name]
    return batch_id


def client_for(world: World, actor: str) -> Any:
    client = world.app.test_client()
    if actor in ("recruiter", "admin"):
        sign_in(client, world.app, getattr(world.a, actor)["email"])
    elif actor == "candidate":
        # A candidate of agency A, mid-way through consenting: a candidate session, no staff rights.
        with client.session_transaction() as sess:
            sess["candidate"] = {"i": world.a.invitation_id, "v": 1}
    elif actor == "client_user":
        # Client users cannot sign in yet: a forged session for one must count for nothing.
        with world.app.app_context():
            user = db.session.scalar(select(User).where(User.email == world.a.client_user["email"]))
            user_id = user.get_id()
        with client.session_transaction() as sess:
            sess["_user_id"] = user_id
            sess["_fresh"] = True
    return client


def routes(app: Flask) -> list[tuple[str, str, AccessPolicy | None, list[str]]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - SKIP_METHODS):
            found.append((rule.rule, method, policy_of(app.view_functions[rule.endpoint]), sorted(rule.arguments)))
    return found


def build_url(rule: str, arguments: list[str], value: str) -> str:
    url = rule
    for argument in arguments:
        url = url.replace(f"<{argument}>", value)
    return url


def snapshot(app: Flask, tenant: Tenant) -> list[Any]:
    """Everything of the tenant's that a request could change, to compare before and after."""
    with app.app_context():
        users = db.session.execute(
            select(User.public_id, User.name, User.role, User.is_active, User.session_version, User.password_hash)
            .join(User.agency)
            .where(User.agency.has(public_id=tenant.agency_id))
            .order_by(User.public_id)
        ).all()
        clients = db.session.execute(
            select(Client.public_id, Client.name, Client.contact_email, Client.notes).order_by(Client.public_id)
        ).all()
        emails = db.session.execute(
            select(EmailMessage.public_id, EmailMessage.status, EmailMessage.attempts).order_by(EmailMessage.public_id)
        ).all()
        agency_id = db.session.scalar(select(Agency.id).where(Agency.public_id == tenant.agency_id))
        bank = [
            db.session.execute(select(*columns).where(model.agency_id == agency_id).order_by(*columns)).all()
            for model, columns in (
                (Competency, (Competency.public_id, Competency.name, Competency.definition, Competency.indicators)),
                (
                    ScenarioVersion,
                    (
                        ScenarioVersion.public_id,
                        ScenarioVersion.stem,
                        ScenarioVersion.status,
                        ScenarioVersion.key_version,
                        ScenarioVersion.published_at,
                    ),
                ),
                (Scenario, (Scenario.public_id, Scenario.code)),
                (Position, (Position.public_id, Position.title, Position.responsibilities)),
                (Assessment, (Assessment.public_id, Assessment.title, Assessment.status, Assessment.instructions)),
                (Invitation, (Invitation.public_id, Invitation.token_version, Invitation.revoked_at)),
                (InviteBatch, (InviteBatch.public_id, InviteBatch.status, InviteBatch.processed_rows)),
                (Candidate, (Candidate.public_id, Candidate.name, Candidate.email, Candidate.headline)),
                (
                    SkillTransfer,
                    (SkillTransfer.public_id, SkillTransfer.from_skill, SkillTransfer.to_skill, SkillTransfer.credit),
                ),
            )
        ]
        items = db.session.execute(
            select(AssessmentItem.public_id, AssessmentItem.position, AssessmentItem.version_id)
            .join(AssessmentItem.assessment)
            .where(Assessment.agency_id == agency_id)
            .order_by(AssessmentItem.public_id)
        ).all()
        profile = [
            db.session.execute(
                select(*columns)
                .join(Candidate, Candidate.id == model.candidate_id)
                .where(Candidate.agency_id == agency_id)
                .order_by(*columns)
            ).all()
            for model, columns in (
                (CandidateSkill, (CandidateSkill.public_id, CandidateSkill.skill_key, CandidateSkill.level)),
                (CandidateEducation, (CandidateEducation.public_id, CandidateEducation.isced_level)),
                (CandidateExperience, (CandidateExperience.public_id, CandidateExperience.role)),
            )
        ]
        position_skills = db.session.execute(
            select(PositionSkill.public_id, PositionSkill.skill_key, PositionSkill.min_level, PositionSkill.weight)
            .join(PositionSkill.position)
            .where(Position.agency_id == agency_id)
            .order_by(PositionSkill.public_id)
        ).all()
        return [users, clients, emails, *bank, items, *profile, position_skills]


def test_every_route_declares_an_access_policy(app):
    missing = [f"{method} {rule}" for rule, method, policy, _ in routes(app) if policy is None]
    assert missing == [], f"routes without an access policy: {missing}"


def test_routes_that_name_an_object_declare_its_model(app):
    for rule, method, policy, arguments in routes(app):
        if "public_id" in arguments:
            assert policy is not None
            assert policy.owns is not None, f"{method} {rule} names an object but declares no model"


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)  # so that POSTs reach the access checks
@pytest.mark.parametrize("actor", ACTORS)
def test_walk_every_route_as_each_actor(world, actor):
    app = world.app
    client = client_for(world, actor)
    before = snapshot(app, world.b)
    for rule, method, policy, arguments in routes(app):
        assert policy is not None, rule
        if policy.owns is not None:
            url = build_url(rule, arguments, world.owned_by(world.b, policy.owns) or "missing")
        else:
            url = build_url(rule, arguments, "not-a-real-token")
        response = client.open(url, method=method, data={})
        where = f"{actor}: {method} {url} -> {response.status_code}"
        # A redirect's body only echoes the address the caller asked for.
        body = "" if 300 <= response.status_code < 400 else response.get_data(as_text=True)

        assert response.status_code < 500, where
        # The audit log may repeat an id this very walk typed in (a denied probe), nothing more.
        probed = set(world.b.secrets) & {world.owned_by(world.b, m) for m in OWNED}
        for secret in world.b.secrets:
            if rule == "/admin/audit" and secret in probed:
                continue
            assert secret not in body, f"{where} shows the other agency's {secret!r}"

        if policy.public:
            continue
        signed_in_roles = {"recruiter": STAFF_ROLES, "admin": STAFF_ROLES | ADMIN_ONLY}
        if actor in ("anonymous", "client_user", "candidate"):
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/login"), where
        elif actor == "recruiter" and Role.RECRUITER not in (policy.roles or set()):
            assert response.status_code == 403, where
        elif policy.owns is not None:
            assert response.status_code == 404, where
        else:
            assert actor in signed_in_roles
            assert response.status_code in (200, 302, 400, 422), where
        if rule == "/logout" and method == "POST":
            client = client_for(world, actor)  # carry on signed in
    assert snapshot(app, world.b) == before, f"{actor} changed the other agency's data"


@pytest.mark.parametrize("actor", ["recruiter", "admin"])
def test_the_walk_can_see_own_objects(world, actor):
    """The positive control: with the caller's own ids, the same URLs answer, so the 404s above mean something."""
    client = client_for(world, actor)
    reached = 0
    for rule, method, policy, arguments in routes(world.app):
        if method != "GET" or policy is None or policy.owns is None:
            continue
        own = world.owned_by(world.a, policy.owns)
        if own is None:
            continue
        response = client.get(build_url(rule, arguments, own))
        if policy.roles is not None and actor == "recruiter" and policy.roles == ADMIN_ONLY:
            assert response.status_code == 403
        else:
            assert response.status_code == 200, rule
            reached += 1
    assert actor == "recruiter" or reached >= 2


def test_lists_show_only_the_callers_agency(world):
    client = client_for(world, "admin")
    for url in ("/", "/admin/users", "/admin/clients", "/admin/emails", "/admin/audit", "/admin/settings"):
        body = client.get(url).get_data(as_text=True)
        for secret in world.b.secrets:
            assert secret not in body, f"{url} shows {secret!r}"
    assert world.a.client_name in client.get("/admin/clients").get_data(as_text=True)
    assert world.a.recruiter["email"] in client.get("/admin/users").get_data(as_text=True)


def test_denied_accesses_are_audited(world):
    client = client_for(world, "admin")
    assert client.get(f"/admin/clients/{world.b.client_id}").status_code == 404
    with world.app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "access.denied.scope"
    assert event.agency_public_id == world.a.agency_id
    assert event.actor_public_id == world.a.admin["public_id"]
    assert event.object_public_id == world.b.client_id


def test_a_route_without_a_policy_answers_404_and_fails_the_walk(app):
    @app.get("/undeclared")
    def undeclared() -> str:
        return "leak"

    assert app.test_client().get("/undeclared").status_code == 404
    assert any(policy is None for _, _, policy, _ in routes(app))
