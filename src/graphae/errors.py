"""The errors graphae raises on purpose, for input it cannot use.

Everything here derives from :class:`GraphaeError`: an error caused by what a user gave
(an argument, a file, a folder, a setting) or by the machine (a missing optional
package), never by a bug in graphae. The command line reports these in one line and
exits with status 2; any other exception is a bug and is shown with its traceback.

Each class also derives from the built-in exception a Python user would expect
(``ValueError``, ``TypeError``, ``FileNotFoundError``, ``ImportError``), so
``except ValueError`` keeps working.

One warning lives here too, :class:`SlowTrainingWarning`: settings that work but cost far
more than an alternative (the command line shows it as a one-line notice).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "GraphaeError",
    "InputError",
    "InputTypeError",
    "MissingDependencyError",
    "MissingFileError",
    "NonFiniteLossError",
    "ParameterError",
    "SlowTrainingWarning",
    "describe",
]


class GraphaeError(Exception):
    """Base class of the errors that name a problem in the user's input or setup."""


class InputError(GraphaeError, ValueError):
    """A value that graphae cannot use: a bad argument, graph, file content or folder."""


class InputTypeError(GraphaeError, TypeError):
    """An argument of a type graphae does not accept."""


class ParameterError(InputError, TypeError):
    """An invalid estimator parameter (like scikit-learn's ``InvalidParameterError``)."""


class MissingFileError(GraphaeError, FileNotFoundError):
    """A file graphae needs is absent; the message says how to get it."""


class MissingDependencyError(GraphaeError, ImportError):
    """An optional package is needed and not installed; the message names the extra."""


class NonFiniteLossError(GraphaeError, FloatingPointError):
    """Training produced a loss that is NaN or infinite (it diverged)."""


class SlowTrainingWarning(UserWarning):
    """Settings that will train far more slowly than an alternative (the exact loss on a large graph)."""


def describe(value: Any) -> str:
    """A value as a user wrote it: numpy scalars shown as plain numbers (``-1.0``, not ``np.float64(-1.0)``)."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        value = item()
    return repr(value)
