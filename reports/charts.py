"""The competency profile chart as inline SVG: one row per competency, the score as a dot on the sten scale
(1-10) with its 90% interval as a bar, or, before a norm group, the provisional score on 0-100 with no bar.

Plain SVG only (no script, no external references, no fonts beyond the report's): WeasyPrint draws it, and
its text is also given in the table beside it, so the chart is never the only carrier of a number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from reports.context import CompetencyLine

ROW = 26
LABEL_W = 190
PLOT_W = 300
PAD = 10
SCALE = 1.2  # drawn in SVG units, printed 20% larger to fill the text column (174 mm)
_COLOUR = re.compile(r"#[0-9a-f]{6}")
FONT = 'font-family="Rapport Sans"'
LABEL = f'font-size="9" fill="#1a1a1a" text-anchor="end" {FONT}'
TICK = f'font-size="7" fill="#555555" text-anchor="middle" {FONT}'
NOTE = f'font-size="8" fill="#666666" {FONT}'


def _x(value: float, low: float, high: float) -> float:
    return LABEL_W + PAD + (min(max(value, low), high) - low) / (high - low) * PLOT_W


def profile_svg(lines: Sequence[CompetencyLine], *, title: str, brand: str, accent: str) -> Markup:
    """The chart; stens when every scored line is normed, else the provisional 0-100 scale. Colours are
    presentation attributes (validated #rrggbb from the context), since document CSS does not reach inline SVG."""
    if not (_COLOUR.fullmatch(brand) and _COLOUR.fullmatch(accent)):
        raise ValueError("chart colours must be #rrggbb")
    scored = [line for line in lines if line.score is not None]
    normed = bool(scored) and all(line.score is not None and line.score.normed for line in scored)
    low, high = (1.0, 10.0) if normed else (0.0, 100.0)
    ticks = range(1, 11) if normed else range(0, 101, 20)
    height = ROW * (len(lines) + 1) + 2 * PAD
    width = LABEL_W + PLOT_W + 2 * PAD + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width * SCALE:.0f}" '
        f'height="{height * SCALE:.0f}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
    ]
    axis_y = PAD + ROW * len(lines) + 4
    if normed:
        # The average band (stens 5-6) shaded: about four people in ten score here.
        x5, x6 = _x(5, low, high), _x(6, low, high)
        parts.append(f'<rect x="{x5:.1f}" y="{PAD}" width="{x6 - x5:.1f}" height="{axis_y - PAD}" fill="#eef1f4"/>')
    for tick in ticks:
        x = _x(tick, low, high)
        parts.append(f'<line x1="{x:.1f}" y1="{PAD}" x2="{x:.1f}" y2="{axis_y}" stroke="#dddddd" stroke-width="0.6"/>')
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 14}" {TICK}>{tick}</text>')
    for index, line in enumerate(lines):
        y = PAD + ROW * index + ROW / 2
        parts.append(f'<text x="{LABEL_W}" y="{y + 4:.1f}" {LABEL}>{escape(line.name)}</text>')
        score = line.score
        if score is None:
            parts.append(f'<text x="{LABEL_W + PAD + 4}" y="{y + 4:.1f}" {NOTE}>not reported</text>')
            continue
        value: float = score.provisional
        if normed and score.sten is not None:
            value = score.sten
            if score.sten_range is not None:
                x1, x2 = _x(score.sten_range[0] - 0.4, low, high), _x(score.sten_range[1] + 0.4, low, high)
                box = f'x="{x1:.1f}" y="{y - 5:.1f}" width="{x2 - x1:.1f}" height="10" rx="5"'
                parts.append(f'<rect {box} fill="{accent}" fill-opacity="0.35"/>')
        parts.append(f'<circle cx="{_x(value, low, high):.1f}" cy="{y:.1f}" r="5.5" fill="{brand}"/>')
    parts.append("</svg>")
    # Every user-given text above went through escape(); the rest is numbers and checked colours.
    return Markup("".join(parts))  # noqa: S704
