"""Declared estimator parameters and their checks.

A model states its parameters once, in ``params``: a dict from name to a :class:`Param`
(default and :class:`Constraint`) for a parameter of its own, to a plain value for a
parameter of its base class with another default, or to :data:`NOT_USED` for a base
parameter it does not read. :class:`Declared` turns that into the class's ``__init__``
(keyword-only, with a real signature, so scikit-learn's ``get_params``, ``set_params`` and
``clone``, ``help()`` and IDEs read it) and into ``_parameter_constraints``. A class that
writes its own ``__init__`` the scikit-learn way keeps it: its signature then declares the
parameters, and ``_parameter_constraints`` their checks.

:func:`validate_params` checks the constraints at ``fit`` and names the parameter, what
was expected and what was given, as scikit-learn does:
``The 'lr' parameter of VGAE must be a float > 0. Got -1.``
numpy scalars (``np.int64(3)``, ``np.float32(0.01)``) are accepted like Python numbers.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

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


@dataclass(frozen=True)
class Param:
    """A parameter of a model: its default and the check of its values (``None``: none)."""

    default: Any
    constraint: Constraint | None = None


class _NotUsed:
    def __repr__(self) -> str:
        return "NOT_USED"


NOT_USED: Any = _NotUsed()  # in ``params``: a base parameter the model does not read


class Declared:
    """Builds ``__init__`` and ``_parameter_constraints`` from the ``params`` a class declares.

    Attributes:
        params: What the class itself declares (see the module docstring); its base
            classes' parameters are inherited.
        declared: Every parameter of the class, resolved (its own and the inherited ones).
        not_used: Base parameters the class (or a base) declared :data:`NOT_USED`; a saved
            model of an older graphae may still name them, with values nothing read.

    Example:
        >>> class Base(Declared):
        ...     params = {"lr": Param(0.01, PositiveFloat()), "hidden_channels": Param(32, Integer(1))}
        >>> class Linear(Base):
        ...     params = {"beta": Param(0.5, FloatInterval(0.0, 1.0)), "lr": 0.1, "hidden_channels": NOT_USED}
        >>> Linear(beta=0.2).__dict__
        {'beta': 0.2, 'lr': 0.1}
        >>> inspect.signature(Linear)
        <Signature (*, beta=0.5, lr=0.1)>
    """

    params: ClassVar[Mapping[str, Any]] = {}
    declared: ClassVar[Mapping[str, Param]] = {}
    not_used: ClassVar[frozenset[str]] = frozenset()
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited = dict(cls.declared)  # the nearest base's
        not_used = set(cls.not_used)
        if "__init__" in cls.__dict__:  # written by hand: its signature declares the parameters
            cls.declared = _from_signature(cls, inherited)
            if "_parameter_constraints" not in cls.__dict__:
                cls._parameter_constraints = {
                    n: p.constraint for n, p in cls.declared.items() if p.constraint
                }
            return
        if "params" not in cls.__dict__:
            return  # the parameters and the __init__ of its base
        own: dict[str, Param] = {}
        for name, value in cls.__dict__.get("params", {}).items():
            if value is NOT_USED:
                if inherited.pop(name, None) is None:
                    raise TypeError(
                        f"{cls.__name__}.params: {name!r} is NOT_USED but no base class declares it."
                    )
                not_used.add(name)
            elif isinstance(value, Param):  # a base parameter keeps its place in the signature
                (inherited if name in inherited else own)[name] = value
            elif name in inherited:  # another default of a base parameter, checked alike
                inherited[name] = Param(value, inherited[name].constraint)
            else:
                raise TypeError(
                    f"{cls.__name__}.params: {name!r} is new, so it needs a Param(default, constraint)."
                )
        cls.declared = {**own, **inherited}
        cls.not_used = frozenset(not_used)
        cls._parameter_constraints = {n: p.constraint for n, p in cls.declared.items() if p.constraint}
        cls.__init__ = _make_init(cls)  # type: ignore[method-assign]

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The parameter names, sorted (scikit-learn's ``get_params`` reads them)."""
        return sorted(cls.declared)


def _make_init(cls: type) -> Any:
    declared = dict(cls.declared)

    def __init__(self: Any, **params: Any) -> None:  # noqa: N807 - the estimator's __init__
        unknown = [name for name in params if name not in declared]
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument {unknown[0]!r}"
            )
        for name, param in declared.items():
            setattr(self, name, params.get(name, param.default))

    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    keywords = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=p.default) for n, p in declared.items()
    ]
    __init__.__signature__ = inspect.Signature([self_param, *keywords])  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    __init__.__doc__ = f"Store the parameters of {cls.__name__} (see the class docstring); nothing else."
    return __init__


def _from_signature(cls: type, inherited: Mapping[str, Param]) -> dict[str, Param]:
    """The parameters of a hand-written ``__init__``: defaults from it, checks from ``_parameter_constraints``."""
    constraints = cls.__dict__.get("_parameter_constraints", {})
    found: dict[str, Param] = {}
    for name, item in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or item.kind in (item.VAR_POSITIONAL, item.VAR_KEYWORD):
            continue
        base = inherited.get(name)
        default = None if item.default is inspect.Parameter.empty else item.default
        constraint = constraints.get(name, base.constraint if base is not None else None)
        found[name] = Param(default, constraint)
    return found
