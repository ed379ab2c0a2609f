"""``theano.tensor.signal``: pooling (``pool``, ``downsample``) and ``conv``.

Theano's pooling ops are gone from PyTensor; :mod:`.pool` writes them out
with slices and reductions, so they compile on every backend and
differentiate with PyTensor's own gradients.
"""

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor.signal import conv, downsample, pool  # noqa: F401


def __getattr__(name):
    raise missing("theano.tensor.signal", name)
