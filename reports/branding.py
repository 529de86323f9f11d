"""Report branding: colours checked as #rrggbb, logos checked and re-encoded as PNG, and the colours a
report prints with.

Only two kinds of user input reach a report's look: a colour that parse_colour() has reduced to
"#rrggbb", passed to the print CSS as a custom property, and a logo that process_logo() has decoded and
re-encoded as a fresh PNG without metadata. The functions at the top take no request, no session and no
clock; the two services at the end change an agency or a client inside the caller's unit of work.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from accounts import audit
from accounts.models import Agency, Client, User
from reports.sections import SECTIONS

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_BRAND: Final = "#1f4e79"
DEFAULT_ACCENT: Final = "#c05621"
WHITE: Final = "#ffffff"
MIN_CONTRAST: Final = 4.5  # WCAG 2.x AA for body text

LOGO_MAX_BYTES: Final = 2 * 1024 * 1024
LOGO_MAX_MB: Final = LOGO_MAX_BYTES // (1024 * 1024)
LOGO_MAX_PIXELS: Final = 25_000_000
LOGO_BOX: Final = (800, 300)

COLOUR_MESSAGE: Final = "Give a colour as # and six hex digits, for example #1f4e79."
NOT_AN_IMAGE: Final = "The logo must be a PNG or JPEG image."
TOO_LARGE: Final = (
    f"The logo file is larger than {LOGO_MAX_MB} MB. Save it smaller (800 × 300 pixels is plenty) and try again."
)
TOO_MANY_PIXELS: Final = (
    "The logo image has more than 25 million pixels. Save it smaller (800 × 300 pixels is plenty) and try again."
)

_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC: Final = b"\xff\xd8\xff"
# Pillow names a multi-picture JPEG (some phone cameras) "MPO"; its first picture is an ordinary JPEG.
_FORMATS: Final = ("PNG", "JPEG", "MPO")


class BrandingError(ValueError):
    """A colour or logo was refused; the message is safe to show, `field` names the form field."""

    def __init__(self, message: str, field: str = "logo") -> None:
        super().__init__(message)
        self.field = field


# --- Colours ---------------------------------------------------------------------------------------


def parse_colour(text: str | None, field: str = "brand_colour") -> str | None:
    """ "#RRGGBB" or "rrggbb" in any case as lower-case "#rrggbb"; empty gives None; raises BrandingError."""
    text = (text or "").strip()
    if not text:
        return None
    match = _COLOUR.fullmatch(text)
    if match is None:
        raise BrandingError(COLOUR_MESSAGE, field)
    return f"#{match.group(1).lower()}"


def _luminance(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(fg: str, bg: str) -> float:
    """The WCAG 2.x contrast ratio (1 to 21) of two "#rrggbb" colours."""
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def contrast_ok(fg: str, bg: str = WHITE) -> bool:
    """Whether text in fg on bg reaches WCAG AA's 4.5:1."""
    return contrast_ratio(fg, bg) >= MIN_CONTRAST


def brand_colours(agency: Agency, client: Client | None) -> dict[str, str]:
    """The CSS custom properties a report prints with: {"--brand": "#rrggbb", "--accent": "#rrggbb"}.

    --brand is the client's colour, else the agency's, else DEFAULT_BRAND; --accent is the agency's accent,
    else DEFAULT_ACCENT. Reports print text in both colours on white, so a chosen colour under 4.5:1
    contrast against white is skipped for the next one in that order (a too-light client colour gives
    the agency's colour, a too-light agency colour the default). Stored values are checked again here,
    so nothing but "#rrggbb" ever comes out.
    """
    return {
        "--brand": _first_readable(client.brand_colour if client else None, agency.brand_colour, DEFAULT_BRAND),
        "--accent": _first_readable(agency.accent_colour, DEFAULT_ACCENT),
    }


def _first_readable(*choices: str | None) -> str:
    for choice in choices[:-1]:
        try:
            colour = parse_colour(choice)
        except BrandingError:
            continue
        if colour is not None and contrast_ok(colour):
            return colour
    return str(choices[-1])


def swatch_data_uri(colour: str) -> str:
    """A small square PNG of a checked "#rrggbb" colour, for the settings pages (no inline style under the CSP)."""
    from PIL import Image  # Pillow loads with the first settings page or logo, not at a web worker's start

    checked = parse_colour(colour)
    if checked is None:
        raise BrandingError(COLOUR_MESSAGE)
    image = Image.new("RGB", (24, 24), checked)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return logo_data_uri(out.getvalue())


# --- Logos -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessedLogo:
    """A logo re-encoded by process_logo(): PNG bytes without metadata, their SHA-256, and the size."""

    png: bytes
    sha256: str
    width: int
    height: int


def process_logo(data: bytes) -> ProcessedLogo:
    """Check an uploaded logo and re-encode it: PNG or JPEG by content only, at most LOGO_MAX_BYTES and
    LOGO_MAX_PIXELS (checked from the header, before decoding), downsized to fit LOGO_BOX, metadata
    stripped, written as an optimised PNG. Raises BrandingError with a message for the person uploading.
    """
    from PIL import Image

    if len(data) > LOGO_MAX_BYTES:
        raise BrandingError(TOO_LARGE)
    if not (data.startswith(_PNG_MAGIC) or data.startswith(_JPEG_MAGIC)):
        raise BrandingError(NOT_AN_IMAGE)
    with warnings.catch_warnings():
        # Pillow warns (and past twice its limit, raises) on huge headers; both mean a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_FORMATS) as opened:
                width, height = opened.size
                if width * height > LOGO_MAX_PIXELS:
                    raise BrandingError(TOO_MANY_PIXELS)
                image = _decoded(opened)
        except BrandingError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BrandingError(TOO_MANY_PIXELS) from exc
        except Exception as exc:  # whatever a damaged or hostile file makes the decoder raise, it is refused
            raise BrandingError(NOT_AN_IMAGE) from exc
    image.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    # A fresh image from the pixels alone: no EXIF, ICC profile, text chunks, DPI or comments survive.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    png = out.getvalue()
    return ProcessedLogo(png=png, sha256=hashlib.sha256(png).hexdigest(), width=clean.width, height=clean.height)


def _decoded(opened: Image.Image) -> Image.Image:
    """Decode the first frame, turned upright as its EXIF says, as RGBA when it has transparency, else RGB."""
    from PIL import ImageOps

    if opened.format not in _FORMATS:
        raise BrandingError(NOT_AN_IMAGE)
    if opened.format in ("JPEG", "MPO"):
        opened.draft("RGB", (LOGO_BOX[0] * 2, LOGO_BOX[1] * 2))  # decode at a reduced scale when it is large
    opened.load()
    upright = ImageOps.exif_transpose(opened) or opened
    transparent = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    return upright.convert("RGBA" if transparent else "RGB")


def logo_data_uri(png: bytes) -> str:
    """The PNG as a data: URI for an <img> in a report or a page."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@lru_cache(maxsize=1)
def no_logo_png() -> bytes:
    """A one-pixel transparent PNG: what a logo preview shows when there is no logo."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (1, 1), (0, 0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def logo_size(png: bytes) -> tuple[int, int]:
    """Width and height of a stored (already checked) logo, read from its header."""
    from PIL import Image

    with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
        return image.size


def preview_width(png: bytes, box: tuple[int, int] = (240, 90)) -> int:
    """The width at which a stored logo fits the box on a settings page (the height follows)."""
    width, height = logo_size(png)
    return max(1, min(width, round(width * min(box[0] / width, box[1] / height))))


# --- Saving (services: the caller holds the unit of work) --------------------------------------------


@dataclass(frozen=True)
class AgencyBranding:
    """What the agency's branding form sends: colour texts, an uploaded logo's bytes (or None), flags."""

    brand_colour: str | None
    accent_colour: str | None
    logo: bytes | None
    remove_logo: bool
    feedback_reports: bool


@dataclass(frozen=True)
class ClientReports:
    """What the client form sends for the client's reports: colour text, logo bytes, flags, section keys."""

    brand_colour: str | None
    logo: bytes | None
    remove_logo: bool
    sections: list[str]


def update_agency_branding(agency: Agency, changes: AgencyBranding, *, by: User, now: datetime) -> None:
    """Set the agency's report colours, logo and feedback-report choice, audited with what changed.

    Everything is checked before anything changes: raises BrandingError (with the field) and changes nothing.
    """
    brand = parse_colour(changes.brand_colour, "brand_colour")
    accent = parse_colour(changes.accent_colour, "accent_colour")
    logo = process_logo(changes.logo) if changes.logo is not None else None
    before = _agency_state(agency)
    agency.brand_colour = brand
    agency.accent_colour = accent
    _set_logo(agency, logo, remove=changes.remove_logo)
    agency.feedback_reports = changes.feedback_reports
    audit.record(
        "agency.branding_updated",
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id,
        object_type="agency",
        object_public_id=agency.public_id,
        details=_changes(before, _agency_state(agency)),
    )


def update_client_reports(client: Client, changes: ClientReports, *, by: User, now: datetime) -> None:
    """Set a client's report colour, logo and disclosed sections; audited when something changed.

    Unknown section keys are dropped; the stored list follows SECTIONS' order. Raises BrandingError
    (with the field) before changing anything.
    """
    brand = parse_colour(changes.brand_colour, "brand_colour")
    logo = process_logo(changes.logo) if changes.logo is not None else None
    chosen = set(changes.sections)
    before = _client_state(client)
    client.brand_colour = brand
    _set_logo(client, logo, remove=changes.remove_logo)
    client.disclosure = [key for key in SECTIONS if key in chosen]
    after = _client_state(client)
    if after == before:
        return
    audit.record(
        "client.reports_updated",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="client",
        object_public_id=client.public_id,
        details=_changes(before, after),
    )


def _set_logo(owner: Agency | Client, logo: ProcessedLogo | None, *, remove: bool) -> None:
    """A new upload wins over "remove"; "remove" alone clears the logo."""
    if logo is not None:
        owner.logo_png = logo.png
        owner.logo_sha256 = logo.sha256
    elif remove:
        owner.logo_png = None
        owner.logo_sha256 = None


def _agency_state(agency: Agency) -> dict[str, Any]:
    return {
        "brand_colour": agency.brand_colour,
        "accent_colour": agency.accent_colour,
        "logo_sha256": agency.logo_sha256,
        "feedback_reports": agency.feedback_reports,
    }


def _client_state(client: Client) -> dict[str, Any]:
    return {
        "brand_colour": client.brand_colour,
        "logo_sha256": client.logo_sha256,
        "disclosure": ", ".join(client.disclosure) if client.disclosure is not None else "all",
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """{field: {"before", "after"}} for the fields that changed (colours, hashes, keys: never personal data)."""
    changed = {key: {"before": before[key], "after": after[key]} for key in before if before[key] != after[key]}
    return changed or None
