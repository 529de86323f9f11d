"""What a candidate sees of a scenario: sanitized Markdown and a view with no key in it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import nh3
from markupsafe import Markup

from scenarios.models import FORMAT_LABELS, SCALE_LABELS, Instruction, ResponseFormat, ScenarioVersion

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}

INSTRUCTIONS = {
    (Instruction.SHOULD_DO, ResponseFormat.RATE): (
        "How effective is each response? Rate each one from 1 (very ineffective) to 6 (very effective). "
        "Rate each response on its own. You may give the same rating to more than one response."
    ),
    (Instruction.SHOULD_DO, ResponseFormat.MOST_LEAST): (
        "Which response is the most effective, and which is the least effective? Choose one of each."
    ),
    (Instruction.SHOULD_DO, ResponseFormat.RANK): (
        "Put the responses in order from most effective (1) to least effective. Use each number once."
    ),
    (Instruction.SHOULD_DO, ResponseFormat.SINGLE_BEST): "Which response is the most effective? Choose one.",
    (Instruction.WOULD_DO, ResponseFormat.RATE): (
        "How likely are you to do each of these? Rate each one from 1 (very unlikely) to 6 (very likely)."
    ),
    (Instruction.WOULD_DO, ResponseFormat.MOST_LEAST): (
        "What would you be most likely to do, and least likely to do? Choose one of each."
    ),
    (Instruction.WOULD_DO, ResponseFormat.RANK): (
        "Put the responses in order from what you would most likely do (1) to least likely. Use each number once."
    ),
    (Instruction.WOULD_DO, ResponseFormat.SINGLE_BEST): "What would you most likely do? Choose one.",
}
WOULD_DO_SCALE = ("Very unlikely", "Unlikely", "Somewhat unlikely", "Somewhat likely", "Likely", "Very likely")


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt  # a tenth of a second to import: on the first stem shown, not at start

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML off, then an allowlist sanitizer: safe to show anywhere."""
    return Markup(_render_markdown(text or ""))  # noqa: S704 (nh3's output)


@lru_cache(maxsize=4096)
def _render_markdown(text: str) -> str:
    # Published stems never change, so each is rendered once per process.
    html = _markdown().render(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return str(clean)


@dataclass(frozen=True)
class CandidateOption:
    label: str
    text: str


@dataclass(frozen=True)
class CandidateItem:
    """One scenario as a candidate sees it: no key, no rationale, no weights, no rule."""

    ref: str
    stem_html: Markup
    instruction: str
    response_format: str
    format_label: str
    options: tuple[CandidateOption, ...]
    scale: tuple[str, ...]


def candidate_item(version: ScenarioVersion, ref: str | None = None) -> CandidateItem:
    """The candidate-facing view of a version; `ref` names its form fields (default: the version's public id)."""
    scale = SCALE_LABELS if version.instruction is Instruction.SHOULD_DO else WOULD_DO_SCALE
    return CandidateItem(
        ref=ref or version.public_id,
        stem_html=render_markdown(version.stem),
        instruction=INSTRUCTIONS[(version.instruction, version.response_format)],
        response_format=version.response_format.value,
        format_label=FORMAT_LABELS[version.response_format],
        options=tuple(CandidateOption(o.label, o.text) for o in version.options),
        scale=scale,
    )
