"""Report branding for the demo agency: colours and logos drawn with Pillow, so the reports look branded
after `make run`. Only what is unset is set, so the seed can run again and again and an admin's own
choices survive it."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Final

from PIL import Image, ImageDraw

from accounts import audit
from accounts.models import Agency, Client
from reports.branding import process_logo

AGENCY_BRAND: Final = "#1d4e89"
AGENCY_ACCENT: Final = "#b7472a"
CLIENT_BRAND: Final = "#2f6b3a"


def apply_demo_branding(agency: Agency, clients: list[Client], now: datetime) -> None:
    """Give the agency a brand colour, an accent and a logo, and offer feedback reports; give the first
    client its own colour and logo. Sets only what is unset (feedback reports only on the first run, when
    the agency has no branding at all), and audits what it set."""
    first_run = agency.brand_colour is None and agency.accent_colour is None and agency.logo_sha256 is None
    changed: dict[str, dict[str, object]] = {}
    if agency.brand_colour is None:
        agency.brand_colour = AGENCY_BRAND
        changed["brand_colour"] = {"before": None, "after": AGENCY_BRAND}
    if agency.accent_colour is None:
        agency.accent_colour = AGENCY_ACCENT
        changed["accent_colour"] = {"before": None, "after": AGENCY_ACCENT}
    if agency.logo_sha256 is None:
        logo = process_logo(draw_agency_logo())
        agency.logo_png, agency.logo_sha256 = logo.png, logo.sha256
        changed["logo_sha256"] = {"before": None, "after": logo.sha256}
    if first_run and not agency.feedback_reports:
        agency.feedback_reports = True
        changed["feedback_reports"] = {"before": False, "after": True}
    if changed:
        _record("agency.branding_updated", agency, "agency", agency.public_id, changed, now)
    if not clients:
        return
    client = clients[0]
    changed = {}
    if client.brand_colour is None:
        client.brand_colour = CLIENT_BRAND
        changed["brand_colour"] = {"before": None, "after": CLIENT_BRAND}
    if client.logo_sha256 is None:
        logo = process_logo(draw_client_logo())
        client.logo_png, client.logo_sha256 = logo.png, logo.sha256
        changed["logo_sha256"] = {"before": None, "after": logo.sha256}
    if changed:
        _record("client.reports_updated", agency, "client", client.public_id, changed, now)


def draw_agency_logo() -> bytes:
    """A 400 x 120 mark on a transparent ground: overlapping circle and square, and three rising bars."""
    image = Image.new("RGBA", (400, 120), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.ellipse((10, 10, 110, 110), fill=AGENCY_BRAND)
    pen.rounded_rectangle((70, 30, 150, 110), radius=14, fill=AGENCY_ACCENT)
    pen.ellipse((45, 45, 75, 75), fill="#ffffff")
    for i, height in enumerate((40, 65, 90)):
        left = 190 + i * 60
        pen.rounded_rectangle((left, 110 - height, left + 40, 110), radius=6, fill=AGENCY_BRAND)
    pen.rectangle((180, 112, 390, 116), fill=AGENCY_ACCENT)
    return _png(image)


def draw_client_logo() -> bytes:
    """A 240 x 80 mark: a diamond and two stripes in the client's colour."""
    image = Image.new("RGBA", (240, 80), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.polygon([(40, 5), (75, 40), (40, 75), (5, 40)], fill=CLIENT_BRAND)
    pen.polygon([(40, 22), (58, 40), (40, 58), (22, 40)], fill="#ffffff")
    pen.rounded_rectangle((95, 20, 230, 34), radius=7, fill=CLIENT_BRAND)
    pen.rounded_rectangle((95, 46, 190, 60), radius=7, fill=CLIENT_BRAND)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _record(
    action: str, agency: Agency, object_type: str, public_id: str, changed: dict[str, dict[str, object]], now: datetime
) -> None:
    audit.record(
        action,
        now=now,
        agency_public_id=agency.public_id,
        object_type=object_type,
        object_public_id=public_id,
        details=dict(changed),
    )
