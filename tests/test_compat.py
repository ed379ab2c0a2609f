"""seqgraph._compat: shape functions in the form the installed PyTensor calls."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt

from seqgraph import _compat


def test_method_and_function_forms(monkeypatch):
    def method(self, node, shapes):
        return [shapes[0]]

    def function(node, shapes):
        return [shapes[1]]

    monkeypatch.setattr(_compat, "INFER_SHAPE_TAKES_FGRAPH", False)
    assert _compat.infer_shape_function(method) is method
    assert _compat.infer_shape_function(function) is function
    monkeypatch.setattr(_compat, "INFER_SHAPE_TAKES_FGRAPH", True)
    assert _compat.infer_shape_function(method)(None, "fgraph", "node", [1, 2]) == [1]
    assert _compat.infer_shape_function(function)("fgraph", "node", [1, 2]) == [2]


def test_the_installed_pytensor_calls_an_adapted_op():
    """An op written with ``infer_shape(node, shapes)`` has its shape inferred, not computed."""
    calls = []

    @_compat.with_infer_shape
    class Double(pytensor.graph.op.Op):
        __props__ = ()

        def make_node(self, x):
            return pytensor.graph.basic.Apply(self, [x], [x.type()])

        def perform(self, node, inputs, output_storage):
            raise AssertionError("the shape must not need the values")

        def infer_shape(self, node, input_shapes):
            calls.append(node)
            return [input_shapes[0]]

    x = pt.matrix("x")
    f = pytensor.function([x], Double()(x).shape, mode="FAST_RUN")
    assert list(f(np.zeros((3, 5), dtype=x.dtype))) == [3, 5]
    assert calls


def test_increment_ops_include_what_the_gradient_of_a_lookup_builds():
    w = pytensor.shared(np.zeros((5, 2)))
    ids = pt.lvector("ids")
    grad = pytensor.grad(w[ids].sum(), w)
    assert isinstance(grad.owner.op, _compat.INCREMENT_OPS)
