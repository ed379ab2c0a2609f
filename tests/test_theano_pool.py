"""seqgraph.theano.tensor.signal: Theano's pooling, written out, against a NumPy reference."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.theano.tensor.signal import downsample, pool
from tests import reference

# (ws, stride, pad, ignore_border, mode): tiling and overlapping windows, strides
# past the window, partial last windows, padding, every mode.
CASES = [
    ((2, 2), None, (0, 0), True, "max"),
    ((2, 2), None, (0, 0), False, "max"),
    ((3, 2), (1, 1), (0, 0), False, "max"),
    ((3, 2), (2, 1), (1, 1), True, "max"),
    ((2, 3), (3, 3), (0, 0), False, "max"),
    ((2, 2), None, (1, 1), True, "sum"),
    ((3, 2), (2, 1), (0, 0), False, "sum"),
    ((2, 2), None, (0, 0), False, "average_inc_pad"),
    ((3, 2), (2, 1), (1, 1), True, "average_inc_pad"),
    ((3, 3), (1, 2), (0, 0), False, "average_inc_pad"),
    ((2, 2), None, (1, 0), True, "average_exc_pad"),
    ((3, 2), (1, 1), (2, 1), True, "average_exc_pad"),
    ((1, 3), (3, 3), (0, 0), False, "average_exc_pad"),
]


def _fd_check(loss, x, grad, rng, eps=1e-6):
    """The gradient's directional derivative against central differences."""
    for _ in range(2):
        v = rng.normal(size=x.shape)
        numeric = (loss(x + eps * v) - loss(x - eps * v)) / (2 * eps)
        np.testing.assert_allclose(np.sum(grad * v), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("static", [False, True], ids=["symbolic-sizes", "static-sizes"])
def test_pool_2d_matches_reference(c_or_jax, static, rng):
    shape = (2, 3, 7, 6)
    x = pt.tensor4("x", dtype="float64", shape=shape if static else (None,) * 4)
    xv = rng.normal(size=shape)
    outs, weights = [], []
    for ws, stride, pad, ignore_border, mode in CASES:
        y = pool.pool_2d(x, ws=ws, stride=stride, pad=pad, ignore_border=ignore_border, mode=mode)
        expected = reference.pool(xv, ws, stride, pad, ignore_border, mode)
        r = rng.normal(size=expected.shape)
        outs += [y, pytensor.grad(pt.sum(y * r), x)]
        weights.append((expected, r))
    got = seqgraph.function([x], outs, backend=c_or_jax)(xv)
    for k in range(len(CASES)):
        expected, r = weights[k]
        np.testing.assert_allclose(got[2 * k], expected, rtol=1e-12, err_msg=str(CASES[k]))

        def loss(v, case=CASES[k], r=r):
            return np.sum(reference.pool(v, *case[:3], case[3], case[4]) * r)

        _fd_check(loss, xv, got[2 * k + 1], rng)


def test_pool_3d_and_leading_axes(rng):
    x = pt.tensor5("x", dtype="float64")
    xv = rng.normal(size=(2, 1, 5, 4, 6))
    ys = [
        pool.pool_3d(x, ws=(2, 2, 3), ignore_border=False),
        pool.pool_3d(
            x,
            ws=(3, 1, 2),
            stride=(1, 2, 2),
            pad=(1, 0, 1),
            ignore_border=True,
            mode="average_exc_pad",
        ),
        pool.pool_2d(x, ws=(2, 3), ignore_border=True),
    ]
    got = seqgraph.function([x], ys, backend="c")(xv)
    np.testing.assert_allclose(got[0], reference.pool(xv, (2, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(
        got[1],
        reference.pool(xv, (3, 1, 2), (1, 2, 2), (1, 0, 1), True, "average_exc_pad"),
        rtol=1e-12,
    )
    np.testing.assert_allclose(got[2], reference.pool(xv, (2, 3), ignore_border=True), rtol=1e-12)


def test_max_pool_passes_the_gradient_to_each_tied_maximum():
    x = pt.matrix("x", dtype="float64")
    y = pool.pool_2d(x, ws=(2, 2), ignore_border=True)
    g = pytensor.grad(y.sum(), x)
    xv = np.array([[1.0, 3.0, 0.0, 0.0], [3.0, 2.0, 0.0, -1.0]])
    out, grad = seqgraph.function([x], [y, g], backend="c")(xv)
    np.testing.assert_array_equal(out, [[3.0, 0.0]])
    # Theano's MaxPoolGrad: every element equal to its window's max gets it.
    np.testing.assert_array_equal(grad, [[0, 1, 1, 1], [1, 0, 1, 0]])


def test_max_pool_of_ints_pads_with_the_lowest_int():
    x = pt.matrix("x", dtype="int32")
    y = pool.pool_2d(x, ws=(2, 2), ignore_border=False)
    xv = np.array([[-5, -7, -9], [-6, -8, -4]], dtype="int32")
    got = seqgraph.function([x], y, backend="c")(xv)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [[-5, -4]])


def test_old_names_and_ops_agree_with_pool_2d(rng):
    x = pt.tensor4("x", dtype="float64")
    xv = rng.normal(size=(1, 2, 7, 5))
    new = pool.pool_2d(
        x, ws=(3, 2), stride=(2, 2), pad=(1, 1), ignore_border=True, mode="average_inc_pad"
    )
    old = [
        pool.pool_2d(
            x, ds=(3, 2), st=(2, 2), padding=(1, 1), ignore_border=True, mode="average_inc_pad"
        ),
        downsample.max_pool_2d(
            x, (3, 2), ignore_border=True, st=(2, 2), padding=(1, 1), mode="average_inc_pad"
        ),
        downsample.DownsampleFactorMax(
            (3, 2), True, st=(2, 2), padding=(1, 1), mode="average_inc_pad"
        )(x),
        pool.Pool(ignore_border=True, mode="average_inc_pad")(x, (3, 2), (2, 2), (1, 1)),
    ]
    got = seqgraph.function([x], [new, *old], backend="c")(xv)
    for value in got[1:]:
        np.testing.assert_array_equal(value, got[0])
    assert pool.Pool.out_shape((1, 2, 7, 5), (3, 2), True, (2, 2), (1, 1)) == [1, 2, 4, 3]
    assert pool.Pool.out_shape((7, 5), ds=(2, 2)) == [4, 3]


def test_max_pool_2d_same_size_keeps_each_patch_maximum(rng):
    x = pt.tensor4("x", dtype="float64")
    xv = rng.normal(size=(2, 1, 5, 7))
    got = seqgraph.function([x], pool.max_pool_2d_same_size(x, (2, 3)), backend="c")(xv)
    expected = np.zeros_like(xv)
    for r in range(0, 4, 2):
        for c in range(0, 6, 3):
            patch = xv[..., r : r + 2, c : c + 3]
            keep = patch == patch.max(axis=(-2, -1), keepdims=True)
            expected[..., r : r + 2, c : c + 3] = np.where(keep, patch, 0.0)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ws=(2, 2), pad=(1, 1), ignore_border=False), "needs ignore_border=True"),
        (dict(ws=(2, 2), pad=(2, 0), ignore_border=True), "smaller than ws"),
        (dict(ws=(2, 2), mode="average"), "mode must be one of"),
        (dict(ws=(2, 0)), "ws must be positive"),
        (dict(ws=(2, 2), stride=(0, 1)), "stride must be positive"),
        (dict(ws=(2, 2, 2)), "ws must be an int or 2 ints"),
        (dict(ws=pt.ivector("ws")), "ws must be known when the graph is built"),
        (dict(ws=(2, 2), ds=(3, 3)), "not both"),
        (dict(), "give the window size"),
    ],
)
def test_pool_2d_bad_arguments_are_named(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        pool.pool_2d(pt.tensor4("x"), **kwargs)


def test_pool_2d_needs_two_axes():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        pool.pool_2d(pt.vector("x"), ws=(2, 2))
