"""Theano's Python ``Op`` API on PyTensor: ``theano.Op``, ``theano.compile.ops.as_op``.

A Theano Op written in Python (``make_node`` or ``itypes``/``otypes``,
``perform``, ``grad``, ``R_op``, ``__props__``) is nearly a PyTensor Op.  The
differences :class:`Op` bridges, so that the Theano code runs as written:

* Theano called ``infer_shape(node, input_shapes)``, PyTensor before 3.3.8
  calls ``infer_shape(fgraph, node, input_shapes)``: there the two-argument
  form is wrapped.
* PyTensor asks an Op for ``pullback`` and ``pushforward``, and warns that
  ``grad`` / ``L_op`` / ``R_op`` are deprecated (a warning the script's user
  cannot act on): :class:`Op` answers both from Theano's methods.

Such ops run on the C backend (the default of ``seqgraph.theano``): their
C code where they write some (``c_code``, as Theano's Op could), their
``perform`` otherwise; on JAX, ``perform`` runs on the host.
"""

from __future__ import annotations

import inspect

from pytensor.graph.op import Op as _PyTensorOp
from pytensor.link.c.op import COp as _COp

from seqgraph._compat import infer_shape_function

try:  # PyTensor 3: as_op is deprecated in favour of wrap_py
    from pytensor import wrap_py as _pytensor_as_op
except ImportError:  # pragma: no cover - older PyTensor
    from pytensor.compile.ops import as_op as _pytensor_as_op


def _n_params(fn) -> int | None:
    """How many parameters ``fn`` takes; None when it takes ``*args`` or cannot be told."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    return len(params)


class _TheanoOpType(type(_PyTensorOp)):
    """The class of :class:`Op`: an Op that writes C code is made a PyTensor ``COp``.

    Theano's ``Op`` could carry C code (``c_code``, ``c_support_code``,
    ``c_code_cache_version`` ..., as Theano's "Extending Theano with a C Op"
    tutorial writes them); PyTensor keeps C code to ``COp``.  A subclass that
    defines ``c_code`` gets ``COp`` among its bases, so that the C backend
    compiles it, and falls back to ``perform`` where it has one.
    """

    def __new__(mcls, name, bases, namespace, **kwargs):
        if "c_code" in namespace and not any(issubclass(b, _COp) for b in bases):
            bases = (*bases, _COp)
            inherited = [getattr(b, "perform", None) for b in bases]
            if "perform" not in namespace and all(
                getattr(p, "__isabstractmethod__", True) for p in inherited if p is not None
            ):
                namespace["perform"] = _c_code_only
        return super().__new__(mcls, name, bases, namespace, **kwargs)


def _c_code_only(self, node, inputs, output_storage):
    raise NotImplementedError(
        f"{type(self).__name__} has C code only (c_code, no perform): it runs on the C "
        "backend, not on this one."
    )


_c_code_only._seqgraph_c_only = True  # seqgraph.function refuses it off the C backend


class Op(_PyTensorOp, metaclass=_TheanoOpType):
    """``theano.Op``: a PyTensor Op that also takes Theano's ``infer_shape(node, shapes)``.

    An Op that defines ``c_code`` is a PyTensor ``COp`` too (see
    :class:`_TheanoOpType`): the C backend compiles its C code.

    Examples
    --------
    The Python op of Theano's "Creating a new Op" tutorial, unchanged:

    >>> import numpy as np
    >>> import seqgraph.theano as theano
    >>> class DoubleOp(theano.Op):
    ...     __props__ = ()
    ...     itypes = [theano.tensor.dmatrix]
    ...     otypes = [theano.tensor.dmatrix]
    ...
    ...     def perform(self, node, inputs, output_storage):
    ...         output_storage[0][0] = inputs[0] * 2
    ...
    ...     def infer_shape(self, node, i0_shapes):
    ...         return i0_shapes
    ...
    ...     def grad(self, inputs, output_grads):
    ...         return [output_grads[0] * 2]
    >>> x = theano.tensor.dmatrix("x")
    >>> f = theano.function([x], DoubleOp()(x))
    >>> f(np.ones((2, 2)))
    array([[2., 2.],
           [2., 2.]])
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        method = cls.__dict__.get("infer_shape")
        if method is not None and _n_params(method) == 3:  # self, node, input_shapes
            cls.infer_shape = infer_shape_function(method)

    def pullback(self, inputs, outputs, cotangents):
        """The gradient from Theano's ``L_op(inputs, outputs, grads)`` or ``grad(inputs, grads)``."""
        cls = type(self)
        if cls.L_op is not _PyTensorOp.L_op:
            return self.L_op(inputs, outputs, cotangents)
        if cls.grad is not _PyTensorOp.grad:
            return self.grad(inputs, cotangents)
        raise NotImplementedError(f"{cls.__name__} defines no gradient (grad or L_op).")

    def pushforward(self, inputs, outputs, tangents):
        """The R-operator from Theano's ``R_op(inputs, eval_points)``.

        Theano passed ``None`` for an input not differentiated and took
        ``None`` back for an output that does not depend on the others.
        """
        from pytensor.gradient import DisconnectedType, disconnected_type

        if type(self).R_op is _PyTensorOp.R_op:
            raise NotImplementedError(f"{type(self).__name__} defines no R_op.")
        eval_points = [None if isinstance(t.type, DisconnectedType) else t for t in tangents]
        results = self.R_op(inputs, eval_points)
        return [disconnected_type() if r is None else r for r in results]


def as_op(itypes, otypes, infer_shape=None):
    """``theano.compile.ops.as_op``: a Python function as an Op.

    ``infer_shape(node, input_shapes)`` (Theano's form) or PyTensor's
    ``infer_shape(fgraph, node, input_shapes)``.
    """
    if infer_shape is not None:
        if _n_params(infer_shape) == 3:  # fgraph, node, input_shapes
            pytensor_form = infer_shape

            def infer_shape(node, input_shapes):
                return pytensor_form(None, node, input_shapes)

        infer_shape = infer_shape_function(infer_shape)
    return _pytensor_as_op(itypes, otypes, infer_shape)
