"""seqgraph.theano.tensor.nnet: batch norm, patches, hierarchical softmax, the 1-hot losses.

Each against NumPy written from Theano's documented formulas; the same cases
(and their gradients) gave Theano 1.0.5's values to 1e-7 in float64.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.theano.tensor import nnet
from seqgraph.theano.tensor.nnet import bn
from seqgraph.theano.tensor.nnet.neighbours import images2neibs, neibs2images
from tests import reference

NEIB_CASES = [
    ((2, 2), None, "ignore_borders"),
    ((3, 2), (1, 1), "valid"),
    ((2, 3), (2, 1), "ignore_borders"),
    ((3, 3), (1, 1), "half"),
    ((2, 2), (1, 1), "full"),
    ((3, 2), (2, 3), "ignore_borders"),
    ((3, 5), (1, 1), "wrap_centered"),
    ((3, 3), (2, 3), "wrap_centered"),
    ((5, 1), None, "wrap_centered"),
]


def _fd_check(loss, x, grad, rng, eps=1e-6):
    for _ in range(2):
        v = rng.normal(size=x.shape)
        numeric = (loss(x + eps * v) - loss(x - eps * v)) / (2 * eps)
        np.testing.assert_allclose(np.sum(grad * v), numeric, rtol=1e-6, atol=1e-8)


def test_images2neibs_matches_reference(c_or_jax, rng):
    x = pt.tensor4("x", dtype="float64")
    xv = rng.normal(size=(2, 3, 7, 5))
    outs, weights = [], []
    for shape, step, mode in NEIB_CASES:
        y = images2neibs(x, shape, step, mode=mode)
        expected = reference.images2neibs(xv, shape, step, mode)
        r = rng.normal(size=expected.shape)
        outs += [y, pytensor.grad(pt.sum(y * r), x)]
        weights.append((expected, r))
    got = seqgraph.function([x], outs, backend=c_or_jax)(xv)
    for k, case in enumerate(NEIB_CASES):
        expected, r = weights[k]
        np.testing.assert_allclose(got[2 * k], expected, rtol=1e-12, err_msg=str(case))

        def loss(v, case=case, r=r):
            return np.sum(reference.images2neibs(v, case[0], case[1], case[2]) * r)

        _fd_check(loss, xv, got[2 * k + 1], rng)


def test_neibs2images_inverts_tiling_patches(rng):
    x = pt.tensor4("x", dtype="float64")
    xv = rng.normal(size=(2, 3, 6, 8))
    ragged = rng.normal(size=(2, 3, 7, 9))
    back = neibs2images(images2neibs(x, (2, 4)), (2, 4), x.shape)
    cut = neibs2images(
        images2neibs(x, (2, 4), mode="ignore_borders"), (2, 4), x.shape, mode="ignore_borders"
    )
    f = seqgraph.function([x], [back, cut], backend="c")
    np.testing.assert_array_equal(f(xv)[0], xv)
    expected = np.zeros_like(ragged)
    expected[:, :, :6, :8] = ragged[:, :, :6, :8]
    np.testing.assert_array_equal(seqgraph.function([x], cut, backend="c")(ragged), expected)


def test_images2neibs_checks_its_arguments(rng):
    x = pt.tensor4("x", dtype="float64")
    with pytest.raises(TypeError, match="neib_shape must be an int or 2 ints"):
        images2neibs(x, (2, 2, 2))
    with pytest.raises(ValueError, match="mode must be one of"):
        images2neibs(x, (2, 2), mode="same")
    with pytest.raises(ValueError, match="wrap_centered' needs odd neib_shape"):
        images2neibs(x, (3, 2), mode="wrap_centered")
    with pytest.raises(ValueError, match="ten4 must be 4-d"):
        images2neibs(pt.matrix(), (2, 2))
    f = seqgraph.function([x], images2neibs(x, (2, 2)), backend="c")
    with pytest.raises(AssertionError, match="cover the image exactly"):
        f(rng.normal(size=(1, 1, 5, 4)))
    f = seqgraph.function([x], images2neibs(x, (3, 3), mode="wrap_centered"), backend="c")
    with pytest.raises(AssertionError, match="at least the patch"):
        f(rng.normal(size=(1, 1, 2, 4)))


def test_batch_normalization_train_and_test(rng):
    x = pt.tensor4("x", dtype="float64")
    g, b, rm, rv = (pt.dvector(n) for n in ("g", "b", "rm", "rv"))
    xv = rng.normal(size=(4, 3, 2, 5))
    gv, bv, rmv = rng.uniform(0.5, 1.5, 3), rng.normal(size=3), rng.normal(size=3)
    rvv = rng.uniform(0.5, 1.5, 3)
    out, mean, invstd, new_rm, new_rv = bn.batch_normalization_train(
        x, g, b, axes="spatial", epsilon=1e-3, running_average_factor=0.3,
        running_mean=rm, running_var=rv,
    )  # fmt: skip
    test = bn.batch_normalization_test(x, g, b, rm, rv, axes="spatial")
    f = seqgraph.function([x, g, b, rm, rv], [out, mean, invstd, new_rm, new_rv, test], backend="c")
    got = f(xv, gv, bv, rmv, rvv)
    m, v = xv.mean(axis=(0, 2, 3)), xv.var(axis=(0, 2, 3))
    per = (slice(None), None, None)  # channel values broadcast over (batch, c, h, w)
    expected_out = (xv - m[per]) * gv[per] / np.sqrt(v[per] + 1e-3) + bv[per]
    np.testing.assert_allclose(got[0], expected_out, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got[1], m, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got[2], 1 / np.sqrt(v + 1e-3), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got[3], 0.7 * rmv + 0.3 * m, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got[4], 0.7 * rvv + 0.3 * v * 40 / 39, rtol=1e-9, atol=1e-9)
    expected_test = (xv - rmv[per]) * gv[per] / np.sqrt(rvv[per] + 1e-4) + bv[per]
    np.testing.assert_allclose(got[5], expected_test, rtol=1e-9, atol=1e-9)


def test_batch_normalization_checks_its_arguments():
    x = pt.matrix("x")
    with pytest.raises(ValueError, match="give both running_mean and running_var"):
        bn.batch_normalization_train(x, pt.vector(), pt.vector(), running_mean=pt.vector())
    with pytest.raises(ValueError, match="epsilon must be at least 1e-5"):
        bn.batch_normalization_train(x, pt.vector(), pt.vector(), epsilon=1e-6)
    with pytest.raises(ValueError, match="gamma must have 1 dimensions"):
        bn.batch_normalization_train(x, pt.tensor3(), pt.vector())
    with pytest.raises(ValueError, match="axes must lie in"):
        bn.batch_normalization_test(x, *(pt.vector() for _ in range(4)), axes=(2,))
    with pytest.raises(ValueError, match="mode must be 'low_mem' or 'high_mem'"):
        bn.batch_normalization(x, x, x, x, x, mode="fast")


def test_h_softmax_all_outputs_and_targets(rng):
    bs, n_out, n_cls, n_per, dim = 5, 10, 3, 4, 6
    x, tg = pt.dmatrix("x"), pt.ivector("tg")
    values = [
        rng.normal(size=s) for s in [(dim, n_cls), (n_cls,), (n_cls, dim, n_per), (n_cls, n_per)]
    ]
    params = [pytensor.shared(v) for v in values]
    full = nnet.h_softmax(x, bs, n_out, n_cls, n_per, *params)
    part = nnet.h_softmax(x, bs, n_out, n_cls, n_per, *params, target=tg)
    xv, tv = rng.normal(size=(bs, dim)), np.array([0, 9, 4, 7, 3], "int32")
    grad = pytensor.grad(-pt.log(part).mean(), params[2])
    got_full, got_part, got_grad = seqgraph.function([x, tg], [full, part, grad], backend="c")(
        xv, tv
    )
    expected = reference.h_softmax(xv, *values, n_out)
    np.testing.assert_allclose(got_full, expected, rtol=1e-12)
    np.testing.assert_allclose(got_part, expected[np.arange(bs), tv], rtol=1e-12)

    def loss(w2):
        return -np.log(reference.h_softmax(xv, values[0], values[1], w2, values[3], n_out)[
            np.arange(bs), tv
        ]).mean()  # fmt: skip

    _fd_check(loss, values[2], got_grad, rng)


def test_crossentropy_softmax_1hot_family(rng):
    x, b, y = pt.dmatrix("x"), pt.dvector("b"), pt.ivector("y")
    xv, bv, yv = rng.normal(size=(4, 5)), rng.normal(size=5), np.array([0, 4, 2, 2], "int32")
    nll, sm, am = nnet.crossentropy_softmax_argmax_1hot_with_bias(x, b, y)
    plain = nnet.crossentropy_softmax_1hot(x, y)
    most = nnet.crossentropy_softmax_max_and_argmax_1hot(x, y)
    f = seqgraph.function([x, b, y], [nll, sm, am, *plain, *most[2:]], backend="c")
    got = f(xv, bv, yv)
    log_p = reference.log_softmax(xv + bv)
    np.testing.assert_allclose(got[0], -log_p[np.arange(4), yv], rtol=1e-12)
    np.testing.assert_allclose(got[1], np.exp(log_p), rtol=1e-12)
    np.testing.assert_array_equal(got[2], np.argmax(xv + bv, axis=1))
    np.testing.assert_allclose(got[3], -reference.log_softmax(xv)[np.arange(4), yv], rtol=1e-12)
    np.testing.assert_allclose(got[5], np.exp(reference.log_softmax(xv)).max(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(got[6], np.argmax(xv, axis=1))
    with pytest.raises(TypeError, match="y_idx must be int labels"):
        nnet.crossentropy_softmax_1hot(x, pt.dvector())


def test_softmax_variants_prepend_and_confusion_matrix(rng):
    x, b = pt.dmatrix("x"), pt.dvector("b")
    xv, bv = rng.normal(size=(3, 4)), rng.normal(size=4)
    outs = [
        nnet.softmax_with_bias(x, b),
        nnet.softmax_graph(x),
        nnet.softmax_op(x),
        nnet.prepend_1_to_each_row(x),
        nnet.prepend_scalar_to_each_row(2.5, x),
    ]
    got = seqgraph.function([x, b], outs, backend="c")(xv, bv)
    np.testing.assert_allclose(got[0], np.exp(reference.log_softmax(xv + bv)), rtol=1e-12)
    np.testing.assert_allclose(got[1], np.exp(reference.log_softmax(xv)), rtol=1e-12)
    np.testing.assert_allclose(got[2], got[1], rtol=1e-12)
    np.testing.assert_array_equal(got[3], np.hstack([np.ones((3, 1)), xv]))
    np.testing.assert_array_equal(got[4][:, 0], 2.5)
    actual, pred = pt.ivector("actual"), pt.ivector("pred")
    conf, order = seqgraph.function(
        [actual, pred], nnet.confusion_matrix(actual, pred), backend="c"
    )(np.array([2, 0, 2, 2, 0, 1], "int32"), np.array([0, 0, 2, 2, 0, 2], "int32"))
    np.testing.assert_array_equal(order, [0, 1, 2])
    np.testing.assert_array_equal(conf, [[2, 0, 0], [0, 0, 1], [1, 0, 2]])
