"""graphae: graph autoencoders (Kipf & Welling, 2016) for embeddings and link prediction."""

from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from graphae.estimator import GraphAutoencoderEstimator, load
from graphae.graph import Graph
from graphae.models.gae import GAE, VGAE
from graphae.registry import get_model, model_names, register_model, unregister_model
from graphae.version import __version__

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
