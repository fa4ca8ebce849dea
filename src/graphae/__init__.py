"""graphae: graph autoencoders (Kipf & Welling, 2016) for embeddings and link prediction."""

from graphae.estimator import GAE, VGAE, NotFittedError, clone, load
from graphae.graph import Graph

__version__ = "0.1.0"

__all__ = ["GAE", "VGAE", "Graph", "NotFittedError", "__version__", "clone", "load"]
