"""Adverse-impact checks for one position (scoring.md A7), from the candidates' voluntary self-identification.

Two kinds of table, every number from :mod:`scoring.fairness`:

- **Decisions (four-fifths rule, A7.1).** The people in them are the position's candidates with a current
  decision; "selected" means the current decision is *advance* (hold and decline are not). Per category
  of sex and of race/ethnicity: N, advanced, selection rate, impact ratio against the highest-rate
  category, and against it Z_D, Z_IR, Fisher's and Boschloo's p (``scoring.fairness.four_fifths``).
- **Scores (NYC Local Law 144, A7.2).** The people in them are the candidates *scored*: their latest
  scored attempt for the position has a result under its assessment's current score version. One table
  each for the overall provisional score, every competency the position's assessments report, and the
  fit: the share of each category scoring strictly above the median of everyone in the table, the
  impact ratio, and the sex, race/ethnicity and intersectional tables (``ll144_scoring_audit``).

Who is left out, and why, is counted: no decision yet, not yet scored, no self-identification, "Prefer
not to say" (per question). People without a usable answer are the "unknown" category of a table: they
count in the median and the sample size, never in a ratio.

Small categories. A category is **too few to compare** when it has fewer than ``SMALL_GROUP_MIN_N`` (5)
people or under 2% of the table's people. Both come from practice: the DCWP rules let an LL144 audit
exclude a category under 2% of the data, and the z tests are large-sample approximations that are not
trusted below about 5 people per group (Cochran's rule for the chi-square the Z_D equals), which matches
the Uniform Guidelines' warning that differences based on small numbers may not be treated as adverse
impact. Such a category is shown with its N, count and rate and the words "too few to compare (N = ...)";
it takes no part in the impact ratios and cannot be the reference group. For the LL144 tables this is
done by leaving its members' label unknown in the call for that table (the median, taken over everyone,
does not change); the row then shows the category's own counts.

No individual's self-identification leaves this module: only counts per category. The answers feed
these checks only, never a score, a fit or a decision.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import select

from assessments import decisions, fit_queries
from assessments.models import Assessment, Attempt, DecisionOutcome, DemographicResponse, Invitation
from database import db
from positions.models import Position
from scenarios.models import Competency
from scoring.conventions import round_half_up
from scoring.errors import ScoringError
from scoring.fairness import (
    RACE_ETHNICITY_CATEGORIES,
    RACE_ETHNICITY_NOTE,
    SEX_CATEGORIES,
    AuditRow,
    FairnessFlag,
    GroupCount,
    LL144Audit,
    four_fifths,
    ll144_scoring_audit,
)

SMALL_GROUP_MIN_N: Final = 5
"""A category with fewer people than this is "too few to compare" (so is one under 2% of the table)."""

SMALL_GROUP_SHARE: Final = 0.02
"""The DCWP rules' 2%: a category under this share of the table's people is "too few to compare"."""

PREFER_NOT_TO_SAY: Final = "Prefer not to say"

# The answers the candidates choose from (assessments.delivery) in the LL144 / EEO-1 categories.
SEX_CATEGORY: Final = {"Female": "Female", "Male": "Male", "Another option": "Other"}
RACE_ETHNICITY_CATEGORY: Final = {
    "Hispanic or Latino": "Hispanic or Latino",
    "White": "White",
    "Black or African American": "Black or African American",
    "Native Hawaiian or Other Pacific Islander": "Native Hawaiian or Pacific Islander",
    "Asian": "Asian",
    "American Indian or Alaska Native": "Native American or Alaska Native",
    "Two or more races": "Two or More Races",
}

FLAG_WORDS: Final = {
    FairnessFlag.BELOW_FOUR_FIFTHS: "impact ratio below 0.8",
    FairnessFlag.Z_D_SIGNIFICANT: "|Z_D| above 1.96",
    FairnessFlag.Z_IR_SIGNIFICANT: "|Z_IR| above 1.96",
    FairnessFlag.FISHER_SIGNIFICANT: "Fisher p below .05",
    FairnessFlag.BOSCHLOO_SIGNIFICANT: "Boschloo p below .05",
    FairnessFlag.NO_SELECTIONS: "nobody advanced",
    FairnessFlag.ALL_SELECTED: "everybody advanced",
    FairnessFlag.ZERO_RATE: "no Z_IR with a rate of 0",
    FairnessFlag.ODDS_RATIO_UNDEFINED: "odds ratio undefined",
    FairnessFlag.EXACT_TEST_SKIPPED: "Boschloo's test skipped (large sample)",
    FairnessFlag.HIGHEST_RATE_IS_ZERO: "every rate is 0",
}

MEANING: Final = (
    "An impact ratio compares a group's rate with the rate of the group with the highest rate. Below 0.8 (four "
    "fifths) is the usual signal that a step may be disadvantaging a group; the z values and exact tests say "
    "whether a difference is larger than chance alone would often give with these numbers. These are checks for "
    "people to look into and act on, not decisions: nothing happens automatically."
)

NOT_YET_DECIDED: Final = "No decision recorded yet"
NOT_YET_SCORED: Final = "Not yet scored"
NO_SELF_IDENTIFICATION: Final = "No self-identification given"
SEX_NOT_SAID: Final = "Sex: Prefer not to say"
RACE_NOT_SAID: Final = "Race/ethnicity: Prefer not to say"
NOT_RECOGNISED: Final = "Answer not recognised"


@dataclass(frozen=True)
class Exclusion:
    """A reason people are left out of a table (or are its unknown category), with how many."""

    reason: str
    count: int
    effect: str


@dataclass(frozen=True)
class SelectionLine:
    """One category of a four-fifths table on decisions."""

    category: str
    applicants: int
    selected: int
    rate: float | None
    impact_ratio: float | None
    z_d: float | None
    z_ir: float | None
    fisher_p: float | None
    boschloo_p: float | None
    is_reference: bool
    too_few: str | None
    findings: tuple[str, ...]

    @property
    def below_four_fifths(self) -> bool:
        return FLAG_WORDS[FairnessFlag.BELOW_FOUR_FIFTHS] in self.findings


@dataclass(frozen=True)
class SelectionTable:
    """The four-fifths table of one category type (sex, or race/ethnicity) on the current decisions."""

    category_type: str
    people: int
    unknown: int
    reference: str | None
    lines: tuple[SelectionLine, ...]
    note: str | None


@dataclass(frozen=True)
class ScoreLine:
    """One row of an LL144 table: the LL144 columns, plus whether the category is too few to compare."""

    category_type: str
    category: str
    assessed: int
    above_median: int
    rate: float | None
    impact_ratio: float | None
    excluded: str
    too_few: bool
    below_four_fifths: bool


@dataclass(frozen=True)
class ScoreTable:
    """The LL144 tables (sex, race/ethnicity, intersectional) of one score."""

    key: str
    title: str
    people: int
    median: float | None
    lines: tuple[ScoreLine, ...]
    unknown: Mapping[str, int]
    notes: tuple[str, ...]
    left_out: tuple[Exclusion, ...]

    def lines_of(self, category_type: str) -> tuple[ScoreLine, ...]:
        """The rows of one category type, in LL144 order."""
        return tuple(line for line in self.lines if line.category_type == category_type)


@dataclass(frozen=True)
class FairnessReport:
    """Everything the fairness page and its CSV show for one position: counts only, never a person's answer."""

    candidates: int
    self_identified: int
    decided: int
    decision_tables: tuple[SelectionTable, ...]
    decision_exclusions: tuple[Exclusion, ...]
    scored: int
    score_tables: tuple[ScoreTable, ...]
    score_exclusions: tuple[Exclusion, ...]

    @property
    def small_rule(self) -> str:
        return small_rule()


@dataclass(frozen=True)
class _Labels:
    """One person's LL144 categories (None: unknown) and why a category is unknown. Never leaves the module."""

    sex: str | None
    race: str | None
    reasons: tuple[str, ...]


def small_rule() -> str:
    """The small-category rule in plain words."""
    return (
        f"A category with fewer than {SMALL_GROUP_MIN_N} people, or under {SMALL_GROUP_SHARE:.0%} of the people "
        "in the table, is too few to compare: its counts are shown, but it gets no impact ratio and is never the "
        "group the others are compared with."
    )


def is_small(n: int, total: int) -> bool:
    """True when a non-empty category of ``n`` among ``total`` people is too few to compare."""
    return n > 0 and (n < SMALL_GROUP_MIN_N or 50 * n < total)  # integers: 2% exactly is not "under 2%"


def too_few_words(n: int) -> str:
    return f"too few to compare (N = {n})"


def position_report(position: Position, as_of: date) -> FairnessReport:
    """The position's four-fifths tables on decisions and LL144 tables on scores, with the exclusions counted."""
    _, fits = fit_queries.candidate_fits(position, as_of)
    ids = [row.candidate.id for row in fits]
    answers = self_identifications(position, ids)
    labels = {candidate_id: _labels(answers.get(candidate_id)) for candidate_id in ids}
    current = decisions.current_decisions(position)
    decided = [candidate_id for candidate_id in ids if candidate_id in current]
    advanced = [current[candidate_id].decision.outcome == DecisionOutcome.ADVANCE for candidate_id in decided]
    decision_tables = tuple(
        _selection_table(category_type, categories, [_pick(labels[c], category_type) for c in decided], advanced)
        for category_type, categories in (("Sex", SEX_CATEGORIES), ("Race/ethnicity", RACE_ETHNICITY_CATEGORIES))
    )
    results = decisions.current_results(position, ids)
    scored = [candidate_id for candidate_id in ids if candidate_id in results]
    fit_of = {row.candidate.id: row.result.overall for row in fits if row.result is not None}
    score_tables = [
        _score_table(
            "overall",
            "Overall provisional score",
            {c: results[c].overall_pomp for c in scored},
            labels,
            "no overall score",
        )
    ]
    for code, name in reported_competencies(position):
        values = {c: results[c].competency_pomp.get(code) for c in scored}
        score_tables.append(_score_table(f"competency:{code}", name, values, labels, "no score for this competency"))
    score_tables.append(
        _score_table("fit", "Fit", {c: fit_of.get(c) for c in scored}, labels, "fit cannot be computed")
    )
    return FairnessReport(
        candidates=len(ids),
        self_identified=sum(1 for c in ids if c in answers),
        decided=len(decided),
        decision_tables=decision_tables,
        decision_exclusions=_exclusions(len(ids) - len(decided), NOT_YET_DECIDED, [labels[c] for c in decided]),
        scored=len(scored),
        score_tables=tuple(score_tables),
        score_exclusions=_exclusions(len(ids) - len(scored), NOT_YET_SCORED, [labels[c] for c in scored]),
    )


def self_identifications(position: Position, candidate_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Per candidate id, the latest voluntary answers (sex, race/ethnicity) given on an attempt for the position."""
    if not candidate_ids:
        return {}
    rows = db.session.execute(
        select(Invitation.candidate_id, DemographicResponse.sex, DemographicResponse.race_ethnicity)
        .join(Assessment, Assessment.id == Invitation.assessment_id)
        .join(Attempt, Attempt.invitation_id == Invitation.id)
        .join(DemographicResponse, DemographicResponse.attempt_id == Attempt.id)
        .where(
            Assessment.position_id == position.id,
            Invitation.agency_id == position.agency_id,
            Invitation.candidate_id.in_(list(candidate_ids)),
        )
        .order_by(DemographicResponse.recorded_at.desc(), DemographicResponse.id.desc())
    )
    found: dict[int, tuple[str, str]] = {}
    for candidate_id, sex, race in rows:
        found.setdefault(candidate_id, (sex, race))
    return found


def reported_competencies(position: Position) -> list[tuple[str, str]]:
    """(code, name) of every competency an assessment of the position reports, in the agency's order."""
    rows = db.session.execute(
        select(Competency.code, Competency.name, Competency.position)
        .join(Assessment.reported)
        .where(Assessment.position_id == position.id, Assessment.agency_id == position.agency_id)
        .distinct()
        .order_by(Competency.position, Competency.code)
    )
    return [(code, name) for code, name, _ in rows]


def _labels(answer: tuple[str, str] | None) -> _Labels:
    if answer is None:
        return _Labels(None, None, (NO_SELF_IDENTIFICATION,))
    sex, race = answer
    reasons = []
    if sex == PREFER_NOT_TO_SAY:
        reasons.append(SEX_NOT_SAID)
    elif sex not in SEX_CATEGORY:
        reasons.append(NOT_RECOGNISED)
    if race == PREFER_NOT_TO_SAY:
        reasons.append(RACE_NOT_SAID)
    elif race not in RACE_ETHNICITY_CATEGORY and NOT_RECOGNISED not in reasons:
        reasons.append(NOT_RECOGNISED)
    return _Labels(SEX_CATEGORY.get(sex), RACE_ETHNICITY_CATEGORY.get(race), tuple(reasons))


def _pick(labels: _Labels, category_type: str) -> str | None:
    return labels.sex if category_type == "Sex" else labels.race


def _exclusions(left_out: int, left_out_reason: str, people: Iterable[_Labels]) -> tuple[Exclusion, ...]:
    counts = Counter(reason for person in people for reason in person.reasons)
    found = [Exclusion(left_out_reason, left_out, "not in these tables")]
    effects = {
        NO_SELF_IDENTIFICATION: "unknown in every table",
        SEX_NOT_SAID: "unknown in the sex and intersectional tables",
        RACE_NOT_SAID: "unknown in the race/ethnicity and intersectional tables",
        NOT_RECOGNISED: "unknown where the answer is not recognised",
    }
    for reason in (NO_SELF_IDENTIFICATION, SEX_NOT_SAID, RACE_NOT_SAID, NOT_RECOGNISED):
        if counts[reason] or reason != NOT_RECOGNISED:
            found.append(Exclusion(reason, counts[reason], effects[reason]))
    return tuple(found)


def _findings(flags: Iterable[FairnessFlag]) -> tuple[str, ...]:
    return tuple(FLAG_WORDS[flag] for flag in flags if flag in FLAG_WORDS)


def _selection_table(
    category_type: str, categories: Sequence[str], labels: Sequence[str | None], selected: Sequence[bool]
) -> SelectionTable:
    people = len(labels)
    applicants = Counter(label for label in labels if label is not None)
    chosen = Counter(label for label, hit in zip(labels, selected, strict=True) if label is not None and hit)
    present = [c for c in categories if applicants[c]]
    comparable = [c for c in present if not is_small(applicants[c], people)]
    note = None
    report = None
    if not present:
        note = "No one with a decision gave an answer in these categories yet."
    elif not comparable:
        note = "No category has enough people to compare yet."
    else:
        try:
            report = four_fifths([GroupCount(c, applicants[c], chosen[c]) for c in comparable])
        except ScoringError as error:
            note = f"The comparison could not be computed ({error})."
    lines = []
    for category in present:
        n, hits = applicants[category], chosen[category]
        if report is None or category not in comparable:
            lines.append(
                SelectionLine(
                    category,
                    n,
                    hits,
                    hits / n,
                    None,
                    None,
                    None,
                    None,
                    None,
                    False,
                    too_few_words(n) if category not in comparable else None,
                    (),
                )
            )
            continue
        line = report.group(category)
        test = line.test
        lines.append(
            SelectionLine(
                category=category,
                applicants=line.applicants,
                selected=line.selected,
                rate=line.selection_rate,
                impact_ratio=line.impact_ratio,
                z_d=None if test is None else test.z_d,
                z_ir=None if test is None else test.z_ir,
                fisher_p=None if test is None else test.fisher_p,
                boschloo_p=None if test is None else test.boschloo_p,
                is_reference=line.is_reference,
                too_few=None,
                findings=_findings(line.flags),
            )
        )
    return SelectionTable(
        category_type=category_type,
        people=people,
        unknown=sum(1 for label in labels if label is None),
        reference=None if report is None else report.reference_group,
        lines=tuple(lines),
        note=note,
    )


def _score_table(
    key: str, title: str, values: Mapping[int, float | None], labels: Mapping[int, _Labels], missing: str
) -> ScoreTable:
    present = {c: float(value) for c, value in values.items() if value is not None}
    people = list(present)
    left_out = (Exclusion(f"Scored, but {missing}", len(values) - len(people), "not in this table"),)
    if not people:
        return ScoreTable(key, title, 0, None, (), {}, ("No one has a score here yet.",), left_out)
    scores = list(present.values())
    sexes = [labels[c].sex for c in people]
    races = [labels[c].race for c in people]
    crossed = [None if s is None or r is None else f"{r} {s}" for s, r in zip(sexes, races, strict=True)]
    total = len(people)
    blank: list[str | None] = [None] * total

    def masked(column: Sequence[str | None]) -> tuple[list[str | None], set[str]]:
        counts = Counter(label for label in column if label is not None)
        small = {label for label, n in counts.items() if is_small(n, total)}
        return [None if label in small else label for label in column], small

    sex_masked, small_sex = masked(sexes)
    race_masked, small_race = masked(races)
    _, small_crossed = masked(crossed)
    keep = [label not in small_crossed for label in crossed]
    audits: dict[str, LL144Audit] = {
        "Sex": ll144_scoring_audit(scores, sex_masked, blank),
        "Race/ethnicity": ll144_scoring_audit(scores, blank, race_masked),
        "Intersectional": ll144_scoring_audit(
            scores,
            [s if k else None for s, k in zip(sexes, keep, strict=True)],
            [r if k else None for r, k in zip(races, keep, strict=True)],
        ),
    }
    median = audits["Sex"].median
    assert median is not None  # a scoring audit always has one
    sex_categories = [c for c in SEX_CATEGORIES if c != "Other" or "Other" in sexes]
    layout = (
        ("Sex", sex_categories, sexes, small_sex),
        ("Race/ethnicity", list(RACE_ETHNICITY_CATEGORIES), races, small_race),
        (
            "Intersectional",
            [f"{r} {s}" for s in sex_categories for r in RACE_ETHNICITY_CATEGORIES],
            crossed,
            small_crossed,
        ),
    )
    lines: list[ScoreLine] = []
    unknown: dict[str, int] = {}
    for category_type, categories, column, small in layout:
        unknown[category_type] = sum(1 for label in column if label is None)
        for category in categories:
            n = sum(1 for label in column if label == category)
            above = sum(1 for label, score in zip(column, scores, strict=True) if label == category and score > median)
            if category in small:
                lines.append(
                    ScoreLine(
                        category_type, category, n, above, above / n, None, f"yes: {too_few_words(n)}", True, False
                    )
                )
            elif n == 0:
                lines.append(
                    ScoreLine(category_type, category, 0, 0, None, None, "yes: nobody in this category", False, False)
                )
            else:
                lines.append(_score_line(_row(audits[category_type], category_type, category)))
    notes = [
        f"Median of all {total} people in this table: {points(median)} out of 100. The scoring rate is the share "
        "scoring strictly above it.",
    ]
    at_median = sum(1 for score in scores if score == median)
    if at_median:
        notes.append(
            f"{at_median} {'person' if at_median == 1 else 'people'} scored exactly the median and "
            f"{'counts' if at_median == 1 else 'count'} as not above it, so every scoring rate is below 50% overall."
        )
    notes.append(RACE_ETHNICITY_NOTE)
    return ScoreTable(key, title, total, median, tuple(lines), unknown, tuple(notes), left_out)


def _row(audit: LL144Audit, category_type: str, category: str) -> AuditRow:
    for row in audit.rows:
        if row.category_type == category_type and row.category == category:
            return row
    raise ScoringError(f"no {category_type} row {category!r}")  # a category with people always has a row


def _score_line(row: AuditRow) -> ScoreLine:
    """A row of scoring.fairness's audit; small categories never reach it (their members are unknown there)."""
    excluded = f"yes: {too_few_words(row.assessed)}" if row.excluded else "no"
    return ScoreLine(
        category_type=row.category_type,
        category=row.category,
        assessed=row.assessed,
        above_median=row.counted,
        rate=row.rate,
        impact_ratio=row.impact_ratio,
        excluded=excluded,
        too_few=row.excluded,
        below_four_fifths=FairnessFlag.BELOW_FOUR_FIFTHS in row.flags,
    )


# --- display and CSV -----------------------------------------------------------------------------


def points(value: float) -> str:
    """A score in [0, 1] as points out of 100 with one decimal, half up."""
    return f"{round_half_up(100 * value, 1):.1f}"


def percent(value: float | None) -> str:
    """A rate as a percentage with one decimal, half up; "n/a" for None."""
    return "n/a" if value is None else f"{round_half_up(100 * value, 1):.1f}%"


def ratio(value: float | None) -> str:
    """An impact ratio to 3 decimals, half up; "n/a" for None."""
    return "n/a" if value is None else f"{round_half_up(value, 3):.3f}"


def z_value(value: float | None) -> str:
    """A z statistic to 2 decimals, half up; "n/a" for None."""
    return "n/a" if value is None else f"{round_half_up(value, 2):.2f}"


def p_value(value: float | None) -> str:
    """A p value to 3 decimals ("< 0.001" below that); "n/a" for None."""
    if value is None:
        return "n/a"
    return "< 0.001" if value < 0.001 else f"{round_half_up(value, 3):.3f}"


FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """Text a spreadsheet shows as text: a cell that could start a formula gets a leading single quote."""
    return f"'{value}" if value[:1] in FORMULA_STARTS else value


def _number(value: float | None, digits: int = 4) -> str:
    """A number we computed, as a plain decimal (a negative number is a number, not a formula); "" for None."""
    return "" if value is None else f"{round_half_up(value, digits):.{digits}f}"


SELECTION_COLUMNS: Final = (
    "Category",
    "N",
    "Advanced",
    "Selection rate",
    "Impact ratio",
    "Z_D",
    "Z_IR",
    "Fisher p",
    "Boschloo p",
    "Reference group",
    "Note",
)
SCORING_COLUMNS: Final = (
    "Category type",
    "Category",
    "# assessed",
    "# above median",
    "Scoring rate",
    "Impact ratio",
    "Excluded (<2%)?",
)
UNKNOWN_ROW: Final = "Unknown (not in calculations)"
CATEGORY_TYPES: Final = ("Sex", "Race/ethnicity", "Intersectional")


def _text(*cells: str) -> list[str]:
    return [neutralise_cell(cell) for cell in cells]


def _selection_rows(table: SelectionTable) -> list[list[str]]:
    rows = [
        _text(f"Decisions (advance = selected), four-fifths rule: {table.category_type}"),
        _text(*SELECTION_COLUMNS),
    ]
    for line in table.lines:
        rows.append(
            [
                neutralise_cell(line.category),
                str(line.applicants),
                str(line.selected),
                _number(line.rate),
                _number(line.impact_ratio),
                _number(line.z_d),
                _number(line.z_ir),
                _number(line.fisher_p),
                _number(line.boschloo_p),
                "yes" if line.is_reference else "no",
                neutralise_cell(line.too_few or "; ".join(line.findings)),
            ]
        )
    rows.append(_text(UNKNOWN_ROW, str(table.unknown)))
    if table.note:
        rows.append(_text(table.note))
    return rows


def _score_rows(table: ScoreTable) -> list[list[str]]:
    rows = [
        _text(f"Local Law 144 scoring table: {table.title}", f"N = {table.people}"),
        _text("Median (0-100)", "" if table.median is None else points(table.median)),
    ]
    rows += [_text(exclusion.reason, str(exclusion.count)) for exclusion in table.left_out]
    rows.append(_text(*SCORING_COLUMNS))
    for category_type in CATEGORY_TYPES:
        for line in table.lines_of(category_type):
            rows.append(
                [
                    neutralise_cell(line.category_type),
                    neutralise_cell(line.category),
                    str(line.assessed),
                    str(line.above_median),
                    _number(line.rate),
                    _number(line.impact_ratio),
                    neutralise_cell(line.excluded),
                ]
            )
        if category_type in table.unknown:
            rows.append(_text(category_type, UNKNOWN_ROW, str(table.unknown[category_type])))
    rows += [_text(note) for note in table.notes]
    return rows


def _exclusion_rows(title: str, exclusions: Iterable[Exclusion]) -> list[list[str]]:
    rows = [_text(title, "Count", "Effect")]
    rows += [_text(exclusion.reason, str(exclusion.count), exclusion.effect) for exclusion in exclusions]
    return rows


def report_csv(report: FairnessReport, *, position_title: str, now: datetime) -> str:
    """The report as CSV blocks (a title line, a header, the rows, a blank line).

    Every text cell is neutralised (a leading ``= + - @``, tab or CR gets a single quote); numbers we
    computed are plain decimals (4 dp), since a negative number is a number, not a formula.
    """
    rows: list[list[str]] = [
        _text("Fairness checks", position_title),
        _text("Generated (UTC)", now.strftime("%Y-%m-%d %H:%M")),
        _text("Candidates", str(report.candidates)),
        _text("Rule for small categories", report.small_rule),
        _text(MEANING),
        [],
        *_exclusion_rows("Decisions: left out or unknown", report.decision_exclusions),
        [],
    ]
    for selection in report.decision_tables:
        rows += [*_selection_rows(selection), []]
    rows += [*_exclusion_rows("Scores: left out or unknown", report.score_exclusions), []]
    for score in report.score_tables:
        rows += [*_score_rows(score), []]
    out = io.StringIO()
    csv.writer(out).writerows(rows)  # RFC 4180: quotes where needed, CRLF line ends
    return out.getvalue()
