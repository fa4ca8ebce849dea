"""An approximate top-k index over a fitted embedding, for ``recommend`` on large graphs.

Exact recommendation scores every node for each query (``O(N d)`` plus a partial sort of
``N`` scores). For a decoder that is an inner product (``sigmoid(z_i . z_j)``, see
:attr:`graphae.nn.Decoder.inner_product`) an HNSW graph (faiss's ``IndexHNSWFlat``,
``pip install "graphae[index]"``) finds the largest inner products in about ``O(log N)``
distance computations instead. The index only *proposes* candidates: ``recommend`` scores
them again with the model's decoder, so every probability it returns is the exact one.

The graph is built and searched with the inner product itself (faiss's
``METRIC_INNER_PRODUCT``). graphae used to reduce the search to nearest neighbours in L2
by one extra coordinate (a node stored as ``[z_i, sqrt(R^2 - |z_i|^2)]``, ``R`` the
largest norm, a query as ``[z_q, 0]``); every stored point is then about as far from a
query, and on 20,000 to 100,000 nodes of width 16 the reduction's recall@10 was 0.77 to
0.95 on random embeddings and 0.14 to 0.56 on embeddings whose norms spread (log-normal),
at efSearch 32 to 512, where the inner-product graph reached 0.988 to 0.999 at 32 (on
clustered embeddings too, where the reduction reached 0.89 to 0.99). On a GAE trained for
one epoch on 50,000 nodes, though, the inner-product graph stopped at 0.97 (0.955 at 128)
where the reduction went on to 0.999 at 2048: when the first falls short of the target,
:meth:`InnerProductIndex.build` builds the second too and keeps the better
(``metric`` in ``metadata.json``). An index of the reduction (width ``d + 1``) is
searched with the extra coordinate 0, as saved by older graphae too.

faiss assigns HNSW levels from a generator with a fixed seed, so the index depends only on
the embedding, the parameters below and, as faiss builds the graph on several threads, the
order in which those threads insert nodes: two builds may differ in a few links, which can
change an approximate candidate list, never a returned probability. The saved index
(``index.faiss`` in a model folder) is the one that is reused.

The search width ``efSearch`` is not fixed: :meth:`InnerProductIndex.calibrate` (run by
:meth:`~InnerProductIndex.build`) doubles it from ``EF_START`` until the mean recall@10 of
``recommend``'s search (existing neighbours excluded, as ``recommend`` does) against exact
scoring reaches a target, on a seeded sample of nodes. faiss keeps ``efSearch`` in the
index's bytes, so a saved index searches as calibrated; an index saved before calibration
existed keeps the ``EF_SEARCH`` it was saved with.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from graphae.errors import InputError, MissingDependencyError

# recommend(exact=None) uses the index from this many nodes on. Measured with
# benchmarks/topk.py (BENCHMARKS.md "Top-k at scale", 2026-12-06, 2 cores, 16 dimensions):
# exact scoring of 1M nodes took 7.9 ms median, recall 1, while the index took 0.5 ms at
# recall@10 0.80 on a random embedding; exact time grows linearly, ~10 ms at 1.2M nodes.
EXACT_BELOW = 1_200_000
# HNSW parameters: links per node, candidate list while building, and the least
# candidate list while searching of an index built without calibration (a search asking
# for more candidates widens it; an index saved before calibration existed has this one).
HNSW_M = 32
EF_CONSTRUCTION = 200
EF_SEARCH = 128
# Calibration (InnerProductIndex.calibrate): the recall@10 aimed at by default, the nodes
# sampled (seeded) to measure it, and the first and largest efSearch tried (doubling).
TARGET_RECALL = 0.95
CALIBRATION_QUERIES = 200
CALIBRATION_SEED = 0
CALIBRATION_K = 10
EF_START = 32
EF_MAX = 4096
# Candidates asked for beyond k and the excluded nodes: room for the index's misses.
MARGIN = 32
# A search that would ask for this share of the nodes or more scores every node instead.
EXACT_SHARE = 0.25

_HINT = 'the top-k index needs faiss: pip install "graphae[index]"'


class MissingFaissError(MissingDependencyError):
    """The top-k index is needed (``exact=False``) and faiss is not installed."""


def faiss() -> Any:
    """The ``faiss`` module, imported on first use.

    Raises:
        MissingFaissError: If faiss (``faiss-cpu``) is not installed.
    """
    try:
        import faiss as module
    except ImportError as err:
        raise MissingFaissError(_HINT) from err
    return module


def available() -> bool:
    """Whether faiss can be imported (``recommend(exact=None)`` uses the index only then)."""
    try:
        faiss()
    except MissingFaissError:
        return False
    return True


def check_target_recall(value: Any, owner: str) -> float:
    """``value`` as a recall target in ``(0, 1]``.

    Raises:
        InputError: Naming the parameter of ``owner`` if it is no number in ``(0, 1]``.
    """
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not ok or not 0 < value <= 1:
        raise InputError(
            f"The 'target_recall' parameter of {owner} must be a number in (0, 1]. Got {value!r}."
        )
    return float(value)


class InnerProductIndex:
    """Candidates of largest inner product ``z_i . z_q`` among the rows of an embedding.

    Built with :meth:`build` or read back with :meth:`from_bytes`; it pickles as its bytes.

    Attributes:
        num_nodes: Rows of the embedding it indexes (``N``).
        dim: Width of the embedding (``d``; an index saved by graphae before it searched
            the inner product stores ``d + 1`` coordinates, see above).
        calibration: What :meth:`calibrate` measured: ``target_recall``, ``recall_at_10``
            (mean over the sample) and ``queries`` (the sampled nodes); ``None`` for an
            index never calibrated (saved before calibration existed, or built with
            ``target_recall=None``).
    """

    def __init__(self, index: Any, dim: int, calibration: dict[str, Any] | None = None) -> None:
        self._index = index
        self.num_nodes = int(index.ntotal)
        self.dim = int(dim)
        self.calibration = calibration
        self._extra = int(index.d) == self.dim + 1  # the L2 reduction of older folders

    @property
    def ef_search(self) -> int:
        """The least search width (``efSearch``) of a search; kept in the index's bytes."""
        return int(self._index.hnsw.efSearch)

    def record(self) -> dict[str, Any]:
        """``metric``, ``ef_search`` and the :attr:`calibration`, as ``metadata.json`` keeps them."""
        return {"metric": self.metric, "ef_search": self.ef_search, **(self.calibration or {})}

    @classmethod
    def build(
        cls, z: np.ndarray, exclude: Any = None, target_recall: float | None = TARGET_RECALL
    ) -> InnerProductIndex:
        """An HNSW index over the rows of ``z`` (``[N, d]``), calibrated to ``target_recall``.

        The graph of inner products first; if no search width up to ``EF_MAX`` reaches the
        target on it (some trained embeddings stop short, at 0.97 on one of 50,000 nodes),
        the L2 reduction too (see above), which there reached 0.999: the one that reaches
        the target, else the one of higher recall (with a warning).

        Args:
            z: The embedding.
            exclude: The CSR adjacency whose neighbours ``recommend`` leaves out (``None``:
                none), for :meth:`calibrate`.
            target_recall: See :meth:`calibrate`; ``None``: not calibrated (``EF_SEARCH``).

        Raises:
            MissingFaissError: If faiss is not installed.
        """
        z = np.ascontiguousarray(z, dtype=np.float32)
        ann = cls(_hnsw(z, inner=True), z.shape[1])
        if target_recall is None or ann.calibrate(z, exclude, target_recall, warn=False) >= target_recall:
            return ann
        other = cls(_hnsw(z, inner=False), z.shape[1])
        other.calibrate(z, exclude, target_recall, warn=False)
        best = max((ann, other), key=lambda a: a.calibration["recall_at_10"])
        best._warn_short(target_recall)
        return best

    @property
    def metric(self) -> str:
        """``"inner_product"``, or ``"l2_reduction"`` (L2 with the extra coordinate, see above)."""
        return "l2_reduction" if self._extra else "inner_product"

    def search(self, q: np.ndarray, count: int, ef_search: int | None = None) -> np.ndarray:
        """Indices of up to ``count`` rows of largest inner product with ``q`` (``[d]``), best first.

        The search width is ``ef_search`` (default :attr:`ef_search`), or ``count`` if larger.
        """
        lib = faiss()
        query = np.zeros((1, self.dim + self._extra), dtype=np.float32)
        query[0, : self.dim] = q  # an older index's extra coordinate: 0
        params = lib.SearchParametersHNSW()
        params.efSearch = max(self.ef_search if ef_search is None else ef_search, count)
        _, found = self._index.search(query, count, params=params)
        found = found[0]
        return found[found >= 0].astype(np.int64)

    def candidates(
        self, z: np.ndarray, i: int, excluded: np.ndarray, k: int, ef_search: int | None = None
    ) -> np.ndarray | None:
        """The nodes ``recommend`` scores for node ``i``: found by the index, ``i`` and ``excluded`` left out.

        Asks for ``k`` + the excluded nodes + 1 + ``MARGIN``; while fewer than ``k`` survive,
        for twice as many. ``None`` once that reaches ``EXACT_SHARE`` of the nodes: score
        every node instead.
        """
        count = k + len(excluded) + 1 + MARGIN
        while count < EXACT_SHARE * self.num_nodes:
            found = self.search(z[i], count, ef_search)
            keep = found[(found != i) & ~np.isin(found, excluded)]
            if len(keep) >= k:
                return keep
            count *= 2
        return None

    def calibrate(
        self,
        z: np.ndarray,
        exclude: Any = None,
        target_recall: float = TARGET_RECALL,
        queries: int = CALIBRATION_QUERIES,
        seed: int = CALIBRATION_SEED,
        warn: bool = True,
    ) -> float:
        """Set :attr:`ef_search` to the first of ``EF_START``, twice that, ... ``EF_MAX`` that
        reaches ``target_recall``; the recall measured there.

        The recall is the mean recall@10 of :meth:`candidates` (the top 10 of them by
        ``z_i . z_j``) against exact scoring of every node, over ``queries`` nodes drawn
        with ``seed``, each with its neighbours in ``exclude`` (CSR) left out. Short of the
        target at ``EF_MAX``, it keeps ``EF_MAX`` and warns (if ``warn``).
        """
        z = np.ascontiguousarray(z, dtype=np.float32)
        n, k = len(z), CALIBRATION_K
        sample = np.sort(np.random.default_rng(seed).choice(n, size=min(queries, n), replace=False))
        excluded = [_neighbours(exclude, int(i)) for i in sample]
        exact = _exact_top(z, sample, excluded, k)
        ef = EF_START
        while True:
            recall = self._recall(z, sample, excluded, exact, ef)
            if recall >= target_recall or ef >= EF_MAX:
                break
            ef *= 2
        self._index.hnsw.efSearch = ef
        self.calibration = {
            "target_recall": float(target_recall),
            "recall_at_10": round(recall, 4),  # of 10 * queries hits: 4 digits hold it
            "queries": len(sample),
        }
        if warn:
            self._warn_short(target_recall)
        return recall

    def _warn_short(self, target_recall: float) -> None:
        """Warn if the calibration stopped short of ``target_recall``."""
        recall = self.calibration["recall_at_10"]
        if recall < target_recall:
            warnings.warn(
                f"the top-k index reaches recall@10 {recall:.3f} at efSearch {self.ef_search} (the most "
                f"tried), below the target {target_recall}; recommend(exact=True) (--exact) scores every node.",
                UserWarning,
                stacklevel=3,
            )

    def _recall(self, z: np.ndarray, sample: np.ndarray, excluded: list, exact: list, ef: int) -> float:
        """Mean recall@k at search width ``ef`` of the sampled nodes against their ``exact`` top k."""
        k, hits = CALIBRATION_K, []
        for i, out, best in zip(sample, excluded, exact, strict=True):
            keep = self.candidates(z, int(i), out, k, ef)
            if len(best) == 0 or keep is None:  # nothing to find, or recommend scores exactly
                hits.append(1.0)
                continue
            scores = z[keep] @ z[i]
            top = keep[np.argpartition(-scores, k - 1)[:k]] if len(keep) > k else keep
            hits.append(len(np.intersect1d(top, best)) / len(best))
        return float(np.mean(hits))

    def to_bytes(self) -> bytes:
        """The index as faiss writes it (what ``index.faiss`` holds)."""
        return faiss().serialize_index(self._index).tobytes()

    @classmethod
    def from_bytes(
        cls, data: bytes, num_nodes: int, dim: int, where: str, record: dict[str, Any] | None = None
    ) -> InnerProductIndex:
        """Read an index written by :meth:`to_bytes` for an ``[num_nodes, dim]`` embedding.

        ``record`` is what :meth:`record` gave (``metadata.json`` keeps it): the
        :attr:`calibration`. The search width is the one in ``data``.

        Raises:
            MissingFaissError: If faiss is not installed.
            InputError: Naming ``where`` if the bytes are no faiss index of that size.
        """
        lib = faiss()
        try:
            index = lib.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError:
            raise InputError(f"{where}: not a faiss index; save the model again.") from None
        # An inner-product index of width d, or an older L2 one of width d + 1 (see above).
        inner = index.metric_type == lib.METRIC_INNER_PRODUCT
        if not hasattr(index, "hnsw") or not (inner or index.metric_type == lib.METRIC_L2):
            raise InputError(f"{where}: not an HNSW index of graphae's; save the model again.")
        width = index.d if inner else index.d - 1
        if index.ntotal != num_nodes or width != dim:
            raise InputError(
                f"{where}: an index of {index.ntotal} nodes of width {width}, but the model has "
                f"{num_nodes} nodes of width {dim}; save the model again."
            )
        calibration = {k: v for k, v in (record or {}).items() if k not in ("metric", "ef_search")}
        return cls(index, dim, calibration or None)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "data": self.to_bytes(),
            "num_nodes": self.num_nodes,
            "dim": self.dim,
            "record": self.record(),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        other = InnerProductIndex.from_bytes(
            state["data"], state["num_nodes"], state["dim"], "index", state.get("record")
        )
        self.__dict__.update(other.__dict__)


# Scores held at once by the calibration's exact top k (rows x nodes).
_BLOCK = 1 << 22


def _hnsw(z: np.ndarray, inner: bool) -> Any:
    """faiss's HNSW graph of the rows of ``z``: of inner products, or L2 on the reduction (see above)."""
    lib = faiss()
    if inner:
        index = lib.IndexHNSWFlat(z.shape[1], HNSW_M, lib.METRIC_INNER_PRODUCT)
    else:
        sq = np.einsum("ij,ij->i", z, z, dtype=np.float64)
        extra = np.sqrt(np.maximum(sq.max(initial=0.0) - sq, 0.0)).astype(np.float32)
        z = np.ascontiguousarray(np.column_stack([z, extra]))
        index = lib.IndexHNSWFlat(z.shape[1], HNSW_M)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.hnsw.efSearch = EF_SEARCH
    index.add(z)
    return index


def _neighbours(adj: Any, i: int) -> np.ndarray:
    """The neighbours of node ``i`` in the CSR ``adj`` (``None``: none)."""
    if adj is None:
        return np.empty(0, dtype=np.int64)
    return np.asarray(adj.indices[adj.indptr[i] : adj.indptr[i + 1]], dtype=np.int64)


def _exact_top(z: np.ndarray, sample: np.ndarray, excluded: list, k: int) -> list[np.ndarray]:
    """The ``k`` nodes of largest ``z_i . z_j`` of each sampled ``i``, ``i`` and its ``excluded`` left out."""
    block = max(1, _BLOCK // len(z))
    out = []
    for start in range(0, len(sample), block):
        rows = sample[start : start + block]
        scores = z[rows] @ z.T
        for r, i in enumerate(rows):
            row = scores[r]
            row[i] = -np.inf
            row[excluded[start + r]] = -np.inf
            count = min(k, int(np.count_nonzero(row > -np.inf)))
            out.append(np.argpartition(-row, count - 1)[:count] if count else np.empty(0, dtype=np.int64))
    return out
