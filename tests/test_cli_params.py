"""Every model parameter as a ``graphae train`` option, ``graphae models NAME``, and config files."""

import json
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import graphae.cli.runs
import graphae.errors
from cli_helpers import user_error
from graphae import GAE, register_model, registry, unregister_model
from graphae.cli import build_parser, main
from graphae.cli.config import toml_value, tomllib
from graphae.params import Constraint, FloatInterval
from graphae.runfolder import CONFIG, verify_run_files

FAST = ["--device", "cpu", "--threads", "1", "--quiet"]


def _metrics(folder: Path) -> dict:
    metrics = json.loads((folder / "metrics.json").read_text())
    del metrics["train_seconds"], metrics["phases"]  # timings
    del metrics["resumed"]  # which runs were cut (tests/test_cli_engine.py checks it)
    return metrics


def _parse(argv: list[str]):
    return build_parser().parse_args(argv)


def parse_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Parse ``argv``, check it was refused in one line (exit status 2), return the line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphae: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def edges(tmp_path_factory) -> Path:
    """A small directed edge list: 60 nodes, each citing 4 others (seeded)."""
    rng = np.random.default_rng(0)
    rows = {(s, t) for s in range(60) for t in rng.choice(60, size=4, replace=False) if s != t}
    path = tmp_path_factory.mktemp("edges") / "cites.tsv"
    path.write_text("".join(f"{t}\t{s}\n" for s, t in sorted(rows)))  # cited<TAB>citing, as cora.cites
    return path


def _gravity(edges: Path, out: Path) -> list[str]:
    return [
        "train", "--edges", str(edges), "--directed", "--reverse-edges", "--task", "biased",
        "--model", "gravity_vgae", "--gravity-lambda", "0.05", "--epochs", "3", *FAST, "--out", str(out),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def flags_run(edges, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("flags") / "run"
    assert main(_gravity(edges, out)) == 0
    return out


# Options from the model ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "option", "text"),
    [
        ("gravity_vgae", "--gravity-lambda", "0.05 for biased negatives"),
        ("maskgae", "--mask-ratio", "Probability of hiding an edge"),
        ("arga", "--discriminator-lr", "Adam learning rate of the discriminator"),
        ("katz", "--beta", "Damping per step"),
    ],
)
def test_train_help_lists_the_model_parameters_with_defaults(capsys, model, option, text):
    with pytest.raises(SystemExit) as exit:
        main(["train", "--model", model, "--help"])
    assert exit.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"{model} parameters" in out
    assert option in out and text in out


def test_train_help_shows_the_model_default_of_the_older_options(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--model", "gravity_vgae", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "[gravity_vgae default: 0.1]" in out  # --lr
    assert "--gravity-lambda LAMBDA" in out and "(default: 1.0)" in out


@pytest.mark.parametrize(
    ("model", "note"),
    [
        ("refined_gae", "[refined_gae: Training edges per Adam step"),  # not the loss's chunks
        ("gae", "[gae default: auto]"),  # the meaning the option's own help gives
    ],
)
def test_an_option_a_model_reads_otherwise_says_so_in_the_help(capsys, model, note):
    with pytest.raises(SystemExit):
        main(["train", "--model", model, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    batch_size = out.split("--batch-size B edges", 1)[1].split("--epochs EPOCHS (default", 1)[0]
    assert note in batch_size
    assert ("Adam step" in batch_size) == (model == "refined_gae")


def test_parameters_are_parsed_by_their_constraints():
    args = _parse(["train", "--model", "maskgae", "--mask-ratio", "0.25", "--decoder-layers", "3",
                   "--walk-length", "none", "--no-mask-orientations", "--mask", "path"])  # fmt: skip
    assert (args.mask_ratio, args.decoder_layers, args.walk_length) == (0.25, 3, None)
    assert type(args.decoder_layers) is int and type(args.mask_ratio) is float
    assert (args.mask_orientations, args.mask) == (False, "path")
    assert not hasattr(args, "alpha")  # not given: the model's default
    args = _parse(["train", "--model", "gravity_gae", "--gravity-lambda", "1", "--hidden-channels", "8"])
    assert args.gravity_lambda == 1.0 and type(args.gravity_lambda) is float
    assert args.hidden == 8  # --hidden-channels is --hidden


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--model", "gravity_vgae", "--gravity-lambda", "-1"],
            "argument --gravity-lambda: expected a float > 0",
        ),
        (["--model", "maskgae", "--mask-ratio", "1.5"], "argument --mask-ratio: expected a float in [0, 1)"),
        (
            ["--model", "maskgae", "--mask", "nodes"],
            "argument --mask: expected one of ['path', 'edge', 'none']",
        ),
        (["--model", "katz", "--beta", "abc"], "argument --beta: expected a float > 0, got 'abc'"),
        (["--model", "katz", "--max-length", "2.5"], "argument --max-length: expected an int >= 1"),
        (
            ["--model", "source_target_gae", "--out-channels", "0"],
            "argument --out-channels: expected a positive",
        ),
        (
            ["--model", "gae", "--gravity-lambda", "0.05"],
            "--gravity-lambda: gae has no such parameter; it is one of gravity_gae, gravity_vgae",
        ),
        (
            ["--model", "katz", "--mask-ratio=0.5"],
            "--mask-ratio: katz has no such parameter; it is one of maskgae",
        ),
        (
            ["--model", "gae", "--no-batch-norm"],
            "--no-batch-norm: gae has no such parameter; it is one of maskgae",
        ),
    ],
)
def test_a_bad_parameter_value_is_one_line_naming_the_option(capsys, argv, expected):
    line = parse_error(capsys, ["train", *argv, *FAST])
    assert expected in line


def test_an_option_the_model_does_not_carry_is_refused(capsys):
    """linear_gae has no hidden layer: --hidden was taken and ignored; the model no longer carries it."""
    assert main(["train", "--model", "linear_gae", "--hidden", "64", *FAST]) == 2
    line = capsys.readouterr().err.strip()
    assert (
        line
        == "graphae: error: --hidden: linear_gae does not take it (it has no such parameter); leave it out"
    )


def test_the_parameter_reaches_the_model_and_metrics(flags_run):
    metrics = json.loads((flags_run / "metrics.json").read_text())
    assert metrics["model"] == "gravity_vgae" and metrics["task"] == "biased"
    assert metrics["parameters"]["gravity_lambda"] == 0.05
    assert metrics["parameters"]["hidden_channels"] == 64  # the model's own default
    meta = json.loads((flags_run / "metadata.json").read_text())
    assert CONFIG in meta["files"]  # checksummed with the run's files


def test_a_heuristic_parameter_reaches_the_model(tmp_path):
    out = tmp_path / "run"
    assert (
        main(["train", "--model", "katz", "--beta", "0.002", "--max-length", "3", *FAST, "--out", str(out)])
        == 0
    )
    parameters = json.loads((out / "metrics.json").read_text())["parameters"]
    assert (parameters["beta"], parameters["max_length"]) == (0.002, 3)


def test_the_done_when_command_on_cora_cites(data_root, tmp_path):
    cites = data_root / "directed" / "cora.cites"
    out = tmp_path / "run"
    argv = _gravity(cites, out)
    argv[argv.index("--epochs") + 1] = "2"
    assert main(argv) == 0
    metrics = _metrics(out)
    assert metrics["parameters"]["gravity_lambda"] == 0.05 and metrics["num_nodes"] == 2708
    again = tmp_path / "again"
    assert main(["train", "--config", str(out / CONFIG), "--out", str(again), "--quiet"]) == 0
    assert _metrics(again) == metrics


# A model registered at run time or installed through an entry point --------------------
class _Sharp(Constraint):
    description = "a float > 1"

    def accepts(self, value):
        return isinstance(value, float) and value > 1


class TemperedGAE(GAE):
    """A GAE with a temperature (a test model).

    Args:
        temperature: Divides the logits, above 1.
        floor: A lower bound, unused.
    """

    _parameter_constraints: ClassVar = {
        **GAE._parameter_constraints,
        "temperature": _Sharp(),
        "floor": FloatInterval(0),
    }

    def __init__(self, *, temperature: float = 2.0, floor: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.temperature = temperature
        self.floor = floor

    @classmethod
    def _get_param_names(cls):
        return sorted({*GAE._get_param_names(), "temperature", "floor"})


@pytest.fixture
def tempered():
    register_model("tempered_gae", TemperedGAE)
    yield "tempered_gae"
    unregister_model("tempered_gae")


def test_a_model_registered_at_run_time_gets_its_options(tempered, capsys):
    assert main(["models"]) == 0
    assert "tempered_gae" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--model", tempered, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--temperature" in out and "Divides the logits, above 1. (default: 2.0)" in out
    assert _parse(["train", "--model", tempered, "--temperature", "3"]).temperature == 3.0
    line = parse_error(capsys, ["train", "--model", tempered, "--temperature", "0.5"])
    assert "argument --temperature: expected a float > 1, got '0.5'" in line


def test_models_name_prints_the_summary_and_parameters(tempered, capsys):
    assert main(["models", "gravity_vgae"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gravity_vgae: graphae.models.directed.GravityVGAE")
    assert "Gravity-inspired variational graph autoencoder" in out
    assert "arXiv:1905.09570" in out  # the paper, from the module
    assert "\\lambda \\log" in out  # the formula, from GravityGAE, which the docstring refers to
    assert any(line.split()[:2] == ["--gravity-lambda", "1.0"] for line in out.splitlines())
    assert main(["models", "katz"]) == 0
    out = capsys.readouterr().out
    assert "Katz index" in out and ".. math::" in out
    assert any(line.split()[:2] == ["--beta", "0.005"] for line in out.splitlines())
    assert main(["models", tempered]) == 0
    assert "--temperature" in capsys.readouterr().out
    line = user_error(capsys, ["models", "nope"])
    assert "graphae models nope: Unknown model 'nope'" in line


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A package installed with two entry points of the group graphae.models, one broken."""
    (tmp_path / "tempered_pkg.py").write_text(
        "from graphae import GAE\n\nclass InstalledGAE(GAE):\n    '''An installed GAE.'''\n"
    )
    info = tmp_path / "tempered_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tempered-pkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[graphae.models]\ninstalled_gae = tempered_pkg:InstalledGAE\nbroken_gae = tempered_pkg:Missing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("installed_gae", "broken_gae"):
        if name in registry.model_names():
            unregister_model(name)
    sys.modules.pop("tempered_pkg", None)
    monkeypatch.undo()  # the package is no longer installed
    registry.load_entry_points(reload=True)


def test_an_entry_point_model_appears_in_models_and_train(installed, capsys):
    with pytest.warns(UserWarning, match="'broken_gae' of the entry point group graphae.models"):
        registry.load_entry_points(reload=True)
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == ["installed_gae", "An"] for line in lines)
    assert "broken_gae" not in registry.model_names()
    assert _parse(["train", "--model", "installed_gae", "--epochs", "2"]).model == "installed_gae"


# Config files ----------------------------------------------------------------------------
def test_the_run_folder_config_repeats_the_run(flags_run, tmp_path):
    config = tomllib.loads((flags_run / CONFIG).read_text())
    assert config["model"]["gravity_lambda"] == 0.05 and config["model"]["model"] == "gravity_vgae"
    assert config["data"]["reverse_edges"] is True and config["training"]["task"] == "biased"
    assert "out" not in config["output"] and "overwrite" not in config["output"]
    again = tmp_path / "again"
    assert main(["train", "--config", str(flags_run / CONFIG), "--out", str(again)]) == 0
    assert _metrics(again) == _metrics(flags_run)
    assert (again / CONFIG).read_text() == (flags_run / CONFIG).read_text()


def test_a_written_config_gives_the_same_run_as_the_flags(flags_run, edges, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(
        f'[data]\nedges = "{edges}"\ndirected = true\nreverse_edges = true\n\n'
        '[model]\nmodel = "gravity_vgae"\ngravity_lambda = 0.05\nepochs = 3\n\n'
        '[training]\ntask = "biased"\ndevice = "cpu"\nthreads = 1\n\n[output]\nquiet = true\n'
    )
    out = tmp_path / "run"
    assert main(["train", "--config", str(path), "--out", str(out)]) == 0
    assert _metrics(out) == _metrics(flags_run)


def test_flags_override_the_file(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text('[model]\nmodel = "maskgae"\nmask_ratio = 0.3\nepochs = 7\n[training]\nseed = 4\n')
    args = _parse(["train", "--config", str(path), "--epochs", "9"])
    assert (args.model, args.mask_ratio, args.epochs, args.seed) == ("maskgae", 0.3, 9, 4)
    # The flag's model wins, and the file's keys are checked against it.
    line = parse_error(capsys, ["train", "--config", str(path), "--model", "arga"])
    assert f"{path} [model] mask_ratio: unknown key" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[model]\ngravity_lambda = 0.05\n",
            "[model] gravity_lambda: unknown key; see `graphae train --model gae --help`",
        ),
        ("[data]\nepochs = 3\n", "[data] epochs: unknown key; it belongs in [model]"),
        ("[runs]\nseed = 1\n", ": unknown section [runs]; expected [data], [model], [training], [output]"),
        ("seed = 1\n", ": key 'seed' outside a section"),
        ("[training]\nseed = -1\n", "[training] seed: expected an integer in [0, 4294967295], got '-1'"),
        ("[training]\nseed = true\n", "[training] seed: expected a string or a number, got True"),
        ("[data]\ndirected = 1\n", "[data] directed: expected true or false, got 1"),
        ('[model]\nloss = "nope"\n', "[model] loss: expected one of"),
        ('[output]\nresume = "x"\n', "[output] resume: unknown key; see `graphae train --model"),
        ("[model\n", ": not a valid TOML file"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_file_section_and_key(tmp_path, capsys, text, expected):
    path = tmp_path / "run.toml"
    path.write_text(text)
    line = parse_error(capsys, ["train", "--config", str(path), *FAST])
    assert line.startswith(f"graphae: error: {path}") or line.startswith(f"graphae: error: --config {path}")
    assert expected in line
    assert line.count("--help`") <= 1  # one pointer to the help, not the model's and then the command's


def test_a_missing_config_file(tmp_path, capsys):
    line = parse_error(capsys, ["train", "--config", str(tmp_path / "run.toml")])
    assert f"--config {tmp_path / 'run.toml'}: no such file" in line


def test_an_edited_config_toml_fails_its_checksum(flags_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(flags_run, copy)
    (copy / CONFIG).write_text((copy / CONFIG).read_text().replace("0.05", "0.5"))
    with pytest.raises(graphae.errors.InputError, match="config.toml"):
        verify_run_files(copy, (CONFIG,))


@pytest.mark.parametrize(
    "value",
    ["plain", 'quo"te\\back', "line\nbreak\ttab", "ünïcode ✓", "\x01", 0, -3, 2**40, 0.05, 1e-5, 1e300, 0.1 + 0.2,
     True, False, [1, "a", 2.5], []],
)  # fmt: skip
def test_toml_values_round_trip(value):
    assert tomllib.loads(f"x = {toml_value(value)}")["x"] == value


# Resuming with the new options -----------------------------------------------------------
class _Killed(BaseException):
    pass


def test_resume_keeps_the_model_parameters(edges, flags_run, tmp_path, monkeypatch):
    real = graphae.cli.runs.EpochProgress

    class Crashing(real):
        def __call__(self, rec):
            super().__call__(rec)
            if rec["epoch"] == 2:
                raise _Killed

    monkeypatch.setattr(graphae.cli.runs, "EpochProgress", Crashing)
    out = tmp_path / "run"
    with pytest.raises(_Killed):
        main([*_gravity(edges, out), "--checkpoint-every", "1"])
    monkeypatch.undo()
    state = json.loads((out / "checkpoint" / "runs.json").read_text())
    assert state["args"]["gravity_lambda"] == 0.05
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert _metrics(out) == _metrics(flags_run)
