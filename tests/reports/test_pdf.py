"""The PDF render engine (reports.pdf): readable, tagged PDFs in the packaged font, and no way for report
HTML to read a local file, reach the network or embed an attachment (security.md items 41, 42, 45, 48)."""

from __future__ import annotations

import ast
import base64
import contextlib
import http.server
import io
import logging
import secrets
import socket
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import weasyprint
from pypdf import PdfReader

from reports.pdf import ASSETS, DATA_URI_MAX, BlockedURL, RestrictedFetcher, render_pdf
from tests.reports.pdftools import pdf_text, pdf_uncompressed

ROOT = Path(__file__).resolve().parents[2]
FONT_CSS = 'body { font-family: "Rapport Sans"; }'


def page(body: str, head: str = "") -> str:
    return f'<!doctype html><html lang="en"><head><title>Report</title>{head}</head><body>{body}</body></html>'


def png(width: int, height: int, extra_chunk: bytes = b"") -> bytes:
    """A valid RGB PNG of zeros, optionally carrying an ancillary chunk (which makes it big but still valid)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + b"\0" * (width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = chunk(b"zzZz", extra_chunk) if extra_chunk else b""
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def data_uri(content: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64," + base64.b64encode(content).decode()


def image_count(pdf: bytes) -> int:
    reader = PdfReader(io.BytesIO(pdf))
    return sum(len(p.images) for p in reader.pages)


# --- a plain render -----------------------------------------------------------------------------


def test_a_render_is_a_readable_tagged_pdf_in_the_packaged_font():
    rendered = render_pdf(page("<h1>Café report</h1><p>Salary £42,000 or €50,000, <b>négociable</b>.</p>"), FONT_CSS)

    assert rendered.pdf.startswith(b"%PDF-")
    assert rendered.pages == 1
    assert rendered.render_ms >= 0
    text = pdf_text(rendered.pdf)
    assert "Café report" in text
    assert "Salary £42,000 or €50,000, négociable." in text

    reader = PdfReader(io.BytesIO(rendered.pdf))
    catalogue = reader.trailer["/Root"]
    assert "/MarkInfo" in catalogue or "/StructTreeRoot" in catalogue
    assert "/StructTreeRoot" in catalogue  # PDF/UA-1: a tagged structure, not only the flag
    fonts = [font.get_object() for font in reader.pages[0]["/Resources"]["/Font"].values()]
    # WeasyPrint names the embedded font after the CSS family; the font program inside is Liberation Sans.
    assert sorted(str(font["/BaseFont"]).split("+")[1] for font in fonts) == ["Rapport-Sans", "Rapport-Sans-Bold"]
    for font in fonts:
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "Liberation Sans".encode("utf-16-be") in descriptor["/FontFile2"].get_object().get_data()


def test_the_pdf_names_no_weasyprint_version():
    rendered = render_pdf(page("<p>Producer</p>"), FONT_CSS)

    assert PdfReader(io.BytesIO(rendered.pdf)).metadata.producer == "Rapport"
    assert b"WeasyPrint" not in pdf_uncompressed(rendered.pdf)  # neither in the info nor in the XMP packet


def test_a_packaged_asset_is_fetched_and_nothing_outside_the_assets_is():
    fetcher = RestrictedFetcher()
    font = ASSETS / "fonts" / "LiberationSans-Regular.ttf"

    response = fetcher.fetch(font.as_uri())
    assert response.read() == font.read_bytes()
    response.close()

    for url in (
        ASSETS.as_uri() + "/fonts/../../pdf.py",
        ASSETS.as_uri() + "/fonts/..%2F..%2Fpdf.py",
        ASSETS.as_uri() + "/missing.css",
        ASSETS.as_uri() + "/fonts",  # a folder, not a file
        "file://example.org" + font.as_posix(),
        "file:///etc/hostname",
        "http://127.0.0.1/",
        "ftp://127.0.0.1/x",
        "fonts.css",
    ):
        with pytest.raises(BlockedURL):
            fetcher.fetch(url)


def test_a_refused_url_is_logged_once_by_scheme_only(caplog):
    fetcher = RestrictedFetcher()
    with caplog.at_level(logging.WARNING, logger="reports.pdf"), pytest.raises(BlockedURL) as refused:
        fetcher.fetch("https://internal.example/secret-candidate-name?q=private")

    records = [r for r in caplog.records if r.name == "reports.pdf"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert "https" in records[0].getMessage()
    for fragment in ("internal.example", "secret-candidate-name", "private"):
        assert fragment not in records[0].getMessage()
        assert fragment not in str(refused.value)


# --- data: URIs ---------------------------------------------------------------------------------


def test_a_small_png_data_uri_renders():
    rendered = render_pdf(page(f'<img alt="Logo" src="{data_uri(png(4, 4))}">'), FONT_CSS)

    assert image_count(rendered.pdf) == 1


def test_a_data_uri_over_the_cap_is_refused(caplog):
    big = png(4, 4, extra_chunk=secrets.token_bytes(DATA_URI_MAX * 3 // 4 + 1024))
    uri = data_uri(big)
    assert len(uri) > DATA_URI_MAX

    with caplog.at_level(logging.WARNING, logger="reports.pdf"):
        rendered = render_pdf(page(f'<img alt="Logo" src="{uri}">'), FONT_CSS)

    assert image_count(rendered.pdf) == 0
    assert any("size cap" in r.getMessage() for r in caplog.records if r.name == "reports.pdf")


@pytest.mark.parametrize(
    "uri",
    [
        "data:image/svg+xml;base64," + base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"/>').decode(),
        "data:text/plain,hello",
        "data:application/pdf;base64,JVBERi0=",
    ],
)
def test_data_uris_other_than_png_or_jpeg_are_refused(uri):
    with pytest.raises(BlockedURL):
        RestrictedFetcher().fetch(uri)


def test_a_data_uri_stylesheet_is_refused():
    canary = "CANARY" + secrets.token_hex(8)
    css = f"p::after {{ content: '{canary}'; }}"
    html = page(
        "<p>Text</p>",
        head=f'<link rel="stylesheet" href="data:text/css,{css}"><style>@import url("data:text/css,{css}");</style>',
    )

    assert canary not in pdf_text(render_pdf(html, FONT_CSS).pdf)


# --- the canaries: local files, loopback HTTP, attachments ----------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with the canary, in the type the path asks for, and records it."""

    requests: list[str]
    bodies: dict[str, bytes]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        suffix = self.path.rsplit(".", 1)[-1]
        body = self.bodies.get(suffix, self.bodies["txt"])
        self.send_response(200)
        self.send_header("Content-Type", {"css": "text/css", "svg": "image/svg+xml"}.get(suffix, "text/plain"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


class _IPv6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[dict[str, object]]:
    """Canary files in a temporary folder and a loopback HTTP server (IPv4, and IPv6 when the machine has
    it) that serves the same canary and records every request."""
    secret = "CANARY" + secrets.token_hex(12)
    bodies = {
        "txt": f"{secret}\n".encode(),
        "css": f"body::after {{ content: '{secret}'; }}".encode(),
        "svg": (
            '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40">'
            f'<g id="x"><text x="0" y="20">{secret}</text></g></svg>'
        ).encode(),
    }
    folder = tmp_path / "outside-the-assets"
    folder.mkdir()
    for suffix, body in bodies.items():
        (folder / f"canary.{suffix}").write_bytes(body)

    requests: list[str] = []
    handler = type("Recorder", (_Recorder,), {"requests": requests, "bodies": bodies})
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)]
    port = servers[0].server_address[1]
    # Without an IPv6 loopback a request to [::1] fails to connect, and could not be recorded anyway.
    with contextlib.suppress(OSError):
        servers.append(_IPv6Server(("::1", port), handler))
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield {"secret": secret, "folder": folder, "port": port, "requests": requests}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


VECTORS = [
    '<img alt="" src="{svg}">',
    '<embed src="{svg}">',
    '<object data="{svg}"></object>',
    '<link rel="stylesheet" href="{css}">',
    '<style>@import url("{css}");</style>',
    '<style>@font-face {{ font-family: Evil; src: url("{txt}"); }} .evil {{ font-family: Evil; }}</style>'
    '<p class="evil">font</p>',
    "<div style=\"background: url('{svg}'); height: 40px\"></div>",
    "<ul style=\"list-style-image: url('{svg}')\"><li>item</li></ul>",
    '<style>.c{n}::before {{ content: url("{svg}"); }}</style><p class="c{n}">content</p>',
    '<svg width="400" height="40"><image href="{svg}" width="400" height="40"/></svg>',
    '<svg width="400" height="40"><use href="{svg}#x"/></svg>',
    '<a rel="attachment" href="{txt}">attachment link</a>',
    '<link rel="attachment" href="{txt}">',
    '<iframe src="{svg}"></iframe>',
]


def hostile_html(folder: Path, port: int) -> str:
    relative = "../" * 30 + folder.as_posix().lstrip("/")
    bases = [
        folder.as_uri(),
        relative,
        f"http://127.0.0.1:{port}",
        f"http://[::1]:{port}",
        f"http://localhost:{port}",
    ]
    parts = []
    n = 0
    for base in bases:
        for vector in VECTORS:
            n += 1
            # A query per vector: WeasyPrint caches images by URL, and each vector must be tried on its own.
            urls = {kind: f"{base}/canary.{kind}?v={n}" for kind in ("svg", "css", "txt")}
            parts.append(vector.format(n=n, **urls))
    parts.append('<img alt="" src="file:///etc/hostname"><a rel="attachment" href="file:///etc/hostname">host</a>')
    parts.append('<link rel="attachment" href="file:///etc/passwd">')
    return page("<h1>Hostile report</h1>" + "\n".join(parts))


def test_no_vector_reads_a_file_reaches_the_network_or_embeds_an_attachment(canary, caplog):
    secret, folder, port, requests = canary["secret"], canary["folder"], canary["port"], canary["requests"]
    assert isinstance(secret, str) and isinstance(folder, Path) and isinstance(port, int)

    with caplog.at_level(logging.WARNING, logger="reports.pdf"):
        rendered = render_pdf(hostile_html(folder, port), FONT_CSS)

    text = pdf_text(rendered.pdf)
    assert "Hostile report" in text  # the render still succeeds
    assert secret not in text
    assert secret.encode() not in rendered.pdf
    uncompressed = pdf_uncompressed(rendered.pdf)
    assert secret.encode() not in uncompressed
    assert requests == []
    assert PdfReader(io.BytesIO(rendered.pdf)).attachments == {}
    assert b"/EmbeddedFile" not in uncompressed
    assert b"/FileAttachment" not in uncompressed

    messages = [r.getMessage() for r in caplog.records if r.name == "reports.pdf"]
    assert any("a file: URL" in m for m in messages)
    assert any("a http: URL" in m for m in messages)
    assert not [m for m in messages if str(port) in m or folder.name in m or "canary" in m]


def test_the_canary_test_would_see_a_leak(canary):
    """WeasyPrint's own fetcher reads the same canary: so the test above fails if ours stops refusing."""
    secret, folder = canary["secret"], canary["folder"]
    assert isinstance(secret, str) and isinstance(folder, Path)
    html = page(
        f'<link rel="stylesheet" href="{folder.as_uri()}/canary.css">'
        f'<link rel="attachment" href="{folder.as_uri()}/canary.txt">'
    )

    leaked = weasyprint.HTML(string=html).write_pdf()

    assert secret in pdf_text(leaked)
    assert PdfReader(io.BytesIO(leaked)).attachments != {}


def test_an_asset_named_as_an_attachment_is_not_embedded():
    """The fetcher allows packaged assets, so only removing the attachments keeps a font out of the PDF."""
    html = page(
        '<p>Attachments</p><a rel="attachment" href="fonts/LiberationSans-Regular.ttf">font</a>'
        '<link rel="attachment" href="fonts.css">'
    )
    base_url = ASSETS.as_uri() + "/"
    without_removal = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=RestrictedFetcher()).write_pdf()
    # pypdf lists the document's attachments (<link>) but not the file-attachment annotations (<a>).
    assert len(PdfReader(io.BytesIO(without_removal)).attachments) == 1
    assert pdf_uncompressed(without_removal).count(b"/Type /EmbeddedFile") == 2

    rendered = render_pdf(html, FONT_CSS)

    uncompressed = pdf_uncompressed(rendered.pdf)
    assert PdfReader(io.BytesIO(rendered.pdf)).attachments == {}
    assert b"/EmbeddedFile" not in uncompressed
    assert b"/FileAttachment" not in uncompressed
    assert "Attachments" in pdf_text(rendered.pdf)


def test_the_engine_leaves_pillow_refusing_truncated_images():
    """WeasyPrint's import switches Pillow to accept truncated files process-wide; reports.pdf switches it back."""
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --- where WeasyPrint may be imported ------------------------------------------------------------


def module_level_imports(path: Path) -> list[str]:
    """Modules imported when `path` is imported (statements outside functions and classes)."""
    found: list[str] = []
    pending: list[ast.stmt] = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.If | ast.Try | ast.With):
            pending += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
    return found


def test_only_the_render_engine_imports_weasyprint_at_import_time():
    skip = {".venv", "node_modules", ".git", "instance", "__pycache__", "migrations", "tests", "benchmarks"}
    offenders = []
    folders = [p for p in ROOT.iterdir() if p.is_dir() and p.name not in skip]
    paths = [*ROOT.glob("*.py"), *(path for folder in folders for path in folder.rglob("*.py"))]
    for path in paths:
        relative = path.relative_to(ROOT)
        if set(relative.parts) & skip or relative == Path("reports/pdf.py"):
            continue
        heavy = [m for m in module_level_imports(path) if m.split(".")[0] == "weasyprint" or m == "reports.pdf"]
        if heavy:
            offenders.append(f"{relative}: {heavy}")
    assert offenders == []


def test_importing_the_pool_loads_neither_weasyprint_nor_flask():
    probe = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import reports.pool; "
        "print(sorted({'weasyprint', 'flask', 'app', 'reports.pdf'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
