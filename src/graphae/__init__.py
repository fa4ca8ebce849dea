"""graphae: graph autoencoders (Kipf & Welling, 2016) for embeddings and link prediction."""

__version__ = "0.1.0"
