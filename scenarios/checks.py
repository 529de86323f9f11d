"""The reviewer checklist's automatic checks (item-writing guide section 5) and the two blockers.

Pure functions over plain data, so the authoring pages, the importer and the starter-library tests
all judge an item the same way. Every failed check is a warning shown to the author; only a tie
between the best options of a pick-format item, or a key outside the 1-6 scale, blocks publishing.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from scenarios.readability import flesch_kincaid_grade, longest_sentence, words

SCALE_MIN, SCALE_MAX = 1.0, 6.0
PICK_FORMATS = frozenset({"most_least", "single_best", "rank"})
GIVEAWAY_WORDS = ("always", "never", "immediately", "all", "refuse", "demand", "insist", "ignore")
GIVEAWAY = re.compile(r"\b(" + "|".join(GIVEAWAY_WORDS) + r")\b", re.IGNORECASE)
STEM_WORDS = (60, 150)
MAX_GRADE = 8.0
MAX_SENTENCE_WORDS = 20
MAX_LENGTH_RATIO = 1.5
PANEL_SIZE = 5
MAX_KEY_SD = 1.0
MIN_SEPARATION = 0.5
MIN_SPREAD = 3.0
MIN_NEAR_MEDIAN_SHARE = 0.7


@dataclass(frozen=True)
class OptionDraft:
    label: str
    text: str
    ratings: tuple[float, ...] = ()


@dataclass(frozen=True)
class ItemDraft:
    stem: str
    response_format: str
    options: tuple[OptionDraft, ...]
    competency_weights: dict[str, float] = field(default_factory=dict)
    provenance_author: str = ""
    provenance_source: str = ""
    provenance_date: str = ""


@dataclass(frozen=True)
class OptionKey:
    """An option's key computed from the experts' ratings."""

    label: str
    value: float | None
    sd: float | None
    n: int
    near_median_share: float | None


@dataclass(frozen=True)
class Check:
    code: str
    passed: bool
    message: str
    guide: str
    blocker: bool = False


def option_key(option: OptionDraft) -> OptionKey:
    """Mean, sample SD (ddof=1), count and the share of ratings within 1 point of the median."""
    ratings = option.ratings
    if not ratings:
        return OptionKey(option.label, None, None, 0, None)
    median = statistics.median(ratings)
    return OptionKey(
        label=option.label,
        value=statistics.fmean(ratings),
        sd=statistics.stdev(ratings) if len(ratings) > 1 else None,
        n=len(ratings),
        near_median_share=sum(1 for r in ratings if abs(r - median) <= 1) / len(ratings),
    )


def ordered_keys(item: ItemDraft) -> list[OptionKey]:
    """Keyed options from most to least effective; ties broken by option label (scoring method A1)."""
    keys = [k for k in map(option_key, item.options) if k.value is not None]
    return sorted(keys, key=lambda k: (-(k.value or 0.0), k.label))


def blockers(item: ItemDraft) -> list[Check]:
    """The checks that stop publishing: a key outside the scale, a tie at the top of a pick item."""
    found: list[Check] = []
    keys = list(map(option_key, item.options))
    if any(k.value is None for k in keys):
        found.append(Check("key_missing", False, "Every option needs at least one expert rating.", "1.7", True))
    out_of_scale = [o.label for o in item.options if any(not SCALE_MIN <= r <= SCALE_MAX for r in o.ratings)]
    if out_of_scale:
        found.append(
            Check(
                "key_outside_scale",
                False,
                f"Ratings must lie between 1 and 6 (option {', '.join(out_of_scale)}).",
                "1.6",
                True,
            )
        )
    ordered = ordered_keys(item)
    if len(ordered) >= 2 and ordered[0].value == ordered[-1].value:
        found.append(
            Check(
                "key_flat",
                False,
                "Every option has the same key value, so the item cannot tell answers apart.",
                "1.4, A1",
                True,
            )
        )
    elif item.response_format in PICK_FORMATS and len(ordered) >= 2 and ordered[0].value == ordered[1].value:
        found.append(
            Check(
                "best_tie",
                False,
                f"Options {ordered[0].label} and {ordered[1].label} tie as the most effective; "
                "a pick format needs one best option.",
                "A1",
                True,
            )
        )
    if item.response_format == "most_least" and len(ordered) >= 2 and ordered[-1].value == ordered[-2].value:
        found.append(
            Check(
                "worst_tie",
                False,
                f"Options {ordered[-2].label} and {ordered[-1].label} tie as the least effective.",
                "A1",
                True,
            )
        )
    return found


def checklist(item: ItemDraft) -> list[Check]:
    """Every automatic check of the reviewer checklist, passed or not, plus the blockers that apply."""
    stem_words = len(words(item.stem))
    grade = flesch_kincaid_grade(item.stem)
    longest = longest_sentence(item.stem)
    option_count = len(item.options)
    lengths = {o.label: len(words(o.text)) for o in item.options}
    shortest, longest_option = min(lengths.values(), default=0), max(lengths.values(), default=0)
    ratio = longest_option / shortest if shortest else float("inf")
    giveaways = sorted({m.group(1).lower() for o in item.options for m in GIVEAWAY.finditer(o.text)})
    keys = list(map(option_key, item.options))
    ordered = ordered_keys(item)
    best = ordered[0] if ordered else None
    weights = sorted(item.competency_weights.values(), reverse=True)
    wanted_options = (4, 4) if item.response_format == "rank" else (4, 5)

    checks = [
        Check(
            "provenance",
            bool(item.provenance_author.strip() and item.provenance_source.strip() and item.provenance_date),
            "Provenance recorded: author, the incident it draws on, and the date.",
            "0, 1.1",
        ),
        Check(
            "stem_length",
            STEM_WORDS[0] <= stem_words <= STEM_WORDS[1],
            f"The stem has {stem_words} words (aim for 60 to 150).",
            "1.3",
        ),
        Check(
            "reading_grade",
            grade <= MAX_GRADE,
            f"The stem reads at grade {grade:.1f} (Flesch-Kincaid; aim for 8 or below).",
            "1.3, 1.9",
        ),
        Check(
            "sentence_length",
            longest <= MAX_SENTENCE_WORDS,
            f"The longest sentence has {longest} words (aim for 20 or fewer).",
            "1.9",
        ),
        Check(
            "option_count",
            wanted_options[0] <= option_count <= wanted_options[1],
            f"{option_count} options (use 4 or 5; 4 for rank).",
            "1.4",
        ),
        Check(
            "option_length",
            ratio <= MAX_LENGTH_RATIO,
            f"The longest option is {ratio:.1f} times the shortest (aim for 1.5 or less).",
            "1.4",
        ),
        Check(
            "giveaway_words",
            not giveaways,
            "No giveaway words in the options." if not giveaways else f"Giveaway words: {', '.join(giveaways)}.",
            "1.4, 1.8",
        ),
        Check(
            "best_not_longest",
            best is None
            or lengths.get(best.label, 0) < longest_option
            or list(lengths.values()).count(longest_option) > 1,
            "The keyed best option is not the longest one.",
            "1.4",
        ),
        Check(
            "panel_size",
            all(k.n >= PANEL_SIZE for k in keys),
            f"Keyed by at least {PANEL_SIZE} independent experts (now {min((k.n for k in keys), default=0)}).",
            "1.2, 1.7",
        ),
        Check(
            "key_agreement",
            all(
                (k.sd is None or k.sd <= MAX_KEY_SD) and (k.near_median_share or 0) >= MIN_NEAR_MEDIAN_SHARE
                for k in keys
            ),
            "Experts agree on every option (SD 1.0 or less, 70% within one point of the median).",
            "1.7",
        ),
        Check(
            "key_spread",
            len(ordered) >= 2 and (ordered[0].value or 0) - (ordered[-1].value or 0) >= MIN_SPREAD,
            "The keyed values spread over at least 3 scale points.",
            "1.4, 1.7",
        ),
        Check(
            "weights",
            bool(weights) and weights[0] == 1.0 and len(weights) <= 3 and all(w <= 0.5 for w in weights[1:]),
            "One primary competency at 1.0 and at most two secondaries at 0.5 or less.",
            "2.0, 3",
        ),
    ]
    if item.response_format in PICK_FORMATS:
        separation = (ordered[0].value or 0) - (ordered[1].value or 0) if len(ordered) >= 2 else 0.0
        checks.append(
            Check(
                "best_separation",
                separation >= MIN_SEPARATION,
                f"The best option leads the next by {separation:.1f} points (at least 0.5 for a pick format).",
                "A1, 1.7",
            )
        )
    return checks + blockers(item)


def uncertain_options(item: ItemDraft) -> list[str]:
    """Labels of options whose key is uncertain: too few experts, too much spread, or no clear median."""
    return [
        k.label
        for k in map(option_key, item.options)
        if k.n < PANEL_SIZE
        or (k.sd is not None and k.sd > MAX_KEY_SD)
        or (k.near_median_share is not None and k.near_median_share < MIN_NEAR_MEDIAN_SHARE)
    ]
