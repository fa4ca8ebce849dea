"""Where a feature matrix holds NaN or inf: the check every reader and ``Graph`` share."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Said where an inf may come from a finite value that float32 cannot hold.
OVERFLOW_HINT = " (float32 features hold magnitudes up to 3.4e38; larger values become inf)"


def non_finite_entry(x: np.ndarray | sp.spmatrix) -> tuple[int, int, float] | None:
    """The first NaN or infinite entry of a feature matrix, in row-major order.

    One pass without a temporary: a float64 sum of float32 values cannot overflow, so
    it is finite exactly when every entry is; only a non-finite sum looks further.

    Args:
        x: A dense ``[N, F]`` array or a CSR matrix.

    Returns:
        ``(row, column, value)`` (0-based) of the first non-finite entry, or ``None``.
    """
    data = x.data if sp.issparse(x) else x
    with np.errstate(invalid="ignore"):  # inf + -inf is NaN: non-finite all the same
        if np.isfinite(np.sum(data, dtype=np.float64)):
            return None
    if not sp.issparse(x):
        row, col = np.argwhere(~np.isfinite(x))[0]
        return int(row), int(col), float(x[row, col])
    bad = np.flatnonzero(~np.isfinite(x.data))
    row = int(np.searchsorted(x.indptr, bad[0], side="right")) - 1
    in_row = bad[bad < x.indptr[row + 1]]  # indices within a row need not be sorted
    k = in_row[np.argmin(x.indices[in_row])]
    return row, int(x.indices[k]), float(x.data[k])
