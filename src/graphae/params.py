"""Declared estimator parameters and their checks.

Each estimator class declares ``_parameter_constraints``, a dict from parameter name to a
:class:`Constraint`; :func:`validate_params` checks them all at ``fit`` and names the
parameter, what was expected and what was given, as scikit-learn does:
``The 'lr' parameter of VGAE must be a float > 0. Got -1.``
numpy scalars (``np.int64(3)``, ``np.float32(0.01)``) are accepted like Python numbers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphae.errors import ParameterError, describe

SEED_MAX = 2**32 - 1  # the largest ``random_state`` (numpy's seeds are 32-bit)


class Constraint:
    """A check of one parameter value, with a description for error messages."""

    description = "valid"

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError


class Integer(Constraint):
    """An int (not a bool) in ``[low, high]`` (``high=None``: unbounded)."""

    def __init__(self, low: int, high: int | None = None) -> None:
        self.low, self.high = low, high
        self.description = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            return False
        return self.low <= value and (self.high is None or value <= self.high)


class PositiveFloat(Constraint):
    """A finite real number > 0."""

    description = "a float > 0"

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, numbers.Real)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        )


class FloatInterval(Constraint):
    """A finite real number in ``[low, high)`` (``high=None``: ``>= low``), such as a probability."""

    def __init__(self, low: float, high: float | None = None) -> None:
        self.low, self.high = low, high
        self.description = f"a float >= {low:g}" if high is None else f"a float in [{low:g}, {high:g})"

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
            return False
        return self.low <= value and (self.high is None or value < self.high)


class Boolean(Constraint):
    description = "a bool"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))  # np.bool_ is also named np.bool in numpy 2


class Options(Constraint):
    """One of a fixed set of strings."""

    def __init__(self, options: Sequence[str]) -> None:
        self.options = list(options)
        self.description = f"one of {self.options}"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options


class String(Constraint):
    description = "a str"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)


class NoneOr(Constraint):
    """``None``, or what ``inner`` accepts."""

    def __init__(self, inner: Constraint) -> None:
        self.inner = inner
        self.description = f"None or {inner.description}"

    def accepts(self, value: Any) -> bool:
        return value is None or self.inner.accepts(value)


class Either(Constraint):
    """What any of ``inners`` accepts (``Either(Options(["auto"]), NoneOr(Integer(1)))``)."""

    def __init__(self, *inners: Constraint) -> None:
        self.inners = inners
        self.description = " or ".join(inner.description for inner in inners)

    def accepts(self, value: Any) -> bool:
        return any(inner.accepts(value) for inner in self.inners)


def validate_params(owner: str, params: Mapping[str, Any], constraints: Mapping[str, Constraint]) -> None:
    """Check every declared parameter.

    Raises:
        ParameterError: For the first parameter that fails its constraint.
    """
    for name, value in params.items():
        constraint = constraints.get(name)
        if constraint is not None and not constraint.accepts(value):
            raise ParameterError(
                f"The {name!r} parameter of {owner} must be {constraint.description}. Got {describe(value)}."
            )


def plain(value: Any) -> Any:
    """A parameter value as plain Python (numpy scalars unwrapped), for JSON."""
    item = getattr(value, "item", None)
    return item() if item is not None and getattr(value, "shape", None) == () else value
