"""``theano.scan_module.scan_utils``: the helpers Theano code imports from it.

``equal_computations`` (Lasagne's tests compare graphs with it), ``clone``
(Theano's name for ``clone_replace``), ``get_updates_and_outputs``,
``safe_new``, ``expand_empty``, ``reconstruct_graph``,
``forced_replace`` and ``until`` (neupy's line search ends its loops with
``scan_utils.until``), all PyTensor's.
"""

from pytensor.graph.basic import equal_computations
from pytensor.graph.replace import clone_replace
from pytensor.scan.basic import get_updates_and_outputs
from pytensor.scan.utils import (
    expand_empty,
    forced_replace,
    reconstruct_graph,
    safe_new,
    until,
)


def clone(output, replace=None, strict=True, share_inputs=True):
    """Theano's ``scan_utils.clone``: ``output`` with ``replace`` applied, as ``clone_replace``."""
    return clone_replace(
        output, replace=replace, rebuild_strict=strict, copy_inputs_over=share_inputs
    )


__all__ = [
    "clone",
    "equal_computations",
    "expand_empty",
    "forced_replace",
    "get_updates_and_outputs",
    "reconstruct_graph",
    "safe_new",
    "until",
]
