"""A7 adverse impact: the four-fifths rule with significance tests (A7.1) and NYC Local Law 144 tables (A7.2).

Counts in, frozen dataclasses out. Every statistic that is undefined for the data (a zero rate, nobody
selected, everybody selected) is ``None`` with a :class:`FairnessFlag` saying why; nothing returns NaN
or infinity. Bad input (negative counts, more selected than applicants, mismatched lengths, unknown
category labels, an empty sample) raises a :class:`~scoring.errors.ScoringError`.

Choices where scoring.md is silent:
- The reference group of the four-fifths rule is the group with the highest selection rate; a tie goes
  to the group listed first. Groups with no applicants are reported (rate None, flag ``empty_group``)
  and take no part in the comparison.
- "IR < 0.80" and "under 2%" are decided on the integer counts (``5 * sel_g * n_ref < 4 * sel_ref * n_g``,
  ``50 * n_g < N``), so a ratio that is 4/5 exactly is never flagged through float rounding.
- Z_D, Z_IR, Fisher and Boschloo compare each group (focal, "group 1") with the reference group, so the
  statistics are negative when the focal group is selected less. Significance: ``|Z| > 1.96`` for the
  z statistics, ``p < .05`` (two-sided) for the exact tests.
- Boschloo's test costs O(n1 * n2) tables and is slow for large samples (about 3 s at 500 + 500, 22 s at
  1000 + 1000); above ``boschloo_max_n`` applicants in the pair it is skipped (None, flag
  ``exact_test_skipped``). Fisher's test is always computed. Large samples are where the z tests suffice.
- LL144: the median is taken over every assessed individual, unknowns included; a category's share for
  the 2% rule is its count over every assessed individual, unknowns included. Exclusion is optional
  in the DCWP rules; it is on by default and can be turned off. Excluded categories keep their n and
  rate; they get no impact ratio and cannot be the highest-rate category. A category with nobody in it
  is listed (n 0, rate None) and is excluded under the 2% rule. "Other" sex is listed only when
  someone reported it. An individual with an unknown sex or race/ethnicity is "unknown" in the
  intersectional table.
- LL144 selection tools: the rate is the share selected; the median is not used.
- A cut score selects a candidate whose score is at or above the cut (``score >= cut``).
- Standardized mean differences use the pooled SD (ddof=1) and are positive when the first (reference)
  group scores higher, as in scoring.md B3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from scoring.conventions import DDOF_SAMPLE, FloatArray, as_float_array, round_half_up
from scoring.errors import InsufficientDataError, InvalidInputError, UndefinedStatisticError, ZeroVarianceError

__all__ = [
    "BOSCHLOO_MAX_N",
    "FOUR_FIFTHS",
    "LL144_EXCLUSION_SHARE",
    "LL144_SCORING_COLUMNS",
    "LL144_SELECTION_COLUMNS",
    "PAIRWISE_D_MIN_N",
    "RACE_ETHNICITY_CATEGORIES",
    "RACE_ETHNICITY_NOTE",
    "SEX_CATEGORIES",
    "SIGNIFICANCE_LEVEL",
    "UNKNOWN_CATEGORY",
    "Z_CRITICAL",
    "AuditRow",
    "FairnessFlag",
    "FourFifthsReport",
    "GroupCount",
    "GroupImpact",
    "LL144Audit",
    "PairwiseDifference",
    "TwoGroupTest",
    "compare_two_groups",
    "count_selections",
    "forecast_impact_ratio",
    "four_fifths",
    "four_fifths_at_cut",
    "ll144_scoring_audit",
    "ll144_selection_audit",
    "pairwise_standardized_differences",
    "standardized_mean_difference",
]

FOUR_FIFTHS: Final = 0.8
"""29 CFR 1607.4(D): an impact ratio below four fifths is evidence of adverse impact."""

Z_CRITICAL: Final = 1.96
"""The "two standard deviations" criterion for Z_D and Z_IR."""

SIGNIFICANCE_LEVEL: Final = 0.05
"""Two-sided level for Fisher's and Boschloo's exact tests (the same criterion as |Z| > 1.96)."""

BOSCHLOO_MAX_N: Final = 1000
"""[D] Boschloo's test is skipped when the two groups together have more applicants than this."""

LL144_EXCLUSION_SHARE: Final = 0.02
"""DCWP rules: a category under 2% of the data may be excluded from the impact-ratio calculations."""

PAIRWISE_D_MIN_N: Final = 30
"""A7.2 [D]: standardized mean differences for every category pair with n >= 30 in both."""

SEX_CATEGORIES: Final = ("Male", "Female", "Other")
"""LL144 sex categories; "Other" is optional and listed only when someone reported it."""

RACE_ETHNICITY_CATEGORIES: Final = (
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Native Hawaiian or Pacific Islander",
    "Asian",
    "Native American or Alaska Native",
    "Two or More Races",
)
"""The EEO-1 race/ethnicity categories used by LL144, in the order of the audit table."""

RACE_ETHNICITY_NOTE: Final = "Every race/ethnicity category except Hispanic or Latino means Not Hispanic or Latino."

LL144_SCORING_COLUMNS: Final = (
    "Category type",
    "Category",
    "# assessed",
    "# above median",
    "Scoring rate",
    "Impact ratio",
    "Excluded (<2%)?",
)
"""The columns of the LL144 table for a scoring tool (scoring.md A7.2 template)."""

LL144_SELECTION_COLUMNS: Final = (
    "Category type",
    "Category",
    "# assessed",
    "# selected",
    "Selection rate",
    "Impact ratio",
    "Excluded (<2%)?",
)
"""The columns of the LL144 table for a selection (pass/fail or classify) tool."""

UNKNOWN_CATEGORY: Final = "Unknown (not in calculations)"

CategoryType = Literal["Sex", "Race/ethnicity", "Intersectional"]


class FairnessFlag(StrEnum):
    """Findings and reasons attached to adverse-impact statistics."""

    BELOW_FOUR_FIFTHS = "below_four_fifths"
    Z_D_SIGNIFICANT = "z_d_significant"
    Z_IR_SIGNIFICANT = "z_ir_significant"
    FISHER_SIGNIFICANT = "fisher_significant"
    BOSCHLOO_SIGNIFICANT = "boschloo_significant"
    EMPTY_GROUP = "empty_group"
    NO_SELECTIONS = "no_selections"
    ALL_SELECTED = "all_selected"
    ZERO_RATE = "zero_rate"
    ODDS_RATIO_UNDEFINED = "odds_ratio_undefined"
    EXACT_TEST_SKIPPED = "exact_test_skipped"
    EXCLUDED_UNDER_2_PERCENT = "excluded_under_2_percent"
    HIGHEST_RATE_IS_ZERO = "highest_rate_is_zero"
    ZERO_VARIANCE = "zero_variance"


@dataclass(frozen=True)
class GroupCount:
    """Applicants and selected candidates of one group; raises InvalidInputError for impossible counts."""

    group: str
    applicants: int
    selected: int

    def __post_init__(self) -> None:
        for name in ("applicants", "selected"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InvalidInputError(f"{self.group}: {name} must be a whole number, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.applicants < 0 or self.selected < 0 or self.selected > self.applicants:
            raise InvalidInputError(f"{self.group}: {self.selected} selected of {self.applicants} is impossible")

    @property
    def rate(self) -> float | None:
        """Selection rate ``selected / applicants``; None for a group with no applicants."""
        return self.selected / self.applicants if self.applicants else None


@dataclass(frozen=True)
class TwoGroupTest:
    """A focal group (group 1) against a reference group: ratio, Z_D, Z_IR, Fisher and Boschloo (A7.1)."""

    focal: str
    reference: str
    focal_rate: float
    reference_rate: float
    total_rate: float
    focal_share: float
    impact_ratio: float | None
    z_d: float | None
    z_d_p: float | None
    chi_square: float | None
    z_ir: float | None
    fisher_p: float
    fisher_odds_ratio: float | None
    boschloo_p: float | None
    flags: tuple[FairnessFlag, ...]


@dataclass(frozen=True)
class GroupImpact:
    """One group's line of a four-fifths report; ``test`` compares it with the reference group."""

    group: str
    applicants: int
    selected: int
    selection_rate: float | None
    impact_ratio: float | None
    is_reference: bool
    test: TwoGroupTest | None
    flags: tuple[FairnessFlag, ...]


@dataclass(frozen=True)
class FourFifthsReport:
    """Selection rates, impact ratios and tests of every group against the highest-rate group."""

    reference_group: str | None
    groups: tuple[GroupImpact, ...]
    flags: tuple[FairnessFlag, ...]

    def group(self, name: str) -> GroupImpact:
        """The line of group ``name``; raises InvalidInputError if there is none."""
        for line in self.groups:
            if line.group == name:
                return line
        raise InvalidInputError(f"no group {name!r} in the report")


@dataclass(frozen=True)
class PairwiseDifference:
    """Standardized mean difference d (pooled SD) of two categories, positive when ``first`` scores higher."""

    first: str
    second: str
    n_first: int
    n_second: int
    d: float | None
    flags: tuple[FairnessFlag, ...]


@dataclass(frozen=True)
class AuditRow:
    """One line of an LL144 table; ``rate`` is the scoring rate (above median) or the selection rate."""

    category_type: CategoryType
    category: str
    assessed: int
    counted: int
    rate: float | None
    impact_ratio: float | None
    excluded: bool
    exclusion_reason: str | None
    flags: tuple[FairnessFlag, ...]


@dataclass(frozen=True)
class LL144Audit:
    """The LL144 sex, race/ethnicity and intersectional tables with their unknown counts (A7.2)."""

    kind: Literal["scoring", "selection"]
    n_assessed: int
    median: float | None
    rows: tuple[AuditRow, ...]
    unknown: tuple[tuple[CategoryType, int], ...]
    notes: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's column headings (scoring or selection wording)."""
        return LL144_SCORING_COLUMNS if self.kind == "scoring" else LL144_SELECTION_COLUMNS

    def row(self, category_type: CategoryType, category: str) -> AuditRow:
        """The row of one category; raises InvalidInputError if there is none."""
        for line in self.rows:
            if line.category_type == category_type and line.category == category:
                return line
        raise InvalidInputError(f"no {category_type} row {category!r}")

    def unknown_count(self, category_type: CategoryType) -> int:
        """How many assessed individuals are in an unknown category for this category type."""
        return dict(self.unknown)[category_type]

    def display_rows(self) -> tuple[tuple[str, ...], ...]:
        """The table as text: rates as percentages (1 dp), ratios to 3 dp, half up; unknowns last per type."""
        lines: list[tuple[str, ...]] = []
        for category_type, n_unknown in self.unknown:
            for row in self.rows:
                if row.category_type != category_type:
                    continue
                lines.append(
                    (
                        row.category_type,
                        row.category,
                        str(row.assessed),
                        str(row.counted),
                        "n/a" if row.rate is None else f"{round_half_up(100 * row.rate, 1):.1f}%",
                        "n/a" if row.impact_ratio is None else f"{round_half_up(row.impact_ratio, 3):.3f}",
                        f"yes: {row.exclusion_reason}" if row.excluded else "no",
                    )
                )
            lines.append((category_type, UNKNOWN_CATEGORY, str(n_unknown), "", "", "", ""))
        return tuple(lines)


def compare_two_groups(
    focal: GroupCount, reference: GroupCount, *, boschloo_max_n: int = BOSCHLOO_MAX_N
) -> TwoGroupTest:
    """A7.1 statistics of ``focal`` (group 1) against ``reference``; raises InsufficientDataError for an empty group.

    Z_D is the pooled two-proportion z (= sqrt of the uncorrected chi-square), Z_IR is Morris & Lobsenz's
    z of ln(SR_focal / SR_reference). Fisher's test runs on [[sel_f, rej_f], [sel_r, rej_r]], Boschloo's on
    the groups as columns. Undefined statistics are None with a flag (nobody or everybody selected: no z;
    a zero focal or reference rate: no Z_IR).
    """
    if focal.applicants == 0 or reference.applicants == 0:
        raise InsufficientDataError("a two-group test needs applicants in both groups")
    if boschloo_max_n < 0:
        raise InvalidInputError("boschloo_max_n must be >= 0")
    n1, n2 = focal.applicants, reference.applicants
    s1, s2 = focal.selected, reference.selected
    n_total = n1 + n2
    sr1, sr2 = s1 / n1, s2 / n2
    sr_total = (s1 + s2) / n_total
    p_focal = n1 / n_total
    flags: list[FairnessFlag] = []

    z_d: float | None = None
    z_ir: float | None = None
    if s1 + s2 == 0:
        flags.append(FairnessFlag.NO_SELECTIONS)
    elif s1 + s2 == n_total:
        flags.append(FairnessFlag.ALL_SELECTED)
    else:
        z_d = (sr1 - sr2) / math.sqrt(sr_total * (1 - sr_total) * (1 / n1 + 1 / n2))
        if s1 == 0 or s2 == 0:
            flags.append(FairnessFlag.ZERO_RATE)  # ln(0) or a zero reference rate: no Z_IR
        else:
            z_ir = math.log(sr1 / sr2) / math.sqrt((1 - sr_total) / (sr_total * n_total * p_focal * (1 - p_focal)))
    impact_ratio = sr1 / sr2 if s2 else None
    if impact_ratio is not None and 5 * s1 * n2 < 4 * s2 * n1:
        flags.append(FairnessFlag.BELOW_FOUR_FIFTHS)
    z_d_p = None if z_d is None else float(2 * special.ndtr(-abs(z_d)))
    if z_d is not None and abs(z_d) > Z_CRITICAL:
        flags.append(FairnessFlag.Z_D_SIGNIFICANT)
    if z_ir is not None and abs(z_ir) > Z_CRITICAL:
        flags.append(FairnessFlag.Z_IR_SIGNIFICANT)

    fisher_p = _fisher_p(s1, n1, s2, n2)
    odds_ratio = _odds_ratio(s1, n1 - s1, s2, n2 - s2)
    if odds_ratio is None:
        flags.append(FairnessFlag.ODDS_RATIO_UNDEFINED)
    if fisher_p < SIGNIFICANCE_LEVEL:
        flags.append(FairnessFlag.FISHER_SIGNIFICANT)

    boschloo_p = _boschloo_p(s1, n1, s2, n2, boschloo_max_n)
    if boschloo_p is None:
        flags.append(FairnessFlag.EXACT_TEST_SKIPPED)
    elif boschloo_p < SIGNIFICANCE_LEVEL:
        flags.append(FairnessFlag.BOSCHLOO_SIGNIFICANT)

    return TwoGroupTest(
        focal=focal.group,
        reference=reference.group,
        focal_rate=sr1,
        reference_rate=sr2,
        total_rate=sr_total,
        focal_share=p_focal,
        impact_ratio=impact_ratio,
        z_d=z_d,
        z_d_p=z_d_p,
        chi_square=None if z_d is None else z_d * z_d,
        z_ir=z_ir,
        fisher_p=fisher_p,
        fisher_odds_ratio=odds_ratio,
        boschloo_p=boschloo_p,
        flags=tuple(flags),
    )


def four_fifths(groups: Sequence[GroupCount], *, boschloo_max_n: int = BOSCHLOO_MAX_N) -> FourFifthsReport:
    """A7.1 four-fifths rule: rates, impact ratios to the highest-rate group and tests against it.

    Raises InvalidInputError for no groups or duplicate group names. A group without applicants gets
    rate None and flag ``empty_group``; when nobody is selected every ratio is None (``no_selections``).
    """
    if not groups:
        raise InvalidInputError("the four-fifths rule needs at least one group")
    names = [g.group for g in groups]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"duplicate group names: {names}")
    candidates = [g for g in groups if g.applicants > 0]
    report_flags: list[FairnessFlag] = []
    reference = _highest_rate(candidates)
    if reference is None or reference.selected == 0:
        report_flags.append(FairnessFlag.NO_SELECTIONS)
    lines: list[GroupImpact] = []
    for count in groups:
        flags: list[FairnessFlag] = []
        ratio: float | None = None
        test: TwoGroupTest | None = None
        is_reference = reference is not None and count.group == reference.group
        if count.applicants == 0:
            flags.append(FairnessFlag.EMPTY_GROUP)
        elif reference is None or reference.selected == 0:
            flags.append(FairnessFlag.NO_SELECTIONS)
        else:
            ratio = (count.selected * reference.applicants) / (reference.selected * count.applicants)
            if 5 * count.selected * reference.applicants < 4 * reference.selected * count.applicants:
                flags.append(FairnessFlag.BELOW_FOUR_FIFTHS)
            if not is_reference:
                test = compare_two_groups(count, reference, boschloo_max_n=boschloo_max_n)
                flags += [f for f in test.flags if f is not FairnessFlag.BELOW_FOUR_FIFTHS]
        lines.append(
            GroupImpact(
                group=count.group,
                applicants=count.applicants,
                selected=count.selected,
                selection_rate=count.rate,
                impact_ratio=ratio,
                is_reference=is_reference,
                test=test,
                flags=tuple(flags),
            )
        )
    return FourFifthsReport(
        reference_group=None if reference is None else reference.group,
        groups=tuple(lines),
        flags=tuple(report_flags),
    )


def count_selections(selected: Sequence[bool] | npt.ArrayLike, groups: Sequence[str | None]) -> tuple[GroupCount, ...]:
    """Applicants and selections per group label, in order of first appearance; None labels are left out.

    Raises InvalidInputError when the lengths differ or ``selected`` is not boolean (0/1).
    """
    flags = _booleans(selected, "selected")
    labels = _labels(groups, flags.size, "groups")
    order = list(dict.fromkeys(label for label in labels if label is not None))
    return tuple(
        GroupCount(
            name,
            sum(1 for label in labels if label == name),
            int(sum(flag for label, flag in zip(labels, flags, strict=True) if label == name)),
        )
        for name in order
    )


def four_fifths_at_cut(
    scores: npt.ArrayLike, groups: Sequence[str | None], cut: float, *, boschloo_max_n: int = BOSCHLOO_MAX_N
) -> FourFifthsReport:
    """The four-fifths report at a cut score (selected when ``score >= cut``); raises InvalidInputError."""
    values = _scores(scores)
    threshold = float(cut)
    if not math.isfinite(threshold):
        raise InvalidInputError("the cut score must be finite")
    return four_fifths(count_selections(values >= threshold, groups), boschloo_max_n=boschloo_max_n)


def forecast_impact_ratio(d: float, majority_rate: float) -> float:
    """A7.1 planning forecast ``[1 - Phi(Phi^-1(1 - SR_maj) + d)] / SR_maj`` for a top-down cut.

    Raises InvalidInputError unless d is finite and 0 < majority_rate < 1.
    """
    effect, rate = float(d), float(majority_rate)
    if not math.isfinite(effect):
        raise InvalidInputError("d must be finite")
    if not 0.0 < rate < 1.0:
        raise InvalidInputError(f"the majority selection rate must lie strictly between 0 and 1, got {rate}")
    return float(special.ndtr(special.ndtri(rate) - effect)) / rate


def standardized_mean_difference(first: npt.ArrayLike, second: npt.ArrayLike) -> float:
    """d = (mean_first - mean_second) / pooled SD (ddof=1).

    Raises InvalidInputError for non-finite values, InsufficientDataError unless each group has at least
    2 values, ZeroVarianceError when the pooled SD is 0.
    """
    a = as_float_array(first, name="first").ravel()
    b = as_float_array(second, name="second").ravel()
    if a.size < 2 or b.size < 2:
        raise InsufficientDataError(f"d needs at least 2 values per group, got {a.size} and {b.size}")
    pooled = ((a.size - 1) * np.var(a, ddof=DDOF_SAMPLE) + (b.size - 1) * np.var(b, ddof=DDOF_SAMPLE)) / (
        a.size + b.size - 2
    )
    if pooled == 0.0:
        raise ZeroVarianceError("d is undefined when both groups are constant")
    return float((a.mean() - b.mean()) / math.sqrt(pooled))


def pairwise_standardized_differences(
    scores: npt.ArrayLike, groups: Sequence[str | None], *, min_n: int = PAIRWISE_D_MIN_N
) -> tuple[PairwiseDifference, ...]:
    """d for every pair of categories that both have at least ``min_n`` members (None labels left out).

    Pairs follow the order of first appearance; a pair whose pooled SD is 0 has d None and flag
    ``zero_variance``. Raises InvalidInputError for mismatched lengths, non-finite scores or min_n < 2.
    """
    values = _scores(scores)
    labels = _labels(groups, values.size, "groups")
    if min_n < 2:
        raise InvalidInputError("min_n must be at least 2")
    order = list(dict.fromkeys(label for label in labels if label is not None))
    members = {name: values[np.array([label == name for label in labels])] for name in order}
    eligible = [name for name in order if members[name].size >= min_n]
    result: list[PairwiseDifference] = []
    for i, first in enumerate(eligible):
        for second in eligible[i + 1 :]:
            flags: tuple[FairnessFlag, ...] = ()
            try:
                d: float | None = standardized_mean_difference(members[first], members[second])
            except ZeroVarianceError:
                d, flags = None, (FairnessFlag.ZERO_VARIANCE,)
            result.append(PairwiseDifference(first, second, members[first].size, members[second].size, d, flags))
    return tuple(result)


def ll144_scoring_audit(
    scores: npt.ArrayLike,
    sex: Sequence[str | None],
    race_ethnicity: Sequence[str | None],
    *,
    exclude_under_2_percent: bool = True,
) -> LL144Audit:
    """A7.2 tables for a scoring tool: share of each category scoring strictly above the sample median.

    ``None`` marks an unknown category. Raises InsufficientDataError for an empty sample and
    InvalidInputError for mismatched lengths, non-finite scores or labels outside the LL144 categories.
    """
    values = _scores(scores)
    if values.size == 0:
        raise InsufficientDataError("an LL144 audit needs at least one assessed individual")
    median = float(np.median(values))
    above = values > median
    notes = [
        f"Median score of all {values.size} assessed individuals: {median!r}. The scoring rate is the share "
        "scoring strictly above it."
    ]
    at_median = int(np.count_nonzero(values == median))
    if at_median:
        notes.append(
            f"{at_median} individual(s) scored exactly the median and count as not above it, "
            "so every scoring rate is below 50% overall."
        )
    return _ll144("scoring", above, sex, race_ethnicity, median=median, notes=notes, exclude=exclude_under_2_percent)


def ll144_selection_audit(
    selected: Sequence[bool] | npt.ArrayLike,
    sex: Sequence[str | None],
    race_ethnicity: Sequence[str | None],
    *,
    exclude_under_2_percent: bool = True,
) -> LL144Audit:
    """A7.2 tables for a selection tool: share of each category selected (or moved forward).

    ``None`` marks an unknown category. Raises InsufficientDataError for an empty sample and
    InvalidInputError for mismatched lengths, non-boolean selections or labels outside the categories.
    """
    flags = _booleans(selected, "selected")
    if flags.size == 0:
        raise InsufficientDataError("an LL144 audit needs at least one assessed individual")
    return _ll144("selection", flags, sex, race_ethnicity, median=None, notes=[], exclude=exclude_under_2_percent)


def _ll144(
    kind: Literal["scoring", "selection"],
    counted: npt.NDArray[np.bool_],
    sex: Sequence[str | None],
    race_ethnicity: Sequence[str | None],
    *,
    median: float | None,
    notes: list[str],
    exclude: bool,
) -> LL144Audit:
    n_total = int(counted.size)
    sexes = _labels(sex, n_total, "sex")
    races = _labels(race_ethnicity, n_total, "race_ethnicity")
    _check_categories(sexes, SEX_CATEGORIES, "sex")
    _check_categories(races, RACE_ETHNICITY_CATEGORIES, "race_ethnicity")
    sex_categories = [s for s in SEX_CATEGORIES if s != "Other" or "Other" in sexes]
    both = [None if s is None or r is None else f"{r} {s}" for s, r in zip(sexes, races, strict=True)]
    tables: list[tuple[CategoryType, list[str], list[str | None]]] = [
        ("Sex", sex_categories, sexes),
        ("Race/ethnicity", list(RACE_ETHNICITY_CATEGORIES), races),
        ("Intersectional", [f"{r} {s}" for s in sex_categories for r in RACE_ETHNICITY_CATEGORIES], both),
    ]
    rows: list[AuditRow] = []
    unknown: list[tuple[CategoryType, int]] = []
    for category_type, categories, labels in tables:
        rows += _audit_table(category_type, categories, labels, counted, exclude)
        unknown.append((category_type, sum(1 for label in labels if label is None)))
    if any(r.excluded and r.assessed > 0 for r in rows):
        notes.append(
            "Categories with fewer than 2% of the assessed individuals are excluded from the impact ratios, "
            "as the DCWP rules allow, because ratios on so few people are unstable; their counts and rates are "
            "still shown."
        )
    if any(FairnessFlag.HIGHEST_RATE_IS_ZERO in r.flags for r in rows):
        notes.append("Where every category's rate is 0, impact ratios are undefined and shown as n/a.")
    notes.append(RACE_ETHNICITY_NOTE)
    return LL144Audit(
        kind=kind, n_assessed=n_total, median=median, rows=tuple(rows), unknown=tuple(unknown), notes=tuple(notes)
    )


def _audit_table(
    category_type: CategoryType,
    categories: list[str],
    labels: list[str | None],
    counted: npt.NDArray[np.bool_],
    exclude: bool,
) -> list[AuditRow]:
    n_total = len(labels)
    sizes = {c: sum(1 for label in labels if label == c) for c in categories}
    hits = {c: int(sum(bool(x) for label, x in zip(labels, counted, strict=True) if label == c)) for c in categories}
    excluded = {c: exclude and 50 * sizes[c] < n_total for c in categories}
    included = [c for c in categories if not excluded[c] and sizes[c] > 0]
    best = max(included, key=lambda c: hits[c] / sizes[c], default=None)
    rows = []
    for c in categories:
        flags: list[FairnessFlag] = []
        ratio: float | None = None
        reason: str | None = None
        if sizes[c] == 0:
            flags.append(FairnessFlag.EMPTY_GROUP)
        if excluded[c]:
            flags.append(FairnessFlag.EXCLUDED_UNDER_2_PERCENT)
            share = round_half_up(100 * sizes[c] / n_total, 1)
            reason = (
                "nobody assessed in this category"
                if sizes[c] == 0
                else f"{sizes[c]} of {n_total} assessed ({share:.1f}%), under 2% of the data"
            )
        elif sizes[c] > 0 and best is not None:
            if hits[best] == 0:
                flags.append(FairnessFlag.HIGHEST_RATE_IS_ZERO)
            else:
                ratio = (hits[c] * sizes[best]) / (hits[best] * sizes[c])
                if 5 * hits[c] * sizes[best] < 4 * hits[best] * sizes[c]:
                    flags.append(FairnessFlag.BELOW_FOUR_FIFTHS)
        rows.append(
            AuditRow(
                category_type=category_type,
                category=c,
                assessed=sizes[c],
                counted=hits[c],
                rate=hits[c] / sizes[c] if sizes[c] else None,
                impact_ratio=ratio,
                excluded=excluded[c],
                exclusion_reason=reason,
                flags=tuple(flags),
            )
        )
    return rows


def _fisher_p(s1: int, n1: int, s2: int, n2: int) -> float:
    # scipy.stats is imported on first use: importing it up front doubles the scoring package's import time.
    from scipy.stats import fisher_exact

    return min(1.0, float(fisher_exact([[s1, n1 - s1], [s2, n2 - s2]], alternative="two-sided").pvalue))


def _highest_rate(groups: Sequence[GroupCount]) -> GroupCount | None:
    best: GroupCount | None = None
    for g in groups:
        if best is None or g.selected * best.applicants > best.selected * g.applicants:
            best = g
    return best


def _odds_ratio(a: int, b: int, c: int, d: int) -> float | None:
    if b * c == 0:
        return None
    return (a * d) / (b * c)


def _boschloo_p(s1: int, n1: int, s2: int, n2: int, max_n: int) -> float | None:
    if n1 + n2 > max_n:
        return None
    if s1 + s2 in (0, n1 + n2):
        return 1.0  # one margin is empty: every table is the observed one
    from scipy.stats import boschloo_exact  # imported on first use, as in _fisher_p

    result = boschloo_exact([[s1, s2], [n1 - s1, n2 - s2]], alternative="two-sided")
    p = float(result.pvalue)
    if not math.isfinite(p):
        raise UndefinedStatisticError(f"Boschloo's test is undefined for {s1}/{n1} against {s2}/{n2}")
    return min(1.0, p)


def _scores(scores: npt.ArrayLike) -> FloatArray:
    values = as_float_array(scores, name="scores")
    if values.ndim != 1:
        raise InvalidInputError(f"scores must be 1-D, got {values.ndim}-D")
    return values


def _booleans(values: Sequence[bool] | npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D, got {array.ndim}-D")
    if array.size and array.dtype != np.bool_ and (array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all()):
        raise InvalidInputError(f"{name} must be booleans (or 0/1)")
    return array.astype(np.bool_)


def _labels(labels: Sequence[str | None], n: int, name: str) -> list[str | None]:
    values = list(labels)
    if len(values) != n:
        raise InvalidInputError(f"{name} has {len(values)} entries for {n} individuals")
    if any(v is not None and not isinstance(v, str) for v in values):
        raise InvalidInputError(f"{name} labels must be strings or None")
    return values


def _check_categories(labels: list[str | None], allowed: tuple[str, ...], name: str) -> None:
    unknown = sorted({label for label in labels if label is not None and label not in allowed})
    if unknown:
        raise InvalidInputError(f"{name} labels outside the LL144 categories: {unknown} (use None for unknown)")
