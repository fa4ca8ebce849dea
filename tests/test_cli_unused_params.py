"""Options of parameters a model does not have: refused on the command line (they would be ignored)."""

from typing import Any, ClassVar

import pytest

from cli_helpers import user_error
from graphae import GAE, register_model, unregister_model
from graphae.cli import build_parser, main
from graphae.params import NOT_USED

FAST = ["--device", "cpu", "--threads", "1", "--quiet"]
MISSING = "/nonexistent/edges.tsv"  # the refusal comes before anything is read


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--model", "maskgae", "--fastgae-nodes", "50"],
            "--fastgae-nodes: maskgae does not take it (it has no such parameter); leave it out",
        ),
        (
            ["--model", "refined_gae", "--fastgae-alpha=2", "--fastgae-n", "50"],
            "--fastgae-nodes, --fastgae-alpha: refined_gae does not take them (it has no such parameter); "
            "leave them out",
        ),
        (  # the default value, given: still given
            ["--model", "maskgae", "--fastgae-alpha", "1.0"],
            "--fastgae-alpha: maskgae does not take it (it has no such parameter); leave it out",
        ),
        (
            "--model common_neighbors --hidden 8 --fastgae-nodes 50 --epochs 2 --lr 1".split(),
            "--hidden, --fastgae-nodes, --epochs, --lr: common_neighbors does not take them "
            "(a heuristic: nothing is trained); leave them out",
        ),
        (  # options of training and features: a heuristic used to drop them silently
            "--model adamic_adar --select-best --eval-every 5 --normalize-features".split(),
            "--eval-every, --select-best, --normalize-features: adamic_adar does not take them "
            "(a heuristic: nothing is trained); leave them out",
        ),
        (
            ["--model", "linear_gae", "--hidden", "64"],
            "--hidden: linear_gae does not take it (it has no such parameter); leave it out",
        ),
    ],
)
def test_an_option_of_a_parameter_the_model_does_not_have_is_refused(capsys, argv, expected):
    line = user_error(capsys, ["train", "--edges", MISSING, *argv, *FAST])
    assert line == f"graphae: error: {expected}"


class _NoNormGAE(GAE):
    """A GAE that does not read normalize_features (a test model)."""

    params: ClassVar[dict[str, Any]] = {"normalize_features": NOT_USED}


def test_the_option_of_any_parameter_marked_not_used_is_refused(capsys):
    register_model("no_norm_gae", _NoNormGAE)
    try:
        line = user_error(
            capsys, ["train", "--edges", MISSING, "--model", "no_norm_gae", "--normalize-features", *FAST]
        )
    finally:
        unregister_model("no_norm_gae")
    assert line == (
        "graphae: error: --normalize-features: no_norm_gae does not take it (it has no such parameter); "
        "leave it out"
    )


@pytest.mark.parametrize("model", ["maskgae", "common_neighbors"])
def test_defaults_of_parameters_the_model_does_not_have_are_not_refused(model, tmp_path, capsys):
    edges = tmp_path / "edges.tsv"
    edges.write_text("".join(f"{i}\t{(i * 7 + 3) % 40}\n{i}\t{(i + 1) % 40}\n" for i in range(40)))
    epochs = ["--epochs", "1"] if model == "maskgae" else []
    assert main(["train", "--edges", str(edges), "--model", model, *epochs, *FAST]) == 0


# Config files of an older graphae ----------------------------------------------------------
def _edges(folder) -> str:
    path = folder / "edges.tsv"
    path.write_text("".join(f"{i}\t{(i * 7 + 3) % 40}\n{i}\t{(i + 1) % 40}\n" for i in range(40)))
    return str(path)


def _notices(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("graphae: notice: ") and ".toml" in line]


def test_an_old_linear_gae_config_runs_with_one_notice(tmp_path, capsys):
    """linear_gae carried hidden_channels (nothing read it); its config.toml recorded ``hidden = 32``."""
    config = tmp_path / "old.toml"
    config.write_text(
        f'[data]\nedges = "{_edges(tmp_path)}"\ndirected = false\n\n'
        '[model]\nmodel = "linear_gae"\nno_features = false\nloss = "auto"\nfastgae_nodes = 1000\n'
        "fastgae_alpha = 1.0\nepochs = 2\nlr = 0.01\nhidden = 32\nlatent = 16\n\n"
        '[training]\nruns = 1\nseed = 0\ndevice = "cpu"\nthreads = 1\n\n[output]\nquiet = true\n'
    )
    capsys.readouterr()
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "run")]) == 0
    assert _notices(capsys.readouterr().err) == [
        f"graphae: notice: {config} [model] hidden: linear_gae does not use hidden_channels "
        "(a key of an older graphae); ignored"
    ]
    written = (tmp_path / "run" / "config.toml").read_text()
    assert "hidden" not in written and "epochs = 2" in written


def test_the_notice_of_an_old_key_is_printed_by_rank_0_only(tmp_path, capsys, monkeypatch):
    """Under torchrun every process reads the file; only rank 0 says so (RANK alone: no group)."""
    config = tmp_path / "old.toml"
    config.write_text(
        f'[data]\nedges = "{_edges(tmp_path)}"\n\n[model]\nmodel = "linear_gae"\nhidden = 32\nepochs = 1\n'
    )
    for rank, expected in (("1", 0), ("0", 1)):
        monkeypatch.setenv("RANK", rank)
        capsys.readouterr()
        assert main(["train", "--config", str(config), "--quiet", "--threads", "1"]) == 0
        assert len(_notices(capsys.readouterr().err)) == expected


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("linear_gae", "hidden_channels = 64"),
        ("maskgae", "fastgae_nodes = 50"),
        ("refined_gae", "fastgae_alpha = 2.0"),
        ("common_neighbors", "fastgae_nodes = 50"),  # written for every model
    ],
)
def test_a_config_key_of_a_parameter_the_model_does_not_use_is_ignored_with_a_notice(
    tmp_path, capsys, model, key
):
    config = tmp_path / "old.toml"
    config.write_text(f'[model]\nmodel = "{model}"\n{key}\n')
    capsys.readouterr()
    args = build_parser().parse_args(["train", "--config", str(config)])
    name = key.split(" ")[0]
    assert (args.hidden, args.fastgae_nodes, args.fastgae_alpha) == (None, 1000, 1.0)  # the file's: ignored
    assert _notices(capsys.readouterr().err) == [
        f"graphae: notice: {config} [model] {name}: {model} does not use {name} (a key of an older graphae); ignored"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[model]\nmodel = "linear_gae"\nhiden = 32\n', "[model] hiden: unknown key"),
        ('[model]\nmodel = "gae"\nmask_ratio = 0.5\n', "[model] mask_ratio: unknown key"),
        (
            '[model]\nmodel = "linear_gae"\n[data]\nhidden = 32\n',
            "[data] hidden: unknown key; it belongs in [model]",
        ),
    ],
)
def test_a_config_key_that_was_never_a_parameter_is_still_refused(tmp_path, capsys, text, expected):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main(["train", "--config", str(config)])
    assert exit.value.code == 2
    assert f"graphae: error: {config} {expected}" in capsys.readouterr().err


def test_a_new_config_toml_names_only_parameters_the_model_has(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--edges",
                _edges(tmp_path),
                "--model",
                "maskgae",
                "--epochs",
                "1",
                *FAST,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "fastgae" not in (out / "config.toml").read_text()
    capsys.readouterr()
    assert main(["train", "--config", str(out / "config.toml"), "--out", str(tmp_path / "again")]) == 0
    assert _notices(capsys.readouterr().err) == []
