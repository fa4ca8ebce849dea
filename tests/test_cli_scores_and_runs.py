"""Hostile runs of issue 19: hubs, run states, sizes and seeds the command line must name."""

import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import user_error
from graphae.cli import main
from graphae.errors import InputError
from graphae.evaluation import EvaluationSplit
from graphae.graph import Graph
from graphae.split import split_edges

FAST = ["--epochs", "2", "--device", "cpu", "--threads", "1", "--quiet"]


def _hub_rows(hub_first: bool) -> str:
    """Node ``h`` joined to all 19 others, which form a path; the hub's rows first or last."""
    hub = [f"h,n{i}\n" for i in range(1, 20)]
    path = [f"n{i},n{i + 1}\n" for i in range(1, 19)]
    return "source,target\n" + "".join(hub + path if hub_first else path + hub)


# Item 23: hubs and run order ------------------------------------------------------------
@pytest.mark.parametrize("hub_first", [True, False])
def test_a_hub_trains_whatever_the_row_order(tmp_path: Path, hub_first: bool) -> None:
    # Listed first, the hub was node 0 and the source of its test edges: "source node 0"
    # blocked training, while the same graph listed the other way trained.
    edges = tmp_path / "hub.csv"
    edges.write_text(_hub_rows(hub_first))
    assert main(["train", "--edges", str(edges), *FAST, "--seed", "3"]) == 0


def test_a_source_joined_to_every_node_is_named_by_its_id() -> None:
    # Directed: the hub's test edges cannot be ranked from their other end.
    ids = np.array(["hub", *(f"n{i}" for i in range(1, 20))])
    edges = [(0, i) for i in range(1, 20)] + [(i, i + 1) for i in range(1, 19)]
    graph = Graph.from_edges(np.array(edges), 20, directed=True, node_ids=ids)
    split = split_edges(graph, random_state=0)
    assert (split.test_pos[0] == 0).any()
    with pytest.raises(
        InputError,
        match=r"^Cannot rank the test edges of node 'hub' against non-edges: it is joined to every other "
        r"node, so it has none. Pass ranking_negatives=0 \(CLI: --ranking-negatives 0\)",
    ):
        EvaluationSplit.from_split(graph, split, seed=0)
    assert EvaluationSplit.from_split(graph, split, seed=0, num_negatives=0).ranking_neg.shape[1] == 0


def test_a_diverged_run_is_not_advised_to_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["train", *FAST, "--lr", "1e30", "--checkpoint-every", "1", "--out", str(out)]
    assert "Training diverged at epoch 1" in user_error(capsys, argv)
    again = user_error(capsys, ["train", *FAST, "--checkpoint-every", "1", "--out", str(out)])
    assert again.startswith(f"graphae: error: --out {out}: Training diverged at epoch 1")
    assert again.endswith(
        "Resuming would repeat the same training; start over with other options and --overwrite"
    )
    resumed = user_error(capsys, ["train", "--resume", str(out)])
    assert resumed.startswith(f"graphae: error: --resume {out}: Training diverged at epoch 1")
    assert "--resume" not in resumed.split(":", 3)[-1] and "--overwrite" in resumed
    assert main(["train", *FAST, "--checkpoint-every", "1", "--out", str(out), "--overwrite"]) == 0


def test_a_run_state_of_zero_runs_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", *FAST, "--lr", "1e30", "--checkpoint-every", "1", "--out", str(out)]) == 2
    state_file = out / "checkpoint" / "runs.json"
    state = json.loads(state_file.read_text())
    del state["diverged"]
    state["args"]["runs"], state["args"]["lr"] = 0, 0.01
    state_file.write_text(json.dumps(state))
    line = user_error(capsys, ["train", "--resume", str(out)])
    # runs.json is checksummed: an edited one is refused before any of its values is used.
    assert line == (
        f"graphae: error: {state_file}: changed since graphae wrote it (its content does not match its "
        "checksum); start the run again with --overwrite."
    )
    assert "nan" not in line


# Item 13: sizes checked before training -----------------------------------------------
def test_ranking_negatives_beyond_memory_are_refused_before_training(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 10^9 negatives for each test edge used to end in an internal MemoryError.
    line = user_error(capsys, ["train", *FAST, "--ranking-negatives", "1000000000"])
    assert line.startswith(
        "graphae: error: ranking_negatives=1000000000 (CLI: --ranking-negatives) ranks each of the 800 "
        "test edges against 1000000000 negatives: about 35762.8 GiB; this machine has "
    )
    assert line.endswith(
        "Choose fewer (the default is 100), or 0 to rank against the shared test non-edges only."
    )
    graph = Graph.from_edges(np.array([(i, (i + 1) % 50) for i in range(50)]), 50)
    with pytest.raises(InputError, match=r"^ranking_negatives=10000000000000000000000 \(CLI"):
        EvaluationSplit.from_split(graph, split_edges(graph, random_state=0), seed=0, num_negatives=10**22)


# Item 14: one rule for seeds, wherever one is read ----------------------------------------
@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seeds") / "run"
    assert main(["train", "--dataset", "synthetic", *FAST, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("command", ["evaluate", "plot"])
@pytest.mark.parametrize("value", ["-1", "99999999999"])
def test_bad_seeds_of_evaluate_and_plot_are_one_line(
    labelled_run: Path, capsys: pytest.CaptureFixture[str], command: str, value: str
) -> None:
    # evaluate: internal errors from k-means; plot: blamed embeddings.npy and TSNE's random_state.
    argv = (
        ["evaluate", "--model", str(labelled_run)] if command == "evaluate" else ["plot", str(labelled_run)]
    )
    with pytest.raises(SystemExit) as exc:  # argparse's errors
        main([*argv, f"--seed={value}"])
    assert exc.value.code == 2
    out, line = capsys.readouterr()
    assert out == "" and line.count("\n") == 1
    assert line.rstrip("\n") == (
        f"graphae: error: argument --seed: expected an integer in [0, 4294967295], got '{value}' "
        f"(see `graphae {command} --help`)"
    )


@pytest.mark.parametrize("seed", [-1, "7", 2**32 - 1])
def test_a_bad_seed_in_runs_json_is_refused_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: object
) -> None:
    out = tmp_path / "run"
    assert (
        main(["train", *FAST, "--runs", "2", "--lr", "1e30", "--checkpoint-every", "1", "--out", str(out)])
        == 2
    )
    state_file = out / "checkpoint" / "runs.json"
    state = json.loads(state_file.read_text())
    del state["diverged"]
    state["args"]["seed"], state["args"]["lr"] = seed, 0.01
    state_file.write_text(json.dumps(state))
    line = user_error(capsys, ["train", "--resume", str(out)])
    # runs.json is checksummed: an edited seed is refused before it is used, whatever its value.
    assert line == (
        f"graphae: error: {state_file}: changed since graphae wrote it (its content does not match its "
        "checksum); start the run again with --overwrite."
    )


# Item 21: a model saved into a run folder --------------------------------------------------
def test_saving_a_model_into_a_run_folder_is_refused(labelled_run: Path, tmp_path: Path) -> None:
    # The old run's metrics.json, split.npz and test_scores.npz stayed beside the new model.
    from graphae import GAE, load

    model = load(labelled_run)
    before = {p.name: p.read_bytes() for p in labelled_run.iterdir() if p.is_file()}
    with pytest.raises(
        InputError,
        match=rf"^{labelled_run}: holds a graphae train run \(metrics.json, test_scores.npz, split.npz, "
        r"labels.npy, config.toml\); a model saved here would lie beside scores that are not its own. Save it into "
        r"another folder \(nothing was written\).$",
    ):
        GAE(epochs=1, device="cpu").fit(model.graph_).save(labelled_run)
    assert {p.name: p.read_bytes() for p in labelled_run.iterdir() if p.is_file()} == before
    model.save(tmp_path / "m")
    model.save(tmp_path / "m")  # a model folder is saved over as before
    assert load(tmp_path / "m").embedding_.shape == model.embedding_.shape


# Item 19: the right file and option named ---------------------------------------------------
@pytest.mark.parametrize("command", ["embed", "evaluate", "predict"])
def test_an_out_file_in_a_missing_folder_fails_before_any_output(
    labelled_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # The message named a temporary file (.x.csv.XXXX.tmp); evaluate printed its JSON first.
    pairs = tmp_path / "p.csv"
    pairs.write_text("source,target\n0,1\n")
    target = tmp_path / "nodir" / "x.csv"
    extra = ["--pairs", str(pairs)] if command == "predict" else []
    line = user_error(capsys, [command, "--model", str(labelled_run), *extra, "--out", str(target)])
    assert line == f"graphae: error: --out {target}: the folder {target.parent} does not exist"
    line = user_error(capsys, [command, "--model", str(labelled_run), *extra, "--out", str(tmp_path)])
    assert line == f"graphae: error: --out {tmp_path}: is a folder; give a file name"


def test_predict_reads_parquet_pairs(
    labelled_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "not UTF-8 text", although train reads Parquet.
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"u": [0, 3, 7], "v": [1, 2, 9]}), tmp_path / "p.parquet")
    (tmp_path / "p.csv").write_text("u,v\n0,1\n3,2\n7,9\n")
    printed = []
    for name in ("p.parquet", "p.csv"):
        capsys.readouterr()
        assert main(["predict", "--model", str(labelled_run), "--pairs", str(tmp_path / name)]) == 0
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1] and printed[0].count("\n") == 4
    pq.write_table(pa.table({"u": [0, 999999]}).append_column("v", pa.array([1, 2])), tmp_path / "q.parquet")
    line = user_error(
        capsys, ["predict", "--model", str(labelled_run), "--pairs", str(tmp_path / "q.parquet")]
    )
    assert line == f"graphae: error: {tmp_path / 'q.parquet'}: row 2: unknown node id 999999"


def test_plot_names_the_heuristic_and_checks_its_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It said the folder was not written by `graphae train`; make_report(random_state=-1)
    # blamed embeddings.npy and TSNE's random_state.
    from graphae.plotting import make_report

    out = tmp_path / "cn"
    assert main(["train", "--model", "common_neighbors", "--quiet", "--out", str(out)]) == 0
    assert user_error(capsys, ["plot", str(out)]) == (
        f"graphae: error: {out}: common_neighbors is a link-prediction heuristic without node embeddings "
        "or training curves, so there is no report to draw; its scores are in metrics.json and test_scores.npz."
    )
    with pytest.raises(InputError, match=r"^The 'random_state' parameter of make_report must be an int in "):
        make_report(out, random_state=-1)


def test_bad_seeds_in_python_name_the_parameter() -> None:
    # run_link_prediction(seed=-1): numpy's "expected non-negative integer"; evaluate(random_state=-1):
    # scikit-learn's error about KMeans.
    from graphae import GAE
    from graphae.evaluation import evaluate
    from graphae.experiment import run_link_prediction

    graph = Graph.from_edges(np.array([(i, (i + 1) % 30) for i in range(30)] + [(0, 15), (5, 20)]), 30)
    for seed in (-1, 2**32, 1.5, True):
        with pytest.raises(
            InputError,
            match=r"^The 'seed' parameter of run_link_prediction must be an int in \[0, 4294967295\]",
        ):
            run_link_prediction(graph, GAE(epochs=1, device="cpu"), seed=seed)
    result = run_link_prediction(graph, GAE(epochs=1, device="cpu"), seed=0)
    with pytest.raises(
        InputError,
        match=r"^The 'random_state' parameter of evaluate must be an int in \[0, 4294967295\]. Got -1.$",
    ):
        evaluate(result.estimator, result.evaluation, random_state=-1)


def test_evaluate_reads_parquet_labelled_pairs(
    labelled_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = {"source": [0, 3, 7, 1], "target": [1, 2, 9, 5], "label": [1, 0, 1, 0]}
    pq.write_table(pa.table(table), tmp_path / "l.parquet")
    (tmp_path / "l.csv").write_text("source,target,label\n0,1,1\n3,2,0\n7,9,1\n1,5,0\n")
    printed = []
    for name in ("l.parquet", "l.csv"):
        capsys.readouterr()
        assert main(["evaluate", "--model", str(labelled_run), "--pairs", str(tmp_path / name)]) == 0
        printed.append(json.loads(capsys.readouterr().out))
    assert {**printed[0], "pairs": ""} == {**printed[1], "pairs": ""}
    pq.write_table(pa.table({**table, "label": [1, 0, 2, 0]}), tmp_path / "bad.parquet")
    line = user_error(
        capsys, ["evaluate", "--model", str(labelled_run), "--pairs", str(tmp_path / "bad.parquet")]
    )
    assert line == f"graphae: error: {tmp_path / 'bad.parquet'}: row 3: label must be 0 or 1, got 2"
