"""The one registry of models: a name, an estimator class and a one-line description.

The command line (``--model`` choices, ``graphae models``), :func:`graphae.load`,
:func:`graphae.experiment.make_estimator` and the contract tests all read it. The
built-in models are listed by import path in :data:`graphae.modelnames.BUILTIN` (one
line each) and imported on first use; a model of your own is one module with an
estimator class plus one call to :func:`register_model`, or, in an installed package, an
entry point of the group ``graphae.models`` (registered when the models are first listed). A model's name
(``model_name``) is the one it is registered under: nothing else states it.

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

import inspect
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from graphae import modelnames
from graphae.errors import InputError, InputTypeError

if TYPE_CHECKING:
    from graphae.estimator import GraphAutoencoderEstimator
    from graphae.models.heuristics import HeuristicLinkPredictor

E = TypeVar("E", bound="type[GraphAutoencoderEstimator | HeuristicLinkPredictor]")


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


# Descriptions given to register_model; otherwise the first line of the class docstring.
_descriptions: dict[str, str] = {}

# Installed packages register models as entry points of this group: name = "module:Class".
ENTRY_POINT_GROUP = modelnames.ENTRY_POINT_GROUP
_entry_points_loaded = False


def register_model(name: str, estimator: E, description: str | None = None, *, replace: bool = False) -> E:
    """Register an estimator class under ``name``; returns the class.

    Args:
        name: Lower-case name (letters, digits, ``_``), such as ``"bilinear_gae"``.
        estimator: A subclass of :class:`~graphae.estimator.GraphAutoencoderEstimator`
            or of :class:`~graphae.models.heuristics.HeuristicLinkPredictor`. Its
            ``model_name`` is then ``name``.
        description: One line; defaults to the first line of the class docstring.
        replace: Allow replacing a registered model of the same name.

    Raises:
        InputError: On a bad or taken name, a class without a ``random_state`` parameter, or
            one that states another ``model_name`` of its own.
        InputTypeError: If ``estimator`` is not an estimator class.
    """
    from graphae.estimator import GraphAutoencoderEstimator
    from graphae.models.heuristics import HeuristicLinkPredictor

    if not isinstance(name, str) or not name or not all(c.islower() or c.isdigit() or c == "_" for c in name):
        raise InputError(f"A model name must be lower-case letters, digits and '_'. Got {name!r}.")
    if not any(_is_subclass(estimator, base) for base in (GraphAutoencoderEstimator, HeuristicLinkPredictor)):
        raise InputTypeError(
            "register_model needs a subclass of graphae.estimator.GraphAutoencoderEstimator or of "
            f"graphae.models.heuristics.HeuristicLinkPredictor. Got {estimator!r}."
        )
    if "random_state" not in estimator._get_param_names():
        raise InputError(
            f"{estimator.__name__} must take the parameter 'random_state' (every run seeds its model: "
            "run_link_prediction, graphae train --seed); the other base parameters are its own choice."
        )
    stated = inspect.getattr_static(estimator, "model_name", None)
    if isinstance(stated, str) and stated != name:
        raise InputError(
            f"{estimator.__name__}.model_name is {stated!r}, but it is registered as {name!r}; remove "
            "model_name from the class: a model's name is the one it is registered under."
        )
    if name in modelnames.names() and not replace and modelnames.class_of(name) is not estimator:
        raise InputError(f"A model named {name!r} is registered already; pass replace=True to replace it.")
    modelnames.record(name, estimator)
    _descriptions.pop(name, None)
    if description:
        _descriptions[name] = description
    return estimator


def unregister_model(name: str) -> None:
    """Remove a model registered with :func:`register_model` (built-ins stay)."""
    if name in modelnames.BUILTIN:
        raise InputError(f"{name!r} is a built-in model and cannot be unregistered.")
    modelnames.forget(name)
    _descriptions.pop(name, None)


def get_model(name: str) -> ModelEntry:
    """The entry of a registered model.

    Raises:
        InputError: If no model has that name.
    """
    load_entry_points()
    estimator = modelnames.class_of(name) if isinstance(name, str) else None
    if estimator is None:
        raise InputError(f"Unknown model {name!r}: expected one of {model_names()}.")
    doc = (estimator.__doc__ or "").strip().splitlines()
    description = _descriptions.get(name) or (doc[0] if doc else name)
    return ModelEntry(name, estimator, description, estimator.learned)


def model_names() -> list[str]:
    """Names of the registered models: built-ins first, in registry order."""
    load_entry_points()
    return modelnames.names()


def load_entry_points(reload: bool = False) -> None:
    """Register the models of installed packages (entry point group ``graphae.models``), once.

    In ``pyproject.toml``: ``[project.entry-points."graphae.models"] my_gae = "my_pkg:MyGAE"``.
    A model that cannot be imported or registered is skipped with a warning naming it:
    another package's fault should not stop graphae.
    """
    global _entry_points_loaded
    if _entry_points_loaded and not reload:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register_model(point.name, point.load())
        except Exception as err:  # the installed package's error, not graphae's
            warnings.warn(
                f"the model {point.name!r} of the entry point group {ENTRY_POINT_GROUP} ({point.value}) "
                f"was not loaded: {type(err).__name__}: {err}",
                stacklevel=2,
            )


def models() -> list[ModelEntry]:
    """Every registered model."""
    return [get_model(name) for name in model_names()]


def _is_subclass(obj: object, base: type) -> bool:
    return isinstance(obj, type) and issubclass(obj, base)
