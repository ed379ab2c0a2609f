"""``theano.tensor.opt``: registering graph rewrites, under Theano's names.

``register_canonicalize``, ``register_stabilize``, ``register_specialize``,
``register_uncanonicalize`` and ``register_useless`` put a local optimizer
(:func:`theano.gof.opt.local_optimizer`, or any PyTensor ``NodeRewriter``) in
PyTensor's database of that phase, as Theano's did; used as
``@register_canonicalize`` or ``@register_canonicalize("tag", name=...)``.
The rewrites then run on every backend, in the modes that run that phase
(``FAST_RUN``; ``FAST_COMPILE`` runs canonicalize only).  The helpers old
rewrites call are here too: ``broadcast_like`` (written out: PyTensor
dropped it), and PyTensor's ``Shape_i``, ``MakeVector``, ``make_vector`` and
``ShapeFeature``.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.tensor.basic import MakeVector, make_vector  # noqa: F401
from pytensor.tensor.rewriting.basic import (  # noqa: F401
    register_canonicalize,
    register_specialize,
    register_stabilize,
    register_uncanonicalize,
    register_useless,
)
from pytensor.tensor.rewriting.shape import ShapeFeature  # noqa: F401
from pytensor.tensor.shape import Shape_i  # noqa: F401

from seqgraph.theano._removed import missing
from seqgraph.theano.gof.opt import in2out, out2in  # noqa: F401

__all__ = [
    "MakeVector",
    "ShapeFeature",
    "Shape_i",
    "broadcast_like",
    "in2out",
    "make_vector",
    "out2in",
    "register_canonicalize",
    "register_specialize",
    "register_stabilize",
    "register_uncanonicalize",
    "register_useless",
]


def broadcast_like(value, template, fgraph=None, dtype=None):
    """``value`` filled into an array of ``template``'s shape (and ``dtype``, default its).

    Parameters
    ----------
    value : tensor-like
        Broadcastable to ``template``'s shape (a scalar, usually).
    template : TensorVariable
        The variable whose shape the result takes.
    fgraph : FunctionGraph, optional
        A graph with a ``shape_feature``: its shapes of ``template`` are used,
        as Theano's rewrites did, so that the result does not read
        ``template`` itself.
    dtype : str, optional

    Returns
    -------
    TensorVariable
    """
    value = pt.as_tensor_variable(value)
    dtype = dtype or template.dtype
    if value.type.dtype == dtype and value.type.shape == template.type.shape:
        return value
    feature = getattr(fgraph, "shape_feature", None)
    if feature is not None and template in feature.shape_of:
        shape = feature.shape_of[template]
    else:
        shape = template.shape
    filled = pt.alloc(pt.cast(value, dtype), *[shape[k] for k in range(template.ndim)])
    return (
        pt.specify_shape(filled, template.type.shape) if None not in template.type.shape else filled
    )


def __getattr__(name):
    raise missing("theano.tensor.opt", name)
