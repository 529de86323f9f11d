"""Typed errors of the scoring library.

Every bad input raises a subclass of :class:`ScoringError` (itself a ``ValueError``), never a bare
crash, a NaN or a silently wrong number. Callers (the app's scoring adapter) catch ``ScoringError``.
"""

from __future__ import annotations

__all__ = [
    "DuplicateRankError",
    "EmptyNormGroupError",
    "InsufficientDataError",
    "InvalidInputError",
    "InvalidItemError",
    "RatingOutOfScaleError",
    "ResponseError",
    "ResponseFormatError",
    "ScoringError",
    "UndefinedStatisticError",
    "UnknownOptionError",
    "ZeroVarianceError",
]


class ScoringError(ValueError):
    """Base class of every error raised by ``scoring``."""


class InvalidInputError(ScoringError):
    """An argument has the wrong shape, is not finite, or is outside its allowed range."""


class InvalidItemError(ScoringError):
    """An item or its key breaks the A1 validation rules (options, scale, key, rule, weights)."""


class ResponseError(ScoringError):
    """A candidate's response cannot be scored against its item."""


class ResponseFormatError(ResponseError):
    """The response does not match the item's response format (e.g. a rating list for a pick item)."""


class UnknownOptionError(ResponseError):
    """The response names an option that the item does not have."""


class DuplicateRankError(ResponseError):
    """A rank response gives the same rank twice, or is not a permutation of 1..m."""


class RatingOutOfScaleError(ResponseError):
    """A rating lies outside the item's scale or is not a whole number."""


class EmptyNormGroupError(ScoringError):
    """A norm group has no scores (or too few to define a mean and a sample SD)."""


class UndefinedStatisticError(ScoringError):
    """A statistic is mathematically undefined for this sample (e.g. Spearman-Brown at r = -1)."""


class ZeroVarianceError(UndefinedStatisticError):
    """A statistic is undefined because a sample has zero variance."""


class InsufficientDataError(ScoringError):
    """Too few observations (items or respondents) for the statistic asked for."""
