"""``theano.scan_module``: scan and until."""

from pytensor.scan.utils import until  # noqa: F401

from seqgraph.theano import scan  # noqa: F401
