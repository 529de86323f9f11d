"""Read PDFs back with poppler-utils and qpdf, for any test that checks a rendered report.

A missing tool skips the test with a one-line reason locally; with CI=true it fails instead, so CI
never passes by skipping (the same rule as PostgreSQL and Chromium).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import CI


def require_tool(name: str, package: str) -> str:
    """The tool's path; skips the calling test (fails it under CI=true) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (Debian package {package})"
        if CI:
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    return path


def pdf_text(pdf_bytes: bytes) -> str:
    """The PDF's text in reading order, as `pdftotext` extracts it (UTF-8)."""
    pdftotext = require_tool("pdftotext", "poppler-utils")
    result = subprocess.run([pdftotext, "-enc", "UTF-8", "-", "-"], input=pdf_bytes, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def pdf_pages_png(pdf_bytes: bytes, outdir: Path) -> list[Path]:
    """Each page as a PNG at 60 dpi (small enough to look at), in page order."""
    pdftoppm = require_tool("pdftoppm", "poppler-utils")
    outdir.mkdir(parents=True, exist_ok=True)
    source = outdir / "report.pdf"
    source.write_bytes(pdf_bytes)
    subprocess.run([pdftoppm, "-png", "-r", "60", str(source), str(outdir / "page")], check=True, capture_output=True)
    return sorted(outdir.glob("page-*.png"))


def pdf_uncompressed(pdf_bytes: bytes) -> bytes:
    """The PDF rewritten by qpdf with every stream and object stream decompressed, to search raw bytes."""
    qpdf = require_tool("qpdf", "qpdf")
    with tempfile.TemporaryDirectory(prefix="rapport-qpdf-") as folder:
        source, target = Path(folder) / "in.pdf", Path(folder) / "out.pdf"
        source.write_bytes(pdf_bytes)
        # Exit code 3 means "succeeded with warnings".
        result = subprocess.run(
            [qpdf, "--qdf", "--object-streams=disable", str(source), str(target)], capture_output=True, check=False
        )
        if result.returncode not in (0, 3):
            raise AssertionError(f"qpdf failed: {result.stderr.decode(errors='replace')}")
        return target.read_bytes()
