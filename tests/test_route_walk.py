"""Walk every route in app.url_map as each kind of actor, with users of two agencies, with API keys of two
agencies, and as the client users of two clients of one agency.

Fails for a route without a declared access policy, for a route that answers a protected request
from the wrong actor, and for any response that shows the other agency's (or the other client's) objects.
The API (/api/v1) is walked with agency A's read and write keys against agency B's ids: 404 problems for B's
objects, 403 for a write endpoint with the read key, and 401 for every cookie actor (a cookie never
authenticates the API). Later issues add actor kinds to ACTORS and fixtures to `world`.
"""

from __future__ import annotations

import hashlib
import secrets as random_bytes
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from accounts.access import AccessPolicy, policy_of
from accounts.models import Agency, AuditEvent, Client, Role, User
from api import base as api_base
from api.keys import find_key
from api.models import ApiKey
from assessments.models import Assessment, AssessmentItem, Invitation, InviteBatch
from candidates.models import Candidate, CandidateEducation, CandidateExperience, CandidateSkill
from database import db, unit_of_work, utcnow
from mailer import EmailMessage
from positions.models import Position, PositionSkill, SkillTransfer
from reports.models import JobStatus, Report, ReportBatch, ReportFile, ReportJob, ReportKind, ShareLink
from scenarios.models import Competency, Scenario, ScenarioVersion
from tests.api.client import make_key
from tests.conftest import Tenant, build_tenant, sign_in
from tests.reports.test_views import Sitting, add_client, add_report, add_sitting
from webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint

ACTORS = ("anonymous", "client_user", "candidate", "recruiter", "admin", "api_read", "api_write")
API_ACTORS = {"api_read": "read", "api_write": "write"}  # agency A's keys and their scope
PROBLEM = "application/problem+json"
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
    Report,
    ReportJob,
    ReportBatch,
    ShareLink,
    ApiKey,
    WebhookEndpoint,
    WebhookDelivery,
)
ACTOR_ROLES = {"client_user": Role.CLIENT, "recruiter": Role.RECRUITER, "admin": Role.ADMIN}
SKIP_METHODS = {"HEAD", "OPTIONS"}


@dataclass
class ClientParty:
    """One client of an agency, its signed-in user, and a released report with everything around it."""

    client_id: str
    user: dict[str, str]
    sitting: Sitting
    report: str
    job: str
    batch: str
    link: str
    secrets: list[str]

    def owned(self, model: type | None) -> str | None:
        """The party's own object of that model; None for the agency's shared objects (bank, candidates)."""
        return {
            User: self.user["public_id"],
            Client: self.client_id,
            Position: self.sitting.position,
            Assessment: self.sitting.assessment,
            Invitation: self.sitting.invitation,
            Report: self.report,
            ReportJob: self.job,
            ReportBatch: self.batch,
            ShareLink: self.link,
        }.get(model)  # type: ignore[arg-type]


@dataclass
class World:
    app: Flask
    a: Tenant
    b: Tenant
    a2: ClientParty  # agency A's second client
    batches: dict[str, str] = field(default_factory=dict)  # agency public id -> its batch
    parties: dict[str, ClientParty] = field(default_factory=dict)  # agency public id -> its first client's party
    integrations: dict[str, Integrations] = field(default_factory=dict)  # agency public id -> key, webhook, delivery
    keys: dict[str, str] = field(default_factory=dict)  # scope -> a key of agency A made for the walk

    def owned_by(self, tenant: Tenant, model: type | None) -> str | None:
        party = self.parties[tenant.agency_id]
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
            Report: party.report,
            ReportJob: party.job,
            ReportBatch: party.batch,
            ShareLink: party.link,
            ApiKey: self.integrations[tenant.agency_id].key,
            WebhookEndpoint: self.integrations[tenant.agency_id].endpoint,
            WebhookDelivery: self.integrations[tenant.agency_id].delivery,
        }.get(model)  # type: ignore[arg-type]


@dataclass
class Integrations:
    """An agency's API key (its plaintext too), a webhook endpoint and one failed delivery to it."""

    key: str
    plaintext: str
    endpoint: str
    delivery: str


@pytest.fixture
def world(app: Flask) -> World:
    a, b = build_tenant(app, "Alpha"), build_tenant(app, "Beta")
    a2_client, a2_user = add_client(app, a, f"Alpha Second {random_bytes.token_hex(3)}")
    world = World(app=app, a=a, b=b, a2=add_party(app, a, a2_client, a2_user, "Zoe Second"))
    for tenant, name in ((a, "Ada First"), (b, "Bea Beta")):
        world.batches[tenant.agency_id] = add_batch(app, tenant)
        world.parties[tenant.agency_id] = add_party(app, tenant, tenant.client_id, tenant.client_user, name)
        tenant.secrets += world.parties[tenant.agency_id].secrets
        world.integrations[tenant.agency_id] = add_integrations(app, tenant)
    return world


def add_integrations(app: Flask, tenant: Tenant) -> Integrations:
    """A key, a webhook endpoint and a failed delivery of the agency, made directly (build_tenant makes none)."""
    plaintext = make_key(app, tenant, "write", name=f"ATS of {tenant.agency_name}")
    now = utcnow()
    with app.app_context(), unit_of_work():
        key = find_key(plaintext)
        assert key is not None
        host = tenant.agency_name.lower().replace(" ", "-")
        endpoint = WebhookEndpoint(
            agency_id=key.agency_id,
            url=f"https://ats.{host}.example/hooks/{random_bytes.token_hex(4)}",
            description=f"Hooks of {tenant.agency_name}",
            events=["result.released"],
            secret=f"whsec_{random_bytes.token_urlsafe(24)}",
            created_at=now,
        )
        body_token = random_bytes.token_hex(8)
        delivery = WebhookDelivery(
            agency_id=key.agency_id,
            endpoint=endpoint,
            event_type="result.released",
            event_id=f"evt_{random_bytes.token_hex(8)}",
            body='{"data": {"token": "' + body_token + '"}}',
            status=DeliveryStatus.FAILED,
            attempts=8,
            next_attempt_at=now,
            last_error="Connection refused",
            created_at=now,
        )
        db.session.add_all([endpoint, delivery])
        db.session.flush()
        found = Integrations(key.public_id, plaintext, endpoint.public_id, delivery.public_id)
        tenant.secrets += [
            found.key,
            plaintext,
            key.prefix,
            key.name,
            found.endpoint,
            endpoint.url,
            endpoint.secret,
            endpoint.description,
            found.delivery,
            delivery.event_id,
            body_token,
        ]
    return found


def add_party(app: Flask, tenant: Tenant, client_id: str, user: dict[str, str], name: str) -> ClientParty:
    """A released report of the client, with a live share link and a finished batch whose one job holds a PDF."""
    sitting = add_sitting(app, tenant, f"{name} {random_bytes.token_hex(3)}", client_id=client_id)
    report_id = add_report(app, sitting)
    now = utcnow()
    with app.app_context(), unit_of_work():
        report = db.session.scalars(select(Report).where(Report.public_id == report_id)).one()
        pdf = b"%PDF-1.7 route walk " + random_bytes.token_bytes(8)
        file = ReportFile(
            agency_id=report.agency_id,
            content_hash=random_bytes.token_hex(32),
            kind=ReportKind.DOSSIER,
            pdf=pdf,
            sha256=hashlib.sha256(pdf).hexdigest(),
            pages=1,
            size=len(pdf),
            render_ms=1,
            created_at=now,
        )
        batch = ReportBatch(
            agency_id=report.agency_id, client_id=report.client_id, position_id=report.position_id, created_at=now
        )
        job = ReportJob(
            agency_id=report.agency_id,
            client_id=report.client_id,
            kind=ReportKind.DOSSIER,
            report_id=report.id,
            position_id=report.position_id,
            batch=batch,
            status=JobStatus.DONE,
            file=file,
            queued_at=now,
            finished_at=now,
        )
        link = ShareLink(
            agency_id=report.agency_id,
            client_id=report.client_id,
            report_id=report.id,
            expires_at=now + timedelta(days=7),
            created_at=now,
        )
        db.session.add_all([file, batch, job, link])
        db.session.flush()
        ids = (batch.public_id, job.public_id, link.public_id)
        client_name = db.session.scalars(select(Client.name).where(Client.public_id == client_id)).one()
    secrets = [
        sitting.candidate_name,
        sitting.position_title,
        sitting.invitation,
        sitting.position,
        sitting.assessment,
        report_id,
        *ids,
        client_id,
        client_name,
        user["name"],
        user["email"],
        user["public_id"],
    ]
    return ClientParty(client_id, user, sitting, report_id, ids[1], ids[0], ids[2], secrets)


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
    """A test client signed in as the actor (API actors carry no cookie: their key goes in api_headers)."""
    client = world.app.test_client()
    if actor in ("recruiter", "admin", "client_user"):
        sign_in(client, world.app, getattr(world.a, actor)["email"])
    elif actor == "candidate":
        # A candidate of agency A, mid-way through consenting: a candidate session, no staff rights.
        with client.session_transaction() as sess:
            sess["candidate"] = {"i": world.a.invitation_id, "v": 1}
    return client


def api_headers(world: World, actor: str) -> dict[str, str]:
    """Agency A's key of the actor's scope in the Authorization header; nothing for cookie actors."""
    scope = API_ACTORS.get(actor)
    if scope is None:
        return {}
    key = world.keys.get(scope)
    if key is None:
        key = world.keys[scope] = make_key(world.app, world.a, scope, name=f"Walk {scope}")
    return {"Authorization": f"Bearer {key}"}


def send(client: Any, url: str, method: str, policy: AccessPolicy, headers: dict[str, str]) -> Any:
    """One request of the walk: an empty JSON object to an API POST or PATCH, an empty form elsewhere."""
    if policy.api is not None and method in ("POST", "PATCH", "PUT"):
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data={}, headers=headers)


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
                (
                    Invitation,
                    (Invitation.public_id, Invitation.token_version, Invitation.revoked_at, Invitation.expires_at),
                ),
                (InviteBatch, (InviteBatch.public_id, InviteBatch.status, InviteBatch.processed_rows)),
                (
                    Candidate,
                    (
                        Candidate.public_id,
                        Candidate.name,
                        Candidate.email,
                        Candidate.headline,
                        Candidate.profile_updated_at,
                    ),
                ),
                (ApiKey, (ApiKey.public_id, ApiKey.name, ApiKey.scope, ApiKey.revoked_at)),
                # events (JSON) is compared below: PostgreSQL cannot order by a json column.
                (
                    WebhookEndpoint,
                    (
                        WebhookEndpoint.public_id,
                        WebhookEndpoint.url,
                        WebhookEndpoint.secret,
                        WebhookEndpoint.disabled_at,
                    ),
                ),
                (
                    WebhookDelivery,
                    (
                        WebhookDelivery.public_id,
                        WebhookDelivery.status,
                        WebhookDelivery.attempts,
                        WebhookDelivery.next_attempt_at,
                    ),
                ),
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
        events = sorted(
            (row.public_id, sorted(row.events))
            for row in db.session.execute(
                select(WebhookEndpoint.public_id, WebhookEndpoint.events).where(WebhookEndpoint.agency_id == agency_id)
            )
        )
        counts = [
            db.session.scalar(select(func.count()).select_from(model).where(model.agency_id == agency_id))
            for model in (Candidate, Invitation, ApiKey, WebhookEndpoint, WebhookDelivery)
        ]
        return [
            users,
            clients,
            emails,
            *bank,
            items,
            *profile,
            position_skills,
            *report_rows(agency_id),
            events,
            counts,
        ]


def report_rows(agency_id: int, client_public_id: str | None = None) -> list[Any]:
    """The reports, share links, jobs and batches of an agency (or of one of its clients), to compare."""
    client_id = None
    if client_public_id is not None:
        client_id = db.session.scalar(select(Client.id).where(Client.public_id == client_public_id))
    found = []
    for columns in (
        (Report.public_id, Report.notes, Report.released_at, Report.withdrawn_at),
        (ShareLink.public_id, ShareLink.revoked_at, ShareLink.token_version, ShareLink.views, ShareLink.expires_at),
        (ReportJob.public_id, ReportJob.status, ReportJob.file_id),
        (ReportBatch.public_id, ReportBatch.position_id),
    ):
        model = columns[0].class_
        query = select(*columns).where(model.agency_id == agency_id).order_by(columns[0])
        if client_id is not None:
            query = query.where(model.client_id == client_id)
        found.append(db.session.execute(query).all())
    jobs = db.session.execute(select(ReportJob.public_id).where(ReportJob.agency_id == agency_id)).all()
    return [*found, len(jobs)]


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
def test_walk_every_route_as_each_actor(world, actor, monkeypatch):
    # Each cookie actor's API request is a wrong key from one address; the per-address limit (30 in 15 minutes,
    # tests/api/test_bad_input.py) is not what this walk checks, however many API routes there are.
    monkeypatch.setattr(api_base, "BAD_KEY_PER_ADDRESS", replace(api_base.BAD_KEY_PER_ADDRESS, max_count=100_000))
    app = world.app
    client = client_for(world, actor)
    headers = api_headers(world, actor)
    before = snapshot(app, world.b)
    api_routes = 0
    for rule, method, policy, arguments in routes(app):
        assert policy is not None, rule
        if policy.owns is not None:
            url = build_url(rule, arguments, world.owned_by(world.b, policy.owns) or "missing")
        else:
            url = build_url(rule, arguments, "not-a-real-token")
        response = send(client, url, method, policy, headers)
        where = f"{actor}: {method} {url} -> {response.status_code}"
        # A redirect's body only echoes the address the caller asked for.
        body = "" if 300 <= response.status_code < 400 else response.get_data().decode("utf-8", "replace")

        assert response.status_code < 500, where
        # The audit log may repeat an id this very walk typed in (a denied probe), nothing more.
        probed = set(world.b.secrets) & {world.owned_by(world.b, m) for m in OWNED}
        for secret in world.b.secrets:
            if rule in ("/admin/audit", "/admin/audit/export.jsonl") and secret in probed:
                continue
            assert secret not in body, f"{where} shows the other agency's {secret!r}"

        if policy.public:
            continue
        if policy.api is not None:
            api_routes += 1
            assert response.mimetype == PROBLEM or response.status_code < 400, where
            if actor not in API_ACTORS:
                assert response.status_code == 401, f"{where}: a cookie never authenticates the API"
            elif policy.api == "write" and API_ACTORS[actor] == "read":
                assert response.status_code == 403, f"{where}: a read key is refused before any lookup"
            elif policy.owns is not None:
                assert response.status_code == 404, where
            else:
                assert 200 <= response.status_code < 300 or 400 <= response.status_code < 500, where
            if response.status_code >= 400:
                assert response.json["detail"], where
            continue
        if actor in ("anonymous", "candidate", *API_ACTORS):
            # A key means nothing outside the API: its holder is anonymous there.
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/login"), where
        elif ACTOR_ROLES[actor] not in (policy.roles or set()):
            assert response.status_code == 403, where
        elif policy.owns is not None:
            assert response.status_code == 404, where
        else:
            assert response.status_code in (200, 302, 400, 422), where
        if rule == "/logout" and method == "POST":
            client = client_for(world, actor)  # carry on signed in
    assert api_routes >= 4, "the walk reached too few API routes"
    assert snapshot(app, world.b) == before, f"{actor} changed the other agency's data"


@pytest.mark.parametrize("actor", ["recruiter", "admin", "client_user", "api_read"])
def test_the_walk_can_see_own_objects(world, actor):
    """The positive control: with the caller's own ids, the same URLs answer, so the 404s above mean something."""
    client = client_for(world, actor)
    headers = api_headers(world, actor)
    reached = 0
    for rule, method, policy, arguments in routes(world.app):
        if method != "GET" or policy is None or policy.owns is None:
            continue
        if (policy.api is not None) != (actor in API_ACTORS):
            continue  # cookies on the API and keys elsewhere: refused in the walk above
        own = world.owned_by(world.a, policy.owns)
        if actor == "client_user":
            own = world.parties[world.a.agency_id].owned(policy.owns)
        if own is None:
            continue
        response = client.get(build_url(rule, arguments, own), headers=headers)
        if policy.roles is not None and ACTOR_ROLES[actor] not in policy.roles:
            assert response.status_code == 403, rule
        elif rule.endswith(".pdf") and policy.api is not None:
            assert response.status_code in (200, 202), rule  # 202 with Retry-After while the PDF is made
            reached += 1
        else:
            assert response.status_code == 200, f"{rule}: {response.status_code}"
            reached += 1
    assert reached >= {"recruiter": 2, "admin": 3, "client_user": 4, "api_read": 4}[actor]


def client_party_walk(world: World, me: ClientParty, other: ClientParty) -> list[str]:
    """Walk every route as `me` with `other`'s ids (and its ids typed where a token goes); the URLs walked."""
    app = world.app
    client = app.test_client()
    sign_in(client, app, me.user["email"])
    walked = []
    for rule, method, policy, arguments in routes(app):
        assert policy is not None, rule
        if policy.owns is not None:
            values = [other.owned(policy.owns) or "missing"]
        elif arguments:
            # Guessed ids where a token goes: none of them is a token.
            values = ["not-a-real-token", other.report, other.link, other.sitting.invitation]
        else:
            values = [""]
        for value in values:
            url = build_url(rule, arguments, value)
            response = client.open(url, method=method, data={})
            where = f"{me.user['email']}: {method} {url} -> {response.status_code}"
            walked.append(url)
            body = "" if 300 <= response.status_code < 400 else response.get_data().decode("utf-8", "replace")
            assert response.status_code < 500, where
            for secret in other.secrets:
                assert secret not in body, f"{where} shows the other client's {secret!r}"
            if policy.public:
                if arguments and rule.startswith("/r/"):
                    assert response.status_code == 404, where
                continue
            if policy.api is not None:
                assert response.status_code == 401, f"{where}: a cookie never authenticates the API"
                continue
            if Role.CLIENT not in (policy.roles or set()):
                assert response.status_code == 403, where  # a staff page: refused before any lookup
            elif policy.owns is not None:
                assert response.status_code == 404, where
            else:
                assert response.status_code in (200, 302, 422), where  # 422: a form of their own, posted empty
            if rule == "/logout" and method == "POST":
                sign_in(client, app, me.user["email"])  # carry on signed in
    return walked


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_client_users_of_two_clients_of_one_agency_get_404_for_each_others_objects(world, monkeypatch):
    monkeypatch.setattr(api_base, "BAD_KEY_PER_ADDRESS", replace(api_base.BAD_KEY_PER_ADDRESS, max_count=100_000))
    a1 = world.parties[world.a.agency_id]
    for me, other in ((a1, world.a2), (world.a2, a1)):
        with world.app.app_context():
            agency_id = db.session.scalar(select(Agency.id).where(Agency.public_id == world.a.agency_id))
            before = report_rows(agency_id, other.client_id)
        walked = client_party_walk(world, me, other)
        assert f"/portal/reports/{other.report}/download" in walked
        assert f"/r/{other.link}" in walked and f"/reports/share-links/{other.link}/revoke" in walked
        with world.app.app_context():
            assert report_rows(agency_id, other.client_id) == before, "a client user changed the other's reports"


def test_lists_show_only_the_callers_agency(world):
    client = client_for(world, "admin")
    for url in (
        "/",
        "/admin/users",
        "/admin/clients",
        "/admin/emails",
        "/admin/audit",
        "/admin/audit/export.jsonl",
        "/admin/settings",
    ):
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
