"""bfloat16 mixed precision (``precision="bf16-mixed"``): the pieces autocast passes through, and the refined GAE."""

import numpy as np
import pytest
import torch

from graphae.data import make_communities
from graphae.errors import ParameterError
from graphae.metrics import auc_ap
from graphae.models.refined import RefinedGAE
from graphae.nn.functional import SparseOperator, spmm, to_csr
from graphae.nn.mlp_decoder import autocast_input, dropout
from graphae.split import split_edges
from graphae.training.edge_batches import EdgeBatchObjective, check_precision
from test_refined import SMALL as REFINED_SMALL

# test_refined's settings, a wider model with a deeper decoder and no features: products worth casting.
SMALL = {
    **REFINED_SMALL,
    "hidden_channels": 32,
    "out_channels": 32,
    "decoder_layers": 3,
    "use_features": False,
}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


@pytest.fixture(scope="module")
def small():
    return make_communities(num_nodes=150, num_communities=3, random_state=0)


def bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def test_a_sparse_product_under_autocast_runs_in_float32_and_passes_gradients_back():
    a = torch.tensor([[0.5, 0.0, 0.25], [0.0, 1.0, 0.0], [0.25, 0.0, 0.5]])
    op = SparseOperator(to_csr(a.to_sparse()), symmetric=True)
    h = torch.randn(3, 4, generator=torch.Generator().manual_seed(0)).to(torch.bfloat16).requires_grad_()
    with bf16():
        out = op @ h  # MKL's CSR product takes no bfloat16; without the cast this raises
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, a @ h.detach().float())
    out.sum().backward()
    assert h.grad.dtype == torch.bfloat16
    torch.testing.assert_close(h.grad.float(), a.t() @ torch.ones(3, 4), atol=1e-2, rtol=1e-2)
    # spmm itself casts, for the callers that hold no SparseOperator (partitioned training's blocks)
    with bf16():
        direct = spmm(to_csr(a.to_sparse()), h.detach())
    assert direct.dtype == torch.float32
    torch.testing.assert_close(direct, out.detach())


def test_autocast_input_casts_only_inside_autocast():
    x = torch.randn(5, 3)
    assert autocast_input(x) is x
    with bf16():
        assert autocast_input(x).dtype == torch.bfloat16
        ids = torch.arange(3)
        assert autocast_input(ids) is ids  # integers stay


def test_a_bfloat16_input_is_dropped_exactly_as_a_float32_one():
    x = torch.randn(64, 32)
    full = dropout(x, 0.6, True, torch.Generator().manual_seed(3))
    half = dropout(x.to(torch.bfloat16), 0.6, True, torch.Generator().manual_seed(3))
    assert half.dtype == torch.bfloat16
    assert torch.equal(full == 0, half == 0)  # the same units dropped (masks drawn in float32)


class _Dtypes:
    """Records the output dtypes of a module's linear layers while it trains."""

    def __init__(self, module):
        self.seen = set()
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.register_forward_hook(self.hook)

    def hook(self, layer, inputs, output):
        if layer.training:
            self.seen.add(output.dtype)


@pytest.mark.parametrize(("precision", "dtype"), [("32", torch.float32), ("bf16-mixed", torch.bfloat16)])
def test_the_steps_run_their_products_in_the_chosen_precision(small, precision, dtype):
    est = RefinedGAE(**{**SMALL, "precision": precision, "epochs": 1})
    est.fit(small)  # builds the module; a second objective steps it with a spy on its layers
    spy = _Dtypes(est.module_)
    from graphae.training import GraphTensors

    data = GraphTensors.from_graph(small, features=False)
    objective = EdgeBatchObjective(lr=0.01, batch_size=128, precision=precision)
    objective.setup(est.module_, data)
    est.module_.train()
    logs = objective.step(est.module_, data, objective.configure_optimizers(est.module_), None)
    assert spy.seen == {dtype} and np.isfinite(logs["loss"])
    for p in est.module_.parameters():
        assert p.dtype == torch.float32 and p.grad.dtype == torch.float32  # master weights stay float32


def test_bf16_mixed_changes_the_fit_and_keeps_float32_embeddings(small):
    full = RefinedGAE(**SMALL).fit(small)
    mixed = RefinedGAE(**{**SMALL, "precision": "bf16-mixed"}).fit(small)
    assert mixed.embedding_.dtype == np.float32 and np.isfinite(mixed.embedding_).all()
    assert not np.array_equal(mixed.embedding_, full.embedding_)
    again = RefinedGAE(**{**SMALL, "precision": "bf16-mixed"}).fit(small)
    np.testing.assert_array_equal(again.embedding_, mixed.embedding_)  # still deterministic under a seed


def test_bf16_mixed_learns_clearly_more_than_an_untrained_model(small):
    split = split_edges(small, random_state=0)

    def test_auc(**params):
        est = RefinedGAE(**{**SMALL, "precision": "bf16-mixed", **params}).fit(split.train)
        return auc_ap(est.pair_logits(split.test_pos), est.pair_logits(split.test_neg))[0]

    untrained = test_auc(epochs=1, lr=1e-12)  # 0.32 (the same in float32)
    # Seeds 0..2: 0.758, 0.853, 0.816 (float32: 0.853, 0.850, 0.857); on 150 nodes the seed
    # spread (0.75-0.86 over 6 seeds in either precision) is larger than the precision's effect.
    trained = np.mean([test_auc(epochs=20, random_state=seed) for seed in range(3)])
    assert untrained < 0.5 and trained > 0.75


def test_an_unknown_precision_is_named(small):
    with pytest.raises(ParameterError, match="The 'precision' parameter of RefinedGAE must be one of"):
        RefinedGAE(**{**SMALL, "precision": "fp16"}).fit(small)
    with pytest.raises(ValueError, match="precision must be one of"):
        EdgeBatchObjective(precision="16-mixed")


def test_a_gpu_without_bfloat16_is_refused_with_the_way_out(monkeypatch):
    check_precision("bf16-mixed", torch.device("cpu"), "RefinedGAE")  # any CPU computes it
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Tesla V100")
    check_precision("32", torch.device("cuda"), "RefinedGAE")
    with pytest.raises(ParameterError, match="Tesla V100 has no bfloat16 arithmetic: use precision='32'"):
        check_precision("bf16-mixed", torch.device("cuda"), "RefinedGAE")
