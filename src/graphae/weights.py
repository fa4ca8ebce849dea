"""Edge weights: the one rule every input follows, files and in-memory matrices alike.

A graphae graph is binary, so a weight only says that an edge exists; it must still be
a finite number > 0. A negative, NaN or infinite weight is refused rather than read as
an edge: ``as_graph(-A)``, a ``.npz`` with a negative ``adj_data`` and an edge list with
a weight of ``-1`` all fail the same way. In a matrix, an entry of 0 is no edge.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError, InputTypeError

__all__ = ["WEIGHT_RULE", "bad_weights", "check_adjacency_weights"]

WEIGHT_RULE = "a number > 0"


def bad_weights(w: np.ndarray) -> np.ndarray:
    """Mask of the weights that break the rule: not finite, or not > 0."""
    with np.errstate(invalid="ignore"):
        return ~(np.isfinite(w) & (w > 0))


def check_adjacency_weights(adj: sp.csr_matrix, where: str = "adjacency") -> None:
    """Refuse a stored entry of a CSR adjacency that is not 0 and not a weight > 0.

    Args:
        adj: A CSR matrix (explicit zeros are no edges).
        where: What to call the matrix in the message (a file for readers).

    Raises:
        InputTypeError: If the matrix holds complex or non-numeric values.
        InputError: Naming the first bad entry as ``adj[i, j]``.
    """
    data = adj.data
    if data.dtype == bool:
        return
    if not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        raise InputTypeError(f"{where} must hold real numbers (edge weights). Got dtype {data.dtype}.")
    bad = np.flatnonzero(bad_weights(data) & (data != 0))
    if not len(bad):
        return
    k = int(bad[0])
    row = int(np.searchsorted(adj.indptr, k, side="right")) - 1
    raise InputError(
        f"{where} entry [{row}, {int(adj.indices[k])}] is {data[k].item()!r}: an edge weight must be "
        f"{WEIGHT_RULE} (0 means no edge), as in edge-list files; negative or NaN entries are not edges."
    )
