"""Node-level scores of an embedding: k-means clustering against labels, and a linear probe.

- :func:`clustering_scores`: k-means with one cluster per class on the labelled rows,
  scored by accuracy under the best matching of clusters to classes
  (:func:`cluster_accuracy`), NMI and ARI, as in the node-clustering results of the
  graph-autoencoder literature (e.g. ARGA, Pan et al., 2018).
- :func:`probe_accuracy`: logistic regression on the frozen, standardised embedding,
  trained on some labelled nodes and scored on others; :func:`probe_split` chooses them.

Labels are integers ``[N]`` with ``-1`` for an unlabelled node. scikit-learn is imported
inside the functions, so importing this module stays cheap.

On large graphs both sample, seeded (:func:`node_sampling` says how): above
:data:`NODE_SAMPLE_SIZE` nodes k-means is fitted on that many with
:data:`SAMPLED_KMEANS_INIT` restarts and every node is assigned to its nearest centre; the
probe trains on at most :data:`PROBE_TRAIN_SIZE` nodes and is scored on at most
:data:`NODE_SAMPLE_SIZE`. At 1M nodes / 100 classes the full k-means with 10 restarts took
70 s and the probe, trained on 100,000 nodes, 7.5 s.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from graphae.errors import InputError, describe

__all__ = ["cluster_accuracy", "clustering_scores", "kmeans_labels", "probe_accuracy", "probe_split"]

PROBE_TRAIN_FRACTION = 0.1
# With this many labelled nodes a class keeps at least one node in a 10% stratified sample.
_MIN_PER_CLASS = 10
# Above this many nodes, k-means fits on a seeded sample of this many, and the probe is scored
# on at most this many. Pubmed, the largest data set of the tables, has 19,717 nodes.
NODE_SAMPLE_SIZE = 100_000
# The probe trains on at most this many nodes (200 per class at 100 classes); Planetoid's
# splits train on 20 per class, a 10% split of 200,000 labelled nodes on 20,000.
PROBE_TRAIN_SIZE = 20_000
SAMPLED_KMEANS_INIT = 3  # restarts of the k-means fitted on a sample (10 on all nodes)
FULL_KMEANS_INIT = 10


def kmeans_labels(embedding: Any, k: int, random_state: int = 0) -> np.ndarray:
    """Seeded k-means cluster of each row (scikit-learn ``KMeans``, ``n_init=10``).

    Above :data:`NODE_SAMPLE_SIZE` rows (and ``k`` at most that), ``KMeans`` with
    ``n_init=3`` is fitted on a seeded sample of that many rows and every row gets its
    nearest centre.

    Runs scikit-learn's OpenMP loop on one thread: OpenMP threads spin while they wait,
    so on a machine whose cores are busy these small problems ran 10 to 60 times slower
    on two threads than on one.

    Args:
        embedding: ``[n, d]`` rows to cluster.
        k: Number of clusters, an int in ``[1, n]``.
        random_state: Seed of the k-means initialisations.

    Returns:
        ``[n]`` cluster ids in ``[0, k)``.

    Raises:
        InputError: On a bad ``embedding`` or ``k``.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    x = _check_embedding(embedding, "kmeans_labels")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(x):
        raise InputError(
            f"The 'k' parameter of kmeans_labels must be an int in [1, {len(x)}]. Got {describe(k)}."
        )
    sample = kmeans_sample(len(x), int(k), random_state)
    with threadpool_limits(limits=1, user_api="openmp"):
        if sample is None:
            return KMeans(n_clusters=int(k), n_init=FULL_KMEANS_INIT, random_state=random_state).fit_predict(
                x
            )
        fitted = KMeans(n_clusters=int(k), n_init=SAMPLED_KMEANS_INIT, random_state=random_state)
        return fitted.fit(x[sample]).predict(x)


def kmeans_sample(n: int, k: int, random_state: int) -> np.ndarray | None:
    """Sorted rows that k-means is fitted on, or ``None`` for all ``n`` (see :func:`kmeans_labels`)."""
    if n <= NODE_SAMPLE_SIZE or k > NODE_SAMPLE_SIZE:
        return None
    rng = np.random.default_rng([random_state, 0xC1A5])
    return np.sort(rng.choice(n, size=NODE_SAMPLE_SIZE, replace=False))


def node_sampling(
    labels: np.ndarray | None, probe_train: np.ndarray | None, probe_test: np.ndarray | None = None
) -> dict[str, Any]:
    """How the node metrics of a run with these ``labels`` and probe split are computed (for
    ``metrics.json``): k-means on all labelled nodes or a sample, the probe's training nodes."""
    out: dict[str, Any] = {}
    if labels is not None:
        n = int(np.count_nonzero(np.asarray(labels) >= 0))
        sampled = n > NODE_SAMPLE_SIZE  # k (the classes) is far below it in any real data set
        out["clustering"] = {
            "method": "kmeans fitted on a sample, every node assigned" if sampled else "kmeans",
            "n_init": SAMPLED_KMEANS_INIT if sampled else FULL_KMEANS_INIT,
            "fit_nodes": NODE_SAMPLE_SIZE if sampled else n,
            "nodes": n,
        }
    if probe_train is not None:
        out["probe"] = {"train_nodes": len(probe_train), "max_train_nodes": PROBE_TRAIN_SIZE}
        if probe_test is not None:
            out["probe"].update(test_nodes=len(probe_test), max_test_nodes=NODE_SAMPLE_SIZE)
    return out


def cluster_accuracy(labels_true: Any, labels_pred: Any) -> float:
    """Fraction of nodes whose cluster maps to their class, under the best one-to-one map.

    The map maximises the matched count of the contingency table (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``); with more clusters than classes (or fewer)
    the unmatched ones count as wrong.

    Shapes:
        labels_true, labels_pred: ``[n]`` integer ids, ``n >= 1``.

    Example:
        >>> cluster_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
        1.0
    """
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics.cluster import contingency_matrix

    true, pred = np.asarray(labels_true), np.asarray(labels_pred)
    if true.ndim != 1 or true.shape != pred.shape or len(true) == 0:
        raise InputError(
            "The 'labels_true' and 'labels_pred' parameters of cluster_accuracy must be [n] arrays of "
            f"the same length n >= 1. Got shapes {true.shape} and {pred.shape}."
        )
    table = contingency_matrix(true, pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(true))


def clustering_scores(
    embedding: Any, labels: Any, *, n_clusters: int | None = None, random_state: int = 0
) -> dict[str, float | None]:
    """k-means on the labelled rows of the embedding, scored against the labels.

    Args:
        embedding: ``[N, d]`` node embedding.
        labels: ``[N]`` integer labels; rows labelled ``-1`` are left out.
        n_clusters: Number of clusters; by default the number of distinct labels.
        random_state: Seed of k-means.

    Returns:
        ``cluster_acc`` (:func:`cluster_accuracy`), ``cluster_nmi`` and ``cluster_ari``
        (scikit-learn's ``normalized_mutual_info_score`` and ``adjusted_rand_score``);
        all three ``None``, with a warning, when the labelled nodes hold a single class
        or one class per node, where every clustering would score 1.0.

    Raises:
        InputError: On shapes that disagree, no labelled node, or ``n_clusters`` not in
            ``[1, number of labelled nodes]``.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    z = _check_embedding(embedding, "clustering_scores")
    y = _check_labels(labels, len(z), "clustering_scores")
    known = y >= 0
    if not known.any():
        raise InputError("The 'labels' parameter of clustering_scores has no labelled node (all are -1).")
    k = len(np.unique(y[known])) if n_clusters is None else n_clusters
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= known.sum():
        raise InputError(
            f"The 'n_clusters' parameter of clustering_scores must be an int in [1, {known.sum()}] "
            f"(the labelled nodes). Got {describe(n_clusters)}."
        )
    true = y[known]
    classes = len(np.unique(true))
    if classes < 2 or classes == len(true):
        what = "a single class" if classes < 2 else f"one class per node ({classes} nodes)"
        warnings.warn(
            f"Node clustering is not scored: the labelled nodes hold {what}, where any clustering "
            "scores 1.0; cluster_acc, cluster_nmi and cluster_ari are null.",
            stacklevel=2,
        )
        return dict.fromkeys(("cluster_acc", "cluster_nmi", "cluster_ari"))
    pred = kmeans_labels(z[known], int(k), random_state)
    return {
        "cluster_acc": cluster_accuracy(true, pred),
        "cluster_nmi": float(normalized_mutual_info_score(true, pred)),
        "cluster_ari": float(adjusted_rand_score(true, pred)),
    }


def probe_split(
    labels: Any, label_split: tuple[np.ndarray, np.ndarray] | None, *, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Training and test nodes of the linear probe.

    The data set's own split when it has one (``Graph.label_split``, e.g. Planetoid's
    140/1000 nodes on Cora), less any unlabelled node in it; else a seeded stratified
    split of the labelled nodes: 10% for training, 90% for test (scikit-learn's
    ``train_test_split(..., stratify=labels)``).

    Args:
        labels: ``[N]`` integer labels, ``-1`` for unlabelled nodes.
        label_split: ``(train, test)`` node indices, or ``None``.
        random_state: Seed of the stratified split.

    Above :data:`PROBE_TRAIN_SIZE` training nodes, a seeded sample of that many trains (plus
    one node of each class it would miss), and above :data:`NODE_SAMPLE_SIZE` test nodes a
    seeded sample of that many is scored; the others are left out.

    Returns:
        ``(train_index, test_index)``: sorted int64 node indices.

    Raises:
        InputError: If ``label_split`` is not two disjoint index arrays within ``[0, N)``;
            or, without one, if there are fewer than two classes or a class has fewer
            than 10 labelled nodes (too few for 10% of it to train on).
    """
    y = _check_labels(labels, None, "probe_split")
    if label_split is not None:
        if not isinstance(label_split, (tuple, list)) or len(label_split) != 2:
            raise InputError(
                "The 'label_split' parameter of probe_split must be a pair (train, test) of node indices "
                f"or None. Got {type(label_split).__name__}."
            )
        train = _check_index(label_split[0], len(y), "train")
        test = _check_index(label_split[1], len(y), "test")
        _check_disjoint(train, test, "probe_split")
        train = _bounded(train[y[train] >= 0], y, PROBE_TRAIN_SIZE, [random_state, 0x9B0B])
        return np.sort(train), np.sort(
            _bounded(test[y[test] >= 0], None, NODE_SAMPLE_SIZE, [random_state, 0x7E57])
        )

    from sklearn.model_selection import train_test_split

    nodes = np.flatnonzero(y >= 0)
    classes, counts = np.unique(y[nodes], return_counts=True)
    got = None
    if len(classes) < 2:
        got = f"{len(classes)} class(es) among {len(nodes)} labelled nodes"
    elif counts.min() < _MIN_PER_CLASS:
        got = f"class {classes[counts.argmin()]} with {counts.min()} labelled nodes"
    if got:
        raise InputError(
            f"probe_split needs at least two classes with {_MIN_PER_CLASS} labelled nodes each, so that "
            f"its {PROBE_TRAIN_FRACTION:.0%} training share holds every class. Got {got}. "
            "Give the graph a label_split instead."
        )
    train, test = train_test_split(
        nodes, train_size=PROBE_TRAIN_FRACTION, stratify=y[nodes], random_state=random_state
    )
    train = _bounded(train, y, PROBE_TRAIN_SIZE, [random_state, 0x9B0B])
    test = _bounded(test, None, NODE_SAMPLE_SIZE, [random_state, 0x7E57])
    return np.sort(train).astype(np.int64), np.sort(test).astype(np.int64)


def _bounded(nodes: np.ndarray, y: np.ndarray | None, size: int, seed: list[int]) -> np.ndarray:
    """``nodes``, or above ``size`` of them a seeded sample of that many, plus (with labels
    ``y``) the first node in the sample's order of each class the sample misses."""
    if len(nodes) <= size:
        return nodes
    order = np.random.default_rng(seed).permutation(nodes)
    if y is None:
        return np.sort(order[:size])
    _, first = np.unique(y[order], return_index=True)
    return np.union1d(order[:size], order[first])


def probe_accuracy(
    embedding: Any, labels: Any, train_index: Any, test_index: Any, *, random_state: int = 0
) -> float:
    """Test accuracy of logistic regression on the frozen embedding (a linear probe).

    The embedding is standardised with a ``StandardScaler`` fitted on the training rows
    only, then scikit-learn's ``LogisticRegression(max_iter=1000)`` (default ``C=1``) is
    fitted on them and scored on the test rows.

    Args:
        embedding: ``[N, d]`` node embedding.
        labels: ``[N]`` integer labels.
        train_index: ``[n_train]`` node indices to fit on.
        test_index: ``[n_test]`` node indices to score on.
        random_state: Seed of the logistic regression.

    Returns:
        Accuracy in ``[0, 1]``.

    Raises:
        InputError: If an index is out of range, the two overlap, one of their nodes is
            unlabelled, training has fewer than two classes, or a test class is absent
            from training.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    z = _check_embedding(embedding, "probe_accuracy")
    y = _check_labels(labels, len(z), "probe_accuracy")
    train = _check_index(train_index, len(z), "train", "train_index")
    test = _check_index(test_index, len(z), "test", "test_index")
    _check_disjoint(train, test, "probe_accuracy")
    for name, index in (("train_index", train), ("test_index", test)):
        if len(index) == 0:
            raise InputError(f"The '{name}' parameter of probe_accuracy must hold at least one node. Got 0.")
        if (y[index] < 0).any():
            node = index[y[index] < 0][0]
            raise InputError(
                f"The '{name}' parameter of probe_accuracy holds node {node}, which has no label (-1)."
            )
    seen = np.unique(y[train])
    missing = np.setdiff1d(y[test], seen)
    if len(seen) < 2 or len(missing):
        raise InputError(
            "probe_accuracy needs at least two classes among the training nodes and every test class "
            f"among them. Got training classes {seen.tolist()} and test classes {np.unique(y[test]).tolist()}."
        )
    scaler = StandardScaler().fit(z[train])
    probe = LogisticRegression(max_iter=1000, random_state=random_state)
    probe.fit(scaler.transform(z[train]), y[train])
    return float(probe.score(scaler.transform(z[test]), y[test]))


# Checks ---------------------------------------------------------------------------------
def _check_embedding(embedding: Any, func: str) -> np.ndarray:
    z = np.asarray(embedding, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 1:
        raise InputError(
            f"The 'embedding' parameter of {func} must have shape [N, d] with N >= 1. Got {z.shape}."
        )
    if not np.isfinite(z).all():
        raise InputError(f"The 'embedding' parameter of {func} holds NaN or inf; was training diverging?")
    return z


def _check_labels(labels: Any, n: int | None, func: str) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or (n is not None and len(y) != n) or not np.issubdtype(y.dtype, np.integer):
        want = "[N]" if n is None else f"[{n}] (one per embedding row)"
        raise InputError(
            f"The 'labels' parameter of {func} must be integer labels of shape {want}. "
            f"Got shape {y.shape} and dtype {y.dtype}."
        )
    if y.size and y.min() < -1:
        raise InputError(
            f"The 'labels' parameter of {func} must hold labels >= 0, or -1 for none. Got {y.min()}."
        )
    return y.astype(np.int64)


def _check_index(index: Any, n: int, part: str, name: str = "label_split") -> np.ndarray:
    arr = np.asarray(index)
    what = f"The {part} nodes of '{name}'" if name == "label_split" else f"The '{name}' parameter"
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise InputError(
            f"{what} must be a 1-D array of integer node indices. Got shape {arr.shape}, dtype {arr.dtype}."
        )
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise InputError(
            f"{what} must hold node indices in [0, {n}). Got values in [{arr.min()}, {arr.max()}]."
        )
    return arr.astype(np.int64)


def _check_disjoint(train: np.ndarray, test: np.ndarray, func: str) -> None:
    shared = np.intersect1d(train, test)
    if shared.size:
        raise InputError(
            f"The training and test nodes of {func} must be disjoint. Got {shared.size} node(s) in both "
            f"(e.g. node {shared[0]})."
        )
