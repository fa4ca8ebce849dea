"""``graphae train --config FILE``: the train options as a TOML file, and the file a run folder keeps.

A file has the sections ``[data]``, ``[model]``, ``[training]`` and ``[output]`` (the
groups of ``graphae train --help``; ``[training]`` holds the *runs* group), whose keys
are the option names with ``_`` for ``-``: ``reverse_edges = true``, ``gravity_lambda =
0.05``. Options given on the command line override the file. Relative paths are read
from the current folder, as on the command line. Every run folder keeps the options it
ran with as ``config.toml`` (paths made absolute; without ``--out`` and
``--overwrite``), so that ``graphae train --config DIR/config.toml --out OTHER`` repeats it.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# argparse group title -> section of the file.
SECTIONS = {"data": "data", "model": "model", "runs": "training", "output": "output"}
NOT_IN_FILE = ("config", "resume", "help")
# Left out of a run folder's config.toml: where it was written, and whether that replaced a folder.
NOT_WRITTEN = (*NOT_IN_FILE, "out", "overwrite")
Layout = dict[str, dict[str, argparse.Action]]


class _PreParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def prepare(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Before ``graphae train`` parses ``argv``: add the chosen model's options and the file's values.

    The model is the one of ``--model``, else of the file's ``[model] model``, else ``gae``.
    """
    from graphae.cli.modelopts import add_options
    from graphae.registry import get_model, model_names

    if getattr(parser, "prepared", False):
        return  # parsed before: the options are there already
    parser.prepared = True  # type: ignore[attr-defined]
    pre = _PreParser(add_help=False)
    pre.add_argument("--model")
    pre.add_argument("--config")
    try:
        known, _ = pre.parse_known_args(argv)
    except ValueError:
        return  # the real parse reports it
    data = read(parser, known.config) if known.config else {}
    model = known.model or data.get("model", {}).get("model") or "gae"
    if model not in model_names():
        return  # the real parse reports it
    add_options(parser, model, get_model(model).estimator)
    _check_other_models(parser, model, argv)
    if known.config:
        apply(parser, known.config, data, model)


def _check_other_models(parser: argparse.ArgumentParser, model: str, argv: list[str]) -> None:
    """An option of another model's parameter (``--gravity-lambda`` with ``--model gae``) is named as such."""
    from graphae.cli.modelopts import parameters
    from graphae.registry import models

    known = {s for action in parser._actions for s in action.option_strings}
    for word in argv:
        option = word.split("=")[0]
        if word == "--" or not option.startswith("--") or any(s.startswith(option) for s in known):
            continue
        owners = [
            e.name
            for e in models()
            if any(option in (p.option, f"--no-{p.option[2:]}") for p in parameters(e.estimator))
        ]
        if owners:
            parser.error(f"{option}: {model} has no such parameter; it is one of {', '.join(owners)}")


def read(parser: argparse.ArgumentParser, path: str) -> dict[str, Any]:
    """The sections of a config file; a missing, unreadable or malformed file is a one-line error."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        parser.error(f"--config {path}: no such file")
    except IsADirectoryError:
        parser.error(f"--config {path}: is a folder, expected a TOML file")
    except OSError as err:
        parser.error(f"--config {path}: cannot read it ({err.strerror or err})")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        parser.error(f"--config {path}: not a valid TOML file ({err})")
    expected = ", ".join(f"[{s}]" for s in SECTIONS.values())
    for name, value in data.items():
        if not isinstance(value, dict):
            parser.error(f"{path}: key {name!r} outside a section; expected the sections {expected}")
        if name not in SECTIONS.values():
            parser.error(f"{path}: unknown section [{name}]; expected {expected}")
    return data


def layout(parser: argparse.ArgumentParser) -> Layout:
    """section -> key -> option, for every option a file may set, in the order of ``--help``."""
    out: Layout = {section: {} for section in SECTIONS.values()}
    for group in parser._action_groups:
        section = SECTIONS.get(group.title or "")
        if section is None and (group.title or "").endswith(" parameters"):
            section = "model"  # the model's own parameters (modelopts.add_options)
        if section is None:
            continue
        for action in group._group_actions:
            if action.dest in NOT_IN_FILE:
                continue
            strings = action.option_strings
            if isinstance(action, argparse.BooleanOptionalAction):
                strings = strings[:1]  # --foo, not --no-foo
            for option in strings:
                if option.startswith("--"):
                    out[section].setdefault(option[2:].replace("-", "_"), action)
    return out


def apply(parser: argparse.ArgumentParser, path: str, data: dict[str, Any], model: str) -> None:
    """Make the file's values the defaults of their options (so that flags override them).

    A ``[model]`` key of a parameter the model does not have, but which an older graphae
    wrote into its config.toml, is ignored with a notice: one the model declares
    ``NOT_USED`` (``hidden = 32`` of a linear_gae run), or ``fastgae_nodes``/``fastgae_alpha``
    (written for every model). Any other unknown key is refused.
    """
    keys = layout(parser)
    defaults: dict[str, Any] = {}
    for section, values in data.items():
        for key, value in values.items():
            where = f"{path} [{section}] {key}"
            action = keys[section].get(key)
            name = _written_before(model, key, action) if section == "model" else None
            if name is not None:
                if os.environ.get("RANK", "0") == "0":  # once under torchrun, not once per process
                    print(f"graphae: notice: {where}: {model} does not use {name} (a key of an older graphae); ignored",
                          file=sys.stderr)  # fmt: skip
                continue
            if action is None:
                home = next((s for s, k in keys.items() if key in k), None)
                hint = f"it belongs in [{home}]" if home else f"see `graphae train --model {model} --help`"
                parser.error(f"{where}: unknown key; {hint}")
            defaults[action.dest] = _value(parser, action, value, where)
    parser.set_defaults(**defaults)


def _written_before(model: str, key: str, action: argparse.Action | None) -> str | None:
    """The parameter a ``[model]`` key sets if the model does not have it but graphae once wrote it."""
    from graphae.cli.modelopts import OWN_DEFAULT, RENAMED
    from graphae.registry import get_model

    estimator = get_model(model).estimator
    dest = key if action is None else action.dest
    name = next((n for n, d in RENAMED.items() if d == dest), dest)
    if name in getattr(estimator, "not_used", ()) or (dest in OWN_DEFAULT and name not in estimator.declared):
        return name
    return None


def _value(parser: argparse.ArgumentParser, action: argparse.Action, value: Any, where: str) -> Any:
    if isinstance(action, (argparse._StoreConstAction, argparse.BooleanOptionalAction)):
        if not isinstance(value, bool):
            parser.error(f"{where}: expected true or false, got {value!r}")
        if isinstance(action, argparse.BooleanOptionalAction):
            return value
        return action.const if value else action.default
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        parser.error(f"{where}: expected a string or a number, got {value!r}")
    if action.type is None:
        if not isinstance(value, str):
            parser.error(f"{where}: expected a string, got {value!r}")
        converted = value
    else:
        try:
            converted = action.type(value if isinstance(value, str) else repr(value))
        except (argparse.ArgumentTypeError, ValueError, TypeError) as err:
            parser.error(f"{where}: {err}")
    if action.choices is not None and converted not in action.choices:
        parser.error(f"{where}: expected one of {list(action.choices)}, got {value!r}")
    return converted


def dumps(options: dict[str, Any], keys: Layout) -> str:
    """The options of a run as a config file (see the module docstring)."""
    lines = ["# graphae train --config this-file repeats the run (flags given beside it override it)."]
    for section, actions in keys.items():
        lines.append(f"\n[{section}]")
        seen: set[str] = set()
        for key, action in actions.items():
            if action.dest in seen or action.dest in NOT_WRITTEN or action.dest not in options:
                continue
            seen.add(action.dest)
            value = options[action.dest]
            if isinstance(action, argparse._StoreConstAction):
                value = value == action.const
            elif value is None:
                if action.default is not argparse.SUPPRESS:
                    continue  # not given: the model's default
                value = "none"  # a parameter's option given as none (modelopts: absent when not given)
            try:
                lines.append(f"{key} = {toml_value(value)}")
            except TypeError:  # a model's parameter of another kind: the run is not lost for it
                lines.append(f"# {key}: a {type(value).__name__}, which a config file cannot hold")
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """A str, int, float, bool or list of them in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest round-tripping form: 0.05, 1e-05
    if isinstance(value, str):
        escaped = "".join(_ESCAPES.get(c, c if c.isprintable() else f"\\U{ord(c):08x}") for c in value)
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def write(path: Path, options: dict[str, Any], keys: Layout) -> None:
    from graphae.io import atomic_write

    atomic_write(path, lambda f: f.write(dumps(options, keys).encode()))
