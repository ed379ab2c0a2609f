"""``theano.scan_module.scan_op``: the ``Scan`` op (PyTensor's), for ``isinstance`` checks."""

from pytensor.scan.op import Scan

__all__ = ["Scan"]
