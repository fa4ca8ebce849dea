"""A model added from outside the package: one module, one registry entry, the public API only."""

import numpy as np
import pytest
import torch
from torch import nn

import graphae
from graphae import GAE, GraphAutoencoderEstimator, load, register_model, unregister_model
from graphae.cli import main
from graphae.data import make_communities
from graphae.experiment import make_estimator, run_link_prediction
from graphae.nn import Decoder, GCNEncoder, GraphAutoencoder
from graphae.params import NOT_USED, Param, PositiveFloat


class BilinearDecoder(Decoder):
    """Logits ``z_i^T W z_j`` with a learned ``W``: asymmetric, no exact all-pairs loss."""

    symmetric = False

    def __init__(self, dim: int, scale: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.scale = scale
        self.weight = nn.Parameter(torch.empty(dim, dim))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.eye(self.weight.shape[0]) * self.scale)
            self.weight.add_(0.01 * torch.randn(self.weight.shape, generator=generator))

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        return ((z.index_select(0, pairs[0]) @ self.weight) * z.index_select(0, pairs[1])).sum(-1)


class BilinearGAE(GraphAutoencoderEstimator):
    """GAE with a bilinear decoder z_i^T W z_j (a test model)."""

    _parameter_constraints = {**GraphAutoencoderEstimator._parameter_constraints, "scale": PositiveFloat()}

    def __init__(
        self,
        *,
        scale: float = 1.0,
        hidden_channels: int = 32,
        out_channels: int = 16,
        loss: str = "sampled",
        fastgae_nodes: int = 1000,
        fastgae_alpha: float = 1.0,
        batch_size: int | str | None = "auto",
        epochs: int = 200,
        lr: float = 0.01,
        use_features: bool = True,
        normalize_features: bool = False,
        eval_every: int = 1,
        select_best: bool = False,
        patience: int | None = None,
        random_state: int | None = None,
        device: str = "auto",
        threads: int | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            hidden_channels=hidden_channels,
            out_channels=out_channels,
            loss=loss,
            fastgae_nodes=fastgae_nodes,
            fastgae_alpha=fastgae_alpha,
            batch_size=batch_size,
            epochs=epochs,
            lr=lr,
            use_features=use_features,
            normalize_features=normalize_features,
            eval_every=eval_every,
            select_best=select_best,
            patience=patience,
            random_state=random_state,
            device=device,
            threads=threads,
            verbose=verbose,
        )
        self.scale = scale

    def build_module(self, in_channels: int, generator: torch.Generator | None = None) -> GraphAutoencoder:
        encoder = GCNEncoder(in_channels, self.hidden_channels, self.out_channels, generator)
        return GraphAutoencoder(encoder, BilinearDecoder(self.out_channels, self.scale, generator))


@pytest.fixture
def registered():
    register_model("bilinear_gae", BilinearGAE)
    yield "bilinear_gae"
    unregister_model("bilinear_gae")


@pytest.fixture(scope="module")
def graph():
    return make_communities(num_nodes=200, num_communities=4, random_state=0)


def test_a_registered_model_trains_scores_saves_and_loads(registered, graph, tmp_path):
    assert registered in graphae.model_names()
    est = make_estimator(registered, epochs=40, scale=0.5, device="cpu")
    assert isinstance(est, BilinearGAE) and est.get_params()["scale"] == 0.5
    result = run_link_prediction(graph, est, seed=0)
    assert result.test_auc > 0.75  # untrained (epochs=1, lr=1e-12): 0.615; trained: 0.823
    fitted = result.estimator
    # Scores go through the bilinear decoder: asymmetric, unlike an inner product.
    forward, backward = fitted.predict_proba([(0, 1), (1, 0)])
    z, w = fitted.embedding_.astype(np.float64), fitted.module_.decoder.weight.detach().double().numpy()
    assert forward == pytest.approx(1 / (1 + np.exp(-(z[0] @ w @ z[1]))), rel=1e-5)
    assert forward != pytest.approx(backward, rel=1e-9)
    fitted.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert type(again) is BilinearGAE and again.scale == 0.5
    np.testing.assert_array_equal(again.predict_proba([(0, 1), (1, 0)]), [forward, backward])
    assert again.recommend(3, k=5) == fitted.recommend(3, k=5)


def test_the_exact_loss_needs_a_decoder_that_has_one(registered, graph):
    with pytest.raises(
        ValueError, match="'loss' parameter of BilinearGAE is 'exact', but its decoder BilinearDecoder"
    ):
        BilinearGAE(loss="exact", epochs=2).fit(graph)


def test_the_command_line_lists_and_trains_it(registered, tmp_path, capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "gae"
    assert any(line.split()[0] == "bilinear_gae" and "bilinear decoder" in line for line in lines)
    argv = ["train", "--model", "bilinear_gae", "--loss", "sampled", "--epochs", "3", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    assert type(load(tmp_path / "run")) is BilinearGAE


def test_loading_an_unregistered_model_says_what_to_do(graph, tmp_path):
    register_model("bilinear_gae", BilinearGAE)
    try:
        BilinearGAE(epochs=2, random_state=0).fit(graph).save(tmp_path / "m")
    finally:
        unregister_model("bilinear_gae")
    with pytest.raises(
        ValueError, match="holds a model 'bilinear_gae' that is not registered here.*register"
    ):
        load(tmp_path / "m")


def test_registry_rejects_bad_entries():
    with pytest.raises(ValueError, match="lower-case letters"):
        register_model("Bilinear GAE", BilinearGAE)
    with pytest.raises(TypeError, match="needs a subclass of"):
        register_model("thing", dict)
    with pytest.raises(ValueError, match="registered already"):
        register_model("gae", BilinearGAE)
    with pytest.raises(ValueError, match="built-in model"):
        unregister_model("gae")


def test_a_model_carries_only_the_parameters_it_takes(graph, tmp_path):
    """Registration asks for random_state alone; the others a model leaves out keep the base's defaults."""

    class Partial(GAE):  # written the scikit-learn way, by hand
        def __init__(self, *, epochs: int = 3, random_state: int | None = None) -> None:
            super().__init__(epochs=epochs, random_state=random_state)

    class Declared(GAE):  # declared once, the __init__ built from it
        params = {"scale": Param(1.0, PositiveFloat()), "epochs": 3, "hidden_channels": NOT_USED}

        def build_module(self, in_channels, generator=None):
            encoder = GCNEncoder(in_channels, 8, self.out_channels, generator)
            return GraphAutoencoder(encoder, BilinearDecoder(self.out_channels, self.scale, generator))

    assert sorted(Partial().get_params()) == ["epochs", "random_state"]
    assert "hidden_channels" not in Declared().get_params() and Declared().get_params()["scale"] == 1.0
    for name, cls in (("partial_gae", Partial), ("declared_gae", Declared)):
        register_model(name, cls)
        try:
            cls(random_state=0).fit(graph).save(tmp_path / name)
            assert type(load(tmp_path / name)) is cls
        finally:
            unregister_model(name)
    with pytest.raises(ValueError, match=r"The 'scale' parameter of Declared must be a float > 0. Got 0."):
        Declared(scale=0).fit(graph)
