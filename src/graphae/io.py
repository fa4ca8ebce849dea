"""Saving and loading trained models without executing code from files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphae.nn.models import GraphAutoencoder, build_model

WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "model.json"


def atomic_write(path: str | os.PathLike, write: Any, mode: str = "wb") -> None:
    """Write through ``write(file)`` to a temporary file, then rename it into place.

    A failure leaves no partial file behind and the old file, if any, intact.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
        # mkstemp creates 0600 files; give the result the permissions of a normal new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write(path, lambda f: json.dump(obj, f, indent=2), mode="w")


def write_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Atomically write a ``.npy`` file."""
    atomic_write(path, lambda f: np.save(f, array))


def save_model(model: GraphAutoencoder, config: dict[str, Any], folder: str | os.PathLike) -> None:
    """Save weights (``model.pt``, tensors only) and configuration (``model.json``).

    Args:
        model: The trained model.
        config: JSON-serialisable settings; must hold ``model``, ``in_channels``,
            ``hidden_channels`` and ``out_channels`` to rebuild it.
        folder: An existing folder.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_write(Path(folder) / WEIGHTS_FILE, lambda f: torch.save(state, f))
    write_json(Path(folder) / CONFIG_FILE, config)


def load_model(folder: str | os.PathLike) -> tuple[GraphAutoencoder, dict[str, Any]]:
    """Load what :func:`save_model` wrote; weights load with ``weights_only=True``.

    Raises:
        FileNotFoundError: If ``model.json`` or ``model.pt`` is missing.
        ValueError: If the configuration is incomplete.
    """
    folder = Path(folder)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} not found: is {folder} a folder written by graphae?")
    config = json.loads((folder / CONFIG_FILE).read_text())
    missing = [k for k in ("model", "in_channels", "hidden_channels", "out_channels") if k not in config]
    if missing:
        raise ValueError(f"{folder / CONFIG_FILE} lacks {missing}.")
    model = build_model(
        config["model"], config["in_channels"], config["hidden_channels"], config["out_channels"]
    )
    state = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model, config
