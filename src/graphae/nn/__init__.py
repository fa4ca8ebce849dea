"""The torch layer of graphae: convolutions, encoders, decoders and models."""

from graphae.nn.conv import GCNConv
from graphae.nn.decoders import InnerProductDecoder
from graphae.nn.encoders import EncoderOutput, GCNEncoder, VariationalGCNEncoder
from graphae.nn.functional import SparseOperator, gcn_norm, spmm
from graphae.nn.models import GraphAutoencoder, build_model

__all__ = [
    "EncoderOutput",
    "GCNConv",
    "GCNEncoder",
    "GraphAutoencoder",
    "InnerProductDecoder",
    "SparseOperator",
    "VariationalGCNEncoder",
    "build_model",
    "gcn_norm",
    "spmm",
]
