"""Training one model on several processes: shards, refusals, and real torchrun launches."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.distributed as dist

from graphae import GAE, VGAE
from graphae.cli import finish, main
from graphae.data import make_communities
from graphae.errors import InputError, ParameterError
from graphae.models.arga import ARGA
from graphae.nn import GCNEncoder
from graphae.nn.models import GraphAutoencoder
from graphae.training import (
    DistributedContext,
    GraphTensors,
    Objective,
    ReconstructionObjective,
    distributed,
    train,
)
from graphae.training.checkpoint import Checkpointer, load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
LAUNCH_TIMEOUT = 240  # seconds: a hung rendezvous or collective fails the test instead of blocking CI


def _tiny_graph():
    return make_communities(num_nodes=60, num_communities=3, avg_degree=4, num_features=20, random_state=0)


# Shards ------------------------------------------------------------------------
@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_shards_of_the_ranks_partition_the_edges(world_size):
    data = GraphTensors.from_graph(_tiny_graph())
    shards = [next(iter(data.sharded(r, world_size).batches())).edge_index for r in range(world_size)]
    keys = [(s[0] * data.num_nodes + s[1]).tolist() for s in shards]
    merged = sorted(k for part in keys for k in part)
    assert merged == sorted((data.edge_index[0] * data.num_nodes + data.edge_index[1]).tolist())
    assert len(set(merged)) == len(merged)  # no edge in two shards
    sizes = [s.shape[1] for s in shards]
    assert max(sizes) - min(sizes) <= 1
    for shard in shards:  # everything but the edges is the whole graph's
        assert shard.shape[0] == 2


def test_a_shard_keeps_the_whole_graph_for_the_encoder():
    data = GraphTensors.from_graph(_tiny_graph())
    (batch,) = data.sharded(1, 2).batches()
    assert batch.adj is data.adj and batch.x is data.x and batch.num_nodes == data.num_nodes
    assert torch.equal(batch.edge_index, data.edge_index[:, 1::2])
    assert tuple(data.batches())[0] is data  # one process: the full batch, as before


@pytest.mark.parametrize(("rank", "world_size"), [(-1, 2), (2, 2), (0, 0)])
def test_sharded_rejects_a_rank_outside_the_world(rank, world_size):
    with pytest.raises(InputError, match=r"rank must be in \[0, world_size\)"):
        GraphTensors.from_graph(_tiny_graph()).sharded(rank, world_size)


# Refusals ----------------------------------------------------------------------
def _model_and_data():
    data = GraphTensors.from_graph(_tiny_graph())
    return GraphAutoencoder(GCNEncoder(data.in_channels, 8, 4)), data


@pytest.mark.parametrize("loss", ["exact", "fastgae"])
def test_losses_over_all_pairs_are_refused_on_several_processes(loss):
    model, data = _model_and_data()
    objective = ReconstructionObjective(loss, owner="GAE")
    objective.setup(model, data)
    with pytest.raises(ParameterError, match=rf"'loss' parameter of GAE is '{loss}'.*needs loss='sampled'"):
        objective.distribute(model, DistributedContext(rank=0, world_size=2))


def test_an_objective_with_its_own_step_is_refused():
    model = ARGA(hidden_channels=8, out_channels=4, loss="sampled").build_module(20)
    objective = ARGA(loss="sampled").build_objective()
    objective.setup(model, GraphTensors.from_graph(_tiny_graph()))
    with pytest.raises(ParameterError, match="ARGA cannot be trained on several processes.*step of its own"):
        objective.distribute(model, DistributedContext(rank=0, world_size=2))


def test_an_objective_without_distribute_is_refused():
    model, _ = _model_and_data()
    with pytest.raises(ParameterError, match="does not implement distribute"):
        Objective().distribute(model, DistributedContext(rank=0, world_size=2))


def test_a_checkpoint_of_another_number_of_processes_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    model, data = _model_and_data()
    train(model, data, ReconstructionObjective("sampled"), epochs=3, checkpoint=Checkpointer(path, 2))
    _, state = load_checkpoint(path)  # written by one process
    model, data = _model_and_data()
    with pytest.raises(InputError, match="written by 1 process, this run has 2: resume with the number"):
        train(
            model,
            data,
            ReconstructionObjective("sampled"),
            epochs=3,
            resume=state,
            distributed=DistributedContext(rank=0, world_size=2),
        )
    model, data = _model_and_data()
    with pytest.raises(InputError, match="written by 2 processes, this run has 1"):
        train(model, data, ReconstructionObjective("sampled"), epochs=3, resume={**state, "world_size": 2})


def test_incomplete_launch_variables_are_a_clear_error(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(InputError, match="but MASTER_ADDR and MASTER_PORT are not: start it with torchrun"):
        distributed.context(torch.device("cpu"))
    assert not dist.is_initialized()


@pytest.mark.parametrize(
    ("world_size", "rank", "match"),
    [
        ("2", "2", r"RANK must be in \[0, WORLD_SIZE\)\. Got RANK=2, WORLD_SIZE=2"),
        ("two", "0", "WORLD_SIZE must be an integer"),
    ],
)
def test_bad_launch_variables_are_a_clear_error(monkeypatch, world_size, rank, match):
    monkeypatch.setenv("WORLD_SIZE", world_size)
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "1")
    with pytest.raises(InputError, match=match):
        distributed.context(torch.device("cpu"))
    assert not dist.is_initialized()


def test_a_cli_error_under_torchrun_names_the_rank(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    capsys.readouterr()
    assert (
        main(["train", "--loss", "sampled", "--out", str(tmp_path / "run"), "--checkpoint-every", "2"]) == 2
    )
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("graphae: error (rank 1): ") and "start it with torchrun" in err
    assert not (tmp_path / "run").exists() and not dist.is_initialized()


def test_alone_nothing_is_distributed():
    assert distributed.context(torch.device("cpu")) is None
    assert distributed.world_size() == 1 and distributed.rank() == 0


# One process in a group: the DDP path is the plain path -------------------------
@pytest.mark.parametrize("cls", [GAE, VGAE])
def test_a_group_of_one_trains_bit_for_bit_as_one_process(cls, tmp_path):
    graph = _tiny_graph()
    params = dict(loss="sampled", epochs=5, hidden_channels=8, out_channels=4, random_state=3, device="cpu")
    pairs = (graph.edges()[:, :10], np.array([[0, 1, 2], [50, 51, 52]]))
    alone = cls(**params).fit(graph, val_pairs=pairs)
    # A group initialised by the user's code: graphae trains in it and leaves it alone.
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        grouped = cls(**params).fit(graph, val_pairs=pairs)
        assert dist.is_initialized() and distributed.world_size() == 1
    finally:
        dist.destroy_process_group()
    np.testing.assert_array_equal(grouped.embedding_, alone.embedding_)
    assert grouped.history_ == alone.history_


# Two processes, one step: the gradient is the mean over the shards -----------------
_STEP_LR = 0.01


def _seeded_model(data):
    return GraphAutoencoder(GCNEncoder(data.in_channels, 8, 4, torch.Generator().manual_seed(0)))


def _one_step_on_rank(rank, store, out):
    """Rank ``rank`` of 2: one training step of the sampled loss on its shard, through DDP."""
    torch.set_num_threads(1)
    # A rank that never arrives fails the collectives after a minute instead of hanging the run.
    dist.init_process_group(
        "gloo", init_method=f"file://{store}", rank=rank, world_size=2, timeout=timedelta(seconds=60)
    )
    try:
        data = GraphTensors.from_graph(_tiny_graph())
        model = _seeded_model(data)
        objective = ReconstructionObjective("sampled", lr=_STEP_LR)
        generator = torch.Generator().manual_seed(10 + rank)
        train(model, data, objective, epochs=1, generator=generator, distributed=distributed.current())
        state = {name: (p.detach().clone(), p.grad.clone()) for name, p in model.named_parameters()}
        torch.save(state, f"{out}-{rank}.pt")
    finally:
        dist.destroy_process_group()
    # The spawned process ends as the graphae process does: after a fresh-clone CI run's rank 1
    # aborted at interpreter exit (``terminate called without an active exception``), once.
    finish(0)


def _one_step_alone(shards):
    """One process: one Adam step on the mean of the shards' losses, each drawn as its rank draws."""
    data = GraphTensors.from_graph(_tiny_graph())
    model = _seeded_model(data)
    losses = []
    for rank in shards:
        shard = data.sharded(rank, 2)
        objective = ReconstructionObjective("sampled", lr=_STEP_LR)
        objective.setup(model, shard)
        (batch,) = shard.batches()
        losses.append(objective.compute_loss(model, batch, torch.Generator().manual_seed(10 + rank)))
    optimizer = objective.configure_optimizers(model)["model"]
    torch.stack(losses).mean().backward()
    optimizer.step()
    return {name: (p.detach().clone(), p.grad.clone()) for name, p in model.named_parameters()}


def test_two_processes_average_the_gradients_of_their_shards(tmp_path):
    """Under gloo, each rank's gradient after one step is the mean of both shards' gradients,
    and its parameters are one process's after one step on the mean of the two losses.

    Adam's first step moves each parameter by about ``lr * sign(grad)``, so the parameters
    alone could hardly tell an averaged gradient from one shard's: the gradients
    (left in ``.grad`` by the step) are compared too."""
    torch.multiprocessing.spawn(
        _one_step_on_rank, args=(tmp_path / "store", tmp_path / "rank"), nprocs=2, join=True
    )
    ranks = [torch.load(tmp_path / f"rank-{r}.pt") for r in (0, 1)]
    expected = _one_step_alone((0, 1))
    own_shard = _one_step_alone((0,))  # what rank 0 would hold without averaging
    assert set(ranks[0]) == set(ranks[1]) == set(expected) != set()
    for name, (param, grad) in expected.items():
        for rank in ranks:
            torch.testing.assert_close(rank[name][1], grad, rtol=0, atol=1e-6)
            torch.testing.assert_close(rank[name][0], param, rtol=0, atol=1e-6)
        assert (own_shard[name][1] - grad).abs().max() > 1e-3  # the check can tell the two apart


# Real launches -----------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_graph(path: Path) -> Path:
    """A small attributed graph in the .npz layout, so the launched processes read it from disk."""
    graph = make_communities(num_nodes=300, num_communities=4, avg_degree=6, num_features=40, random_state=0)
    adj = graph.adj
    np.savez(
        path,
        adj_data=adj.data,
        adj_indices=adj.indices,
        adj_indptr=adj.indptr,
        adj_shape=adj.shape,
        attr_matrix=np.asarray(graph.x.todense() if sp.issparse(graph.x) else graph.x),
    )
    return path


def _launch(commands: list[list[str]], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Run the commands at once, each in a session of its own; kill them all on a timeout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for cmd in commands
    ]
    results = []
    try:
        for proc, cmd in zip(procs, commands, strict=True):
            out, err = proc.communicate(timeout=LAUNCH_TIMEOUT)
            results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    except subprocess.TimeoutExpired:
        pytest.fail(f"a torchrun launch did not finish in {LAUNCH_TIMEOUT} s (a hang)")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return results


def _torchrun(*options: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--master-addr", "127.0.0.1", *options]


@pytest.mark.slow
def test_torchrun_two_processes_train_one_model(tmp_path):
    graph = _write_graph(tmp_path / "graph.npz")
    out = tmp_path / "run"
    port = str(_free_port())
    (result,) = _launch(
        [
            _torchrun("--nproc-per-node", "2", "--master-port", port)
            + ["-m", "graphae", "train", "--dataset", str(graph), "--loss", "sampled", "--epochs", "40"]
            + ["--patience", "5", "--ranking-negatives", "10", "--out", str(out)]
            + ["--batch-size", "200"]  # each rank scores its shard of the edges in chunks
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    # One process scores 81.3 +- 0.6 AUC, 79.6 +- 1.0 AP on this graph (3 runs, with or without chunks).
    # Untrained (one process, epochs=1, lr=1e-12, seed 0): AUC 0.649, AP 0.666.
    assert 0.75 < metrics["test_auc"]["mean"] <= 1.0
    assert 0.75 < metrics["test_ap"]["mean"] <= 1.0
    # Rank 0 alone prints: one summary, one log of the graph, one "wrote".
    assert [line for line in result.stdout.splitlines() if line.startswith("test AUC")] != []
    assert len([line for line in result.stdout.splitlines() if line.startswith("test AUC")]) == 1
    assert result.stderr.count("x 2 processes") == 1
    assert result.stderr.count(f"wrote {out}") == 1
    assert np.load(out / "embeddings.npy").shape == (300, 16)


def _metrics_without_times(folder: Path) -> dict:
    metrics = json.loads((folder / "metrics.json").read_text())
    for key in ("train_seconds", "phases", "resumed"):
        del metrics[key]
    return metrics


@pytest.mark.slow
def test_a_torchrun_run_whose_rank_died_resumes_to_the_uninterrupted_run(tmp_path):
    graph = _write_graph(tmp_path / "graph.npz")
    argv = ["train", "--dataset", str(graph), "--loss", "sampled", "--epochs", "7", "--runs", "2"]
    argv += ["--eval-every", "2", "--select-best", "--ranking-negatives", "10", "--threads", "1", "--quiet"]
    whole, out = tmp_path / "whole", tmp_path / "run"

    def launch(*command: str) -> subprocess.CompletedProcess:
        return _launch(
            [_torchrun("--nproc-per-node", "2", "--master-port", str(_free_port())) + [*command]], tmp_path
        )[0]

    done = launch("-m", "graphae", *argv, "--out", str(whole))
    assert done.returncode == 0, done.stderr[-3000:]
    crashed = launch(
        str(ROOT / "tests" / "ddp_crash_main.py"), *argv, "--checkpoint-every", "2", "--out", str(out)
    )
    assert crashed.returncode != 0 and not (out / "metrics.json").exists()
    assert load_checkpoint(out / "checkpoint" / "run-2.pt")[1]["epoch"] == 4  # one file for both ranks
    assert load_checkpoint(out / "checkpoint" / "run-2.pt")[1]["world_size"] == 2
    resumed = launch("-m", "graphae", "train", "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stderr.count("resuming run 2/2 from epoch 4") == 1  # rank 0 alone says it
    # Each rank drew its own negatives on from where it stopped: the uninterrupted run, bit for bit.
    assert _metrics_without_times(out) == _metrics_without_times(whole)
    assert json.loads((out / "metrics.json").read_text())["resumed"] == [
        {"run": 2, "seed": 1, "from_epoch": 4}
    ]
    assert np.array_equal(np.load(out / "embeddings.npy"), np.load(whole / "embeddings.npy"))
    assert (out / "history.json").read_text() == (whole / "history.json").read_text()
    assert not (out / "checkpoint").exists()
    # Another number of processes cannot take the run on: one line on every rank, no hang.
    crashed = launch(
        str(ROOT / "tests" / "ddp_crash_main.py"),
        *argv,
        "--checkpoint-every",
        "2",
        "--out",
        str(tmp_path / "again"),
    )
    (one,) = _launch(
        [
            _torchrun("--nproc-per-node", "1", "--master-port", str(_free_port()))
            + ["-m", "graphae", "train", "--resume", str(tmp_path / "again")]
        ],
        tmp_path,
    )
    assert one.returncode != 0 and "written by 2 processes, this run has 1" in one.stderr


_API_SCRIPT = """
import json, sys
import torch
from graphae import GAE
from graphae.data import load_npz_graph
from graphae.cli import finish
from graphae.experiment import run_link_prediction
from graphae.nn import GCNEncoder
from graphae.nn.decoders import InnerProductDecoder
from graphae.nn.models import GraphAutoencoder
from graphae.training import GraphTensors, ReconstructionObjective, distributed, train

graph = load_npz_graph(sys.argv[1])
result = run_link_prediction(graph, GAE(loss="sampled", epochs=30, device="cpu"), seed=1, ranking_negatives=10)
rank = distributed.rank()


class ScaledDecoder(InnerProductDecoder):
    # A decoder with a parameter, used outside the encoder's forward: DDP must average it too.
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, z, pairs):
        return self.scale * super().forward(z, pairs)


data = GraphTensors.from_graph(graph)
model = GraphAutoencoder(GCNEncoder(data.in_channels, 8, 4), ScaledDecoder())
objective = ReconstructionObjective("sampled", lr=0.05)
train(model, data, objective, epochs=5, generator=torch.Generator().manual_seed(rank),
      distributed=distributed.current())
with open(f"{sys.argv[2]}-{rank}.json", "w") as f:
    json.dump({"world_size": distributed.world_size(), "test_auc": result.test_auc,
               "embedding": result.embedding.round(5).tolist(), "history": result.history,
               "scale": float(model.decoder.scale)}, f)
finish(0)  # as the graphae process ends (docs/errors.md: an abort at exit now and then)
"""


@pytest.mark.slow
def test_two_nodes_of_one_process_train_one_model_with_the_python_api(tmp_path):
    graph = _write_graph(tmp_path / "graph.npz")
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent(_API_SCRIPT))
    port = str(_free_port())
    results = _launch(
        [
            _torchrun(
                "--nnodes", "2", "--node-rank", str(node), "--nproc-per-node", "1", "--master-port", port
            )
            + [str(script), str(graph), str(tmp_path / "out")]
            for node in (0, 1)
        ],
        tmp_path,
    )
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"out-{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    # One model: the same parameters, logs and scores on both ranks (rank 0's, broadcast).
    assert ranks[0]["embedding"] == ranks[1]["embedding"]
    assert ranks[0]["history"] == ranks[1]["history"]
    # Untrained (one process, epochs=1, lr=1e-12, seed 1): AUC 0.691.
    assert ranks[0]["test_auc"] == ranks[1]["test_auc"] > 0.8
    # The decoder's own parameter was trained and averaged: equal on both ranks, whose shards differ.
    assert ranks[0]["scale"] == ranks[1]["scale"] != 1.0
