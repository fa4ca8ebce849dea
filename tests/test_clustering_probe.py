import math

import numpy as np
import pytest

from graphae.errors import InputError
from graphae.metrics import (
    cluster_accuracy,
    clustering_scores,
    kmeans_labels,
    probe_accuracy,
    probe_split,
)

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def _blobs(per_class: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three tight, far-apart blobs; row ``i`` belongs to class ``i % 3``."""
    rng = np.random.default_rng(seed)
    labels = np.arange(3 * per_class) % 3
    return CENTRES[labels] + rng.normal(scale=0.1, size=(len(labels), 2)), labels


# Clustering ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("true", "pred", "expected"),
    [
        ([0, 0, 1, 1], [1, 1, 0, 0], 1.0),
        # Table [[3, 1, 0], [1, 2, 0], [0, 1, 2]]: the diagonal, 7 of 10.
        ([0, 0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 0, 1, 1, 1, 0, 2, 2, 1], 0.7),
        # Table [[5, 4], [4, 0]]: greedy takes the 5 and ends with 5 of 13; the best map 4 + 4.
        ([0] * 9 + [1] * 4, [0] * 5 + [1] * 4 + [0] * 4, 8 / 13),
        # More clusters than classes: table [[1, 1, 0], [0, 0, 2]], 3 of 4.
        ([0, 0, 1, 1], [0, 1, 2, 2], 0.75),
    ],
)
def test_cluster_accuracy_by_hand(true, pred, expected):
    assert cluster_accuracy(true, pred) == pytest.approx(expected)


def test_cluster_accuracy_needs_matching_shapes():
    with pytest.raises(
        InputError, match=r"cluster_accuracy must be \[n\] arrays.*Got shapes \(2,\) and \(3,\)"
    ):
        cluster_accuracy([0, 1], [0, 1, 1])


def test_perfect_clustering_with_permuted_ids_and_unlabelled_rows_left_out():
    z, labels = _blobs()
    labels = np.array([7, 2, 5])[labels]  # ids other than k-means' 0, 1, 2
    # Unlabelled rows far away would form a cluster of their own if they were used.
    z = np.vstack([z, np.full((15, 2), 100.0)])
    labels = np.concatenate([labels, np.full(15, -1)])
    assert clustering_scores(z, labels, random_state=3) == {
        "cluster_acc": 1.0,
        "cluster_nmi": 1.0,
        "cluster_ari": 1.0,
    }


@pytest.mark.parametrize(
    ("labels", "what"),
    [(np.zeros(60, dtype=int), "a single class"), (np.arange(60), r"one class per node \(60 nodes\)")],
)
def test_clustering_that_cannot_fail_is_not_scored(labels, what):
    # Any clustering scores 1.0 against one class, or against one class per node.
    z, _ = _blobs()
    with pytest.warns(UserWarning, match=f"Node clustering is not scored: the labelled nodes hold {what}"):
        out = clustering_scores(z, labels)
    assert out == {"cluster_acc": None, "cluster_nmi": None, "cluster_ari": None}


def test_imperfect_clustering_by_hand():
    # k-means splits {0, 0.1, 0.2} from {10, 10.1}; the labels put node 2 with the far pair.
    z = np.array([[0.0], [0.1], [0.2], [10.0], [10.1]])
    out = clustering_scores(z, np.array([0, 0, 1, 1, 1]))
    # Contingency (class x cluster) [[2, 0], [1, 2]].
    assert out["cluster_acc"] == pytest.approx(4 / 5)
    # ARI: sum C(n_ij, 2) = 2, rows 1 + 3 = 4, columns 3 + 1 = 4, C(5, 2) = 10.
    expected_index = 4 * 4 / 10
    assert out["cluster_ari"] == pytest.approx((2 - expected_index) / (4 - expected_index))
    entropy = -(0.4 * math.log(0.4) + 0.6 * math.log(0.6))  # the same for classes and clusters
    mutual = 0.8 * math.log(5 / 3) + 0.2 * math.log(5 / 9)
    assert out["cluster_nmi"] == pytest.approx(mutual / entropy)


def test_n_clusters_overrides_the_class_count():
    z, labels = _blobs()
    out = clustering_scores(z, labels, n_clusters=2)
    # Two clusters for three equal classes: one cluster holds two blobs, so 2 of 3 match.
    assert out["cluster_acc"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("z", "labels", "kwargs", "match"),
    [
        (np.zeros((3, 2)), np.array([-1, -1, -1]), {}, "has no labelled node"),
        (np.zeros((3, 2)), np.array([0, 1]), {}, r"'labels' parameter of clustering_scores.*\[3\]"),
        (np.zeros((3, 2)), np.array([0.0, 1.0, 1.0]), {}, r"integer labels.*dtype float64"),
        (np.zeros((3, 2)), np.array([0, -2, 1]), {}, r">= 0, or -1 for none. Got -2"),
        (np.zeros(3), np.array([0, 1, 1]), {}, r"'embedding' parameter of clustering_scores.*Got \(3,\)"),
        (np.full((3, 2), np.nan), np.array([0, 1, 1]), {}, "holds NaN or inf"),
        (np.zeros((3, 2)), np.array([0, 1, -1]), {"n_clusters": 3}, r"'n_clusters'.*\[1, 2\].*Got 3"),
        (np.zeros((3, 2)), np.array([0, 1, 1]), {"n_clusters": 0}, r"'n_clusters'.*Got 0"),
    ],
)
def test_clustering_errors(z, labels, kwargs, match):
    with pytest.raises(InputError, match=match):
        clustering_scores(z, labels, **kwargs)


def test_kmeans_labels_is_seeded_and_checks_k():
    z, labels = _blobs()
    groups = kmeans_labels(z, 3, random_state=0)
    assert cluster_accuracy(labels, groups) == 1.0
    np.testing.assert_array_equal(groups, kmeans_labels(z, 3, random_state=0))
    with pytest.raises(
        InputError, match=r"The 'k' parameter of kmeans_labels must be an int in \[1, 60\]. Got 61"
    ):
        kmeans_labels(z, 61)


# Probe --------------------------------------------------------------------------------
def test_probe_separable_blobs_are_perfect():
    z, labels = _blobs()
    assert probe_accuracy(z, labels, np.arange(0, 30), np.arange(30, 60)) == 1.0


def test_probe_accuracy_by_hand():
    # Symmetric training points put the boundary at 0: test node 0.5 of class 0 lands on
    # the class-1 side, the other three test nodes are right.
    z = np.array([[-2.0], [-1.0], [1.0], [2.0], [-3.0], [3.0], [0.5], [-0.5]])
    labels = np.array([0, 0, 1, 1, 0, 1, 0, 0])
    assert probe_accuracy(z, labels, [0, 1, 2, 3], [4, 5, 6, 7]) == pytest.approx(3 / 4)


def test_probe_scaler_is_fitted_on_training_rows_only():
    # Scaled with the far test row -1000 too, the training rows would shrink to about
    # +-0.002, the regularised probe would predict the majority class 0 everywhere and
    # node 4 (class 1) would be wrong: accuracy 1/2 instead of 1.
    z = np.array([[-1.0], [-0.9], [-0.8], [1.0], [0.9], [-1000.0]])
    labels = np.array([0, 0, 0, 1, 1, 0])
    assert probe_accuracy(z, labels, [0, 1, 2, 3], [4, 5]) == 1.0


@pytest.mark.parametrize(
    ("train", "test", "match"),
    [
        ([0, 1, 2], [2, 3], r"must be disjoint. Got 1 node\(s\) in both \(e.g. node 2\)"),
        (
            [0, 1, 60],
            [3],
            r"'train_index' parameter must hold node indices in \[0, 60\). Got values in \[0, 60\]",
        ),
        ([0, 1, 2], [-1], r"'test_index' parameter must hold node indices in \[0, 60\)"),
        ([[0, 1, 2]], [3], r"'train_index' parameter must be a 1-D array"),
        ([], [3], r"'train_index' parameter of probe_accuracy must hold at least one node"),
        ([0, 1], [2, 3], r"training classes \[0, 1\] and test classes \[0, 2\]"),
        ([0, 3], [1], r"training classes \[0\]"),
        ([0, 1, 2], [59], "holds node 59, which has no label"),
    ],
)
def test_probe_errors(train, test, match):
    z, labels = _blobs()
    labels[59] = -1
    with pytest.raises(InputError, match=match):
        probe_accuracy(z, labels, np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64))


# Probe split ----------------------------------------------------------------------------
def test_probe_split_uses_the_label_split_without_unlabelled_nodes():
    labels = np.array([0, 1, -1, 0, 1, 1])
    train, test = probe_split(labels, (np.array([3, 0, 2]), np.array([5, 4, 1])))
    np.testing.assert_array_equal(train, [0, 3])
    np.testing.assert_array_equal(test, [1, 4, 5])


def test_probe_split_stratified_ten_percent():
    labels = np.repeat([0, 1, 2], [20, 30, 50])
    labels = np.concatenate([labels, np.full(7, -1)])
    train, test = probe_split(labels, None, random_state=4)
    # floor(0.1 * 100) = 10 training nodes: 2, 3 and 5 of the classes.
    assert np.bincount(labels[train]).tolist() == [2, 3, 5]
    assert len(test) == 90
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.union1d(train, test), np.arange(100))
    again = probe_split(labels, None, random_state=4)
    np.testing.assert_array_equal(again[0], train)
    assert not np.array_equal(probe_split(labels, None, random_state=5)[0], train)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.repeat([0, 1], [10, 9]), "Got class 1 with 9 labelled nodes"),
        (np.zeros(30, dtype=np.int64), r"Got 1 class\(es\) among 30 labelled nodes"),
        (np.full(5, -1), r"Got 0 class\(es\) among 0 labelled nodes"),
    ],
)
def test_probe_split_needs_enough_labels_per_class(labels, match):
    with pytest.raises(InputError, match=rf"at least two classes with 10 labelled nodes each.*{match}"):
        probe_split(labels, None)


@pytest.mark.parametrize(
    ("split", "match"),
    [
        ((np.array([0, 1]), np.array([1, 2])), r"disjoint. Got 1 node\(s\) in both \(e.g. node 1\)"),
        (
            (np.array([0, 9]), np.array([2])),
            r"train nodes of 'label_split' must hold node indices in \[0, 4\)",
        ),
        ((np.array([0]), np.array([0.5])), r"test nodes of 'label_split' must be a 1-D array of integer"),
        (np.array([0, 1]), r"must be a pair \(train, test\)"),
    ],
)
def test_probe_split_checks_the_label_split(split, match):
    with pytest.raises(InputError, match=match):
        probe_split(np.array([0, 1, 0, 1]), split)
