"""``theano.scan_module``: scan and until, and the ``scan_op`` / ``scan_utils`` modules."""

from pytensor.scan.utils import until  # noqa: F401

from seqgraph.theano import scan  # noqa: F401
from seqgraph.theano.scan_module import scan_op, scan_utils  # noqa: F401
