"""Branding and disclosure on the admin pages: saving, previews, who may see them, and refused uploads."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from accounts.models import Agency, AuditEvent, Client
from database import db
from http_security import CSP
from reports.sections import SECTIONS
from tests.conftest import post, sign_in


def png(size: tuple[int, int] = (400, 120), colour: str = "#2b6cb0") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def noisy_png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, hashlib.shake_256(b"noise").digest(size[0] * size[1] * 3)).save(out, format="PNG")
    return out.getvalue()


def upload(client: Any, app: Any, url: str, fields: dict[str, Any], logo: bytes | None = None, name: str = "logo.png"):
    data = dict(fields)
    if logo is not None:
        data["logo"] = (io.BytesIO(logo), name, "image/png")
    return post(client, app, url, data, content_type="multipart/form-data")


@pytest.fixture
def admin(app, tenant_a):
    client = app.test_client()
    sign_in(client, app, tenant_a.admin["email"])
    return client


def agency_state(app, tenant) -> tuple[Any, ...]:
    with app.app_context():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant.agency_id))
        return (agency.brand_colour, agency.accent_colour, agency.logo_png, agency.logo_sha256, agency.feedback_reports)


def client_state(app, public_id: str) -> tuple[Any, ...]:
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.public_id == public_id))
        return (client.name, client.notes, client.brand_colour, client.logo_png, client.logo_sha256, client.disclosure)


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def client_fields(tenant, **extra: Any) -> dict[str, Any]:
    return {"name": tenant.client_name, "contact_email": "", "notes": "", **extra}


def assert_blank(response: Any) -> None:
    """Without a logo a preview answers 200 with one transparent pixel (own-object GETs answer 200)."""
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (1, 1) and image.getpixel((0, 0))[3] == 0


def page_text(response: Any) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


# --- The agency's branding ---------------------------------------------------------------------------


def test_admin_saves_colours_a_logo_and_feedback_reports_and_sees_the_preview(app, admin, tenant_a):
    response = upload(
        admin,
        app,
        "/admin/settings/branding",
        {"brand_colour": "2B6CB0", "accent_colour": "#9C4221", "feedback_reports": "y"},
        logo=png((1600, 480)),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/settings#branding")

    brand, accent, logo, sha, feedback = agency_state(app, tenant_a)
    assert (brand, accent, feedback) == ("#2b6cb0", "#9c4221", True)
    assert hashlib.sha256(logo).hexdigest() == sha
    assert Image.open(io.BytesIO(logo)).size == (800, 240)
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "agency.branding_updated"
    assert (event.actor_public_id, event.object_public_id) == (tenant_a.admin["public_id"], tenant_a.agency_id)
    assert event.details["brand_colour"] == {"before": None, "after": "#2b6cb0"}
    assert event.details["logo_sha256"] == {"before": None, "after": sha}

    page = admin.get("/admin/settings")
    body = page_text(page)
    assert "Report branding saved." in body
    assert 'value="#2b6cb0"' in body and 'value="#9c4221"' in body
    assert re.search(r'<input[^>]*checked[^>]*name="feedback_reports"|name="feedback_reports"[^>]*checked', body)
    assert 'enctype="multipart/form-data"' in body
    [src] = re.findall(r'<img src="(/admin/agency/[^/"]+/logo\.png[^"]*)"', body)
    assert src.startswith(f"/admin/agency/{tenant_a.agency_id}/logo.png?v=")
    assert "style=" not in body and "<script>" not in body  # the CSP allows neither inline
    assert "img-src 'self' data:" in page.headers["Content-Security-Policy"] == CSP

    preview = admin.get(src.replace("&amp;", "&"))
    assert preview.status_code == 200
    assert preview.data == logo
    assert preview.headers["Content-Type"] == "image/png"
    assert "no-store" in preview.headers["Cache-Control"]
    assert preview.headers["X-Content-Type-Options"] == "nosniff"


def test_empty_colours_clear_and_remove_logo_removes(app, admin, tenant_a):
    upload(admin, app, "/admin/settings/branding", {"brand_colour": "#2b6cb0", "feedback_reports": "y"}, png())
    assert agency_state(app, tenant_a)[3] is not None
    assert "Remove the logo" in page_text(admin.get("/admin/settings"))

    response = upload(admin, app, "/admin/settings/branding", {"brand_colour": "", "remove_logo": "y"})

    assert response.status_code == 302
    assert agency_state(app, tenant_a) == (None, None, None, None, False)
    assert "/logo.png" not in page_text(admin.get("/admin/settings"))
    assert_blank(admin.get(f"/admin/agency/{tenant_a.agency_id}/logo.png"))


def test_a_light_colour_is_kept_with_a_warning_that_reports_use_the_default(app, admin, tenant_a):
    upload(admin, app, "/admin/settings/branding", {"brand_colour": "#ffd166"})
    body = page_text(admin.get("/admin/settings"))
    assert "too light to read on white" in body
    assert agency_state(app, tenant_a)[0] == "#ffd166"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        pytest.param(b"Minutes of the board meeting\n", "logo.png", id="text-renamed-png"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg", id="svg"),
        pytest.param(png()[:200], "logo.png", id="truncated"),
    ],
)
def test_a_logo_that_is_not_an_image_shows_the_field_error_and_changes_nothing(app, admin, tenant_a, raw, name):
    before, actions = agency_state(app, tenant_a), audit_actions(app)

    response = upload(
        admin, app, "/admin/settings/branding", {"brand_colour": "#2b6cb0", "feedback_reports": "y"}, raw, name
    )

    assert response.status_code == 422
    body = page_text(response)
    assert re.search(r'id="logo-error">The logo must be a PNG or JPEG image\.<', body)
    assert 'aria-invalid="true"' in body
    assert agency_state(app, tenant_a) == before
    assert audit_actions(app) == actions


def test_a_bad_colour_shows_the_field_error_and_changes_nothing(app, admin, tenant_a):
    before = agency_state(app, tenant_a)
    response = upload(admin, app, "/admin/settings/branding", {"accent_colour": "red;}body{x:y"}, png())
    assert response.status_code == 422
    assert re.search(
        r'id="accent_colour-error">Give a colour as # and six hex digits, for example #1f4e79\.<', page_text(response)
    )
    assert agency_state(app, tenant_a) == before


def test_a_30_mb_upload_gives_a_clear_message_and_changes_nothing(app, admin, tenant_a):
    before, actions = agency_state(app, tenant_a), audit_actions(app)
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (30 * 1024 * 1024)

    response = upload(admin, app, "/admin/settings/branding", {"brand_colour": "#2b6cb0"}, huge)

    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/settings"
    page = admin.get("/admin/settings")
    assert page.status_code == 200
    assert "The file is larger than 2 MB, so nothing was saved." in page_text(page)
    assert agency_state(app, tenant_a) == before
    assert audit_actions(app) == actions


def test_a_logo_over_the_usual_1_mb_request_limit_is_accepted_up_to_2_mb(app, admin, tenant_a):
    raw = noisy_png((760, 700))
    assert app.config["MAX_CONTENT_LENGTH"] < len(raw) < 2 * 1024 * 1024
    assert upload(admin, app, "/admin/settings/branding", {}, raw).status_code == 302
    assert Image.open(io.BytesIO(agency_state(app, tenant_a)[2])).size == (326, 300)


def test_a_logo_just_over_2_mb_gets_the_field_error(app, admin, tenant_a):
    raw = noisy_png((1000, 703))
    assert 2 * 1024 * 1024 < len(raw) < 2 * 1024 * 1024 + 60_000
    response = upload(admin, app, "/admin/settings/branding", {}, raw)
    assert response.status_code == 422
    assert "The logo file is larger than 2 MB." in page_text(response)
    assert agency_state(app, tenant_a)[2] is None


def test_the_branding_form_needs_a_csrf_token(app, admin, tenant_a):
    before = agency_state(app, tenant_a)
    response = admin.post(
        "/admin/settings/branding",
        data={"brand_colour": "#2b6cb0", "logo": (io.BytesIO(png()), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert agency_state(app, tenant_a) == before


def test_recruiters_get_403_everywhere(app, admin, tenant_a):
    upload(admin, app, "/admin/settings/branding", {}, png())
    upload(admin, app, f"/admin/clients/{tenant_a.client_id}", client_fields(tenant_a), png())
    before = agency_state(app, tenant_a)
    recruiter = app.test_client()
    sign_in(recruiter, app, tenant_a.recruiter["email"])

    assert recruiter.get(f"/admin/agency/{tenant_a.agency_id}/logo.png").status_code == 403
    assert recruiter.get(f"/admin/clients/{tenant_a.client_id}/logo.png").status_code == 403
    assert upload(recruiter, app, "/admin/settings/branding", {"brand_colour": "#000000"}).status_code == 403
    huge = upload(recruiter, app, "/admin/settings/branding", {}, b"\x00" * (30 * 1024 * 1024))
    assert huge.status_code == 303  # refused before the policy runs: back to the page, which says 403
    assert recruiter.get(huge.headers["Location"]).status_code == 403
    assert agency_state(app, tenant_a) == before


def test_anonymous_visitors_are_sent_to_sign_in(app, tenant_a):
    anonymous = app.test_client()
    for url in (f"/admin/agency/{tenant_a.agency_id}/logo.png", f"/admin/clients/{tenant_a.client_id}/logo.png"):
        response = anonymous.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


# --- A client's reports ------------------------------------------------------------------------------


def test_admin_sets_a_clients_colour_logo_and_sections_and_sees_them_again(app, admin, tenant_a):
    url = f"/admin/clients/{tenant_a.client_id}"
    form = admin.get(url)
    body = page_text(form)
    assert "Reports for this client" in body
    assert "The cover and the methodology appendix always appear." in body
    assert all(f'value="{key}" checked' in body for key in SECTIONS)  # never chosen: everything
    assert 'enctype="multipart/form-data"' in body

    response = upload(
        admin,
        app,
        url,
        client_fields(tenant_a, brand_colour="#276749", sections=["fit", "summary", "competencies"]),
        png((300, 100), "#276749"),
    )

    assert response.status_code == 302
    name, _, brand, logo, sha, disclosure = client_state(app, tenant_a.client_id)
    assert (name, brand) == (tenant_a.client_name, "#276749")
    assert disclosure == ["summary", "competencies", "fit"]  # in the report's order
    assert hashlib.sha256(logo).hexdigest() == sha
    assert "client.reports_updated" in audit_actions(app)

    body = page_text(admin.get(url))
    for key in SECTIONS:
        ticked = f'value="{key}" checked' in body
        assert ticked is (key in ("summary", "competencies", "fit")), key
    assert 'value="#276749"' in body
    [src] = re.findall(r'<img src="(/admin/clients/[^"]+/logo\.png[^"]*)"', body)
    preview = admin.get(src.replace("&amp;", "&"))
    assert preview.status_code == 200 and preview.data == logo
    assert preview.headers["Content-Type"] == "image/png"
    assert "no-store" in preview.headers["Cache-Control"]
    assert preview.headers["X-Content-Type-Options"] == "nosniff"


def test_no_sections_ticked_leaves_only_the_cover_and_methodology(app, admin, tenant_a):
    assert upload(admin, app, f"/admin/clients/{tenant_a.client_id}", client_fields(tenant_a)).status_code == 302
    assert client_state(app, tenant_a.client_id)[5] == []


def test_an_unknown_section_is_refused(app, admin, tenant_a):
    before = client_state(app, tenant_a.client_id)
    response = upload(
        admin, app, f"/admin/clients/{tenant_a.client_id}", client_fields(tenant_a, sections=["summary", "salary"])
    )
    assert response.status_code == 422
    assert client_state(app, tenant_a.client_id) == before


def test_a_new_client_starts_with_every_section_ticked_and_can_have_a_logo(app, admin, tenant_a):
    body = page_text(admin.get("/admin/clients/new"))
    assert all(f'value="{key}" checked' in body for key in SECTIONS)
    response = upload(
        admin,
        app,
        "/admin/clients/new",
        {"name": "Harbour Logistics", "sections": list(SECTIONS), "brand_colour": "#1F4E79"},
        png(),
    )
    assert response.status_code == 302
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.name == "Harbour Logistics"))
        assert client.disclosure == list(SECTIONS)
        assert client.brand_colour == "#1f4e79"
        assert client.logo_sha256 is not None


def test_a_new_client_with_a_bad_logo_is_not_created(app, admin, tenant_a):
    response = upload(admin, app, "/admin/clients/new", {"name": "Harbour Logistics"}, b"GIF89a not really")
    assert response.status_code == 422
    assert "The logo must be a PNG or JPEG image." in page_text(response)
    with app.app_context():
        assert db.session.scalar(select(Client).where(Client.name == "Harbour Logistics")) is None


def test_a_client_logo_that_is_not_an_image_changes_nothing_not_even_the_name(app, admin, tenant_a):
    before, actions = client_state(app, tenant_a.client_id), audit_actions(app)
    response = upload(
        admin,
        app,
        f"/admin/clients/{tenant_a.client_id}",
        client_fields(tenant_a, name="Renamed Ltd", brand_colour="#276749", sections=["summary"]),
        b"%PDF-1.7 not a logo",
        "logo.png",
    )
    assert response.status_code == 422
    assert re.search(r'id="logo-error">The logo must be a PNG or JPEG image\.<', page_text(response))
    assert client_state(app, tenant_a.client_id) == before
    assert audit_actions(app) == actions


def test_a_30_mb_client_logo_gives_a_clear_message_and_changes_nothing(app, admin, tenant_a):
    url = f"/admin/clients/{tenant_a.client_id}"
    before = client_state(app, tenant_a.client_id)
    response = upload(
        admin, app, url, client_fields(tenant_a, name="Renamed Ltd"), b"\xff\xd8\xff" + b"\x00" * (30 * 1024 * 1024)
    )
    assert response.status_code == 303
    assert response.headers["Location"] == url
    page = admin.get(url)
    assert "The file is larger than 2 MB, so nothing was saved." in page_text(page)
    assert client_state(app, tenant_a.client_id) == before


def test_removing_a_clients_logo(app, admin, tenant_a):
    url = f"/admin/clients/{tenant_a.client_id}"
    upload(admin, app, url, client_fields(tenant_a), png())
    assert "Remove the client's logo" in page_text(admin.get(url))
    upload(admin, app, url, client_fields(tenant_a, remove_logo="y"))
    assert client_state(app, tenant_a.client_id)[3:5] == (None, None)
    assert f"{url}/logo.png" not in page_text(admin.get(url))
    assert_blank(admin.get(f"{url}/logo.png"))


def test_an_admin_of_another_agency_gets_404_for_the_client_logo(app, admin, tenant_a, tenant_b):
    upload(admin, app, f"/admin/clients/{tenant_a.client_id}", client_fields(tenant_a), png())
    assert admin.get(f"/admin/clients/{tenant_a.client_id}/logo.png").status_code == 200
    other = app.test_client()
    sign_in(other, app, tenant_b.admin["email"])

    response = other.get(f"/admin/clients/{tenant_a.client_id}/logo.png")

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert upload(other, app, f"/admin/clients/{tenant_a.client_id}", client_fields(tenant_a), png()).status_code == 404
    assert other.get(f"/admin/agency/{tenant_a.agency_id}/logo.png").status_code == 404
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.object_public_id) == ("access.denied.scope", tenant_a.agency_id)


# --- The demo seed -----------------------------------------------------------------------------------


def apply_demo(app, tenant) -> None:
    from database import unit_of_work, utcnow
    from reports.demo_branding import apply_demo_branding

    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant.agency_id))
        clients = list(db.session.scalars(select(Client).where(Client.agency_id == agency.id).order_by(Client.id)))
        apply_demo_branding(agency, clients, utcnow())


def test_demo_branding_is_applied_once_and_is_idempotent(app, tenant_a):
    apply_demo(app, tenant_a)
    brand, accent, logo, sha, feedback = agency_state(app, tenant_a)
    assert (brand, accent, feedback) == ("#1d4e89", "#b7472a", True)
    assert Image.open(io.BytesIO(logo)).size == (400, 120)
    assert sha == hashlib.sha256(logo).hexdigest()
    _, _, client_brand, client_logo, client_sha, disclosure = client_state(app, tenant_a.client_id)
    assert client_brand == "#2f6b3a" and disclosure is None
    assert client_sha == hashlib.sha256(client_logo).hexdigest()
    agency_first, client_first, actions = (
        agency_state(app, tenant_a),
        client_state(app, tenant_a.client_id),
        audit_actions(app),
    )
    assert actions[-2:] == ["agency.branding_updated", "client.reports_updated"]

    apply_demo(app, tenant_a)

    assert agency_state(app, tenant_a) == agency_first
    assert client_state(app, tenant_a.client_id) == client_first
    assert audit_actions(app) == actions


def test_demo_branding_keeps_an_admins_own_choices(app, admin, tenant_a):
    upload(admin, app, "/admin/settings/branding", {"brand_colour": "#000000"})
    apply_demo(app, tenant_a)
    brand, accent, logo, _, feedback = agency_state(app, tenant_a)
    assert (brand, accent, feedback) == ("#000000", "#b7472a", False)
    assert logo is not None
