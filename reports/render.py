"""Turn a report context into print HTML and its stylesheet: the only input the render children receive.

The HTML comes from the print templates under templates/reports/print/, rendered by the app's Jinja with
autoescaping, from the context alone. The stylesheet is the packaged report.css plus the branding colours
as CSS custom properties; colours are validated #rrggbb, and no other user text reaches CSS.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from flask import render_template

from reports import charts
from reports.context import ReportContext

ASSETS = Path(__file__).resolve().parent / "assets"
_COLOUR = re.compile(r"#[0-9a-f]{6}")
_TEMPLATES = {"dossier": "dossier.html", "feedback": "feedback.html", "shortlist": "shortlist.html"}


@lru_cache(maxsize=1)
def _base_css() -> str:
    return (ASSETS / "report.css").read_text(encoding="utf-8")


def stylesheet_for(context: ReportContext) -> str:
    """The report CSS with the brand colours; a colour that is not #rrggbb is refused, never passed on."""
    brand, accent = context.branding.brand, context.branding.accent
    if not (_COLOUR.fullmatch(brand) and _COLOUR.fullmatch(accent)):
        raise ValueError("branding colours must be #rrggbb")
    return f":root {{ --brand: {brand}; --accent: {accent}; }}\n{_base_css()}"


def html_for(context: ReportContext) -> str:
    """The print HTML of a context (needs an app context for Jinja)."""
    return render_template(f"reports/print/{_TEMPLATES[context.kind]}", r=context, charts=charts)
