"""graphae partition: owners, cut statistics, the part files and their manifest."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from graphae.cli import main
from graphae.data import make_communities
from graphae.errors import InputError
from graphae.graph import Graph
from graphae.metrics import auc_ap
from graphae.partition import load_embeddings, partition_graph, read_manifest, read_part
from graphae.partition.assign import cut_statistics, hash_owners, owners
from graphae.split import split_edges


def _two_triangles() -> sp.csr_matrix:
    """Triangles 0-1-2 and 3-4-5 joined by the edge 2-3."""
    edges = np.array([[0, 1], [1, 2], [0, 2], [3, 4], [4, 5], [3, 5], [2, 3]])
    return Graph.from_edges(edges, num_nodes=6).adj


def test_cut_statistics_of_a_hand_assignment():
    adj = _two_triangles()
    stats = cut_statistics(adj, np.array([0, 0, 0, 1, 1, 1], dtype=np.int32), 2)
    assert stats["edge_cut"] == 1 and stats["edge_cut_fraction"] == pytest.approx(1 / 7)
    assert stats["halo_nodes"] == [1, 1]  # part 0 needs node 3, part 1 node 2
    assert stats["halo_fraction"] == pytest.approx(2 / 6)
    assert stats["balance"] == 1.0 and stats["part_entries"] == [7, 7]
    # Nodes 0, 1 in part 0, the rest in part 1: cut edges 0-2 and 1-2.
    stats = cut_statistics(adj, np.array([0, 0, 1, 1, 1, 1], dtype=np.int32), 2)
    assert stats["edge_cut"] == 2 and stats["halo_nodes"] == [1, 2]
    assert stats["balance"] == pytest.approx(4 / 3)


def test_metis_cuts_the_bridge_and_hash_spreads_the_ids():
    pytest.importorskip("pymetis")
    adj = _two_triangles()
    metis = owners(adj, 2, "metis")
    assert cut_statistics(adj, metis, 2)["edge_cut"] == 1
    spread = hash_owners(10_000, 4)
    assert np.array_equal(spread, hash_owners(10_000, 4))  # no randomness
    assert np.bincount(spread).min() > 2300  # about 2500 each, consecutive ids not clumped
    with pytest.raises(InputError, match="'method' parameter must be one of metis, hash. Got 'random'"):
        owners(adj, 2, "random")
    with pytest.raises(InputError, match="'parts' parameter must be at most the number of nodes"):
        owners(adj, 7, "hash")


@pytest.mark.parametrize("method", ["hash", "metis"])
def test_the_parts_hold_the_training_graph_once_and_the_split(tmp_path, method):
    if method == "metis":
        pytest.importorskip("pymetis")
    graph = make_communities(num_nodes=80, num_communities=2, avg_degree=4, num_features=5, random_state=0)
    manifest = partition_graph(graph, 3, method, tmp_path / "p", seed=2)
    split = split_edges(graph, 0.05, 0.10, random_state=2)  # the same seeded split
    parts = [read_part(tmp_path / "p", r) for r in range(3)]
    nodes = np.concatenate([p.nodes for p in parts])
    assert np.array_equal(np.sort(nodes), np.arange(80))  # every node owned once
    rows = np.hstack([np.stack([np.repeat(p.nodes, np.diff(p.indptr)), p.indices]) for p in parts])
    rebuilt = sp.csr_matrix((np.ones(rows.shape[1]), (rows[0], rows[1])), shape=(80, 80))
    assert (rebuilt != split.train.adj).nnz == 0
    owner = np.empty(80, np.int64)
    for r, p in enumerate(parts):
        owner[p.nodes] = r
        np.testing.assert_array_equal(p.features, graph.x[p.nodes].toarray())
    for r, p in enumerate(parts):  # the halo: neighbours owned elsewhere, sorted by owner
        gid, own, row, degree = p.halo
        assert set(gid) == set(p.indices[owner[p.indices] != r])
        assert np.all(own != r) and np.all(np.diff(own) >= 0)
        assert np.array_equal(owner[gid], own)
        assert np.array_equal(
            np.concatenate([parts[o].nodes[[i]] for o, i in zip(own, row, strict=True)]), gid
        )
        assert np.array_equal(degree, np.diff(split.train.adj.indptr)[gid])
    test = np.hstack([p.test for p in parts])
    assert sorted(map(tuple, test[:2, test[4] == 1].T)) == sorted(map(tuple, split.test_pos.T))
    assert sorted(map(tuple, test[:2, test[4] == 0].T)) == sorted(map(tuple, split.test_neg.T))
    assert manifest["cut"] == cut_statistics(split.train.adj, owner.astype(np.int32), 3)
    assert manifest["num_train_edges"] == split.train.num_edges


def test_the_manifest_checks_itself_and_every_file(tmp_path):
    graph = make_communities(num_nodes=40, num_communities=2, avg_degree=4, random_state=0)
    root = tmp_path / "p"
    manifest = partition_graph(graph, 2, "hash", root)
    assert set(manifest["files"]) == {
        f"part-{r}/{n}.npy"
        for r in (0, 1)
        for n in ("nodes", "indptr", "indices", "halo", "val", "test", "features")
    } | {"part-0/node_ids.txt", "part-1/node_ids.txt"}
    assert manifest["node_id_type"] == "int"  # no user ids: the row numbers
    lines = (root / "part-0" / "node_ids.txt").read_text().splitlines()
    assert lines == [str(i) for i in read_part(root, 0).nodes]
    (root / "part-0" / "node_ids.txt").write_text("\n".join(reversed(lines)) + "\n")
    with pytest.raises(InputError, match=r"part-0/node_ids.txt: damaged or changed since graphae wrote it"):
        read_part(root, 0)
    np.save(root / "part-1" / "halo.npy", np.zeros((4, 0), np.int64))
    with pytest.raises(InputError, match=r"part-1/halo.npy: damaged or changed since graphae wrote it"):
        read_part(root, 1)
    text = json.loads((root / "manifest.json").read_text())
    text["parts"] = 3
    (root / "manifest.json").write_text(json.dumps(text))
    with pytest.raises(InputError, match="manifest.json: changed since graphae wrote it"):
        read_manifest(root)


def test_partition_never_overwrites_what_graphae_did_not_write(tmp_path):
    graph = make_communities(num_nodes=40, num_communities=2, avg_degree=4, random_state=0)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="holds no graphae partition"):
        partition_graph(graph, 2, "hash", mine)
    root = tmp_path / "p"
    partition_graph(graph, 2, "hash", root)
    (root / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="pass --overwrite"):
        partition_graph(graph, 3, "hash", root)
    partition_graph(graph, 3, "hash", root, overwrite=True)
    assert read_manifest(root)["parts"] == 3 and (root / "notes.txt").read_text() == "keep"
    assert not (mine / "part-0").exists() and (mine / "notes.txt").read_text() == "keep"


def test_train_partitions_refuses_other_losses_and_process_counts(tmp_path, capsys):
    graph = make_communities(num_nodes=40, num_communities=2, avg_degree=4, random_state=0)
    partition_graph(graph, 2, "hash", tmp_path / "p")
    assert main(["train", "--partitions", str(tmp_path / "p"), "--loss", "exact"]) == 2
    assert "--partitions trains with the sampled loss" in capsys.readouterr().err
    assert main(["train", "--partitions", str(tmp_path / "p")]) == 2
    assert "holds 2 parts, one per process, but 1 process started" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["--fastgae-nodes", "50"], "--fastgae-nodes: the partitioned GAE takes only --hidden"),
        (["--fastgae-alpha", "0"], "--fastgae-alpha: the partitioned GAE takes only"),
        (["--normalize-features"], "--normalize-features: the partitioned GAE takes only"),
        (["--negatives", "random"], "--negatives: it trains on the parts' own data and split"),
        (["--source-col", "a", "--data-dir", "d"], "--source-col: it trains on the parts' own data"),
        (["--patience", "3"], "--patience: a partitioned run trains all --epochs and keeps the last"),
        (["--select-best"], "--select-best: a partitioned run trains all --epochs"),
        (["--runs", "1"], "--runs: a partitioned run is one run"),
    ],
)
def test_train_partitions_refuses_every_option_it_would_not_use(tmp_path, capsys, argv, refused):
    assert main(["train", "--partitions", str(tmp_path / "p"), "--epochs", "2", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("graphae: error: --partitions does not take ")
    assert refused in err


def test_train_partitions_refuses_the_config_keys_it_would_not_use(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("[model]\nepochs = 2\nfastgae_nodes = 50\n[training]\nselect_best = true\n")
    assert main(["train", "--partitions", str(tmp_path / "p"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert f"--fastgae-nodes (set by {config} [model] fastgae_nodes): the partitioned GAE" in err
    assert f"--select-best (set by {config} [training] select_best): a partitioned run" in err
    assert "epochs" not in err.split("does not take")[1].split(":")[0]


def test_one_process_trains_on_one_part_and_records_it(tmp_path, capsys):
    graph = make_communities(num_nodes=60, num_communities=3, avg_degree=5, num_features=8, random_state=0)
    user_ids = np.array([f"user {i * 7 % 60}" for i in range(60)], dtype=object)  # not in row order
    graph = graph.replace(node_ids=user_ids)
    partition_graph(graph, 1, "hash", tmp_path / "p")
    out = tmp_path / "run"
    args = ["train", "--partitions", str(tmp_path / "p"), "--epochs", "3", "--out", str(out), "--quiet"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 1 and metrics["partitions"]["manifest"]["parts"] == 1
    assert 0 <= metrics["test_auc"] <= 1 and len(json.loads((out / "history.json").read_text())) == 3
    # The embedding, under the user's ids: its rows give the test AUC the run recorded.
    ids, z = load_embeddings(out)
    assert sorted(ids) == sorted(user_ids) and z.shape == (60, 16) and z.dtype == np.float32
    assert metrics["test_auc"] == pytest.approx(held_out_auc(ids, z, user_ids, read_part(tmp_path / "p", 0)))
    assert main(args) == 2 and "pass --overwrite" in capsys.readouterr().err
    (out / "notes.txt").write_text("keep")
    assert main([*args, "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "keep" and sorted(
        p.name for p in (out / "embeddings").iterdir()
    ) == [
        "part-0.node_ids.txt",
        "part-0.npy",
    ]
    (out / "embeddings" / "part-0.node_ids.txt").write_text("".join(f"{i}\n" for i in range(60)))
    with pytest.raises(InputError, match="part-0.node_ids.txt: damaged or changed since graphae wrote it"):
        load_embeddings(out)
    config = tmp_path / "c.toml"  # the keys a partitioned run uses are read from --config
    config.write_text("[model]\nepochs = 4\nhidden = 8\n")
    assert main([*args[:3], "--config", str(config), *args[5:], "--overwrite"]) == 0
    assert len(json.loads((out / "history.json").read_text())) == 4


def held_out_auc(ids, z, user_ids, *parts) -> float:
    """The test AUC of the embedding ``z`` of ``ids`` on the parts' test pairs (global ids -> user ids)."""
    row = {node: i for i, node in enumerate(ids.tolist())}
    pairs = np.hstack([p.test for p in parts])
    first, second = ([row[user_ids[g]] for g in pairs[k]] for k in (0, 1))
    logits = (z[first] * z[second]).sum(1)
    return auc_ap(logits[pairs[4] == 1], logits[pairs[4] == 0])[0]
