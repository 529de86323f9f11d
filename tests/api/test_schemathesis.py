"""The API against its own OpenAPI document: schemathesis generates requests (valid and invalid) for every
operation the document holds and runs every check it has on each answer; and the document itself is a valid
OpenAPI 3.1 document that describes exactly the routes of the `api` blueprint.

The operations come from api/spec/*.yaml at collection time, so a new endpoint is covered as soon as it is
documented. Runs on SQLite only (CI time); the API's own tests run on both databases.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.definitions import OPENAPI_31

from api import base as api_base
from api import spec
from tests.api.client import make_key
from tests.conftest import Tenant, build_tenant
from tests.reports.test_views import add_report, add_sitting

schema = schemathesis.openapi.from_dict(spec.document())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    # The key goes in every request (below); a generated Authorization header would only test the 401.
    with_security_parameters=False,
)

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SKIP_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only, for this module: schemathesis makes hundreds of requests per run."""
    target = tmp_path / "rapport.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@dataclass
class Seeded:
    tenant: Tenant
    key: str
    report: str

    def real_id(self, path: str) -> str | None:
        """An id of the key's agency for the resource a path names (first segment), if the walk knows one."""
        resource = path.strip("/").split("/")[0]
        return {
            "positions": self.tenant.position_id,
            "assessments": self.tenant.assessment_id,
            "candidates": self.tenant.candidate_id,
            "invitations": self.tenant.invitation_id,
            "results": self.report,
        }.get(resource)


@pytest.fixture
def no_address_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """ignored_auth sends every request again without the key: hundreds of keyless requests from one address,
    which the wrong-key limit (tests/api/test_bad_input.py) would answer with 429 after 30."""
    monkeypatch.setattr(api_base, "BAD_KEY_PER_ADDRESS", replace(api_base.BAD_KEY_PER_ADDRESS, max_count=1_000_000))


@pytest.fixture
def seeded(app: Flask) -> Seeded:
    """An agency with data (a position, an assessment, a candidate, an invitation, a released report) and a
    read-and-write key; another agency exists beside it."""
    tenant = build_tenant(app, "Alpha")
    build_tenant(app, "Beta")
    report = add_report(app, add_sitting(app, tenant, "Ada Fuzz"))
    return Seeded(tenant=tenant, key=make_key(app, tenant, "write"), report=report)


@schema.parametrize()
@pytest.mark.app_config(API_RATE_LIMIT_PER_MINUTE=1_000_000)  # the key's limit has its own test
@pytest.mark.usefixtures("no_address_limit")
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    # One app and database per operation, shared by its examples (they only add rows); bodies can be large.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_every_operation_conforms_to_the_document(case: Any, app: Flask, seeded: Seeded) -> None:
    """No 5xx; status, content type, headers and body as documented; invalid data refused, valid data accepted."""
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    if positive and "id" in (case.path_parameters or {}):
        # Half the valid cases name a real object of the key's agency, so the 200 answers are checked too.
        real = seeded.real_id(case.operation.path)
        if real is not None and len(str(case.path_parameters["id"])) % 2 == 0:
            case.path_parameters["id"] = real
    # The schema's app is this test's app, so the checks' own probes (ignored_auth sends the request again
    # without the key, unsupported_method tries other methods) reach it too.
    case.operation.schema.app = app
    headers = {"Authorization": f"Bearer {seeded.key}"}
    response = case.call(app=app, headers=headers)
    excluded = []
    if positive and "cursor" in (case.query or {}):
        # A cursor is opaque: any string the server did not issue is refused with 400, as documented.
        excluded.append(positive_data_acceptance)
    if positive and case.body is not NOT_SET and response.status_code == 422 and response.json().get("errors"):
        # The document checks a body's shape; the rules behind it (a name that is only spaces, an address
        # that cannot receive mail) answer 422 with errors naming the field, as the Unprocessable response says.
        # A 422 without field errors for a schema-valid body is a rule the document should state: still a failure.
        problem = response.json()
        assert problem["detail"] and all("pointer" in e and e["detail"] for e in problem["errors"]), problem
        excluded.append(positive_data_acceptance)
    case.validate_response(
        response, headers=headers, excluded_checks=excluded, transport_kwargs={"app": app, "headers": headers}
    )


def test_an_empty_update_is_refused_as_the_document_says(app: Flask, seeded: Seeded) -> None:
    """Schemathesis found PATCH /candidates/{id} refusing {} that the document allowed (fixed in 61e753b)."""
    response = app.test_client().patch(
        f"/api/v1/candidates/{seeded.tenant.candidate_id}", json={}, headers={"Authorization": f"Bearer {seeded.key}"}
    )
    assert response.status_code == 422 and response.json["errors"], response.json
    assert spec.problems("CandidateUpdate", {}), "the document accepts {}, which the API refuses"


# --- The document ------------------------------------------------------------------------------------------


@pytest.fixture
def served(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document: dict[str, Any] = response.json
    return document


def test_the_document_is_valid_openapi_3_1(served: dict[str, Any]) -> None:
    assert served["openapi"].startswith("3.1.")
    errors = sorted(Draft202012Validator(OPENAPI_31).iter_errors(served), key=lambda e: list(map(str, e.path)))
    assert not errors, "\n".join(f"/{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:20])
    # The meta-schema leaves schema objects alone: each is checked as a JSON Schema 2020-12 schema.
    for name, component in served.get("components", {}).get("schemas", {}).items():
        problems = list(Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(component))
        assert not problems, f"components/schemas/{name}: {problems[0].message}"


def _refs(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _refs(value, f"{where}/{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{where}/{index}")


def test_every_ref_resolves_and_every_operation_is_complete(served: dict[str, Any]) -> None:
    resolver = Registry().with_resource("", Resource.from_contents(served, default_specification=DRAFT202012))
    resolver_for = resolver.resolver(base_uri="")
    for where, ref in _refs(served):
        assert ref.startswith("#/"), f"{where}: only local references ({ref})"
        resolver_for.lookup(ref)  # raises for a dangling reference
    operation_ids = []
    for path, item in served["paths"].items():
        assert path.startswith("/") and not path.startswith("/api/"), f"{path}: paths are relative to servers"
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            assert operation.get("operationId"), f"{where} has no operationId"
            operation_ids.append(operation["operationId"])
            assert operation.get("responses"), f"{where} has no responses"
            assert any(code.startswith("2") for code in operation["responses"]), f"{where} documents no success"
            assert operation.get("summary"), f"{where} has no summary"
            declared = {p.get("name") for p in operation.get("parameters", []) + item.get("parameters", [])}
            if "$ref" in str(operation.get("parameters")):
                declared |= {
                    resolver_for.lookup(p["$ref"]).contents["name"]
                    for p in operation.get("parameters", [])
                    if "$ref" in p
                }
            for name in re.findall(r"{(\w+)}", path):
                assert name in declared, f"{where} does not declare its path parameter {name}"
            secured = operation.get("security", served.get("security"))
            if secured:
                assert "401" in operation["responses"], f"{where} needs a key but documents no 401"
    duplicates = {name for name in operation_ids if operation_ids.count(name) > 1}
    assert not duplicates, f"operationIds used twice: {duplicates}"


def _flask_to_openapi(rule: str) -> str:
    """/api/v1/results/<public_id>/report.pdf -> /results/{id}/report.pdf (other arguments keep their name)."""
    path = re.sub(r"<(?:[^:<>]+:)?public_id>", "{id}", re.sub(r"^/api/v1", "", rule))
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", path)


def test_the_document_matches_the_code(app: Flask, served: dict[str, Any]) -> None:
    """Every route of the api blueprint is documented, with its methods, and nothing else is."""
    in_code = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        for method in (rule.methods or set()) - SKIP_METHODS:
            in_code.add(f"{method} {_flask_to_openapi(rule.rule)}")
    documented = {
        f"{method.upper()} {path}"
        for path, item in served["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert sorted(in_code - documented) == [], "routes missing from the document"
    assert sorted(documented - in_code) == [], "documented operations without a route"
