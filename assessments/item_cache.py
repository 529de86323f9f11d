"""What the item page and autosave need of a published item, built once per process.

A published scenario version is frozen, so its candidate view, its answer shape and even its whole item
page can be kept in memory: the page is rendered once per (item, number, total, timed) with markers where
the per-request parts go (the CSRF token, the revision, the time left, which choices are checked), and each
request fills the markers in. The markers carry a random per-process nonce, so no scenario text can forge
one. The cache lives on the app (``app.extensions``), keyed by the version's primary key, so a test's fresh
database never meets another's versions.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template

from database import db
from scenarios.models import ScenarioVersion
from scenarios.rendering import CandidateItem, candidate_item

_EXTENSION = "rapport.frozen_items"
_MAX_ITEMS = 5000


@dataclass(frozen=True)
class OptionShape:
    label: str


@dataclass
class FrozenItem:
    """A published version as the candidate's pages use it (no key, no weights)."""

    version_id: int
    public_id: str
    response_format: str
    options: tuple[OptionShape, ...]
    candidate: CandidateItem
    pages: dict[tuple[int, int, bool], tuple[str, ...]] = field(default_factory=dict)


class _Cache:
    def __init__(self) -> None:
        self.items: dict[int, FrozenItem] = {}
        nonce = secrets.token_hex(8)
        self.open = f"[[{nonce}:"
        self.pattern = re.compile(re.escape(self.open) + r"([^\]]*)\]\]")


def _cache() -> _Cache:
    cache = current_app.extensions.get(_EXTENSION)
    if cache is None:
        cache = current_app.extensions[_EXTENSION] = _Cache()
    return cache


def frozen_item(version_id: int) -> FrozenItem | None:
    """The cached view of a published version (loaded and cached on first use); None if there is no such version.

    A version that is not frozen yet is returned fresh each time and never cached.
    """
    cache = _cache()
    item = cache.items.get(version_id)
    if item is not None:
        return item
    version = db.session.get(ScenarioVersion, version_id)
    if version is None:
        return None
    item = FrozenItem(
        version_id=version.id,
        public_id=version.public_id,
        response_format=version.response_format.value,
        options=tuple(OptionShape(o.label) for o in version.options),
        candidate=candidate_item(version, ref="answer"),
    )
    if version.is_frozen:
        if len(cache.items) >= _MAX_ITEMS:
            cache.items.clear()
        cache.items[version_id] = item
    return item


def item_page(
    item: FrozenItem,
    *,
    number: int,
    total: int,
    answer: dict[str, Any],
    revision: int,
    seconds_left: int | None,
    csrf_token: str,
) -> str:
    """The candidate's item page, from the cached skeleton when there is one."""
    cache = _cache()
    timed = seconds_left is not None
    key = (number, total, timed)
    parts = item.pages.get(key)
    if parts is None:
        marks = cache.open
        skeleton = render_template(
            "take/item.html",
            item=item.candidate,
            number=number,
            total=total,
            answer={},
            marks=marks,
            revision=f"{marks}revision]]",
            saved_note=f"{marks}saved]]",
            seconds_left=f"{marks}seconds]]" if timed else None,
            minutes_left=f"{marks}minutes]]",
            csrf_token=lambda: f"{marks}csrf]]",
            error=None,
        )
        parts = tuple(cache.pattern.split(skeleton))
        if item.version_id in cache.items:
            item.pages[key] = parts
    values = {
        "revision": str(revision),
        "saved": SAVED_NOTE if revision else "",
        "seconds": str(seconds_left),
        "minutes": str((seconds_left or 0) // 60),
        "csrf": csrf_token,
    }
    ratings = answer.get("ratings") or {}
    ranks = answer.get("ranks") or {}
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(part)
        elif part in values:
            out.append(values[part])
        else:
            out.append(_mark(part, answer, ratings, ranks))
    return "".join(out)


SAVED_NOTE = "Your answer is saved."


def _mark(key: str, answer: dict[str, Any], ratings: dict[str, Any], ranks: dict[str, Any]) -> str:
    """'checked' or 'selected' when the saved answer holds the choice a marker names, else nothing."""
    word, kind, label, *value = key.split(":")
    if kind == "rate":
        on = ratings.get(label) == int(value[0])
    elif kind == "rank":
        on = ranks.get(label) == int(value[0])
    else:
        on = answer.get(kind) == label
    return word if on else ""
