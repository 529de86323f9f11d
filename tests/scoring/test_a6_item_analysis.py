"""A6 item analysis: every statistic and flag of the table, the worked numbers, cross-checks and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from scoring.errors import (
    InsufficientDataError,
    InvalidInputError,
    RatingOutOfScaleError,
    ResponseFormatError,
    UndefinedStatisticError,
    UnknownOptionError,
    ZeroVarianceError,
)
from scoring.fairness import standardized_mean_difference
from scoring.item_analysis import (
    ItemFlag,
    ItemResponses,
    ItemSampleStatus,
    analyze_items,
    icc2k,
    mantel_haenszel,
)
from scoring.items import (
    KeyedItem,
    KeyedOption,
    MostLeastResponse,
    RankResponse,
    RatingResponse,
    ResponseFormat,
    SingleBestResponse,
)

KEYS = {"A": 5.4, "B": 2.1, "C": 3.8, "D": 1.3}

# scoring.md A5 worked example (N = 6 candidates, k = 5 items).
A5_MATRIX = np.array(
    [
        [1, 0.8, 1, 0.6, 0],
        [0, 0.4, 0, 0.2, 1],
        [1, 0.6, 1, 0.8, 1],
        [0, 0.6, 1, 0.4, 0],
        [1, 1.0, 0, 0.6, 0],
        [0, 0.2, 0, 0.4, 1],
    ]
)


def single_best(item_id: str, keys: dict[str, float] | None = None) -> KeyedItem:
    return KeyedItem.create(item_id, "single_best", keys or KEYS)


def rate(item_id: str, keys: dict[str, float] | None = None) -> KeyedItem:
    return KeyedItem.create(item_id, "rate", keys or KEYS)


def bare(items: list[KeyedItem]) -> list[ItemResponses]:
    return [ItemResponses(item) for item in items]


def a5_items() -> list[ItemResponses]:
    return bare([single_best("I1"), rate("I2"), single_best("I3"), rate("I4"), single_best("I5")])


def random_pomps(seed: int, n: int, k: int) -> np.ndarray:
    """Correlated POMPs in [0, 1]: a common factor plus noise, rounded to steps of 0.25."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=(n, 1))
    raw = ability + rng.normal(scale=1.2, size=(n, k))
    return np.clip(np.round((stats.norm.cdf(raw)) * 4) / 4, 0, 1)


# --- Worked example (scoring.md A5 block: the item statistics) ---------------------------------------------


def test_a6_worked_example_a5_block_alpha() -> None:
    analysis = analyze_items(A5_MATRIX, a5_items())
    assert analysis.alpha == pytest.approx(0.2244, abs=1e-4)
    assert analysis.n_respondents == 6
    assert analysis.sample_status is ItemSampleStatus.BELOW_MINIMUM


def test_a6_worked_example_a5_block_corrected_item_total_r() -> None:
    analysis = analyze_items(A5_MATRIX, a5_items())
    observed = [item.corrected_item_total_r for item in analysis.items]
    assert observed == pytest.approx([0.5635, 0.2516, 0.2111, 0.8842, -0.4865], abs=1e-4)


def test_a6_worked_example_a5_block_item_5_is_flagged() -> None:
    analysis = analyze_items(A5_MATRIX, a5_items())
    item5 = analysis.item("I5")
    assert item5.alpha_if_deleted == pytest.approx(0.7404, abs=1e-4)
    assert ItemFlag.ALPHA_RISES_IF_DELETED in item5.flags
    assert ItemFlag.NEGATIVE_ITEM_TOTAL_R in item5.flags
    assert ItemFlag.LOW_ITEM_TOTAL_R not in item5.flags
    for other in ("I1", "I2", "I3", "I4"):
        assert ItemFlag.ALPHA_RISES_IF_DELETED not in analysis.item(other).flags


def test_a6_worked_example_a5_block_upper_lower_index_by_hand() -> None:
    # Totals 3.4, 1.6, 4.4, 2.0, 2.6, 1.6; 27% of 6 rounds to 2: top rows 3 and 1, bottom rows 2 and 6.
    analysis = analyze_items(A5_MATRIX, a5_items())
    assert [item.upper_lower_d for item in analysis.items] == pytest.approx([1.0, 0.4, 1.0, 0.4, -0.5], abs=1e-12)
    assert ItemFlag.LOW_UPPER_LOWER_D in analysis.item("I5").flags


# --- Difficulty ----------------------------------------------------------------------------------------------


def test_a6_difficulty_flags_for_pick_and_rate_items() -> None:
    n = 40
    easy = np.ones(n)
    easy[0] = 0.0  # mean .975
    hard = np.zeros(n)
    hard[:3] = 1.0  # mean .075
    middle = np.tile([0.25, 0.5, 0.75, 1.0], n // 4)
    matrix = np.column_stack([easy, hard, middle, hard, easy])
    items = bare([single_best("E"), single_best("H"), rate("M"), rate("RH"), rate("RE")])
    analysis = analyze_items(matrix, items)
    assert ItemFlag.TOO_EASY in analysis.item("E").flags
    assert ItemFlag.TOO_HARD in analysis.item("H").flags
    assert analysis.item("H").mean == pytest.approx(0.075)
    assert not {ItemFlag.TOO_EASY, ItemFlag.TOO_HARD} & set(analysis.item("M").flags)
    assert ItemFlag.TOO_HARD not in analysis.item("RH").flags  # rate items: only the .95 ceiling
    assert ItemFlag.TOO_EASY in analysis.item("RE").flags


def test_a6_difficulty_thresholds_are_strict() -> None:
    n = 20
    at_95 = np.ones(n)
    at_95[0] = 0.0  # exactly .95
    at_10 = np.zeros(n)
    at_10[:2] = 1.0  # exactly .10
    filler = np.tile([0.0, 1.0], n // 2)
    analysis = analyze_items(np.column_stack([at_95, at_10, filler]), bare([single_best(i) for i in "XYZ"]))
    assert ItemFlag.TOO_EASY not in analysis.item("X").flags
    assert ItemFlag.TOO_HARD not in analysis.item("Y").flags


# --- Discrimination -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "expected", "absent"),
    [
        (3, ItemFlag.LOW_ITEM_TOTAL_R, ItemFlag.NEGATIVE_ITEM_TOTAL_R),  # r = 0.0166: review
        (4, ItemFlag.NEGATIVE_ITEM_TOTAL_R, ItemFlag.LOW_ITEM_TOTAL_R),  # r = -0.0293: revise or remove
    ],
)
def test_a6_item_total_r_review_and_revise_flags(seed: int, expected: ItemFlag, absent: ItemFlag) -> None:
    rng = np.random.default_rng(seed)
    noise = rng.permutation(np.tile([0.0, 1.0], 150))  # an item unrelated to the others
    matrix = np.column_stack([random_pomps(seed, 300, 4), noise])
    analysis = analyze_items(matrix, bare([rate(f"R{i}") for i in range(4)] + [single_best("N")]))
    r = analysis.item("N").corrected_item_total_r
    assert r is not None
    assert -0.10 < r < 0.10
    assert expected in analysis.item("N").flags
    assert absent not in analysis.item("N").flags
    assert ItemFlag.ALPHA_RISES_IF_DELETED in analysis.item("N").flags
    for i in range(4):
        item = analysis.item(f"R{i}")
        assert item.corrected_item_total_r is not None
        assert item.corrected_item_total_r > 0.10
        assert not {ItemFlag.LOW_ITEM_TOTAL_R, ItemFlag.NEGATIVE_ITEM_TOTAL_R} & set(item.flags)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a6_corrected_item_total_r_matches_scipy_pearsonr(seed: int) -> None:
    matrix = random_pomps(seed, 150, 6)
    analysis = analyze_items(matrix, bare([rate(f"R{i}") for i in range(6)]))
    total = matrix.sum(axis=1)
    for i, item in enumerate(analysis.items):
        expected = stats.pearsonr(matrix[:, i], total - matrix[:, i]).statistic
        assert item.corrected_item_total_r == pytest.approx(float(expected), abs=1e-12)


@pytest.mark.parametrize("seed", [4, 5])
def test_a6_alpha_if_deleted_matches_the_alpha_formula(seed: int) -> None:
    matrix = random_pomps(seed, 120, 5)
    analysis = analyze_items(matrix, bare([rate(f"R{i}") for i in range(5)]))
    for i, item in enumerate(analysis.items):
        rest = np.delete(matrix, i, axis=1)
        k = rest.shape[1]
        expected = k / (k - 1) * (1 - rest.var(axis=0, ddof=1).sum() / rest.sum(axis=1).var(ddof=1))
        assert item.alpha_if_deleted == pytest.approx(expected, abs=1e-12)


def test_a6_upper_lower_index_matches_a_direct_computation_without_ties() -> None:
    rng = np.random.default_rng(11)
    matrix = rng.uniform(size=(100, 4))
    analysis = analyze_items(matrix, bare([rate(f"R{i}") for i in range(4)]))
    order = np.argsort(matrix.sum(axis=1))
    size = 27  # 27% of 100
    for i, item in enumerate(analysis.items):
        expected = matrix[order[-size:], i].mean() - matrix[order[:size], i].mean()
        assert item.upper_lower_d == pytest.approx(expected, abs=1e-12)


def test_a6_upper_lower_index_does_not_depend_on_row_order_with_ties() -> None:
    matrix = random_pomps(8, 50, 4)  # coarse steps: many tied totals
    items = bare([rate(f"R{i}") for i in range(4)])
    first = analyze_items(matrix, items)
    permuted = analyze_items(matrix[np.random.default_rng(0).permutation(50)], items)
    for a, b in zip(first.items, permuted.items, strict=True):
        assert a.upper_lower_d == pytest.approx(b.upper_lower_d, abs=1e-12)


# --- Options of pick formats ---------------------------------------------------------------------------------


def pick_data() -> tuple[np.ndarray, list[ItemResponses]]:
    """20 respondents; item S (single best, keyed A) and two filler rate items that follow ability."""
    ability = np.linspace(0, 1, 20)
    choices = ["A"] * 8 + ["C"] * 9 + ["B"] * 3  # ordered by ability: low picks A, high picks B
    choices = list(reversed(choices))  # high ability picks A
    s = np.array([1.0 if c == "A" else 0.0 for c in choices])
    filler = np.round(ability * 4) / 4
    matrix = np.column_stack([s, filler, filler])
    responses = tuple(SingleBestResponse(c) for c in choices)
    items = [ItemResponses(single_best("S"), responses), ItemResponses(rate("F1")), ItemResponses(rate("F2"))]
    return matrix, items


def test_a6_option_endorsement_and_point_biserial_match_scipy() -> None:
    matrix, items = pick_data()
    item = analyze_items(matrix, items).item("S")
    rest = matrix.sum(axis=1) - matrix[:, 0]
    choices = [r.choice for r in items[0].responses or () if isinstance(r, SingleBestResponse)]
    for option in "ABCD":
        line = item.option(option, "best")
        chosen = np.array([c == option for c in choices], dtype=float)
        assert line.endorsement == pytest.approx(chosen.mean())
        if chosen.any():
            assert line.rest_r == pytest.approx(float(stats.pointbiserialr(chosen, rest).statistic), abs=1e-12)
        else:
            assert line.rest_r is None
    assert item.keyed_endorsement == pytest.approx(8 / 20)
    assert item.option("A", "best").keyed


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_a6_point_biserial_matches_scipy_on_random_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 250
    ability = rng.normal(size=n)
    logits = np.column_stack([ability, 0.3 * ability, np.zeros(n), -0.5 * ability])
    weights = np.exp(logits + rng.gumbel(size=(n, 4)))
    choices = ["ABCD"[j] for j in weights.argmax(axis=1)]
    matrix = np.column_stack(
        [[1.0 if c == "A" else 0.0 for c in choices], random_pomps(seed, n, 3) * 0.5 + 0.5 * (ability[:, None] > 0)]
    )
    responses = tuple(SingleBestResponse(c) for c in choices)
    items = [ItemResponses(single_best("S"), responses), *bare([rate(f"F{i}") for i in range(3)])]
    item = analyze_items(matrix, items).item("S")
    rest = matrix.sum(axis=1) - matrix[:, 0]
    for option in "ABCD":
        chosen = np.array([c == option for c in choices], dtype=float)
        expected = stats.pointbiserialr(chosen, rest).statistic
        assert item.option(option, "best").rest_r == pytest.approx(float(expected), abs=1e-12)
        assert item.option(option, "best").endorsement == pytest.approx(chosen.mean(), abs=1e-15)


def test_a6_option_flags_non_functioning_and_key_check() -> None:
    matrix, items = pick_data()
    item = analyze_items(matrix, items).item("S")
    assert ItemFlag.NON_FUNCTIONING_DISTRACTOR in item.option("D", "best").flags  # chosen by 0%
    assert ItemFlag.KEY_CHECK in item.option("C", "best").flags  # 45% > keyed 40%
    assert ItemFlag.KEY_CHECK not in item.option("A", "best").flags  # keyed r_pb > 0
    assert ItemFlag.MIDRANGE in item.flags  # keyed endorsement .40
    assert {ItemFlag.NON_FUNCTIONING_DISTRACTOR, ItemFlag.KEY_CHECK} <= set(item.flags)


def test_a6_keyed_option_with_negative_point_biserial_is_a_key_check() -> None:
    matrix, items = pick_data()
    choices = [r.choice for r in items[0].responses or () if isinstance(r, SingleBestResponse)]
    flipped = [SingleBestResponse("B" if choice == "A" else "A") for choice in choices]
    matrix = matrix.copy()
    matrix[:, 0] = [1.0 if r.choice == "A" else 0.0 for r in flipped]
    items[0] = ItemResponses(single_best("S"), tuple(flipped))
    item = analyze_items(matrix, items).item("S")
    keyed = item.option("A", "best")
    assert keyed.rest_r is not None
    assert keyed.rest_r <= 0
    assert ItemFlag.KEY_CHECK in keyed.flags
    assert ItemFlag.KEY_CHECK in item.option("B", "best").flags  # distractor r_pb above the keyed one


def test_a6_most_least_options_are_analysed_per_pick() -> None:
    item = KeyedItem.create("ML", "most_least", KEYS)
    n = 40
    ability = np.linspace(0, 1, n)
    most = ["A" if a > 0.3 else "C" for a in ability]
    least = ["D" if a > 0.5 else "B" for a in ability]
    responses = tuple(MostLeastResponse(m, w) for m, w in zip(most, least, strict=True))
    score = np.array([(0.5 + 0.25 * (m == "A") + 0.25 * (w == "D")) for m, w in zip(most, least, strict=True)])
    filler = np.round(ability * 4) / 4
    analysis = analyze_items(
        np.column_stack([score, filler, filler]), [ItemResponses(item, responses), *bare([rate("F1"), rate("F2")])]
    )
    stats_ml = analysis.item("ML")
    assert stats_ml.option("A", "most").keyed
    assert stats_ml.option("D", "least").keyed
    assert not stats_ml.option("B", "least").keyed
    assert stats_ml.option("D", "least").endorsement == pytest.approx(np.mean([w == "D" for w in least]))
    assert stats_ml.option("D", "least").rest_r is not None
    assert stats_ml.option("D", "least").rest_r > 0  # type: ignore[operator]
    assert stats_ml.keyed_endorsement == pytest.approx(np.mean([m == "A" for m in most]))
    assert ItemFlag.NON_FUNCTIONING_DISTRACTOR in stats_ml.option("B", "most").flags


def test_a6_rank_items_have_no_option_statistics() -> None:
    item = KeyedItem.create("RK", "rank", KEYS)
    responses = tuple(RankResponse(("A", "C", "B", "D")) for _ in range(10))
    matrix = np.column_stack([np.linspace(0, 1, 10), np.linspace(0, 1, 10) ** 2])
    analysis = analyze_items(matrix, [ItemResponses(item, responses), ItemResponses(rate("F"))])
    assert analysis.item("RK").options == ()
    assert analysis.item("RK").keyed_endorsement is None


# --- Rate format options ---------------------------------------------------------------------------------------


def test_a6_rate_option_rest_r_sign_midrange_and_key_check() -> None:
    # Key: A 5.4 (expect +), B 2.1 (expect -), C 3.5 (midpoint, no sign), D 1.3 (expect -).
    item = rate("RT", {"A": 5.4, "B": 2.1, "C": 3.5, "D": 1.3})
    n = 30
    ability = np.linspace(0, 1, n)
    a = np.round(1 + 5 * ability)  # follows ability: right sign
    b = np.round(6 - 5 * ability)  # falls with ability: right sign
    c = np.where(np.arange(n) % 2 == 0, 3, 4)  # midrange, no expected sign
    d = np.round(1 + 5 * ability)  # rises with ability although keyed low: key check
    responses = tuple(
        RatingResponse.of({"A": int(w), "B": int(x), "C": int(y), "D": int(z)})
        for w, x, y, z in zip(a, b, c, d, strict=True)
    )
    filler = np.round(ability * 4) / 4
    matrix = np.column_stack([np.clip(ability, 0, 1), filler, filler])
    analysis = analyze_items(matrix, [ItemResponses(item, responses), *bare([rate("F1"), rate("F2")])])
    stats_rt = analysis.item("RT")
    rest = matrix.sum(axis=1) - matrix[:, 0]
    line_a, line_b, line_c, line_d = (stats_rt.option(o, "rating") for o in "ABCD")
    assert line_a.rest_r == pytest.approx(float(stats.pearsonr(a, rest).statistic), abs=1e-12)
    assert (line_a.expected_sign, line_b.expected_sign, line_c.expected_sign, line_d.expected_sign) == (1, -1, 0, -1)
    assert ItemFlag.KEY_CHECK not in line_a.flags
    assert ItemFlag.KEY_CHECK not in line_b.flags
    assert ItemFlag.KEY_CHECK not in line_c.flags
    assert ItemFlag.KEY_CHECK in line_d.flags
    assert line_c.mean_rating == pytest.approx(3.5)
    assert ItemFlag.MIDRANGE in line_c.flags
    assert line_a.mean_rating == pytest.approx(a.mean())
    assert (ItemFlag.MIDRANGE in line_a.flags) == bool(abs(a.mean() - 3.5) <= 0.5)
    assert {ItemFlag.KEY_CHECK, ItemFlag.MIDRANGE} <= set(stats_rt.flags)


def test_a6_rate_option_not_rated_by_anyone_has_no_statistics() -> None:
    item = rate("RT")
    responses = tuple(RatingResponse.of({"A": 5 + i % 2, "B": 2, "C": 4}) for i in range(10))
    matrix = np.column_stack([np.linspace(0.5, 1, 10), np.linspace(0, 1, 10)])
    stats_rt = analyze_items(matrix, [ItemResponses(item, responses), ItemResponses(rate("F"))]).item("RT")
    assert stats_rt.option("D", "rating").mean_rating is None
    assert stats_rt.option("D", "rating").rest_r is None
    assert stats_rt.option("B", "rating").rest_r is None  # constant rating: zero variance
    assert stats_rt.option("B", "rating").mean_rating == 2.0


# --- Key quality ---------------------------------------------------------------------------------------------------


def test_a6_icc2k_reproduces_shrout_and_fleiss_1979() -> None:
    # Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; ICC(2,4) = .62 (printed to 2 dp).
    ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    assert icc2k(ratings) == pytest.approx(0.62, abs=0.005)


def test_a6_icc2k_matches_the_anova_by_hand() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 7, size=(5, 6)).astype(float)
    n, k = x.shape
    grand = x.mean()
    msr = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand
    mse = (resid**2).sum() / ((n - 1) * (k - 1))
    assert icc2k(x) == pytest.approx((msr - mse) / (msr + (msc - mse) / n), abs=1e-12)


def test_a6_key_quality_flags() -> None:
    item = KeyedItem(
        item_id="KQ",
        response_format=ResponseFormat.SINGLE_BEST,
        options=(
            KeyedOption("A", 5.4, key_sd=0.55, key_n=5),
            KeyedOption("B", 2.1, key_sd=1.3, key_n=5),
            KeyedOption("C", 3.8, key_sd=None, key_n=None),
        ),
    )
    disagreeing = [[6, 4, 6, 5, 5], [2, 4, 1, 2, 3], [3, 5, 4, 3, 4]]
    matrix = np.column_stack([np.tile([0.0, 1.0], 10), np.linspace(0, 1, 20)])
    analysis = analyze_items(matrix, [ItemResponses(item, sme_ratings=disagreeing), ItemResponses(rate("F"))])
    kq = analysis.item("KQ")
    assert kq.key_uncertain_options == ("B",)
    assert ItemFlag.KEY_UNCERTAIN in kq.flags
    assert kq.icc2k == pytest.approx(icc2k(disagreeing))
    assert (kq.icc2k or 0) >= 0.70
    agreeing_badly = [[6, 3, 6, 2, 5], [4, 5, 2, 3, 5], [2, 3, 5, 4, 1]]
    kq2 = analyze_items(matrix, [ItemResponses(item, sme_ratings=agreeing_badly), ItemResponses(rate("F"))]).item("KQ")
    assert kq2.icc2k is not None
    assert kq2.icc2k < 0.70
    assert ItemFlag.LOW_SME_AGREEMENT in kq2.flags


def test_a6_icc2k_bad_input() -> None:
    with pytest.raises(ZeroVarianceError):
        icc2k([[3, 3], [3, 3]])
    with pytest.raises(UndefinedStatisticError):
        icc2k([[5, 2, 6, 1, 4], [4, 5, 2, 3, 6], [3, 4, 5, 6, 1]])  # equal option means, raters disagree
    with pytest.raises(InsufficientDataError):
        icc2k([[1, 2, 3]])
    with pytest.raises(InvalidInputError):
        icc2k([1, 2, 3])
    with pytest.raises(InvalidInputError):
        icc2k([[1, math.nan], [2, 3]])


def test_a6_icc_of_a_hopelessly_split_panel_is_undefined_and_low() -> None:
    item = single_best("U")
    matrix = np.column_stack([np.tile([0.0, 1.0], 5), np.linspace(0, 1, 10)])
    split = [[5, 2, 6, 1, 4], [4, 5, 2, 3, 6], [3, 4, 5, 6, 1], [4, 4, 4, 4, 4]]
    u = analyze_items(matrix, [ItemResponses(item, sme_ratings=split), ItemResponses(rate("F"))]).item("U")
    assert u.icc2k is None
    assert ("icc2k", "low_sme_agreement") in u.undefined
    assert ItemFlag.LOW_SME_AGREEMENT in u.flags


def test_a6_icc_of_a_unanimous_panel_is_undefined_with_a_flag() -> None:
    item = single_best("U")
    matrix = np.column_stack([np.tile([0.0, 1.0], 5), np.linspace(0, 1, 10)])
    same = [[4, 4], [4, 4], [4, 4], [4, 4]]
    u = analyze_items(matrix, [ItemResponses(item, sme_ratings=same), ItemResponses(rate("F"))]).item("U")
    assert u.icc2k is None
    assert ("icc2k", "zero_variance") in u.undefined
    assert ItemFlag.ZERO_VARIANCE in u.flags


# --- Subgroups and DIF ------------------------------------------------------------------------------------------


def test_a6_subgroup_d_per_item() -> None:
    matrix = random_pomps(21, 200, 4)
    matrix[:100, 0] = np.clip(matrix[:100, 0] + 0.5, 0, 1)  # reference scores higher on item 0
    groups = ["ref"] * 100 + ["foc"] * 100
    analysis = analyze_items(
        matrix, bare([rate(f"R{i}") for i in range(4)]), groups=groups, focal_group="foc", reference_group="ref"
    )
    d0 = analysis.item("R0").subgroup_d
    assert d0 == pytest.approx(standardized_mean_difference(matrix[:100, 0], matrix[100:, 0]), abs=1e-12)
    assert d0 is not None
    assert d0 > 0.5
    assert ItemFlag.SUBGROUP_DIFFERENCE in analysis.item("R0").flags
    assert analysis.item("R0").mh_p is None  # not dichotomous: no Mantel-Haenszel


def test_a6_mantel_haenszel_matches_statsmodels() -> None:
    rng = np.random.default_rng(7)
    n = 400
    ability = rng.normal(size=n)
    focal = rng.uniform(size=n) < 0.4
    correct = (ability - 0.6 * focal + rng.normal(size=n) > 0).astype(float)
    strata = np.digitize(ability, [-1, -0.3, 0.3, 1])
    result = mantel_haenszel(correct, focal, strata)
    tables = []
    for s in np.unique(strata):
        m = strata == s
        tables.append(
            [
                [np.sum((correct == 1) & ~focal & m), np.sum((correct == 0) & ~focal & m)],
                [np.sum((correct == 1) & focal & m), np.sum((correct == 0) & focal & m)],
            ]
        )
    reference = StratifiedTable(np.array(tables, dtype=float).transpose(1, 2, 0))
    test = reference.test_null_odds(correction=True)
    assert result.statistic == pytest.approx(float(test.statistic), rel=1e-10)
    assert result.p_value == pytest.approx(float(test.pvalue), abs=1e-12)
    assert result.odds_ratio == pytest.approx(float(reference.oddsratio_pooled), rel=1e-10)
    assert result.odds_ratio > 1  # the reference group has the higher odds
    assert result.strata_used == 5


def test_a6_mantel_haenszel_bad_input() -> None:
    with pytest.raises(InvalidInputError):
        mantel_haenszel([0, 1, 2], [0, 1, 0], [0, 0, 0])
    with pytest.raises(InvalidInputError):
        mantel_haenszel([0, 1], [0, 1, 0], [0, 0, 0])
    with pytest.raises(InsufficientDataError):
        mantel_haenszel([1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1])  # no focal members
    with pytest.raises(InsufficientDataError):
        mantel_haenszel([1, 0, 1], [0, 1, 1], [0, 1, 2])  # strata of one


def test_a6_dif_is_flagged_after_bonferroni() -> None:
    rng = np.random.default_rng(13)
    n, k = 600, 6
    ability = rng.normal(size=n)
    focal = np.arange(n) % 2 == 1
    matrix = (ability[:, None] + rng.normal(size=(n, k)) > 0).astype(float)
    matrix[:, 0] = (ability - 1.2 * focal + rng.normal(size=n) > 0).astype(float)  # DIF against the focal group
    groups = ["focal" if f else "reference" for f in focal]
    analysis = analyze_items(
        matrix,
        bare([single_best(f"S{i}") for i in range(k)]),
        groups=groups,
        focal_group="focal",
        reference_group="reference",
    )
    assert analysis.item("S0").mh_p is not None
    assert analysis.item("S0").mh_p < 0.01 / k  # type: ignore[operator]
    assert ItemFlag.DIF in analysis.item("S0").flags
    for i in range(1, k):
        item = analysis.item(f"S{i}")
        assert item.mh_p is not None
        assert (ItemFlag.DIF in item.flags) is (item.mh_p < 0.01 / k)
    assert analysis.sample_status is ItemSampleStatus.SUFFICIENT_FOR_DECISIONS


def test_a6_subgroup_with_too_few_members_is_undefined_with_a_flag() -> None:
    matrix = random_pomps(2, 20, 3)
    groups: list[str | None] = ["a"] * 19 + ["b"]
    analysis = analyze_items(
        matrix, bare([rate(f"R{i}") for i in range(3)]), groups=groups, focal_group="b", reference_group="a"
    )
    item = analysis.item("R0")
    assert item.subgroup_d is None
    assert ("subgroup_d", "too_few_respondents") in item.undefined
    assert ItemFlag.TOO_FEW_RESPONDENTS in item.flags


# --- Response times and sample size ------------------------------------------------------------------------------


def test_a6_fast_median_response_time_is_flagged() -> None:
    matrix = random_pomps(6, 30, 3)
    times_fast = np.full(30, 4.0)
    times_fast[:10] = 20.0
    times_slow = np.full(30, 12.0)
    times_slow[0] = math.nan
    items = [
        ItemResponses(rate("R0"), response_seconds=times_fast),
        ItemResponses(rate("R1"), response_seconds=times_slow),
        ItemResponses(rate("R2"), response_seconds=np.full(30, math.nan)),
    ]
    analysis = analyze_items(matrix, items)
    assert analysis.item("R0").median_seconds == 4.0
    assert ItemFlag.FAST_RESPONSES in analysis.item("R0").flags
    assert analysis.item("R1").median_seconds == 12.0
    assert ItemFlag.FAST_RESPONSES not in analysis.item("R1").flags
    assert analysis.item("R2").median_seconds is None
    assert ("median_seconds", "too_few_respondents") in analysis.item("R2").undefined


@pytest.mark.parametrize(
    ("n", "status"),
    [
        (99, ItemSampleStatus.BELOW_MINIMUM),
        (100, ItemSampleStatus.PROVISIONAL),
        (199, ItemSampleStatus.PROVISIONAL),
        (200, ItemSampleStatus.SUFFICIENT_FOR_DECISIONS),
    ],
)
def test_a6_sample_status_thresholds(n: int, status: ItemSampleStatus) -> None:
    analysis = analyze_items(random_pomps(n, n, 3), bare([rate(f"R{i}") for i in range(3)]))
    assert analysis.sample_status is status


def test_a6_listwise_deletion_keeps_responses_aligned() -> None:
    matrix, items = pick_data()
    with_gap = matrix.copy()
    with_gap[0, 1] = math.nan  # the first respondent (who chose B) drops out
    analysis = analyze_items(with_gap, items)
    assert analysis.n_respondents == 19
    assert analysis.n_excluded == 1
    assert analysis.item("S").option("B", "best").endorsement == pytest.approx(2 / 19)
    assert analysis.item("S").option("A", "best").endorsement == pytest.approx(8 / 19)


def test_a6_unanswered_pick_is_left_out_of_the_option_statistics() -> None:
    matrix, items = pick_data()
    responses = list(items[0].responses or ())
    responses[0] = None  # a respondent who chose B left the item blank but kept a score row
    items[0] = ItemResponses(single_best("S"), tuple(responses))
    analysis = analyze_items(matrix, items)
    assert analysis.n_respondents == 20
    assert analysis.item("S").option("B", "best").endorsement == pytest.approx(2 / 19)


# --- Degenerate data ------------------------------------------------------------------------------------------


def test_a6_zero_variance_item_has_no_item_total_r() -> None:
    matrix = random_pomps(9, 30, 3)
    matrix[:, 1] = 0.5
    analysis = analyze_items(matrix, bare([rate(f"R{i}") for i in range(3)]))
    item = analysis.item("R1")
    assert item.corrected_item_total_r is None
    assert ("corrected_item_total_r", "zero_variance") in item.undefined
    assert ItemFlag.ZERO_VARIANCE in item.flags
    assert item.upper_lower_d == 0.0


def test_a6_constant_matrix_has_no_alpha() -> None:
    analysis = analyze_items(np.full((10, 3), 0.5), bare([rate(f"R{i}") for i in range(3)]))
    assert analysis.alpha is None
    assert ItemFlag.ZERO_VARIANCE in analysis.flags
    for item in analysis.items:
        assert item.alpha_if_deleted is None
        assert item.corrected_item_total_r is None
        assert ItemFlag.ALPHA_RISES_IF_DELETED not in item.flags


def test_a6_two_items_have_no_alpha_if_deleted() -> None:
    analysis = analyze_items(random_pomps(1, 20, 2), bare([rate("R0"), rate("R1")]))
    assert analysis.alpha is not None
    for item in analysis.items:
        assert item.alpha_if_deleted is None
        assert ("alpha_if_deleted", "too_few_items") in item.undefined


@settings(max_examples=60, deadline=None)
@given(
    matrix=arrays(
        np.float64,
        st.tuples(st.integers(2, 25), st.integers(2, 6)),
        elements=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, math.nan]),
    )
)
def test_a6_any_matrix_gives_numbers_or_documented_none(matrix: np.ndarray) -> None:
    items = bare([rate(f"R{i}") for i in range(matrix.shape[1])])
    try:
        analysis = analyze_items(matrix, items)
    except InsufficientDataError:
        assert (~np.isnan(matrix).any(axis=1)).sum() < 2
        return
    names = {
        "corrected_item_total_r",
        "alpha_if_deleted",
    }
    for item in analysis.items:
        for name in ("mean", "upper_lower_d", *names):
            value = getattr(item, name)
            if value is None:
                assert name in dict(item.undefined)
            else:
                assert math.isfinite(value)
        if item.corrected_item_total_r is not None:
            assert -1.0 <= item.corrected_item_total_r <= 1.0
    assert analysis.alpha is None or math.isfinite(analysis.alpha)


# --- Bad input ---------------------------------------------------------------------------------------------------


def test_a6_bad_matrix_shapes_and_values_raise() -> None:
    three = bare([rate(f"R{i}") for i in range(3)])
    with pytest.raises(InvalidInputError):
        analyze_items(np.zeros(3), three)
    with pytest.raises(InvalidInputError):
        analyze_items(np.zeros((4, 2)), three)  # 2 columns, 3 items
    with pytest.raises(InsufficientDataError):
        analyze_items(np.zeros((4, 1)), three[:1])
    with pytest.raises(InsufficientDataError):
        analyze_items(np.zeros((0, 3)), three)
    with pytest.raises(InsufficientDataError):
        analyze_items(np.array([[0.5, 0.5, 0.5], [math.nan, 0.5, 0.5]]), three)
    with pytest.raises(InvalidInputError):
        analyze_items(np.full((4, 3), 1.5), three)
    with pytest.raises(InvalidInputError):
        analyze_items(np.full((4, 3), math.inf), three)
    with pytest.raises(InvalidInputError):
        analyze_items(np.zeros((4, 2)), bare([rate("R"), rate("R")]))
    with pytest.raises(InvalidInputError):
        analyze_items(np.zeros((4, 3)), three, dif_strata=0)


def test_a6_mismatched_lengths_raise() -> None:
    matrix = random_pomps(1, 10, 2)
    short = tuple(SingleBestResponse("A") for _ in range(9))
    with pytest.raises(InvalidInputError):
        analyze_items(matrix, [ItemResponses(single_best("S"), short), ItemResponses(rate("F"))])
    with pytest.raises(InvalidInputError):
        analyze_items(matrix, [ItemResponses(rate("R"), response_seconds=np.ones(9)), ItemResponses(rate("F"))])
    with pytest.raises(InvalidInputError):
        analyze_items(matrix, bare([rate("R"), rate("F")]), groups=["a"] * 9, focal_group="a", reference_group="b")
    with pytest.raises(InvalidInputError):
        analyze_items(matrix, [ItemResponses(rate("R"), sme_ratings=np.ones((3, 5))), ItemResponses(rate("F"))])


def test_a6_bad_group_arguments_raise() -> None:
    matrix = random_pomps(1, 10, 2)
    items = bare([rate("R"), rate("F")])
    with pytest.raises(InvalidInputError):
        analyze_items(matrix, items, groups=["a"] * 10)
    with pytest.raises(InvalidInputError):
        analyze_items(matrix, items, groups=["a"] * 10, focal_group="a", reference_group="a")
    with pytest.raises(InvalidInputError):
        analyze_items(matrix, items, focal_group="a", reference_group="b")


def test_a6_responses_that_do_not_fit_the_item_raise() -> None:
    matrix = random_pomps(1, 2, 2)
    filler = ItemResponses(rate("F"))
    with pytest.raises(ResponseFormatError):
        analyze_items(matrix, [ItemResponses(single_best("S"), (RatingResponse.of({"A": 2}), None)), filler])
    with pytest.raises(UnknownOptionError):
        analyze_items(matrix, [ItemResponses(single_best("S"), (SingleBestResponse("Z"), None)), filler])
    with pytest.raises(RatingOutOfScaleError):
        analyze_items(matrix, [ItemResponses(rate("R"), (RatingResponse.of({"A": 7}), None)), filler])
    with pytest.raises(UnknownOptionError):
        analyze_items(matrix, [ItemResponses(rate("R"), (RatingResponse.of({"Q": 3}), None)), filler])
    with pytest.raises(ResponseFormatError):
        analyze_items(
            matrix, [ItemResponses(KeyedItem.create("K", "rank", KEYS), (SingleBestResponse("A"), None)), filler]
        )
    with pytest.raises(InvalidInputError):
        analyze_items(matrix, [ItemResponses(rate("R"), response_seconds=[-1.0, 2.0]), filler])
