"""``theano.tensor.nnet``: the activations, losses and convolutions the tutorials use.

``softmax`` works row by row over a matrix, and turns a vector into a
``(1, n)`` row, as Theano's did (PyTensor's ``softmax`` needs an ``axis``).
``conv2d`` is Theano 1.0's convolution over channels
(:mod:`.abstract_conv`); ``nnet.conv.conv2d`` is its first one.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.scalar import sigmoid as scalar_sigmoid  # noqa: F401
from pytensor.tensor import sigmoid, softplus  # noqa: F401
from pytensor.tensor import sigmoid as sigmoid_inplace  # noqa: F401 - in place is PyTensor's choice
from pytensor.tensor.extra_ops import Unique
from pytensor.tensor.special import LogSoftmax, Softmax  # noqa: F401
from pytensor.tensor.special import log_softmax as _log_softmax
from pytensor.tensor.special import softmax as _softmax

from seqgraph.theano._removed import missing
from seqgraph.theano.tensor.nnet import abstract_conv, bn, conv, conv3d2d, ctc, neighbours  # noqa: F401
from seqgraph.theano.tensor.nnet.abstract_conv import (  # noqa: F401
    conv2d_grad_wrt_inputs,
    conv2d_grad_wrt_weights,
    conv3d,
    separable_conv2d,
)
from seqgraph.theano.tensor.nnet.bn import batch_normalization  # noqa: F401
from seqgraph.theano.tensor.nnet.neighbours import images2neibs, neibs2images  # noqa: F401


def softmax(x):
    """Row-wise softmax; a vector becomes a (1, n) row, as in Theano."""
    x = pt.as_tensor_variable(x)
    if x.ndim == 1:
        x = x[None, :]
    return _softmax(x, axis=-1)


softmax_op = Softmax(axis=-1)
logsoftmax_op = LogSoftmax(axis=-1)


def softmax_with_bias(x, b):
    """Row-wise softmax of ``x + b`` (``b`` a vector added to each row)."""
    return softmax(pt.as_tensor_variable(x) + b)


def softmax_graph(c):
    """``exp(c) / sum(exp(c))`` along the last axis, written out (no max subtracted)."""
    e = pt.exp(c)
    return e / e.sum(axis=-1, keepdims=True)


def logsoftmax(x):
    """Row-wise log-softmax; a vector becomes a (1, n) row."""
    x = pt.as_tensor_variable(x)
    if x.ndim == 1:
        x = x[None, :]
    return _log_softmax(x, axis=-1)


def categorical_crossentropy(coding_dist, true_dist):
    """``-log p[label]`` per row for int labels, ``-sum(t log p)`` for one-hot rows."""
    coding_dist = pt.as_tensor_variable(coding_dist)
    true_dist = pt.as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim:
        return -(true_dist * pt.log(coding_dist)).sum(axis=-1)
    if true_dist.ndim == coding_dist.ndim - 1 and true_dist.dtype.startswith(("int", "uint")):
        if coding_dist.ndim != 2:
            raise ValueError("categorical_crossentropy with int labels needs a matrix of rows.")
        return -pt.log(coding_dist[pt.arange(coding_dist.shape[0]), true_dist])
    raise TypeError(
        "categorical_crossentropy: true_dist must be int labels (one per row) or one-hot rows "
        f"like coding_dist; got {true_dist.type} for {coding_dist.type}."
    )


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    """``-log coding_dist[i, true_one_of_n[i]]`` per row: int labels only."""
    true_one_of_n = pt.as_tensor_variable(true_one_of_n)
    if not true_one_of_n.dtype.startswith(("int", "uint")) or true_one_of_n.ndim != 1:
        raise TypeError(
            "crossentropy_categorical_1hot: true_one_of_n must be a vector of int labels; "
            f"got {true_one_of_n.type}."
        )
    return categorical_crossentropy(coding_dist, true_one_of_n)


def crossentropy_softmax_1hot_with_bias(x, b, y_idx, **kwargs):
    """``(nll, softmax)`` of the rows of ``x + b`` against int labels ``y_idx``.

    ``nll[i] = -log softmax(x + b)[i, y_idx[i]]``, from the log-softmax (stable).
    """
    return _xent_softmax(pt.as_tensor_variable(x) + b, y_idx)


def _xent_softmax(x, y_idx):
    """``(nll, softmax)`` of the rows of ``x`` against int labels ``y_idx``."""
    y_idx = pt.as_tensor_variable(y_idx)
    if x.ndim != 2:
        raise ValueError(f"crossentropy_softmax_1hot: x must be a matrix of rows; got {x.type}.")
    if y_idx.ndim != 1 or not y_idx.dtype.startswith(("int", "uint")):
        raise TypeError(f"crossentropy_softmax_1hot: y_idx must be int labels; got {y_idx.type}.")
    nll = -_log_softmax(x, axis=-1)[pt.arange(x.shape[0]), y_idx]
    return nll, _softmax(x, axis=-1)


def crossentropy_softmax_1hot(x, y_idx, **kwargs):
    """``(nll, softmax)`` of the rows of ``x`` against int labels ``y_idx``."""
    return _xent_softmax(pt.as_tensor_variable(x), y_idx)


def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx, **kwargs):
    """``(nll, softmax, argmax)``: :func:`crossentropy_softmax_1hot_with_bias` and each row's argmax."""
    nll, sm = crossentropy_softmax_1hot_with_bias(x, b, y_idx)
    return nll, sm, pt.argmax(pt.as_tensor_variable(x) + b, axis=-1)


def crossentropy_softmax_max_and_argmax_1hot_with_bias(x, b, y_idx, **kwargs):
    """``(nll, softmax, max probability, argmax)`` per row of ``x + b``."""
    nll, sm = crossentropy_softmax_1hot_with_bias(x, b, y_idx)
    return nll, sm, pt.max(sm, axis=-1), pt.argmax(sm, axis=-1)


def crossentropy_softmax_max_and_argmax_1hot(x, y_idx, **kwargs):
    """``(nll, softmax, max probability, argmax)`` per row of ``x``."""
    nll, sm = _xent_softmax(pt.as_tensor_variable(x), y_idx)
    return nll, sm, pt.max(sm, axis=-1), pt.argmax(sm, axis=-1)


def h_softmax(
    x, batch_size, n_outputs, n_classes, n_outputs_per_class, W1, b1, W2, b2, target=None
):  # noqa: N803
    """Two-level hierarchical softmax (Goodman, 2001).

    Output ``k`` belongs to class ``k // n_outputs_per_class``; its probability
    is the class's (a softmax of ``x W1 + b1``) times its own within the class
    (a softmax of ``x W2[c] + b2[c]``).

    Parameters
    ----------
    x : matrix
        ``(batch_size, features)``.
    batch_size, n_outputs, n_classes, n_outputs_per_class : int
        ``n_classes * n_outputs_per_class >= n_outputs``; outputs past
        ``n_outputs`` are dropped.
    W1, b1 : tensor
        ``(features, n_classes)`` and ``(n_classes,)``.
    W2, b2 : tensor
        ``(n_classes, features, n_outputs_per_class)`` and
        ``(n_classes, n_outputs_per_class)``.
    target : vector or (batch_size, 1) matrix of int, optional
        When given, only each row's target probability is computed
        (``(batch_size,)``); otherwise all of them (``(batch_size, n_outputs)``).
    """
    x = pt.as_tensor_variable(x)
    class_probs = softmax(pt.dot(x, W1) + b1)
    if target is None:
        scores = pt.tensordot(x, W2, axes=[[1], [1]]) + b2  # (batch, classes, per class)
        within = _softmax(scores, axis=-1)
        probs = (class_probs[:, :, None] * within).reshape((batch_size, -1))
        return probs[:, :n_outputs]
    target = pt.as_tensor_variable(target).flatten()
    classes = target // n_outputs_per_class
    inside = target % n_outputs_per_class
    weights = pt.as_tensor_variable(W2)[classes]  # (batch, features, per class)
    scores = (x[:, :, None] * weights).sum(axis=1) + pt.as_tensor_variable(b2)[classes]
    rows = pt.arange(batch_size)
    return class_probs[rows, classes] * _softmax(scores, axis=-1)[rows, inside]


def confusion_matrix(actual, pred):
    """``[matrix, labels]``: counts of (actual, predicted) label pairs, labels sorted.

    The number of labels is known only from the data, so this compiles on
    the C and Numba backends, not on JAX (whose programs have fixed shapes).
    """
    actual, pred = pt.as_tensor_variable(actual), pt.as_tensor_variable(pred)
    if actual.ndim != 1 or pred.ndim != 1:
        raise ValueError("confusion_matrix: actual and pred must be vectors of labels.")
    order = Unique(False, False, False)(pt.concatenate([actual, pred]))
    one_hot_actual = pt.eq(actual[:, None], order).astype("int64")
    one_hot_pred = pt.eq(pred[:, None], order).astype("int64")
    return [pt.dot(one_hot_actual.T, one_hot_pred), order]


def prepend_scalar_to_each_row(val, x):
    """``x`` with a first column of ``val``."""
    x = pt.as_tensor_variable(x)
    column = pt.alloc(pt.cast(val, x.dtype), x.shape[0], 1)
    return pt.concatenate([column, x], axis=1)


def prepend_0_to_each_row(x):
    """``x`` with a first column of zeros."""
    return prepend_scalar_to_each_row(0.0, x)


def prepend_1_to_each_row(x):
    """``x`` with a first column of ones."""
    return prepend_scalar_to_each_row(1.0, x)


def binary_crossentropy(output, target):
    """``-(t log o + (1 - t) log(1 - o))``, elementwise."""
    return -(target * pt.log(output) + (1.0 - target) * pt.log(1.0 - output))


def sigmoid_binary_crossentropy(output, target):
    """Binary cross-entropy computed from the logits, stably."""
    return softplus(output) - target * output


def hard_sigmoid(x):
    """``clip(0.2 x + 0.5, 0, 1)``, Theano's piecewise-linear sigmoid."""
    return pt.clip(0.2 * x + 0.5, 0.0, 1.0)


def ultra_fast_sigmoid(x):
    """Theano's piecewise approximation of the sigmoid (absolute error about 0.03)."""
    x = pt.as_tensor_variable(x)
    a = 0.5 * pt.abs(x)
    z = pt.switch(
        a < 1.7,
        1.5 * a / (1.0 + a),
        pt.switch(a < 3.0, 0.935409070603099 + 0.0458812946797165 * (a - 1.7), 0.99505475368673),
    )
    return pt.cast(0.5 * pt.sign(x) * z + 0.5, x.dtype)


def relu(x, alpha=0):
    """``max(x, 0)``, or ``x`` scaled by ``alpha`` where negative (leaky)."""
    if alpha == 0:
        return pt.maximum(x, 0)
    x = pt.as_tensor_variable(x)
    return pt.switch(x > 0, x, np.asarray(alpha, dtype=x.dtype) * x)


def elu(x, alpha=1):
    """``x`` where positive, ``alpha (exp(x) - 1)`` elsewhere."""
    x = pt.as_tensor_variable(x)
    return pt.switch(x > 0, x, np.asarray(alpha, dtype=x.dtype) * pt.expm1(x))


# The constants of Klambauer et al. (2017), as Theano's selu used them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled exponential linear unit: ``scale * elu(x, alpha)``."""
    x = pt.as_tensor_variable(x)
    return np.asarray(_SELU_SCALE, dtype=x.dtype) * elu(x, _SELU_ALPHA)


def softsign(x):
    """``x / (1 + |x|)``, Theano's ``softsign``."""
    x = pt.as_tensor_variable(x)
    return x / (1 + abs(x))


def conv2d(
    input,  # noqa: A002 - Theano's name
    filters,
    input_shape=None,
    filter_shape=None,
    border_mode="valid",
    subsample=(1, 1),
    filter_flip=True,
    image_shape=None,
    filter_dilation=(1, 1),
    num_groups=1,
    unshared=False,
    **kwargs,
):
    """Theano 1.0's ``conv2d``: :func:`.abstract_conv.conv2d`.

    ``image_shape`` is the old name of ``input_shape``; other keyword
    arguments of Theano's old convolution (``imshp_logical`` ...) are ignored.
    """
    if image_shape is not None:
        if input_shape is not None:
            raise ValueError("conv2d: give input_shape or its old name image_shape, not both.")
        input_shape = image_shape
    return abstract_conv.conv2d(
        input,
        filters,
        input_shape,
        filter_shape,
        border_mode,
        subsample,
        filter_flip,
        filter_dilation,
        num_groups,
        unshared,
    )


def conv2d_transpose(
    input,  # noqa: A002 - Theano's name
    filters,
    output_shape,
    filter_shape=None,
    border_mode="valid",
    input_dilation=(1, 1),
    filter_flip=True,
    filter_dilation=(1, 1),
    num_groups=1,
    unshared=False,
):
    """The transposed convolution ("deconvolution") of ``input`` to ``output_shape``.

    It is the gradient of the :func:`conv2d` that would map ``output_shape``
    to ``input``'s shape with strides ``input_dilation``
    (:func:`.abstract_conv.conv2d_grad_wrt_inputs`).
    """
    return conv2d_grad_wrt_inputs(
        input,
        filters,
        output_shape,
        filter_shape,
        border_mode,
        input_dilation,
        filter_flip,
        filter_dilation,
        num_groups,
        unshared,
    )


def __getattr__(name):
    raise missing("theano.tensor.nnet", name)
