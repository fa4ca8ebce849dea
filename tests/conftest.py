import os
from pathlib import Path

import pytest

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
