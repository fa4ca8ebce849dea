"""An approximate top-k index over a fitted embedding, for ``recommend`` on large graphs.

Exact recommendation scores every node for each query (``O(N d)`` plus a partial sort of
``N`` scores). For a decoder that is an inner product (``sigmoid(z_i . z_j)``, see
:attr:`graphae.nn.Decoder.inner_product`) an HNSW graph (faiss's ``IndexHNSWFlat``,
``pip install "graphae[index]"``) finds the largest inner products in about ``O(log N)``
distance computations instead. The index only *proposes* candidates: ``recommend`` scores
them again with the model's decoder, so every probability it returns is the exact one.

Maximum inner product search is reduced to nearest neighbours in L2 by one extra
coordinate: each node is stored as ``[z_i, sqrt(R^2 - |z_i|^2)]`` (``R``: the largest
norm) and a query as ``[z_q, 0]``, so ``|x_i - q|^2 = R^2 + |z_q|^2 - 2 z_i . z_q``: the
nearest stored points are those of largest inner product with the query.

faiss assigns HNSW levels from a generator with a fixed seed, so the index depends only on
the embedding, the parameters below and, as faiss builds the graph on several threads, the
order in which those threads insert nodes: two builds may differ in a few links, which can
change an approximate candidate list, never a returned probability. The saved index
(``index.faiss`` in a model folder) is the one that is reused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphae.errors import InputError, MissingDependencyError

# recommend(exact=None) uses the index from this many nodes on. Measured with
# benchmarks/topk.py (BENCHMARKS.md "Top-k at scale", 2026-12-06, 2 cores, 16 dimensions):
# exact scoring of 1M nodes took 7.9 ms median, recall 1, while the index took 0.5 ms at
# recall@10 0.80 on a random embedding; exact time grows linearly, ~10 ms at 1.2M nodes.
EXACT_BELOW = 1_200_000
# HNSW parameters: links per node, candidate list while building, and the least
# candidate list while searching (a search asking for more candidates widens it).
HNSW_M = 32
EF_CONSTRUCTION = 200
EF_SEARCH = 128
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


class InnerProductIndex:
    """Candidates of largest inner product ``z_i . z_q`` among the rows of an embedding.

    Built with :meth:`build` or read back with :meth:`from_bytes`; it pickles as its bytes.

    Attributes:
        num_nodes: Rows of the embedding it indexes (``N``).
        dim: Width of the embedding (``d``; the index stores ``d + 1`` coordinates).
    """

    def __init__(self, index: Any, dim: int) -> None:
        self._index = index
        self.num_nodes = int(index.ntotal)
        self.dim = int(dim)

    @classmethod
    def build(cls, z: np.ndarray) -> InnerProductIndex:
        """An HNSW index over the rows of ``z`` (``[N, d]``), with the parameters above.

        Raises:
            MissingFaissError: If faiss is not installed.
        """
        lib = faiss()
        z = np.ascontiguousarray(z, dtype=np.float32)
        sq = np.einsum("ij,ij->i", z, z, dtype=np.float64)
        extra = np.sqrt(np.maximum(sq.max(initial=0.0) - sq, 0.0)).astype(np.float32)
        index = lib.IndexHNSWFlat(z.shape[1] + 1, HNSW_M)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.hnsw.efSearch = EF_SEARCH
        index.add(np.ascontiguousarray(np.column_stack([z, extra])))
        return cls(index, z.shape[1])

    def search(self, q: np.ndarray, count: int) -> np.ndarray:
        """Indices of up to ``count`` rows of largest inner product with ``q`` (``[d]``), best first."""
        lib = faiss()
        query = np.zeros((1, self.dim + 1), dtype=np.float32)
        query[0, : self.dim] = q
        params = lib.SearchParametersHNSW()
        params.efSearch = max(EF_SEARCH, count)
        _, found = self._index.search(query, count, params=params)
        found = found[0]
        return found[found >= 0].astype(np.int64)

    def to_bytes(self) -> bytes:
        """The index as faiss writes it (what ``index.faiss`` holds)."""
        return faiss().serialize_index(self._index).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, num_nodes: int, dim: int, where: str) -> InnerProductIndex:
        """Read an index written by :meth:`to_bytes` for an ``[num_nodes, dim]`` embedding.

        Raises:
            MissingFaissError: If faiss is not installed.
            InputError: Naming ``where`` if the bytes are no faiss index of that size.
        """
        lib = faiss()
        try:
            index = lib.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError:
            raise InputError(f"{where}: not a faiss index; save the model again.") from None
        if index.ntotal != num_nodes or index.d != dim + 1:
            raise InputError(
                f"{where}: an index of {index.ntotal} nodes of width {index.d - 1}, but the model has "
                f"{num_nodes} nodes of width {dim}; save the model again."
            )
        return cls(index, dim)

    def __getstate__(self) -> dict[str, Any]:
        return {"data": self.to_bytes(), "num_nodes": self.num_nodes, "dim": self.dim}

    def __setstate__(self, state: dict[str, Any]) -> None:
        other = InnerProductIndex.from_bytes(state["data"], state["num_nodes"], state["dim"], "index")
        self.__dict__.update(other.__dict__)
