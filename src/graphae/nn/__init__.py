"""The torch layer of graphae: convolutions, encoders, decoders and models."""

from graphae.nn.conv import GCNConv
from graphae.nn.decoders import Decoder, InnerProductDecoder
from graphae.nn.encoders import EncoderOutput, GCNEncoder, VariationalGCNEncoder
from graphae.nn.functional import SparseOperator, gcn_norm, spmm
from graphae.nn.models import GraphAutoencoder

__all__ = [
    "Decoder",
    "EncoderOutput",
    "GCNConv",
    "GCNEncoder",
    "GraphAutoencoder",
    "InnerProductDecoder",
    "SparseOperator",
    "VariationalGCNEncoder",
    "gcn_norm",
    "spmm",
]
