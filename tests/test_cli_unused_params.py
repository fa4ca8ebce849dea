"""Options of parameters a model does not have: refused on the command line (they would be ignored)."""

from typing import Any, ClassVar

import pytest

from cli_helpers import user_error
from graphae import GAE, register_model, unregister_model
from graphae.cli import main
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


@pytest.fixture
def no_norm():
    register_model("no_norm_gae", _NoNormGAE)
    yield "no_norm_gae"
    unregister_model("no_norm_gae")


def test_the_option_of_any_parameter_marked_not_used_is_refused(no_norm, capsys):
    line = user_error(
        capsys, ["train", "--edges", MISSING, "--model", no_norm, "--normalize-features", *FAST]
    )
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
