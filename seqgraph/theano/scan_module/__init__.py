"""``theano.scan_module``: scan, its relatives and until, and the ``scan_op`` / ``scan_utils`` modules."""

from pytensor.scan.utils import until  # noqa: F401

from seqgraph.theano import foldl, foldr, map, reduce, scan, scan_checkpoints  # noqa: F401
from seqgraph.theano.scan_module import scan_op, scan_utils  # noqa: F401
