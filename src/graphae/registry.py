"""The one registry of models: a name, an estimator class and a one-line description.

The command line (``--model`` choices, ``graphae models``), :func:`graphae.load`,
:func:`graphae.experiment.make_estimator` and the contract tests all read it. The
built-in models are listed below by import path and imported on first use; a model
of your own is one module with an estimator class plus one call to
:func:`register_model`.

A model is *learned* (a :class:`~graphae.estimator.GraphAutoencoderEstimator`: weights
and an embedding) or not (a
:class:`~graphae.models.heuristics.HeuristicLinkPredictor`, such as ``adamic_adar``:
scores from the graph alone). Both run, score, save and load alike; only learned
models have ``transform``, checkpoints and resuming.

Example:
    >>> from graphae.registry import model_names
    >>> model_names()[:2]
    ['gae', 'vgae']
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from graphae.errors import InputError, InputTypeError

if TYPE_CHECKING:
    from graphae.estimator import GraphAutoencoderEstimator
    from graphae.models.heuristics import HeuristicLinkPredictor

E = TypeVar("E", bound="type[GraphAutoencoderEstimator | HeuristicLinkPredictor]")

# name -> "module:Class". One line per built-in model.
_BUILTIN: dict[str, str] = {
    "gae": "graphae.models.gae:GAE",
    "vgae": "graphae.models.gae:VGAE",
    "gravity_gae": "graphae.models.directed:GravityGAE",
    "gravity_vgae": "graphae.models.directed:GravityVGAE",
    "source_target_gae": "graphae.models.directed:SourceTargetGAE",
    "source_target_vgae": "graphae.models.directed:SourceTargetVGAE",
    "linear_gae": "graphae.models.linear:LinearGAE",
    "linear_vgae": "graphae.models.linear:LinearVGAE",
    "arga": "graphae.models.arga:ARGA",
    "arvga": "graphae.models.arga:ARVGA",
    "maskgae": "graphae.models.maskgae:MaskGAE",
    "refined_gae": "graphae.models.refined:RefinedGAE",
    "common_neighbors": "graphae.models.heuristics:CommonNeighbors",
    "adamic_adar": "graphae.models.heuristics:AdamicAdar",
    "resource_allocation": "graphae.models.heuristics:ResourceAllocation",
    "preferential_attachment": "graphae.models.heuristics:PreferentialAttachment",
    "katz": "graphae.models.katz:Katz",
}


@dataclass(frozen=True)
class ModelEntry:
    """A registered model.

    Attributes:
        name: The name used by ``--model``, ``make_estimator`` and saved folders.
        estimator: The estimator class.
        description: One line for ``graphae models``.
        learned: Whether fitting learns weights and an embedding (``False``: a heuristic).
    """

    name: str
    estimator: type[GraphAutoencoderEstimator | HeuristicLinkPredictor]
    description: str
    learned: bool = True


_registry: dict[str, ModelEntry] = {}
_builtins_loaded = False


def register_model(name: str, estimator: E, description: str | None = None, *, replace: bool = False) -> E:
    """Register an estimator class under ``name``; returns the class.

    Args:
        name: Lower-case name (letters, digits, ``_``), such as ``"bilinear_gae"``.
        estimator: A subclass of :class:`~graphae.estimator.GraphAutoencoderEstimator`
            or of :class:`~graphae.models.heuristics.HeuristicLinkPredictor`. Its
            ``model_name`` is set to ``name``.
        description: One line; defaults to the first line of the class docstring.
        replace: Allow replacing a registered model of the same name.

    Raises:
        InputError: On a bad or taken name, or an ``__init__`` that lacks a base parameter.
        InputTypeError: If ``estimator`` is not an estimator class.
    """
    from graphae.estimator import GraphAutoencoderEstimator
    from graphae.models.heuristics import HeuristicLinkPredictor

    _load_builtins()
    if not isinstance(name, str) or not name or not all(c.islower() or c.isdigit() or c == "_" for c in name):
        raise InputError(f"A model name must be lower-case letters, digits and '_'. Got {name!r}.")
    base = next(
        (b for b in (GraphAutoencoderEstimator, HeuristicLinkPredictor) if _is_subclass(estimator, b)), None
    )
    if base is None:
        raise InputTypeError(
            "register_model needs a subclass of graphae.estimator.GraphAutoencoderEstimator or of "
            f"graphae.models.heuristics.HeuristicLinkPredictor. Got {estimator!r}."
        )
    missing = sorted(set(base._get_param_names()) - set(estimator._get_param_names()))
    if missing:
        raise InputError(
            f"{estimator.__name__}.__init__ must take every parameter of {base.__name__} "
            f"(scikit-learn reads parameters from __init__); missing: {missing}."
        )
    if name in _registry and not replace and _registry[name].estimator is not estimator:
        raise InputError(f"A model named {name!r} is registered already; pass replace=True to replace it.")
    _add(name, estimator, description)
    return estimator


def unregister_model(name: str) -> None:
    """Remove a model registered with :func:`register_model` (built-ins stay)."""
    _load_builtins()
    if name in _BUILTIN:
        raise InputError(f"{name!r} is a built-in model and cannot be unregistered.")
    _registry.pop(name, None)


def get_model(name: str) -> ModelEntry:
    """The entry of a registered model.

    Raises:
        InputError: If no model has that name.
    """
    _load_builtins()
    if name not in _registry:
        raise InputError(f"Unknown model {name!r}: expected one of {model_names()}.")
    return _registry[name]


def model_names() -> list[str]:
    """Names of the registered models: built-ins first, in registry order."""
    _load_builtins()
    return list(_registry)


def models() -> list[ModelEntry]:
    """Every registered model."""
    _load_builtins()
    return list(_registry.values())


def _is_subclass(obj: object, base: type) -> bool:
    return isinstance(obj, type) and issubclass(obj, base)


def _add(
    name: str, estimator: type[GraphAutoencoderEstimator | HeuristicLinkPredictor], description: str | None
) -> None:
    estimator.model_name = name
    doc = (estimator.__doc__ or "").strip().splitlines()
    _registry[name] = ModelEntry(name, estimator, description or (doc[0] if doc else name), estimator.learned)


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for name, target in _BUILTIN.items():
        module, cls = target.split(":")
        _add(name, getattr(importlib.import_module(module), cls), None)
