"""Vectorized scoring of many attempts of one form: an attempts x items x options float64 array in.

Encoding of ``responses[a, i, j]`` (option ``j`` in the item's display order):

- ``single_best``: 1.0 at the chosen option, 0.0 at every other option;
- ``most_least``: +1.0 at the most effective, -1.0 at the least effective, 0.0 elsewhere;
- ``rate``: the rating, NaN for an unrated option (a partly rated item is allowed, as in rules.py);
- ``rank``: the rank 1..m given to each option;
- an unanswered item: NaN at every option. Columns beyond an item's options must be NaN.

:func:`encode_responses` builds this array from response dataclasses. A response that does not fit
raises the same typed errors as :mod:`scoring.rules`, naming the first offending attempt and item.
Results equal :func:`scoring.competencies.score_attempt` attempt by attempt (up to float summation
order, ~1e-15); tests check this on random data.

The scoring rules that pick formats use are linear in this encoding (``s = sum_j r_j c_j`` with a
per-option coefficient ``c``), which is what makes one pass over the array enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.competencies import MIN_COMPETENCY_ITEMS, MIN_COMPETENCY_WEIGHT
from scoring.conventions import ALGORITHM_VERSION, FloatArray
from scoring.errors import (
    DuplicateRankError,
    InvalidInputError,
    RatingOutOfScaleError,
    ResponseFormatError,
    UnknownOptionError,
)
from scoring.items import (
    Form,
    MostLeastResponse,
    RankResponse,
    RatingResponse,
    Response,
    ResponseFormat,
    ScoringRule,
    SingleBestResponse,
)
from scoring.rules import RATE_STD_POMP_SPAN, check_response, rate_distance_maxima, score_bounds

__all__ = ["BatchScores", "CompiledForm", "compile_form", "encode_responses", "score_batch"]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

_PICK_RULES = frozenset(
    {
        ScoringRule.SINGLE_BEST,
        ScoringRule.SINGLE_BEST_PARTIAL,
        ScoringRule.MOST_LEAST,
        ScoringRule.MOST_LEAST_KEYDIFF,
    }
)


@dataclass(frozen=True, eq=False)
class CompiledForm:
    """A form turned into arrays once, for :func:`score_batch` (items x options, NaN/0 padded)."""

    form: Form
    n_options: IntArray
    keys: FloatArray
    key_ranks: FloatArray
    coefficients: FloatArray
    distance_maxima: FloatArray
    scale_min: FloatArray
    scale_max: FloatArray
    s_min: FloatArray
    s_max: FloatArray
    competency_weights: FloatArray
    item_weights: FloatArray
    rule_items: Mapping[ScoringRule, IntArray]
    format_items: Mapping[ResponseFormat, IntArray]

    @property
    def max_options(self) -> int:
        """The largest number of options of an item of the form."""
        return int(self.n_options.max())


@dataclass(frozen=True, eq=False)
class BatchScores:
    """Scores of A attempts of one form (float64 arrays, NaN where a score is None).

    ``profile_r`` is NaN for a form without rate items; ``flat_profile`` marks S_std = 0 from a flat
    profile. ``meets_minimum_content`` is per competency (a property of the form).
    """

    item_scores: FloatArray
    item_pomp: FloatArray
    profile_r: FloatArray
    flat_profile: BoolArray
    profile_insufficient: BoolArray
    overall: FloatArray
    overall_insufficient: BoolArray
    competencies: FloatArray
    competency_insufficient: BoolArray
    competency_names: tuple[str, ...]
    meets_minimum_content: BoolArray
    algorithm_version: str = ALGORITHM_VERSION


def compile_form(form: Form) -> CompiledForm:
    """Precompute the arrays that :func:`score_batch` needs for ``form``."""
    items = form.items
    n_items, width = len(items), max(len(item.options) for item in items)
    n_options = np.array([len(item.options) for item in items], dtype=np.intp)
    keys = np.full((n_items, width), np.nan)
    key_ranks = np.zeros((n_items, width))
    coefficients = np.zeros((n_items, width))
    maxima = np.zeros((n_items, width))
    s_min, s_max = np.zeros(n_items), np.zeros(n_items)
    for i, item in enumerate(items):
        m = len(item.options)
        values = np.array(item.key_values)
        keys[i, :m] = values
        ranks = item.key_ranks
        key_ranks[i, :m] = [ranks[option] for option in item.option_ids]
        maxima[i, :m] = rate_distance_maxima(item)
        s_min[i], s_max[i] = score_bounds(item)
        ids = item.option_ids
        best = np.array([option == item.best_option for option in ids], dtype=np.float64)
        worst = np.array([option == item.worst_option for option in ids], dtype=np.float64)
        rule = item.rule
        if rule is ScoringRule.SINGLE_BEST:
            coefficients[i, :m] = best
        elif rule is ScoringRule.SINGLE_BEST_PARTIAL:
            coefficients[i, :m] = (values - values.min()) / (values.max() - values.min())
        elif rule is ScoringRule.MOST_LEAST:
            coefficients[i, :m] = best - worst
        elif rule is ScoringRule.MOST_LEAST_KEYDIFF:
            coefficients[i, :m] = values
    competencies = form.competency_order
    weights = np.array([[item.weights.get(c, 0.0) for c in competencies] for item in items]).reshape(
        n_items, len(competencies)
    )
    rule_items = {rule: np.flatnonzero([item.rule is rule for item in items]).astype(np.intp) for rule in ScoringRule}
    format_items = {
        f: np.flatnonzero([item.response_format is f for item in items]).astype(np.intp) for f in ResponseFormat
    }
    return CompiledForm(
        form=form,
        n_options=n_options,
        keys=keys,
        key_ranks=key_ranks,
        coefficients=coefficients,
        distance_maxima=maxima,
        scale_min=np.array([float(item.scale.min) for item in items]),
        scale_max=np.array([float(item.scale.max) for item in items]),
        s_min=s_min,
        s_max=s_max,
        competency_weights=weights,
        item_weights=np.array([float(item.item_weight) for item in items]),
        rule_items={rule: index for rule, index in rule_items.items() if index.size},
        format_items={f: index for f, index in format_items.items() if index.size},
    )


def encode_responses(compiled: CompiledForm, attempts: Sequence[Mapping[str, Response | None]]) -> FloatArray:
    """Encode response dataclasses into the batch array (see the module docstring).

    Raises InvalidInputError for a response to an item not on the form and a ResponseError for a
    response that does not fit its item.
    """
    form = compiled.form
    position = {item_id: i for i, item_id in enumerate(form.item_ids)}
    encoded = np.full((len(attempts), len(form.items), compiled.max_options), np.nan)
    for a, responses in enumerate(attempts):
        unknown = set(responses) - set(position)
        if unknown:
            raise InvalidInputError(f"attempt {a}: responses to items not on the form: {sorted(unknown)}")
        for item_id, response in responses.items():
            if response is None:
                continue
            i = position[item_id]
            item = form.items[i]
            check_response(item, response)
            column = {option: j for j, option in enumerate(item.option_ids)}
            row = encoded[a, i]
            m = len(item.options)
            if isinstance(response, SingleBestResponse):
                row[:m] = 0.0
                row[column[response.choice]] = 1.0
            elif isinstance(response, MostLeastResponse):
                row[:m] = 0.0
                row[column[response.most]] = 1.0
                row[column[response.least]] = -1.0
            elif isinstance(response, RatingResponse):
                for option, rating in response.ratings:
                    row[column[option]] = rating
            else:
                assert isinstance(response, RankResponse)
                for rank, option in enumerate(response.order, start=1):
                    row[column[option]] = rank
    return encoded


def score_batch(compiled: CompiledForm, responses: npt.ArrayLike) -> BatchScores:
    """Score every attempt in ``responses`` (A x I x O, O >= the form's largest option count).

    Raises InvalidInputError for a wrong shape or dtype; ResponseFormatError, UnknownOptionError,
    DuplicateRankError or RatingOutOfScaleError for the first response that does not fit its item.
    Attempts are processed in chunks of CHUNK_ATTEMPTS so that temporaries stay in cache.
    """
    data = _as_response_array(compiled, responses)
    n_attempts, n_items = data.shape[0], data.shape[1]
    n_competencies = compiled.competency_weights.shape[1]
    out = _Outputs(
        scores=np.full((n_attempts, n_items), np.nan),
        pomps=np.full((n_attempts, n_items), np.nan),
        profile_r=np.full(n_attempts, np.nan),
        flat=np.zeros(n_attempts, dtype=np.bool_),
        profile_insufficient=np.zeros(n_attempts, dtype=np.bool_),
        overall=np.full(n_attempts, np.nan),
        overall_insufficient=np.zeros(n_attempts, dtype=np.bool_),
        competencies=np.full((n_attempts, n_competencies), np.nan),
        competency_insufficient=np.zeros((n_attempts, n_competencies), dtype=np.bool_),
    )
    for start in range(0, n_attempts, CHUNK_ATTEMPTS):
        _score_chunk(compiled, data[start : start + CHUNK_ATTEMPTS], start, out.view(start, start + CHUNK_ATTEMPTS))
    positive = compiled.competency_weights > 0
    meets = (positive.sum(axis=0) >= MIN_COMPETENCY_ITEMS) & (
        np.where(positive, compiled.competency_weights, 0.0).sum(axis=0) >= MIN_COMPETENCY_WEIGHT
    )
    return BatchScores(
        item_scores=out.scores,
        item_pomp=out.pomps,
        profile_r=out.profile_r,
        flat_profile=out.flat,
        profile_insufficient=out.profile_insufficient,
        overall=out.overall,
        overall_insufficient=out.overall_insufficient,
        competencies=out.competencies,
        competency_insufficient=out.competency_insufficient,
        competency_names=compiled.form.competency_order,
        meets_minimum_content=meets,
    )


CHUNK_ATTEMPTS = 1024
"""Attempts scored together; small enough for the temporaries to stay in the CPU cache."""


@dataclass(frozen=True, eq=False)
class _Outputs:
    scores: FloatArray
    pomps: FloatArray
    profile_r: FloatArray
    flat: BoolArray
    profile_insufficient: BoolArray
    overall: FloatArray
    overall_insufficient: BoolArray
    competencies: FloatArray
    competency_insufficient: BoolArray

    def view(self, start: int, stop: int) -> _Outputs:
        return _Outputs(*(getattr(self, name)[start:stop] for name in self.__dataclass_fields__))


def _score_chunk(compiled: CompiledForm, chunk: FloatArray, offset: int, out: _Outputs) -> None:
    """Score one chunk of attempts into ``out`` (views of the batch outputs)."""
    # Options first: sums over options become additions of contiguous slabs.
    data = np.ascontiguousarray(chunk.transpose(2, 0, 1))
    _check_padding(compiled, data, offset)
    for response_format, index in compiled.format_items.items():
        if response_format is not ResponseFormat.RATE:
            _score_complete_items(compiled, data, index, response_format, offset, out)
    rate_index = compiled.format_items.get(ResponseFormat.RATE)
    if rate_index is not None:
        _score_rate_items(compiled, data, rate_index, offset, out)
    competencies, competency_insufficient = _weighted_scales(out.pomps, compiled.competency_weights)
    out.competencies[...] = competencies
    out.competency_insufficient[...] = competency_insufficient
    overall, overall_insufficient = _weighted_scales(out.pomps, compiled.item_weights[:, None])
    out.overall[...] = overall[:, 0]
    out.overall_insufficient[...] = overall_insufficient[:, 0]


def _as_response_array(compiled: CompiledForm, responses: npt.ArrayLike) -> FloatArray:
    try:
        data = np.asarray(responses, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError("responses must be a numeric array") from error
    n_items = len(compiled.form.items)
    if data.ndim != 3 or data.shape[1] != n_items or data.shape[2] < compiled.max_options:
        raise InvalidInputError(
            f"responses must have shape (attempts, {n_items}, >= {compiled.max_options}), got {data.shape}"
        )
    return data


def _raise_at(
    error: type[Exception], compiled: CompiledForm, bad: BoolArray, index: IntArray, offset: int, why: str
) -> None:
    """Raise ``error`` naming the first True of ``bad`` (chunk attempts x the items in ``index``)."""
    where = np.argwhere(bad)[0]
    item = compiled.form.items[int(index[where[1]])]
    raise error(f"attempt {offset + int(where[0])}, item {item.item_id}: {why}")


def _check_padding(compiled: CompiledForm, data: FloatArray, offset: int) -> None:
    """Columns beyond an item's options must be NaN (else UnknownOptionError)."""
    all_items = np.arange(len(compiled.form.items), dtype=np.intp)
    for option in range(int(compiled.n_options.min()), data.shape[0]):
        items = all_items[compiled.n_options <= option]
        bad = ~np.isnan(data[option][:, items])
        if bad.any():
            _raise_at(UnknownOptionError, compiled, bad, items, offset, f"option {option + 1} does not exist")


def _score_complete_items(
    compiled: CompiledForm,
    data: FloatArray,
    index: IntArray,
    response_format: ResponseFormat,
    offset: int,
    out: _Outputs,
) -> None:
    """Pick and rank items (options x attempts x items): every option answered, or none (missing)."""
    n_options = compiled.n_options[index]
    width = int(n_options.max())
    block = data[:width][:, :, index]
    valid = (np.arange(width)[:, None] < n_options[None, :])[:, None, :]
    missing = np.isnan(block)
    answered = ~missing[0]
    n_missing = (missing & valid).sum(axis=0)
    partial = np.where(answered, n_missing > 0, n_missing < n_options[None, :])
    if partial.any():
        _raise_at(ResponseFormatError, compiled, partial, index, offset, "an item is partly answered")
    values = np.where(missing, 0.0, block)
    if response_format is ResponseFormat.SINGLE_BEST:
        ones = (values == 1.0).sum(axis=0)
        bad = ((values != 0.0) & (values != 1.0)).any(axis=0) | (answered & (ones != 1))
        if bad.any():
            _raise_at(ResponseFormatError, compiled, bad, index, offset, "single best needs exactly one 1, else 0")
    elif response_format is ResponseFormat.MOST_LEAST:
        ones, minus = (values == 1.0).sum(axis=0), (values == -1.0).sum(axis=0)
        bad = ((values != 0.0) & (values != 1.0) & (values != -1.0)).any(axis=0) | (
            answered & ((ones != 1) | (minus != 1))
        )
        if bad.any():
            _raise_at(ResponseFormatError, compiled, bad, index, offset, "most/least needs one +1 and one -1")
    else:
        m = n_options.astype(np.float64)[None, None, :]
        whole = (values == np.floor(values)) & (values >= 1.0) & (values <= m)
        bad = answered & ~(whole | ~valid).all(axis=0)
        if bad.any():
            _raise_at(DuplicateRankError, compiled, bad, index, offset, "ranks must be whole numbers 1..m")
        # m whole numbers in 1..m are a permutation iff their powers of two sum to 2^m - 1.
        bits = np.where(valid, np.exp2(values - 1.0), 0.0).sum(axis=0)
        bad = answered & (bits != np.exp2(m[0]) - 1.0)
        if bad.any():
            _raise_at(DuplicateRankError, compiled, bad, index, offset, "an option is ranked twice")
    for rule, rule_index in compiled.rule_items.items():
        columns = np.flatnonzero(np.isin(index, rule_index))
        if not columns.size:
            continue
        part, items = values[:, :, columns], index[columns]
        if rule in _PICK_RULES:
            raw = (part * compiled.coefficients[items, :width].T[:, None, :]).sum(axis=0)
        else:
            d = part - compiled.key_ranks[items, :width].T[:, None, :]
            if rule is ScoringRule.RANK_ABS:
                raw = -np.abs(d).sum(axis=0)
            else:
                m_rule = compiled.n_options[items].astype(np.float64)
                raw = 1.0 - 6.0 * (d * d).sum(axis=0) / (m_rule * (m_rule * m_rule - 1.0))
        raw[~answered[:, columns]] = np.nan
        low, high = compiled.s_min[items], compiled.s_max[items]
        out.scores[:, items] = raw
        out.pomps[:, items] = np.clip((raw - low) / (high - low), 0.0, 1.0)


def _score_rate_items(compiled: CompiledForm, data: FloatArray, index: IntArray, offset: int, out: _Outputs) -> None:
    """Rate items: distances per item; rate_std pooled over all rate items of the form (A2.3.c)."""
    width = int(compiled.n_options[index].max())
    block = data[:width][:, :, index]
    rated = ~np.isnan(block)
    low, high = compiled.scale_min[index], compiled.scale_max[index]
    on_scale = (block >= low) & (block <= high) & (block == np.floor(block))
    off_scale = rated & ~on_scale
    if off_scale.any():
        _raise_at(RatingOutOfScaleError, compiled, off_scale.any(axis=0), index, offset, "a rating off the scale")
    keys = np.where(rated, compiled.keys[index, :width].T[:, None, :], 0.0)
    x = np.where(rated, block, 0.0)
    per_item = rated.sum(axis=0)
    answered = per_item > 0
    for rule in (ScoringRule.RATE_ABS_DISTANCE, ScoringRule.RATE_SQ_DISTANCE):
        columns = np.flatnonzero(np.isin(index, compiled.rule_items.get(rule, _NO_ITEMS)))
        if not columns.size:
            continue
        items = index[columns]
        diff = x[:, :, columns] - keys[:, :, columns]
        maxima = np.where(rated[:, :, columns], compiled.distance_maxima[items, :width].T[:, None, :], 0.0)
        if rule is ScoringRule.RATE_ABS_DISTANCE:
            raw, floor = -np.abs(diff).sum(axis=0), -maxima.sum(axis=0)
        else:
            raw, floor = -(diff * diff).sum(axis=0), -(maxima * maxima).sum(axis=0)
        done = answered[:, columns]
        raw[~done] = np.nan
        out.scores[:, items] = raw
        with np.errstate(invalid="ignore", divide="ignore"):
            out.pomps[:, items] = np.where(done, np.clip((raw - floor) / -floor, 0.0, 1.0), np.nan)
    count = per_item.sum(axis=1).astype(np.float64)
    n_missing = index.size - answered.sum(axis=1)
    insufficient = n_missing * 5 > index.size
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = x.sum(axis=0).sum(axis=1) / count
        mean_k = keys.sum(axis=0).sum(axis=1) / count
        dx = np.where(rated, block - mean_x[None, :, None], 0.0)
        dk = np.where(rated, keys - mean_k[None, :, None], 0.0)
        sd_x = np.sqrt((dx * dx).sum(axis=0).sum(axis=1) / count)
        sd_k = np.sqrt((dk * dk).sum(axis=0).sum(axis=1) / count)
        flat = (count > 0) & (sd_x == 0.0)
        usable = (count > 0) & ~flat & (sd_k > 0.0)
        dx /= np.where(usable, sd_x, 1.0)[None, :, None]
        dk /= np.where(usable, sd_k, 1.0)[None, :, None]
        dx -= dk
        item_sq = (dx * dx).sum(axis=0)
        r = np.clip(1.0 - item_sq.sum(axis=1) / count / 2.0, -1.0, 1.0)
        item_sq /= per_item
    profile_r = np.where(usable, r, np.where(flat, 0.0, np.nan))
    profile_r[insufficient] = np.nan
    out.profile_r[...] = profile_r
    out.flat[...] = flat
    out.profile_insufficient[...] = insufficient | ~(usable | flat)
    std_columns = np.flatnonzero(np.isin(index, compiled.rule_items.get(ScoringRule.RATE_STD, _NO_ITEMS)))
    if std_columns.size:
        items = index[std_columns]
        s = np.where(usable[:, None] & answered[:, std_columns], -item_sq[:, std_columns], np.nan)
        out.scores[:, items] = s
        out.pomps[:, items] = np.clip(1.0 + s / RATE_STD_POMP_SPAN, 0.0, 1.0)


_NO_ITEMS: IntArray = np.empty(0, dtype=np.intp)


def _weighted_scales(pomps: FloatArray, weights: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Weighted means of item POMPs per scale (columns of ``weights``) with the 20% rule."""
    present = ~np.isnan(pomps)
    keyed = (weights > 0).astype(np.float64)
    filled = np.where(present, pomps, 0.0)
    numerator = filled @ weights
    denominator = present.astype(np.float64) @ weights
    n_items = keyed.sum(axis=0)
    n_missing = (~present).astype(np.float64) @ keyed
    insufficient = (n_missing * 5 > n_items[None, :]) | (n_items[None, :] == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = numerator / denominator
    raw[insufficient] = np.nan
    return raw, insufficient
