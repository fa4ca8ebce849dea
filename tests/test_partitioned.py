"""Partitioned training: two ranks under torchrun give the loss and gradients of one process."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from graphae.data import make_communities
from graphae.losses import negative_sampling_loss
from graphae.nn import GCNEncoder
from graphae.nn.functional import gcn_norm
from graphae.partition import load_embeddings, partition_graph, read_manifest, read_part
from test_partition import held_out_auc

ROOT = Path(__file__).resolve().parent.parent
LAUNCH_TIMEOUT = 240  # a hung collective fails the test instead of blocking CI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path: Path, root: Path, worker: Path = ROOT / "tests" / "partitioned_worker.py") -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--master-addr", "127.0.0.1"]
    cmd += ["--master-port", str(_free_port()), "--nproc-per-node", "2"]
    cmd += [str(worker), str(root), str(tmp_path)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, err = proc.communicate(timeout=LAUNCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"the torchrun launch did not finish in {LAUNCH_TIMEOUT} s (a hang)")
    assert proc.returncode == 0, err[-3000:]


def _reference(ranks, parts, name, num_nodes, features):
    """Loss and gradients of the unpartitioned GCN on every rank's positives and negatives."""
    edges = np.hstack([np.stack([np.repeat(p.nodes, np.diff(p.indptr)), p.indices]) for p in parts])
    adj = gcn_norm(torch.from_numpy(edges), num_nodes)
    hidden, latent = ranks[0][f"{name}_w1"].shape
    encoder = GCNEncoder(num_nodes if features is None else features.shape[1], hidden, latent)
    with torch.no_grad():
        encoder.conv2.weight.copy_(torch.from_numpy(ranks[0][f"{name}_w1"]))
        if features is None:  # the embedding rows, each from its owner
            for r, p in zip(ranks, parts, strict=True):
                encoder.conv1.weight[torch.from_numpy(p.nodes)] = torch.from_numpy(r[f"{name}_w0"])
        else:
            encoder.conv1.weight.copy_(torch.from_numpy(ranks[0][f"{name}_w0"]))
    x = None if features is None else torch.from_numpy(features)
    z = encoder(x, adj).z
    pos = torch.from_numpy(np.hstack([r[f"{name}_pos"] for r in ranks]))
    neg = np.hstack([
        np.stack([r[f"{name}_pos"][0], np.array([parts[o].nodes[i] for o, i in zip(r[f"{name}_neg_owner"], r[f"{name}_neg_row"], strict=True)])])
        for r in ranks
    ])  # fmt: skip
    neg = torch.from_numpy(neg)
    loss = negative_sampling_loss((z[pos[0]] * z[pos[1]]).sum(1), (z[neg[0]] * z[neg[1]]).sum(1))
    loss.backward()
    return (
        z.detach().numpy(),
        loss.item(),
        encoder.conv1.weight.grad.numpy(),
        encoder.conv2.weight.grad.numpy(),
    )


def test_two_ranks_give_the_loss_and_gradients_of_one_process(tmp_path):
    graph = make_communities(num_nodes=120, num_communities=3, avg_degree=5, num_features=6, random_state=0)
    root = tmp_path / "parts"
    partition_graph(graph, 2, "hash", root, seed=1)
    _launch(tmp_path, root)
    ranks = [dict(np.load(tmp_path / f"rank-{r}.npz")) for r in range(2)]
    parts = [read_part(root, r) for r in range(2)]
    features = np.vstack([p.features for p in parts])[np.argsort(np.concatenate([p.nodes for p in parts]))]
    n = graph.num_nodes
    total_entries = int(read_manifest(root)["num_train_edges"]) * 2 + n
    for name, x in (("features", features), ("identity", None)):
        z, loss, grad0, grad1 = _reference(ranks, parts, name, n, x)
        # The shares of the loss add up to the one-process loss; gradients are those of one process.
        assert sum(float(r[f"{name}_loss"]) for r in ranks) == pytest.approx(loss, abs=1e-5)
        for r, p in zip(ranks, parts, strict=True):
            np.testing.assert_allclose(r[f"{name}_z"], z[p.nodes], atol=1e-5)
            np.testing.assert_allclose(r[f"{name}_grad1"], grad1, atol=1e-5)
            own0 = grad0 if x is not None else grad0[p.nodes]  # sharded embeddings: own rows only
            np.testing.assert_allclose(r[f"{name}_grad0"], own0, atol=1e-5)
            # No rank holds the whole graph: its block of Â has its own rows and fewer entries.
            rows, cols, nnz = r[f"{name}_adj"]
            assert rows == p.nodes.size < n and cols < n and nnz < total_entries
            assert r[f"{name}_w0"].shape[0] < n if x is None else True
            assert r[f"{name}_bytes"] > 0
        assert sum(r[f"{name}_pos"].shape[1] for r in ranks) == read_manifest(root)["num_train_edges"]


@pytest.mark.slow
def test_graphae_train_partitions_under_torchrun_records_the_ranks(tmp_path):
    graph = make_communities(num_nodes=300, num_communities=4, avg_degree=6, num_features=40, random_state=0)
    user_ids = np.arange(300, dtype=np.int64) * 7 + 3
    graph = graph.replace(node_ids=user_ids)
    root, out = tmp_path / "parts", tmp_path / "run"
    partition_graph(graph, 2, "hash", root)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--master-addr", "127.0.0.1"]
    cmd += ["--master-port", str(_free_port()), "--nproc-per-node", "2", "-m", "graphae", "train"]
    cmd += ["--partitions", str(root), "--epochs", "40", "--batch-size", "300", "--out", str(out)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["partitions"]["manifest"]["parts"] == 2
    assert metrics["partitions"]["manifest"]["checksum"] == read_manifest(root)["checksum"]
    # Untrained (--epochs 1 --lr 1e-9): test AUC 0.XX; 40 epochs: 0.YY.
    assert 0.8 < metrics["test_auc"] <= 1.0
    for rank in metrics["ranks"]:  # each rank held half the nodes, and sent halo rows
        assert rank["held"]["adj"][0] < graph.num_nodes and rank["bytes_sent_per_epoch"] > 0
    assert len([line for line in result.stdout.splitlines() if line.startswith("test AUC")]) == 1
    # Each rank wrote its own shard: its nodes' user ids and rows; together they give the test AUC.
    parts = [read_part(root, r) for r in range(2)]
    for r, p in enumerate(parts):
        ids, z = load_embeddings(out, part=r)
        assert np.array_equal(ids, user_ids[p.nodes]) and z.shape == (p.nodes.size, 16)
    ids, z = load_embeddings(out)
    assert sorted(ids) == sorted(user_ids)
    assert metrics["test_auc"] == pytest.approx(held_out_auc(ids, z, user_ids, *parts))
