"""The halo exchange in one process (a copy): rows fetched in the requested order, gradients summed back."""

import torch

from graphae.training.halo import ExchangePlan, Traffic, all_reduce_gradients, fetch


def test_fetch_gathers_the_requested_rows_and_sums_their_gradients_back():
    traffic = Traffic()
    h = torch.arange(8.0).reshape(4, 2).requires_grad_()
    plan = ExchangePlan.request(torch.tensor([2, 0, 2]), [3], traffic)
    assert plan.send_rows.tolist() == [2, 0, 2] and plan.send_counts == [3] == plan.recv_counts
    rows = fetch(h, plan, traffic)
    assert rows.tolist() == [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]
    (rows * torch.tensor([[1.0], [10.0], [100.0]])).sum().backward()
    assert h.grad.tolist() == [[10.0, 10.0], [0.0, 0.0], [101.0, 101.0], [0.0, 0.0]]
    assert traffic.total == 0  # alone, nothing leaves the process


def test_gradients_are_left_alone_without_other_ranks():
    weight = torch.nn.Parameter(torch.ones(2))
    weight.grad = torch.tensor([1.0, 2.0])
    all_reduce_gradients([weight])
    assert weight.grad.tolist() == [1.0, 2.0]
