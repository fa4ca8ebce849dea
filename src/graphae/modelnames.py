"""Which name each model class is registered under: the built-in table and the run-time entries.

A model's name comes from its registration alone: a built-in model from its line in
:data:`BUILTIN`, a model of your own from :func:`graphae.register_model`, an installed
package's from its entry point (group ``graphae.models``). An estimator's
``model_name`` reads it from here (:class:`RegisteredName`), and :func:`graphae.load`
finds the class of a saved name here, so a model fits, saves and loads in a process that
imported only its class. This module imports nothing of graphae (built-in classes are
imported from their ``"module:Class"`` string when first asked for), so the estimators and
:mod:`graphae.persistence` below :mod:`graphae.registry` use it without an import cycle.

Example:
    >>> from graphae.models.heuristics import AdamicAdar
    >>> AdamicAdar.model_name
    'adamic_adar'
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> "module:Class". One line per built-in model.
BUILTIN: dict[str, str] = {
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

# name -> class, in order of registration, for models registered at run time (register_model).
_registered: dict[str, type] = {}

# Installed packages name their models as entry points of this group: name = "module:Class".
ENTRY_POINT_GROUP = "graphae.models"


def name_of(cls: type) -> str:
    """The name ``cls`` is registered under (the latest, if several), ``""`` if none.

    A subclass does not inherit the name of its parent: it is another model.
    """
    for name in reversed(_registered):
        if _registered[name] is cls:
            return name
    target = f"{cls.__module__}:{cls.__qualname__}"
    found = next((name for name, path in BUILTIN.items() if path == target and name not in _registered), "")
    if found:
        return found
    # An installed package's model, in a process that has not listed the models yet.
    return next(
        (p.name for p in _entry_points() if p.value.replace(" ", "") == target and p.name not in _registered),
        "",
    )


def class_of(name: str) -> type | None:
    """The class registered as ``name`` (a registration at run time first), ``None`` if none."""
    if name in _registered:
        return _registered[name]
    if name in BUILTIN:
        module, cls = BUILTIN[name].split(":")
        return getattr(importlib.import_module(module), cls)
    point = next((p for p in _entry_points() if p.name == name), None)
    if point is None:
        return None
    try:
        return point.load()
    except Exception:  # the package's fault: graphae.registry warns of it when it lists the models
        return None


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def names() -> list[str]:
    """Every registered name: the built-ins in table order, then the others in order of registration."""
    return [*BUILTIN, *(name for name in _registered if name not in BUILTIN)]


def record(name: str, cls: type) -> None:
    """Register ``cls`` as ``name`` (checked by :func:`graphae.register_model`, which calls this)."""
    _registered[name] = cls


def forget(name: str) -> None:
    """Remove a registration made with :func:`record`."""
    _registered.pop(name, None)


class RegisteredName:
    """A class attribute that reads the registered name of the class it is looked up on."""

    def __get__(self, obj: Any, owner: type) -> str:
        return name_of(owner)
