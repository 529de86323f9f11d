"""Scenario bank pages: authoring, keying, publishing, import, export, competencies; hostile text."""

from __future__ import annotations

import io

import yaml
from sqlalchemy import select

from database import db
from scenarios.models import Scenario, Status
from tests.conftest import OPTIONS, STEM, post, sign_in

HOSTILE = "<script>alert(1)</script> {{ 7*7 }} <img src=x onerror=alert(2)> [x](javascript:alert(3))"


def form_data(**changes):
    data = {
        "code": "WEB-1",
        "role": "payroll",
        "role_context": "Payroll officer",
        "situation_type": "S12",
        "stem": STEM,
        "instruction": "should_do",
        "response_format": "rate",
        "scoring_rule": "",
        "item_weight": "1",
        "key_type": "expert_panel",
        "provenance_author": "Web author",
        "provenance_source": "A pay change without a form",
        "provenance_date": "2026-11-22",
        "weight_professionalism": "1",
        "weight_collaboration": "0.5",
    }
    for label, text in zip("ABCD", OPTIONS, strict=True):
        data[f"option_{label}"] = text
        data[f"rationale_{label}"] = f"Why {label}"
    data.update(changes)
    return data


def test_author_key_publish_and_new_version(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    assert client.get("/scenarios/new").status_code == 200
    created = post(client, app, "/scenarios/new", form_data())
    assert created.status_code == 302
    with app.app_context():
        scenario = db.session.scalar(select(Scenario).where(Scenario.code == "WEB-1"))
        public_id = scenario.public_id
    assert created.headers["Location"] == f"/scenarios/{public_id}/key"
    ratings = "\n".join(f"Expert {i}, 6, 2, 3, 1" for i in range(1, 6))
    assert (
        post(client, app, f"/scenarios/{public_id}/key", {"key_type": "expert_panel", "ratings": ratings}).status_code
        == 302
    )
    detail = client.get(f"/scenarios/{public_id}").get_data(as_text=True)
    assert "6.00" in detail and "Key uncertain" not in detail
    assert "Publish version 1" in detail
    assert post(client, app, f"/scenarios/{public_id}/publish", {"status": "operational"}).status_code == 302
    detail = client.get(f"/scenarios/{public_id}").get_data(as_text=True)
    assert "cannot change" in detail
    edit = client.get(f"/scenarios/{public_id}/edit").get_data(as_text=True)
    assert "Saving creates version 2" in edit
    assert (
        post(client, app, f"/scenarios/{public_id}/edit", form_data(stem=STEM + " One more fact.")).status_code == 302
    )
    with app.app_context():
        scenario = db.session.scalar(select(Scenario).where(Scenario.code == "WEB-1"))
        assert [(v.version, v.status) for v in scenario.versions] == [(1, Status.OPERATIONAL), (2, Status.DRAFT)]
        assert scenario.versions[0].stem == STEM


def test_bad_scenario_forms_show_field_errors_and_write_nothing(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    cases = [
        ({"stem": ""}, "Write the situation."),
        ({"option_B": "", "option_C": ""}, "Options A to C are required."),
        ({"option_D": "", "option_E": "Skips D"}, "without gaps"),
        ({"weight_professionalism": "", "weight_collaboration": ""}, "Give at least one competency a weight."),
        ({"weight_professionalism": "2"}, "Between 0 and 1."),
        ({"code": "bad id!"}, "Use letters, digits"),
        ({"role": "astronaut"}, "Not a valid choice"),
        ({"scoring_rule": "rank_rho"}, "does not fit the response format"),
        ({"provenance_date": "yesterday"}, "Enter the date as YYYY-MM-DD."),
    ]
    for changes, message in cases:
        response = post(client, app, "/scenarios/new", form_data(**changes))
        assert response.status_code == 422, changes
        assert message in response.get_data(as_text=True), changes
    with app.app_context():
        assert db.session.scalar(select(Scenario).where(Scenario.code == "WEB-1")) is None


def test_key_page_reports_bad_lines(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    response = post(
        client, app, f"/scenarios/{tenant_a.scenario_id}/key", {"key_type": "expert_panel", "ratings": "E1, 7, 1, 1, 1"}
    )
    assert response.status_code == 422
    assert "Line 1: 7 for option A is outside the 1-6 scale." in response.get_data(as_text=True)


def test_a_blocked_draft_cannot_be_published(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    post(client, app, "/scenarios/new", form_data(code="TIE-1", response_format="most_least"))
    with app.app_context():
        public_id = db.session.scalar(select(Scenario.public_id).where(Scenario.code == "TIE-1"))
    post(client, app, f"/scenarios/{public_id}/key", {"key_type": "expert_panel", "ratings": "E1, 5, 5, 2, 1"})
    assert "Blocker" in client.get(f"/scenarios/{public_id}").get_data(as_text=True)
    post(client, app, f"/scenarios/{public_id}/publish", {"status": "operational"})
    page = client.get(f"/scenarios/{public_id}").get_data(as_text=True)
    assert "cannot be published yet" in page
    with app.app_context():
        assert db.session.scalar(select(Scenario).where(Scenario.code == "TIE-1")).latest.published_at is None


def test_hostile_text_is_shown_as_text_everywhere(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    data = form_data(code="XSS-1", stem=HOSTILE, role_context=HOSTILE[:120], option_A=HOSTILE, rationale_A=HOSTILE)
    assert post(client, app, "/scenarios/new", data).status_code == 302
    with app.app_context():
        public_id = db.session.scalar(select(Scenario.public_id).where(Scenario.code == "XSS-1"))
    preview = post(client, app, "/scenarios/preview", data).get_data(as_text=True)
    for url in ("/scenarios", f"/scenarios/{public_id}", f"/scenarios/{public_id}/edit", f"/scenarios/{public_id}/key"):
        body = client.get(url).get_data(as_text=True)
        for page in (body, preview):
            assert "<script>alert" not in page
            assert "<img src=x" not in page
            assert 'href="javascript' not in page
            assert ">49<" not in page


def test_markdown_in_the_stem_is_rendered_safely(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    data = form_data(stem="You **must** decide. [Policy](https://policy.example/x)")
    body = post(client, app, "/scenarios/preview", data).get_data(as_text=True)
    assert "<strong>must</strong>" in body
    assert 'href="https://policy.example/x" rel="noopener noreferrer"' in body
    assert "Why A" not in body  # rationales never reach the candidate's view


def test_filters_find_scenarios(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    post(client, app, "/scenarios/new", form_data(code="FIND-ME", role="hr", stem=STEM + " Zebra."))
    assert "FIND-ME" in client.get("/scenarios?q=zebra").get_data(as_text=True)
    assert "FIND-ME" not in client.get("/scenarios?role=payroll").get_data(as_text=True)
    assert "FIND-ME" in client.get("/scenarios?status=draft&competency=collaboration").get_data(as_text=True)
    assert "FIND-ME" in client.get("/scenarios?warnings=1").get_data(as_text=True)
    assert "FIND-ME" not in client.get("/scenarios?format=rank").get_data(as_text=True)
    assert client.get("/scenarios?q=%25_%5C").status_code == 200


def test_export_and_import_through_the_pages(app, client, tenant_a, tenant_b):
    sign_in(client, app, tenant_a.recruiter["email"])
    exported = client.get("/scenarios/export?format=yaml")
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"].startswith("attachment;")
    doc = yaml.safe_load(exported.get_data(as_text=True))
    assert [s["id"] for s in doc["scenarios"]] == [f"Alpha-SJT-{tenant_a.agency_name.rsplit(' ', 1)[1]}"]
    doc["scenarios"][0]["id"] = "IMPORTED-1"
    for s in doc["scenarios"]:
        s["competency_weights"] = {"professionalism": 1.0}
    upload = yaml.safe_dump(doc).encode()
    other = app.test_client()
    sign_in(other, app, tenant_b.admin["email"])
    ok = post(
        other, app, "/scenarios/import", {"file": (io.BytesIO(upload), "bank.yaml")}, content_type="multipart/form-data"
    )
    assert ok.status_code == 302
    assert "IMPORTED-1" in other.get("/scenarios").get_data(as_text=True)
    again = post(
        other, app, "/scenarios/import", {"file": (io.BytesIO(upload), "bank.yaml")}, content_type="multipart/form-data"
    )
    assert again.status_code == 422
    assert "Nothing was imported" in again.get_data(as_text=True)
    assert "already has a scenario IMPORTED-1" in again.get_data(as_text=True)
    assert client.get("/scenarios/export?format=xml").status_code == 400


def test_competencies_are_read_by_recruiters_and_edited_by_admins(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    assert "Client focus" in client.get("/competencies").get_data(as_text=True)
    assert client.get("/competencies/new").status_code == 403
    admin = app.test_client()
    sign_in(admin, app, tenant_a.admin["email"])
    created = post(
        admin,
        app,
        "/competencies/new",
        {"code": "tact", "name": "Tact", "definition": "Kind and clear.", "indicators": "+ a\n- b"},
    )
    assert created.status_code == 302
    duplicate = post(
        admin, app, "/competencies/new", {"code": "tact", "name": "Tact", "definition": "x", "indicators": ""}
    )
    assert duplicate.status_code == 422
    assert (
        post(admin, app, "/competencies/new", {"code": "Bad Code", "name": "x", "definition": "x"}).status_code == 422
    )


def test_imports_above_the_general_body_limit_are_read(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    big = ("# " + "x" * 1000 + "\n") * 1500 + "format: other\n"  # about 1.5 MB, above the 1 MB limit of other forms
    response = post(
        client,
        app,
        "/scenarios/import",
        {"file": (io.BytesIO(big.encode()), "big.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422  # read and checked, not refused as too large
    assert "rapport-scenario-bank" in response.get_data(as_text=True)
