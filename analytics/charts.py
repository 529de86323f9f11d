"""Inline SVG charts for the analytics pages: a histogram of scores on the 0-100 provisional scale.

The SVG is built here as markup with every piece of text escaped, so templates print it as it is (no
``|safe``) and the same markup can go into a PDF later. It draws with presentation attributes only (the
content security policy refuses inline styles) and needs no JavaScript. Accessible: ``role="img"``, a
<title> and a <desc> that gives N, mean, SD, minimum, maximum and the count in every bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

import scoring

__all__ = ["BIN_WIDTH", "Bin", "Histogram", "Summary", "histogram", "histogram_svg", "summarize"]

BIN_WIDTH: Final = 10
"""Ten bars of 10 points: 0 to under 10, ..., 90 to 100 (the last bar holds 100)."""

# A narrow drawing, so its text stays readable where the chart is narrow: about 10 px on a 360-pixel phone,
# where the chart is some 280 pixels wide, and 12 px in a column of three on the desktop.
WIDTH: Final = 360
HEIGHT: Final = 230
LEFT: Final = 44
RIGHT: Final = 16
TOP: Final = 12
BOTTOM: Final = 40


@dataclass(frozen=True)
class Summary:
    """N, mean, sample SD (ddof=1; None below 2 scores), minimum and maximum of scores on 0-100."""

    n: int
    mean: float | None
    sd: float | None
    minimum: float | None
    maximum: float | None

    def text(self) -> str:
        """The summary in words, each number to 1 dp: "N = 40, mean 61.3, SD 12.0, lowest 32.5, highest 90.0"."""
        if self.n == 0:
            return "N = 0: no scores yet"
        parts = [f"N = {self.n}", f"mean {_one(self.mean)}"]
        parts.append(f"SD {_one(self.sd)}" if self.sd is not None else "SD not defined for one score")
        parts += [f"lowest {_one(self.minimum)}", f"highest {_one(self.maximum)}"]
        return ", ".join(parts)


@dataclass(frozen=True)
class Bin:
    """One bar: scores from ``low`` up to ``high`` (``high`` included only in the last bar)."""

    low: int
    high: int
    count: int

    @property
    def label(self) -> str:
        """The range in words: "0 to under 10", ..., "90 to 100"."""
        return f"{self.low} to 100" if self.high == 100 else f"{self.low} to under {self.high}"


@dataclass(frozen=True)
class Histogram:
    """The bars and the summary of one set of scores on the 0-100 scale."""

    bins: tuple[Bin, ...]
    summary: Summary


def summarize(scores: Sequence[float]) -> Summary:
    """N, mean, sample SD, min and max of scores on 0-100; raises ValueError for a score that is not finite."""
    values = [float(score) for score in scores]
    if any(not math.isfinite(value) for value in values):
        raise ValueError("scores must be finite")
    if not values:
        return Summary(0, None, None, None, None)
    mean = math.fsum(values) / len(values)
    sd = scoring.sample_sd(values) if len(values) >= 2 else None
    return Summary(len(values), mean, sd, min(values), max(values))


def histogram(scores: Sequence[float]) -> Histogram:
    """Count scores on 0-100 into ten bars of 10 points; raises ValueError for a score outside [0, 100]."""
    counts = [0] * (100 // BIN_WIDTH)
    for score in scores:
        if not 0.0 <= score <= 100.0:
            raise ValueError(f"a score on the 0-100 scale, got {score!r}")
        counts[min(int(score // BIN_WIDTH), len(counts) - 1)] += 1
    bins = tuple(
        Bin(i * BIN_WIDTH, 100 if i == len(counts) - 1 else (i + 1) * BIN_WIDTH, count)
        for i, count in enumerate(counts)
    )
    return Histogram(bins, summarize(scores))


def histogram_svg(chart: Histogram, *, chart_id: str, title: str) -> Markup:
    """The histogram as an inline, accessible SVG; ``chart_id`` must be unique on the page."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    tallest = max((b.count for b in chart.bins), default=0)
    scale_max = max(1, tallest)
    bar_width = plot_width / len(chart.bins)
    counts = "; ".join(f"{b.label}: {b.count}" for b in chart.bins)
    description = f"{chart.summary.text()}. Candidates per band of 10 points: {counts}."
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {w} {h}" '
            'width="100%" preserveAspectRatio="xMinYMin meet" aria-labelledby="{id}-title {id}-desc">'
            '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        ).format(w=WIDTH, h=HEIGHT, id=chart_id, title=title, desc=description)
    ]
    baseline = TOP + plot_height
    for tick in sorted({0, scale_max // 2, scale_max}):
        y = baseline - plot_height * tick / scale_max
        parts.append(
            Markup(
                '<line x1="{x1}" y1="{y:.1f}" x2="{x2}" y2="{y:.1f}" stroke="#c9ced6" stroke-width="1"/>'
                '<text x="{tx}" y="{ty:.1f}" font-size="13" text-anchor="end" fill="#3d4451">{tick}</text>'
            ).format(x1=LEFT, x2=WIDTH - RIGHT, y=y, tx=LEFT - 6, ty=y + 4, tick=tick)
        )
    for i, bar in enumerate(chart.bins):
        x = LEFT + i * bar_width
        height = plot_height * bar.count / scale_max
        parts.append(
            Markup(
                '<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="#2f5d8a">'
                "<title>{label}: {count}</title></rect>"
            ).format(x=x + 2, y=baseline - height, w=bar_width - 4, h=height, label=bar.label, count=bar.count)
        )
        parts.append(
            Markup('<text x="{x:.1f}" y="{y}" font-size="13" text-anchor="middle" fill="#3d4451">{low}</text>').format(
                x=x, y=baseline + 16, low=bar.low
            )
        )
    parts.append(
        Markup(
            '<text x="{x}" y="{y}" font-size="13" text-anchor="middle" fill="#3d4451">100</text>'
            '<line x1="{left}" y1="{b}" x2="{x}" y2="{b}" stroke="#3d4451" stroke-width="1"/>'
            '<text x="{mid:.1f}" y="{label_y}" font-size="13" text-anchor="middle" fill="#3d4451">'
            "Provisional score (0-100)</text>"
            '<text x="12" y="{middle:.1f}" font-size="13" fill="#3d4451" transform="rotate(-90 12 {middle:.1f})" '
            'text-anchor="middle">Candidates</text></svg>'
        ).format(
            x=WIDTH - RIGHT,
            y=baseline + 16,
            left=LEFT,
            b=baseline,
            mid=LEFT + plot_width / 2,
            label_y=HEIGHT - 6,
            middle=TOP + plot_height / 2,
        )
    )
    return Markup("").join(parts)


def _one(value: float | None) -> str:
    return "-" if value is None else f"{scoring.round_half_up(value, 1):.1f}"
