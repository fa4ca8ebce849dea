"""``graphae models``: the registered models, one per line; ``graphae models NAME``: one model in full."""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from typing import Any

from graphae.cli.common import UserError

# Parameters `graphae train` sets from its own options: how.
_SET_BY = {
    "random_state": "set by --seed (run i: SEED+i)",
    "use_features": "set by --no-features (false)",
    "verbose": "not an option (train shows progress unless --quiet)",
}


def add_command(sub: Any) -> None:
    models = sub.add_parser(
        "models",
        help="list the models graphae can train",
        description="Without NAME: every registered model (built-in, registered at run time, or "
        "installed through the entry point group graphae.models), one per line. With NAME: the "
        "model's formula and paper, and its parameters with their defaults and options.",
    )
    models.add_argument("name", nargs="?", metavar="NAME", help="a model to describe")
    models.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from graphae.errors import InputError
    from graphae.registry import get_model, models

    if args.name is not None:
        try:
            entry = get_model(args.name)
        except InputError as err:
            raise UserError(f"graphae models {args.name}: {err}") from None
        print(describe(entry.name, entry.estimator))
        return 0
    entries = models()
    width = max(len(entry.name) for entry in entries)
    for entry in entries:
        print(f"{entry.name:<{width}}  {entry.description}")
    return 0


def describe(name: str, estimator: type) -> str:
    """The model's docstring summary, then a table of its parameters: option, default, help."""
    from graphae.cli.modelopts import RENAMED, parameters, show_value, summary

    rows = []
    for param in parameters(estimator):
        option, text = param.option, _one_line(param.help)
        if param.name in _SET_BY:
            option, text = param.name, f"{_SET_BY[param.name]}: {text}"
        elif param.name in RENAMED:
            option = f"{option}, --{RENAMED[param.name]}"
        rows.append((option, show_value(param.default), text))
    width = max((len(r[0]) for r in rows), default=0)
    value_width = max((len(r[1]) for r in rows), default=0)
    lines = [f"{name}: {estimator.__module__}.{estimator.__qualname__}", "", summary(estimator), ""]
    module = [p for p in (inspect.getdoc(sys.modules.get(estimator.__module__)) or "").split("\n\n") if p]
    if module:  # where the built-in models cite their paper in full: up to the paragraph with a year
        cited = next((i for i, p in enumerate(module[:2]) if re.search(r"\b(19|20)\d\d\b", p)), 0)
        lines += [f"{estimator.__module__}: {module[0]}", *(f"\n{p}" for p in module[1 : cited + 1]), ""]
    lines.append(f"Parameters (graphae train --model {name} OPTION VALUE; default, then meaning):")
    lines += [f"  {o:<{width}}  {d:<{value_width}}  {h}".rstrip() for o, d, h in rows]
    return "\n".join(lines)


def _one_line(text: str, limit: int = 110) -> str:
    """``text`` cut at a clause boundary before ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind("; ", 0, limit), text.rfind(", ", 0, limit))
    return (text[:cut] if cut > 0 else text[:limit]) + " ..."
