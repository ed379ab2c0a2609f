"""seqgraph.theano.tensor.nnet's convolutions, written out, against a NumPy reference."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.theano.tensor import nnet
from seqgraph.theano.tensor.nnet import abstract_conv, conv3d2d
from seqgraph.theano.tensor.nnet import conv as old_conv
from seqgraph.theano.tensor.signal import conv as signal_conv
from tests import reference

# (filter rows and columns, border_mode, (before, after) pads it means for
# that filter, subsample, filter_flip, filter_dilation, num_groups).
CASES = [
    ((3, 3), "valid", ((0, 0), (0, 0)), (1, 1), True, (1, 1), 1),
    ((3, 2), "full", ((2, 2), (1, 1)), (1, 1), True, (1, 1), 1),
    ((3, 3), "half", ((1, 1), (1, 1)), (2, 3), False, (1, 1), 1),
    ((2, 2), "half", ((1, 1), (1, 1)), (1, 1), True, (1, 1), 2),
    ((3, 2), 1, ((1, 1), (1, 1)), (2, 1), False, (2, 1), 1),
    ((2, 3), (2, 1), ((2, 2), (1, 1)), (1, 2), True, (1, 2), 2),
    ((3, 3), ((1, 2), (0, 1)), ((1, 2), (0, 1)), (1, 1), False, (1, 1), 1),
    ((3, 3), "full", ((4, 4), (2, 2)), (2, 2), True, (2, 1), 1),
    ((1, 1), "valid", ((0, 0), (0, 0)), (1, 1), True, (1, 1), 4),
]


def _directional(loss, value, grad, rng, eps=1e-6):
    v = rng.normal(size=value.shape)
    numeric = (loss(value + eps * v) - loss(value - eps * v)) / (2 * eps)
    np.testing.assert_allclose(np.sum(grad * v), numeric, rtol=1e-6)


def _check_against_reference(backend, rng, x, xv, cases):
    """Outputs and both gradients of each case, compiled as one function, against NumPy.

    ``cases``: ``(label, filter variable, filter value, output, reference)``
    with ``reference(x_value, filter_value)`` the NumPy convolution.  The
    gradients are checked as directional derivatives of ``sum(output * r)``.
    """
    outs, weights = [], []
    for _, w, wv, y, convolve in cases:
        expected = convolve(xv, wv)
        r = rng.normal(size=expected.shape)
        outs += [y, *pytensor.grad(pt.sum(y * r), [x, w])]
        weights.append((expected, r))
    filters = [case[1] for case in cases]
    got = seqgraph.function([x, *filters], outs, backend=backend)(xv, *[c[2] for c in cases])
    for k, (label, _, wv, _, convolve) in enumerate(cases):
        y, gx, gw = got[3 * k : 3 * k + 3]
        expected, r = weights[k]
        np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12, err_msg=label)
        _directional(lambda xa: np.sum(convolve(xa, wv) * r), xv, gx, rng)  # noqa: B023
        _directional(lambda wa: np.sum(convolve(xv, wa) * r), wv, gw, rng)  # noqa: B023


def test_conv2d_matches_reference(c_or_jax, rng):
    x = pt.tensor4("x", dtype="float64")
    xv = rng.normal(size=(2, 4, 9, 8))
    cases = []
    for k, (kernel, border_mode, pads, subsample, flip, dilation, groups) in enumerate(CASES):
        w = pt.tensor4(f"w{k}", dtype="float64")
        wv = rng.normal(size=(4, 4 // groups, *kernel))
        y = nnet.conv2d(
            x,
            w,
            filter_shape=wv.shape,
            border_mode=border_mode,
            subsample=subsample,
            filter_flip=flip,
            filter_dilation=dilation,
            num_groups=groups,
        )

        def convolve(xa, wa, args=(pads, subsample, dilation, flip, groups)):
            return reference.conv2d(xa, wa, *args)

        cases.append((str(CASES[k]), w, wv, y, convolve))
    _check_against_reference(c_or_jax, rng, x, xv, cases)


def test_filter_sizes_come_from_a_shared_variable_and_are_checked(rng):
    w = pytensor.shared(rng.normal(size=(3, 2, 3, 3)))
    x = pt.tensor4("x", dtype="float64")
    f = seqgraph.function([x], nnet.conv2d(x, w, border_mode="full"), backend="c")
    xv = rng.normal(size=(1, 2, 5, 5))
    np.testing.assert_allclose(
        f(xv), reference.conv2d(xv, w.get_value(), ((2, 2), (2, 2))), rtol=1e-10
    )
    w.set_value(rng.normal(size=(3, 2, 2, 2)))
    with pytest.raises(Exception, match="shape"):
        f(xv)


def test_filters_of_run_time_size_are_looped_over(rng):
    # No filter_shape and no static shape: a scan over the taps (C backend).
    x = pt.tensor4("x", dtype="float64")
    w = pt.tensor4("w", dtype="float64")
    xv = rng.normal(size=(2, 4, 9, 8))
    cases = [
        ("full", ((2, 2), (1, 1)), (1, 1), (1, 1), 1, True, (3, 2)),
        ("half", ((2, 2), (1, 1)), (2, 1), (2, 1), 2, False, (3, 3)),
    ]
    for mode, pads, subsample, dilation, groups, flip, kernel in cases:
        wv = rng.normal(size=(4, 4 // groups, *kernel))
        y = nnet.conv2d(
            x,
            w,
            border_mode=mode,
            subsample=subsample,
            filter_dilation=dilation,
            num_groups=groups,
            filter_flip=flip,
        )
        expected = reference.conv2d(xv, wv, pads, subsample, dilation, flip, groups)
        r = rng.normal(size=expected.shape)
        outs = [y, *pytensor.grad(pt.sum(y * r), [x, w])]
        got, gx, gw = seqgraph.function([x, w], outs, backend="c")(xv, wv)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)

        def loss(xa, wa, args=(pads, subsample, dilation, flip, groups), r=r):
            return np.sum(reference.conv2d(xa, wa, *args) * r)

        _directional(lambda xa, wv=wv: loss(xa, wv), xv, gx, rng)
        _directional(lambda wa: loss(xv, wa), wv, gw, rng)


def test_input_shape_hint_is_checked_at_call(rng):
    x = pt.tensor4("x", dtype="float64")
    y = nnet.conv2d(x, np.ones((1, 1, 2, 2)), input_shape=(None, 1, 4, 4))
    f = seqgraph.function([x], y, backend="c")
    assert f(np.ones((2, 1, 4, 4))).shape == (2, 1, 3, 3)
    with pytest.raises(Exception, match="shape"):
        f(np.ones((2, 1, 5, 4)))


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((pt.tensor3("x"), np.ones((1, 1, 2, 2))), {}, "input must be 4-d"),
        ((pt.tensor4("x"), np.ones((1, 2, 2))), {}, "filters must be 4-d"),
        ((pt.tensor4("x"), np.ones((1, 1, 2, 2))), dict(border_mode="same"), "border_mode"),
        ((pt.tensor4("x"), np.ones((1, 1, 2, 2))), dict(border_mode=-1), "negative"),
        ((pt.tensor4("x"), np.ones((1, 1, 2, 2))), dict(subsample=(0, 1)), "subsample"),
        ((pt.tensor4("x"), np.ones((1, 1, 2, 2))), dict(num_groups=0), "num_groups"),
        ((pt.tensor4("x", shape=(1, 3, 4, 4)), np.ones((2, 2, 2, 2))), {}, "3 channels"),
        ((pt.tensor4("x"), np.ones((3, 1, 2, 2))), dict(num_groups=2), "3 filters"),
        ((pt.tensor4("x", shape=(1, 1, 2, 2)), np.ones((1, 1, 3, 3))), {}, "do not fit"),
        ((pt.tensor4("x"), np.ones((1, 1, 2, 2))), dict(unshared=True), "unshared"),
    ],
)
def test_conv2d_bad_arguments_are_named(args, kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        nnet.conv2d(*args, **kwargs)


def test_transposed_convolution_is_the_adjoint(rng):
    # <conv(x, w), t> == <x, conv_T(t, w)> == <w, grad_W(x, t)>
    kwargs = dict(border_mode=1, subsample=(2, 3), filter_flip=False)
    xv = rng.normal(size=(2, 4, 9, 8))
    wv = rng.normal(size=(5, 4, 3, 3))
    tv = rng.normal(size=(2, 5, 5, 3))
    t = pt.tensor4("t", dtype="float64")
    x = pt.tensor4("x", dtype="float64")
    outs = [
        abstract_conv.conv2d_grad_wrt_inputs(t, wv, (None, None, 9, 8), **kwargs),
        nnet.conv2d_transpose(
            t, wv, (2, 4, 9, 8), input_dilation=(2, 3), border_mode=1, filter_flip=False
        ),
        abstract_conv.AbstractConv2d_gradInputs(kshp=wv.shape, **kwargs)(wv, t, (9, 8)),
        abstract_conv.conv2d_grad_wrt_weights(x, t, (None, None, 3, 3), **kwargs),
        abstract_conv.AbstractConv2d_gradWeights(**kwargs)(x, t, (3, 3)),
    ]
    got = seqgraph.function([t, x], outs, backend="c")(tv, xv)
    forward = reference.conv2d(xv, wv, ((1, 1), (1, 1)), (2, 3), flip=False)
    for grad_x in got[:3]:
        assert grad_x.shape == xv.shape
        np.testing.assert_allclose(np.sum(grad_x * xv), np.sum(forward * tv), rtol=1e-10)
    for grad_w in got[3:]:
        assert grad_w.shape == wv.shape
        np.testing.assert_allclose(np.sum(grad_w * wv), np.sum(forward * tv), rtol=1e-10)


def test_conv_output_shape_helpers():
    assert abstract_conv.get_conv_output_shape((2, 4, 9, 8), (6, 4, 3, 2), "full", (1, 2)) == (
        2,
        6,
        11,
        5,
    )
    assert abstract_conv.get_conv_output_shape(
        (None, 4, 9, 8), (6, 4, 3, 3), "half", (1, 1), (2, 1)
    ) == (None, 6, 9, 8)
    assert abstract_conv.get_conv_shape_1axis(9, 3, (1, 2), 2) == 5
    assert abstract_conv.get_conv_shape_1axis(None, 3, "valid", 1) is None


def test_old_conv2d_always_convolves(rng):
    x = pt.tensor4("x", dtype="float64")
    xv = rng.normal(size=(2, 3, 6, 5))
    wv = rng.normal(size=(4, 3, 3, 2))
    f = seqgraph.function(
        [x],
        [
            old_conv.conv2d(x, wv, image_shape=xv.shape, filter_shape=wv.shape),
            old_conv.conv2d(x, wv, border_mode="full", subsample=(2, 1)),
        ],
        backend="c",
    )
    valid, full = f(xv)
    np.testing.assert_allclose(valid, reference.conv2d(xv, wv), rtol=1e-10)
    np.testing.assert_allclose(full, reference.conv2d(xv, wv, ((2, 2), (1, 1)), (2, 1)), rtol=1e-10)
    with pytest.raises(ValueError, match="'valid' or 'full'"):
        old_conv.conv2d(x, wv, border_mode="half")


def test_signal_conv2d_drops_the_axes_its_arguments_lack(rng):
    m, t3 = pt.matrix("m", dtype="float64"), pt.tensor3("t", dtype="float64")
    image, images = rng.normal(size=(7, 6)), rng.normal(size=(2, 7, 6))
    kernel, kernels = rng.normal(size=(3, 3)), rng.normal(size=(4, 2, 3))
    outs = [
        signal_conv.conv2d(m, kernels),
        signal_conv.conv2d(t3, kernel, border_mode="full"),
        signal_conv.conv2d(t3, kernels, image_shape=(2, 7, 6)),
        signal_conv.conv2d(m, kernel),
    ]
    got = seqgraph.function([m, t3], outs, backend="c")(image, images)
    ref = reference.conv2d
    np.testing.assert_allclose(got[0], ref(image[None, None], kernels[:, None])[0], rtol=1e-10)
    np.testing.assert_allclose(
        got[1], ref(images[:, None], kernel[None, None], ((2, 2), (2, 2)))[:, 0], rtol=1e-10
    )
    np.testing.assert_allclose(got[2], ref(images[:, None], kernels[:, None]), rtol=1e-10)
    np.testing.assert_allclose(got[3], ref(image[None, None], kernel[None, None])[0, 0], rtol=1e-10)


# Unshared (locally connected) conv2d: filter rows and columns, border_mode, pads,
# subsample, filter_flip, filter_dilation, num_groups.  Also checked against
# Theano 1.0.5 (outputs and gradients, float64, to 1e-14).
CASES_UNSHARED = [
    ((3, 3), "valid", ((0, 0), (0, 0)), (1, 1), True, (1, 1), 1),
    ((2, 3), "full", ((1, 1), (2, 2)), (1, 1), False, (1, 1), 1),
    ((2, 2), (1, 2), ((1, 1), (2, 2)), (1, 2), False, (2, 1), 2),
    ((3, 2), ((1, 0), (2, 1)), ((1, 0), (2, 1)), (2, 2), True, (1, 1), 1),
]


def test_unshared_conv2d_matches_reference(c_or_jax, rng):
    x = pt.tensor4("x", dtype="float64")
    xv = rng.normal(size=(2, 4, 7, 6))
    cases = []
    for k, (kernel, border_mode, pads, subsample, flip, dilation, groups) in enumerate(
        CASES_UNSHARED
    ):
        span = [(kernel[a] - 1) * dilation[a] + 1 for a in range(2)]
        positions = [
            (xv.shape[2 + a] + sum(pads[a]) - span[a]) // subsample[a] + 1 for a in range(2)
        ]
        wv = rng.normal(size=(4, *positions, 4 // groups, *kernel))
        w = pt.tensor(f"w{k}", shape=(None,) * 6, dtype="float64")
        y = nnet.conv2d(
            x,
            w,
            filter_shape=wv.shape,
            border_mode=border_mode,
            subsample=subsample,
            filter_flip=flip,
            filter_dilation=dilation,
            num_groups=groups,
            unshared=True,
        )

        def convolve(xa, wa, args=(pads, subsample, dilation, flip, groups)):
            return reference.conv2d_unshared(xa, wa, *args)

        cases.append((str(CASES_UNSHARED[k]), w, wv, y, convolve))
    _check_against_reference(c_or_jax, rng, x, xv, cases)


def test_unshared_conv2d_gradients_and_errors(rng):
    xv = rng.normal(size=(2, 3, 6, 5))
    wv = rng.normal(size=(4, 2, 3, 3, 3, 3))  # stride 2: 2x3 positions
    forward = reference.conv2d_unshared(xv, wv, ((0, 0), (1, 1)), (2, 2))
    tv = rng.normal(size=forward.shape)
    t, x = pt.tensor4("t", dtype="float64"), pt.tensor4("x", dtype="float64")
    kwargs = dict(border_mode=(0, 1), subsample=(2, 2), unshared=True)
    outs = [
        abstract_conv.conv2d_grad_wrt_inputs(t, wv, (None, None, 6, 5), wv.shape, **kwargs),
        abstract_conv.conv2d_grad_wrt_weights(x, t, (None, None, None, 3, 3, 3), **kwargs),
        abstract_conv.AbstractConv2d(kshp=wv.shape, **kwargs)(x, wv),
    ]
    grad_x, grad_w, y = seqgraph.function([t, x], outs, backend="c")(tv, xv)
    assert grad_x.shape == xv.shape and grad_w.shape == wv.shape
    np.testing.assert_allclose(np.sum(grad_x * xv), np.sum(forward * tv), rtol=1e-10)
    np.testing.assert_allclose(np.sum(grad_w * wv), np.sum(forward * tv), rtol=1e-10)
    np.testing.assert_allclose(y, forward, rtol=1e-10)
    x5 = pt.tensor4("x", shape=(2, 3, 6, 5))
    with pytest.raises(ValueError, match="unshared filters for 3x3 output positions"):
        nnet.conv2d(x5, np.ones((4, 3, 3, 3, 3, 3)), unshared=True)
    with pytest.raises(TypeError, match="filters must be 6-d"):
        nnet.conv2d(x5, np.ones((4, 3, 3, 3)), unshared=True)
    with pytest.raises(ValueError, match="unshared convolution needs the filters' rows"):
        nnet.conv2d(x5, pt.tensor("w", shape=(None,) * 6), unshared=True)
    with pytest.raises(ValueError, match="2-d only"):
        abstract_conv.AbstractConv3d(unshared=True)


# conv3d: (filter depth, rows, columns), border_mode, the pads it means, subsample,
# filter_flip, filter_dilation, num_groups.  The outputs and gradients of the
# first five were also checked against Theano 1.0.5 (float64, to 1e-13).
CASES_3D = [
    ((3, 2, 2), "valid", ((0, 0), (0, 0), (0, 0)), (1, 1, 1), True, (1, 1, 1), 1),
    ((2, 3, 2), "full", ((1, 1), (2, 2), (1, 1)), (1, 2, 1), True, (1, 1, 1), 1),
    ((3, 3, 3), "half", ((1, 1), (1, 1), (1, 1)), (2, 1, 2), False, (1, 1, 1), 2),
    ((2, 2, 3), (1, 0, 2), ((1, 1), (0, 0), (2, 2)), (1, 1, 2), True, (2, 1, 1), 1),
    ((2, 2, 2), 1, ((1, 1), (1, 1), (1, 1)), (1, 1, 1), False, (1, 2, 1), 2),
    ((2, 2, 2), ((1, 0), (0, 2), (1, 1)), ((1, 0), (0, 2), (1, 1)), (2, 1, 1), True, (1, 1, 1), 1),
]


def test_conv3d_matches_reference(c_or_jax, rng):
    x = pt.tensor5("x", dtype="float64")
    xv = rng.normal(size=(2, 4, 6, 5, 7))
    cases = []
    for k, (kernel, border_mode, pads, subsample, flip, dilation, groups) in enumerate(CASES_3D):
        w = pt.tensor5(f"w{k}", dtype="float64")
        wv = rng.normal(size=(4, 4 // groups, *kernel))
        y = nnet.conv3d(
            x,
            w,
            filter_shape=wv.shape,
            border_mode=border_mode,
            subsample=subsample,
            filter_flip=flip,
            filter_dilation=dilation,
            num_groups=groups,
        )

        def convolve(xa, wa, args=(pads, subsample, dilation, flip, groups)):
            return reference.conv(xa, wa, *args)

        cases.append((str(CASES_3D[k]), w, wv, y, convolve))
    _check_against_reference(c_or_jax, rng, x, xv, cases)


def test_conv3d_filters_of_run_time_size_are_looped_over(rng):
    x = pt.tensor5("x", dtype="float64")
    w = pt.tensor5("w", dtype="float64")
    xv = rng.normal(size=(2, 2, 5, 4, 6))
    wv = rng.normal(size=(3, 2, 2, 3, 2))
    y = nnet.conv3d(x, w, border_mode="full", subsample=(1, 2, 1), filter_dilation=(2, 1, 1))
    r_shape = reference.conv(xv, wv, ((2, 2), (2, 2), (1, 1)), (1, 2, 1), (2, 1, 1)).shape
    r = rng.normal(size=r_shape)
    got, gw = seqgraph.function([x, w], [y, pytensor.grad(pt.sum(y * r), w)], backend="c")(xv, wv)
    args = (((2, 2), (2, 2), (1, 1)), (1, 2, 1), (2, 1, 1))
    np.testing.assert_allclose(got, reference.conv(xv, wv, *args), rtol=1e-10, atol=1e-12)
    _directional(lambda wa: np.sum(reference.conv(xv, wa, *args) * r), wv, gw, rng)


def test_conv3d_transposed_convolution_is_the_adjoint(rng):
    kwargs = dict(border_mode=(1, 0, 1), subsample=(2, 1, 2), filter_flip=True)
    xv = rng.normal(size=(2, 3, 6, 5, 7))
    wv = rng.normal(size=(4, 3, 2, 3, 3))
    forward = reference.conv(xv, wv, ((1, 1), (0, 0), (1, 1)), (2, 1, 2), (1, 1, 1))
    tv = rng.normal(size=forward.shape)
    t = pt.tensor5("t", dtype="float64")
    x = pt.tensor5("x", dtype="float64")
    outs = [
        abstract_conv.conv3d_grad_wrt_inputs(t, wv, (None, None, 6, 5, 7), **kwargs),
        abstract_conv.AbstractConv3d_gradInputs(kshp=wv.shape, **kwargs)(wv, t, (6, 5, 7)),
        abstract_conv.conv3d_grad_wrt_weights(x, t, (None, None, 2, 3, 3), **kwargs),
        abstract_conv.AbstractConv3d_gradWeights(**kwargs)(x, t, (2, 3, 3)),
        abstract_conv.AbstractConv3d(**kwargs)(x, wv),
    ]
    got = seqgraph.function([t, x], outs, backend="c")(tv, xv)
    for grad_x in got[:2]:
        assert grad_x.shape == xv.shape
        np.testing.assert_allclose(np.sum(grad_x * xv), np.sum(forward * tv), rtol=1e-10)
    for grad_w in got[2:4]:
        assert grad_w.shape == wv.shape
        np.testing.assert_allclose(np.sum(grad_w * wv), np.sum(forward * tv), rtol=1e-10)
    np.testing.assert_allclose(got[4], forward, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((pt.tensor4("x"), np.ones((1, 1, 2, 2, 2))), {}, "input must be 5-d"),
        ((pt.tensor5("x"), np.ones((1, 1, 2, 2))), {}, "filters must be 5-d"),
        ((pt.tensor5("x"), np.ones((1, 1, 2, 2, 2))), dict(border_mode=(1, 1)), "3 ints"),
        ((pt.tensor5("x"), np.ones((1, 1, 2, 2, 2))), dict(subsample=(1, 1)), "subsample"),
        ((pt.tensor5("x"), np.ones((1, 1, 2, 2, 2))), dict(filter_dilation=(1, 0, 1)), "dilation"),
        ((pt.tensor5("x"), np.ones((1, 1, 2, 2, 2))), dict(input_shape=(1, 1, 2, 2)), "5 entries"),
        ((pt.tensor5("x", shape=(1, 1, 3, 1, 3)), np.ones((1, 1, 2, 2, 2))), {}, "do not fit"),
    ],
)
def test_conv3d_bad_arguments_are_named(args, kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        nnet.conv3d(*args, **kwargs)


def test_separable_convolutions_are_depthwise_then_pointwise(rng):
    # Checked against Theano 1.0.5 too (these arguments, float64: equal to 4e-15).
    x, x5 = pt.tensor4("x", dtype="float64"), pt.tensor5("x5", dtype="float64")
    xv, dw, pw = (rng.normal(size=s) for s in [(2, 3, 7, 6), (6, 1, 3, 2), (4, 6, 1, 1)])
    xv5, dw5, pw5 = (
        rng.normal(size=s) for s in [(2, 2, 5, 6, 4), (4, 1, 2, 3, 2), (3, 4, 1, 1, 1)]
    )
    y = nnet.separable_conv2d(
        x, dw, pw, 3, border_mode="half", subsample=(2, 1), filter_dilation=(1, 2)
    )
    y5 = abstract_conv.separable_conv3d(
        x5, dw5, pw5, 2, border_mode=1, subsample=(1, 2, 1), filter_flip=False
    )
    got, got5 = seqgraph.function([x, x5], [y, y5], backend="c")(xv, xv5)
    depthwise = reference.conv(xv, dw, ((1, 1), (1, 1)), (2, 1), (1, 2), True, groups=3)
    np.testing.assert_allclose(
        got, reference.conv(depthwise, pw, ((0, 0),) * 2, (1, 1), (1, 1)), rtol=1e-10
    )
    depthwise5 = reference.conv(xv5, dw5, ((1, 1),) * 3, (1, 2, 1), (1, 1, 1), False, groups=2)
    expected5 = reference.conv(depthwise5, pw5, ((0, 0),) * 3, (1, 1, 1), (1, 1, 1), False)
    np.testing.assert_allclose(got5, expected5, rtol=1e-10)
    with pytest.raises(ValueError, match="num_channels must be"):
        nnet.separable_conv2d(x, dw, pw, 0)


def test_conv3d2d_is_conv3d_on_movies(rng):
    # Theano's layout: signals (batch, time, channels, rows, columns), filters
    # (filters, time, channels, rows, columns); flipped along all three axes.
    s = pt.tensor5("s", dtype="float64")
    sv = rng.normal(size=(2, 6, 3, 7, 5))
    cases = ["valid", "full", "half", ("full", "valid", "half")]
    outs, filter_values = [], []
    for mode in cases:
        fv = rng.normal(size=(4, 3, 3, 3, 2))
        filter_values.append(fv)
        outs.append(conv3d2d.conv3d(s, fv, sv.shape, fv.shape, border_mode=mode))
    got = seqgraph.function([s], outs, backend="c")(sv)
    for mode, fv, y in zip(cases, filter_values, got):
        per_axis = (mode,) * 3 if isinstance(mode, str) else mode
        size = fv.shape[1], fv.shape[3], fv.shape[4]
        pads = [
            {"valid": (0, 0), "full": (k - 1, k - 1), "half": (k // 2, k // 2)}[m]
            for m, k in zip(per_axis, size)
        ]
        moved = reference.conv(
            sv.transpose(0, 2, 1, 3, 4), fv.transpose(0, 2, 1, 3, 4), pads, (1, 1, 1), (1, 1, 1)
        )
        np.testing.assert_allclose(y, moved.transpose(0, 2, 1, 3, 4), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="'valid', 'full' or 'half'"):
        conv3d2d.conv3d(s, filter_values[0], border_mode="same")
    with pytest.raises(TypeError, match="signals must be 5-d"):
        conv3d2d.conv3d(pt.tensor4("m"), filter_values[0])


@pytest.mark.slow
def test_conv2d_and_pool_on_numba(numba_backend, rng):
    # About four minutes on 2 cores with an empty Numba cache.
    from seqgraph.theano.tensor.signal.pool import pool_2d

    x = pt.tensor4("x", dtype="float64")
    w = pt.tensor4("w", dtype="float64")
    y = nnet.conv2d(x, w, filter_shape=(4, 3, 3, 3), border_mode="half", subsample=(2, 1))
    z = pool_2d(y, ws=(3, 2), stride=(2, 1), pad=(1, 1), ignore_border=True, mode="average_exc_pad")
    xv, wv = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 3))
    expected = reference.pool(
        reference.conv2d(xv, wv, ((1, 1), (1, 1)), (2, 1)),
        (3, 2),
        (2, 1),
        (1, 1),
        True,
        "average_exc_pad",
    )
    r = rng.normal(size=expected.shape)
    outs = [z, *pytensor.grad(pt.sum(z * r), [x, w])]
    got = seqgraph.function([x, w], outs, backend=numba_backend)(xv, wv)
    want = seqgraph.function([x, w], outs, backend="c")(xv, wv)
    np.testing.assert_allclose(got[0], expected, rtol=1e-10)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
