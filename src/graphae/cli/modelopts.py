"""A model's parameters as ``graphae train`` options, read from the model itself.

Every parameter ``foo_bar`` the model declares (``params``, see :mod:`graphae.params`)
becomes ``--foo-bar``; its value is parsed by what its constraint accepts and checked by that
constraint, and its help is the first sentence of its entry in the ``Args`` section of the
class docstring (or of a base class's). A parameter that an older option already sets
keeps that option (``--epochs``, ``--lr``, ...; ``--hidden`` and ``--latent`` also answer
to ``--hidden-channels`` and ``--out-channels``); those the command sets from other
options (``--seed``, ``--no-features``) are not options of their own.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphae.cli.common import UserError
from graphae.params import Boolean, Constraint, NoneOr, plain

# Parameters the command sets from its own options, never as --name.
FROM_COMMAND = ("random_state", "verbose", "use_features")
# Parameters whose option has another name: parameter -> dest of that option.
RENAMED = {"hidden_channels": "hidden", "out_channels": "latent"}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a model: its name, default, constraint (``None``: none declared) and help."""

    name: str
    default: Any
    constraint: Constraint | None
    help: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return RENAMED.get(self.name, self.name)


def parameters(estimator: type) -> list[Parameter]:
    """The parameters of an estimator class, in the order of its ``__init__`` (its ``declared`` ones)."""
    helps = _docstring_args(estimator)
    return [Parameter(n, p.default, p.constraint, helps.get(n, "")) for n, p in estimator.declared.items()]


def summary(estimator: type) -> str:
    """The first paragraph of the class docstring and its formula (or that of a class it refers to)."""
    paragraphs = _paragraphs(estimator)
    keep = paragraphs[:1]
    math = [p for p in paragraphs[1:3] if p.lstrip().startswith(".. math::")]
    if not math:
        keep += [p for p in paragraphs[1:2] if p.startswith("As ")]  # "As :class:`GravityGAE` with ..."
        others = (_paragraphs(cls)[1:3] for cls in _referenced(estimator))
        math = [p for found in others for p in found if p.lstrip().startswith(".. math::")]
    return "\n\n".join(keep + math[:1])


def _paragraphs(cls: type) -> list[str]:
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    return [p for p in doc.split("\n\n") if p.strip()]


def show_value(value: Any) -> str:
    """A default as the user would type it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def add_options(parser: argparse.ArgumentParser, model: str, estimator: type) -> None:
    """Add the options of ``estimator``'s parameters; note its defaults in the older options' help."""
    taken = {s: a for a in parser._actions for s in a.option_strings}
    from graphae.estimator import GraphAutoencoderEstimator

    inherited = _docstring_args(GraphAutoencoderEstimator)  # the meaning the command's options describe
    group = parser.add_argument_group(f"{model} parameters", f"see `graphae models {model}`")
    for param in parameters(estimator):
        if param.name in FROM_COMMAND:
            continue
        default = f"default: {show_value(param.default)}"
        existing = taken.get(param.option) or next(
            (a for a in parser._actions if a.dest == param.dest and param.name in RENAMED), None
        )
        if existing is not None:
            if existing.dest != param.dest:
                continue  # a command option of the same name: the parameter keeps its default
            if existing.default is None:  # the model's default applies when it is not given
                # A model whose docstring gives the option another meaning (refined_gae's
                # --batch-size: edges per Adam step) says so beside its default.
                note = f"{model} {default}"
                if param.help and param.help != inherited.get(param.name):
                    note = f"{model}: {param.help.rstrip('.')}; {default}"
                existing.help = f"{existing.help or ''} [{_escape(note)}]"
            if param.option not in taken:  # --hidden-channels beside --hidden
                group.add_argument(
                    param.option, dest=param.dest, type=existing.type, default=argparse.SUPPRESS,
                    metavar=existing.metavar, help=f"same as {existing.option_strings[0]}",
                )  # fmt: skip
            continue
        text = _escape(f"{param.help} ({default})" if param.help else f"({default})")
        if _is_boolean(param):
            group.add_argument(
                param.option, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text
            )
        else:
            group.add_argument(
                param.option, type=converter(param), default=argparse.SUPPRESS, metavar=_metavar(param),
                help=text,
            )  # fmt: skip


def given(args: argparse.Namespace, estimator: type) -> dict[str, Any]:
    """The parameters given as options of their own (absent: the model's default)."""
    skip = {*FROM_COMMAND, *RENAMED}
    return {
        p.name: getattr(args, p.name)
        for p in parameters(estimator)
        if p.name not in skip and hasattr(args, p.name)
    }


def given_options(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, str]:
    """``dest -> option`` of the options ``argv`` gives (not those of a ``--config`` file, nor defaults).

    ``parser`` is changed (every default suppressed): pass a fresh one, which has parsed
    ``argv`` once without error already.
    """
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    parsed, _ = parser.parse_known_args(argv)
    found: dict[str, str] = {}
    for action in parser._actions:
        if action.option_strings and hasattr(parsed, action.dest):
            found.setdefault(action.dest, next(s for s in action.option_strings if s.startswith("--")))
    return found


# Options of the command that set a parameter of the model: option, dest, parameter.
COMMAND_OPTIONS = (
    ("--hidden", "hidden", "hidden_channels"),
    ("--latent", "latent", "out_channels"),
    ("--loss", "loss", "loss"),
    ("--fastgae-nodes", "fastgae_nodes", "fastgae_nodes"),
    ("--fastgae-alpha", "fastgae_alpha", "fastgae_alpha"),
    ("--epochs", "epochs", "epochs"),
    ("--lr", "lr", "lr"),
    ("--patience", "patience", "patience"),
    ("--eval-every", "eval_every", "eval_every"),
    ("--select-best", "select_best", "select_best"),
    ("--normalize-features", "normalize_features", "normalize_features"),
)
# Of those, the options with a default of their own (not None: not given): given when on the command line.
OWN_DEFAULT = ("fastgae_nodes", "fastgae_alpha", "eval_every", "select_best", "normalize_features")


def refuse_ignored(
    args: argparse.Namespace, estimator: type, *, learned: bool, given: Mapping[str, str] | None = None
) -> None:
    """Refuse the options of parameters the model does not have: it would ignore them.

    ``given`` maps the dest of each option given on the command line to the option. One of
    :data:`COMMAND_OPTIONS` is refused when given there or, if its default is ``None``, when
    set at all (by a ``--config`` file, or the runs.json of a resumed run); the option of any
    base parameter the model declares ``NOT_USED`` is refused when given on the command line.
    """
    given = given or {}
    declared = estimator.declared
    ignored = {
        dest: option
        for option, dest, name in COMMAND_OPTIONS
        if name not in declared
        and (dest in given or (dest not in OWN_DEFAULT and getattr(args, dest, None) is not None))
    }
    not_used = {RENAMED.get(name, name) for name in getattr(estimator, "not_used", ())}
    ignored.update(
        {dest: option for dest, option in given.items() if dest in not_used and dest not in ignored}
    )
    if ignored:
        why = "a heuristic: nothing is trained" if not learned else "it has no such parameter"
        them = "it" if len(ignored) == 1 else "them"
        raise UserError(
            f"{', '.join(ignored.values())}: {args.model} does not take {them} ({why}); leave {them} out"
        )


def refuse_given(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """:func:`refuse_ignored` for ``graphae train``: the options given are found with ``parser``
    (the model's own train parser) in the command line kept in ``args.argv``."""
    from graphae.registry import get_model

    entry = get_model(args.model)
    argv = getattr(args, "argv", None) or []
    given = given_options(parser, argv[1:]) if argv[:1] == ["train"] else {}
    refuse_ignored(args, entry.estimator, learned=entry.learned, given=given)


def record(args: argparse.Namespace, params: dict[str, Any], set_by_command: Any) -> dict[str, Any]:
    """Store in ``args`` the parameters that ran (for runs.json and config.toml); return them for metrics.json.

    ``args`` gets those with options of their own (not ``set_by_command``); metrics.json
    gets those that say what was computed (not how: ``device``, ``threads``, ...).
    """
    for name, value in params.items():
        value = plain(value)
        if name not in set_by_command and name not in FROM_COMMAND and is_option_value(value):
            setattr(args, name, value)
    hidden = (*FROM_COMMAND, "device", "threads")
    return {name: plain(value) for name, value in params.items() if name not in hidden}


def is_option_value(value: Any) -> bool:
    """Whether an option can give ``value`` (None, a bool, a number or a string)."""
    return value is None or isinstance(value, (bool, int, float, str))


def converter(param: Parameter) -> Any:
    """The argparse ``type`` of a parameter: the text read as what its constraint accepts."""
    constraint = param.constraint

    def accepts(value: Any) -> bool:
        if constraint is not None:
            return constraint.accepts(value)
        kind = type(param.default)
        return param.default is None or isinstance(value, kind) or (kind is float and isinstance(value, int))

    def convert(text: str) -> Any:
        word = text.strip().lower()
        candidates: list[Any] = []
        if word == "none":
            candidates.append(None)
        if word in ("true", "false"):
            candidates.append(word == "true")
        number_types = (float, int) if isinstance(param.default, float) else (int, float)
        for kind in number_types:
            try:
                candidates.append(kind(text))
            except ValueError:
                pass
        candidates.append(text)
        for value in candidates:
            if accepts(value):
                return value
        what = constraint.description if constraint is not None else f"a {type(param.default).__name__}"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")

    convert.__name__ = param.name  # argparse names the type in some messages
    return convert


def _is_boolean(param: Parameter) -> bool:
    if isinstance(param.constraint, Boolean):
        return True
    return param.constraint is None and isinstance(param.default, bool)


def _metavar(param: Parameter) -> str:
    inner = param.constraint.inner if isinstance(param.constraint, NoneOr) else param.constraint
    options = getattr(inner, "options", None)
    if options is not None:
        return "{" + ",".join(options) + "}"
    return param.name.upper().split("_")[-1]


def _escape(text: str) -> str:
    return text.replace("%", "%%")


_ENTRY = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*): ?(.*)$")


def _docstring_args(estimator: type) -> dict[str, str]:
    """``name -> first sentence`` of the ``Args`` entries of the class and its bases (the class first)."""
    found: dict[str, str] = {}
    for cls in (*estimator.__mro__, *_referenced(estimator)):
        doc = cls.__dict__.get("__doc__")
        if doc:
            for name, text in _args_section(inspect.cleandoc(doc)).items():
                found.setdefault(name, text)
    return found


def _referenced(estimator: type) -> list[type]:
    """The classes of its module that the class docstring refers to (``As :class:`GravityGAE` ...``)."""
    module = sys.modules.get(estimator.__module__)
    names = re.findall(r":class:`~?(?:[\w.]*\.)?(\w+)`", estimator.__dict__.get("__doc__") or "")
    found = (getattr(module, name, None) for name in names)
    return [cls for cls in found if isinstance(cls, type)]


def _args_section(doc: str) -> dict[str, str]:
    entries: dict[str, list[str]] = {}
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Args:")
    except StopIteration:
        return {}
    indent = len(lines[start]) - len(lines[start].lstrip())
    entry_indent = None
    current: list[str] | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth <= indent:
            break  # the next section
        match = _ENTRY.match(line)
        if match and (entry_indent is None or depth == entry_indent):
            entry_indent = depth
            current = entries.setdefault(match.group(2), [])
            current.append(match.group(3))
        elif current is not None and depth > (entry_indent or 0):
            current.append(line.strip())
        else:
            current = None  # an entry for several names ("epochs, lr, ...: As for ...")
    return {name: _first_sentence(" ".join(parts)) for name, parts in entries.items()}


def _first_sentence(text: str) -> str:
    text = text.replace("``", "").replace(":class:", "").replace(":mod:", "").replace("`", "").strip()
    text = re.sub(r"~?graphae\.(?:[a-z_]+\.)*", "", text)
    match = re.search(r"(?<!e\.g)(?<!i\.e)(?<!al)\.(\s|$)", text)
    return text[: match.start() + 1] if match else text
