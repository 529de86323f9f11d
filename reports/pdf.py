"""The PDF render engine: report HTML and CSS in, a tagged PDF out, with nothing fetched from outside
the packaged report assets.

WeasyPrint is imported here and only here, and this module is imported only by the render children
(reports.pool) and the tests: the web process never pays WeasyPrint's import time or memory, and a
hostile report cannot take it down. Report HTML carries recruiter- and candidate-written text, so every
way WeasyPrint has to reach a file or the network goes through RestrictedFetcher (security.md, E).
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import ctypes.util
import logging
import mimetypes
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit
from urllib.request import url2pathname

import pydyf
import weasyprint
from PIL import ImageFile
from weasyprint import CSS, HTML
from weasyprint.css.counters import CounterStyle
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import UNICODE_SCHEME_RE, URLFetcher, URLFetcherResponse

from reports.pool import RenderedPdf

# Importing WeasyPrint 70 sets this Pillow switch for the whole process (weasyprint/images.py). Put back
# Pillow's default: a truncated image is left out of a report rather than half drawn, and other code in
# the same process (the logo checks in reports.branding, in the test suite) still sees truncated files.
ImageFile.LOAD_TRUNCATED_IMAGES = False

__all__ = [
    "ASSETS",
    "DATA_URI_MAX",
    "AttachmentEmbedded",
    "BlockedURL",
    "RenderedPdf",
    "RestrictedFetcher",
    "harfbuzz_subset_available",
    "render_pdf",
]

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).parent / "assets"
_ASSETS_RESOLVED = ASSETS.resolve()
_BASE_URL = ASSETS.as_uri() + "/"
FONTS_CSS = (ASSETS / "fonts.css").read_text(encoding="utf-8")

# Logos arrive as data: URIs; 3 MB of base64 is a generous logo and keeps a render's memory bounded.
DATA_URI_MAX = 3 * 1024 * 1024
_DATA_IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})

# Shared by every render in this process: WeasyPrint copies each @font-face file into the
# configuration's folder once, so later renders reuse the two packaged faces instead of reloading them.
FONT_CONFIG = FontConfiguration()
# The font configuration is shared mutable state (Fontconfig and Pango objects): one render at a time.
_RENDER_LOCK = threading.Lock()

# PDF metadata names the software without its version, so a report does not advertise which
# WeasyPrint (and which known vulnerabilities) the server runs (security.md item 48).
PRODUCER = "Rapport"
_WEASYPRINT_PRODUCER = f"WeasyPrint {weasyprint.__version__}".encode()


class BlockedURL(ValueError):
    """A resource the report may not load. The message names the scheme only, never the URL."""


class AttachmentEmbedded(RuntimeError):
    """A PDF came out with an embedded file despite the attachments being removed before writing."""


class RestrictedFetcher(URLFetcher):
    """A URL fetcher that reads packaged report assets and small PNG/JPEG data: URIs, and nothing else.

    WeasyPrint routes every fetch through `fetch` (stylesheets, @import, fonts, images, SVG references,
    attachments, and redirects, which come back through `open`), so refusing here covers every vector.
    A refusal raises; WeasyPrint logs it and leaves the resource out, and the PDF is still made.
    """

    def __init__(self) -> None:
        # The base class is a urllib opener; the restrictions are repeated there in case a future
        # WeasyPrint calls the opener without going through `fetch`.
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False, timeout=5)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """Return the asset or image for `url`; raise BlockedURL for anything else."""
        match = UNICODE_SCHEME_RE.match(url)
        scheme = match[1].lower() if match else ""
        if scheme == "file":
            path = _asset_path(url)
            if path is not None:
                media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})
            raise _blocked(scheme, "outside the report assets")
        if scheme == "data":
            return _data_image(url)
        raise _blocked(scheme or "relative", "not allowed in reports")


def _blocked(scheme: str, why: str) -> BlockedURL:
    """Log one warning naming the scheme (the rest of a URL can carry user text) and build the error."""
    scheme = scheme[:20]
    logger.warning("Report render blocked a %s: URL (%s)", scheme, why)
    return BlockedURL(f"{scheme}: URL blocked ({why})")


def _asset_path(url: str) -> Path | None:
    """The file a file: URL names when it is a regular file inside the assets folder, else None."""
    try:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(parts.path)).resolve()
        if path.is_relative_to(_ASSETS_RESOLVED) and path.is_file():
            return path
    except (ValueError, OSError):  # NUL bytes, over-long names, loops of links
        return None
    return None


def _data_image(url: str) -> URLFetcherResponse:
    """Decode a data: URI that holds a PNG or JPEG within DATA_URI_MAX; raise BlockedURL otherwise."""
    if len(url) > DATA_URI_MAX:
        raise _blocked("data", "larger than the size cap")
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise _blocked("data", "malformed")
    media_type, *parameters = (part.strip().lower() for part in header.split(";"))
    if media_type not in _DATA_IMAGE_TYPES:
        raise _blocked("data", "not a PNG or JPEG image")
    body = unquote_to_bytes(payload)
    if "base64" in parameters:
        try:
            body = base64.b64decode(body)
        except (binascii.Error, ValueError):
            raise _blocked("data", "malformed base64") from None
    return URLFetcherResponse(url, body, {"Content-Type": media_type})


class _WithoutArguments(logging.Filter):
    """Drop the arguments of WeasyPrint's own log records: it logs whole URLs (which can carry user
    text, or be a 3 MB data: URI) and CSS snippets. The message template still says what went wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        return True


logging.getLogger("weasyprint").addFilter(_WithoutArguments())


def render_pdf(html: str, stylesheet: str) -> RenderedPdf:
    """Render report HTML with the packaged fonts plus `stylesheet` into a tagged (PDF/UA-1) PDF.

    Raises AttachmentEmbedded if the PDF would embed a file, and whatever WeasyPrint raises.
    """
    started = time.perf_counter()
    fetcher = RestrictedFetcher()
    counter_style = CounterStyle()
    color_profiles: dict[str, Any] = {}
    with _RENDER_LOCK:
        # Stylesheets are CSS(string=...) with our fetcher, never a URL or path: WeasyPrint builds a
        # default, unrestricted fetcher for those (GHSA-jf6q-chmf-3h3v). No xmp_metadata for the same reason.
        css = CSS(
            string=FONTS_CSS + "\n" + stylesheet,
            base_url=_BASE_URL,
            url_fetcher=fetcher,
            font_config=FONT_CONFIG,
            counter_style=counter_style,
            color_profiles=color_profiles,
        )
        document = HTML(string=html, base_url=_BASE_URL, url_fetcher=fetcher).render(
            font_config=FONT_CONFIG,
            counter_style=counter_style,
            color_profiles=color_profiles,
            stylesheets=[css],
            pdf_variant="pdf/ua-1",
        )
        _remove_attachments(document)
        pdf = document.write_pdf(pdf_variant="pdf/ua-1", finisher=_finish, attachments=None)
    # Belt and braces after the structural check in _finish: an embedded file is a stream, and pydyf never
    # packs streams into (compressed) object streams, so its /Type /EmbeddedFile is always readable bytes.
    if b"/EmbeddedFile" in pdf:
        raise AttachmentEmbedded("the PDF contains an embedded file")
    return RenderedPdf(pdf=pdf, pages=len(document.pages), render_ms=round((time.perf_counter() - started) * 1000))


def _remove_attachments(document: Any) -> None:
    """Drop every PDF attachment WeasyPrint collected from the HTML before anything is fetched for it.

    WeasyPrint 70 embeds files named by <link rel="attachment"> (document.metadata.attachments) and by
    <a rel="attachment"> (links of type "attachment" on each page), fetching them while writing the PDF.
    The fetcher would refuse anything outside the assets, but a report never needs an attachment, and an
    asset (a font) must not be attached either.
    """
    document.metadata.attachments = []
    for page in document.pages:
        page.links = [link for link in page.links if link[0] != "attachment"]


def _finish(document: Any, pdf: pydyf.PDF) -> None:
    """Check the written objects hold no embedded file, and name the producer without a version."""
    names = pdf.catalog.get("Names") or {}
    if "EmbeddedFiles" in names:
        raise AttachmentEmbedded("the PDF catalogue lists embedded files")
    for pdf_object in pdf.objects:
        if isinstance(pdf_object, dict) and (
            pdf_object.get("Type") in ("/Filespec", "/EmbeddedFile") or pdf_object.get("Subtype") == "/FileAttachment"
        ):
            raise AttachmentEmbedded("the PDF contains a file specification")
        if isinstance(pdf_object, pydyf.Stream) and pdf_object.extra.get("Type") in ("/EmbeddedFile", "/Metadata"):
            if pdf_object.extra["Type"] == "/EmbeddedFile":
                raise AttachmentEmbedded("the PDF contains an embedded file")
            # The XMP packet (PDF/UA requires one) repeats the producer; it is a single bytes chunk.
            pdf_object.stream = [
                chunk.replace(_WEASYPRINT_PRODUCER, PRODUCER.encode()) if isinstance(chunk, bytes) else chunk
                for chunk in pdf_object.stream
            ]
    pdf.info["Producer"] = pydyf.String(PRODUCER)


def harfbuzz_subset_available() -> bool:
    """Whether libharfbuzz-subset can be loaded: without it WeasyPrint subsets fonts with fontTools,
    and reports render about 2.4x slower."""
    try:
        ctypes.CDLL("libharfbuzz-subset.so.0")
    except OSError:
        return ctypes.util.find_library("harfbuzz-subset") is not None
    return True
