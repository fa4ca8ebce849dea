import os
from pathlib import Path

import pytest
import torch

from graphae.data import load_planetoid


def _data_root() -> Path | None:
    root = os.environ.get("GRAPHAE_DATA")
    if not root or not (Path(root) / "planetoid" / "ind.cora.graph").is_file():
        return None
    return Path(root)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data folder from GRAPHAE_DATA; skips the test when it is absent."""
    root = _data_root()
    if root is None:
        pytest.skip("GRAPHAE_DATA does not point at a folder with planetoid/ind.cora.*")
    return root


@pytest.fixture(scope="session")
def cora(data_root):
    return load_planetoid("cora", data_root / "planetoid")


@pytest.fixture
def one_thread():
    """Steps called directly (not through an estimator's ``threads``) run on one thread.

    A module uses it for all its tests with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
