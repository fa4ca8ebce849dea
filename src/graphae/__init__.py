"""graphae: graph autoencoders (Kipf & Welling, 2016) for embeddings and link prediction."""

from typing import TYPE_CHECKING, Any

from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from graphae.estimator import GraphAutoencoderEstimator, load
from graphae.graph import Graph
from graphae.models.gae import GAE, VGAE
from graphae.version import __version__

if TYPE_CHECKING:
    from graphae.registry import get_model, model_names, register_model, unregister_model

# Imported on first use: fitting, saving and loading a model never need the registry (the
# registered names are in graphae.modelnames), so a process that uses one model imports no other.
_REGISTRY = ("get_model", "model_names", "register_model", "unregister_model")


def __getattr__(name: str) -> Any:
    if name in _REGISTRY:
        from graphae import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'graphae' has no attribute {name!r}")


__all__ = [
    "GAE",
    "VGAE",
    "Graph",
    "GraphAutoencoderEstimator",
    "NotFittedError",
    "__version__",
    "clone",
    "get_model",
    "load",
    "model_names",
    "register_model",
    "unregister_model",
]
