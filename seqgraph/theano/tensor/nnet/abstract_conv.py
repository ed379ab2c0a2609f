"""``theano.tensor.nnet.abstract_conv``: 2-d and 3-d convolution over channels, written out.

Theano's ``conv2d`` took a batch of multi-channel images ``(batch, channels,
rows, columns)`` and a bank of filters ``(filters, channels, rows, columns)``,
its ``conv3d`` the same with a depth axis before the rows (videos, volumes);
PyTensor has no such op (its ``signal.convolve2d`` convolves one 2-d array with
one 2-d filter).  Here the convolution is written as im2col: one strided slice
of the (padded) input per filter position, stacked into a matrix of patches,
and one matrix product with the filters.  It compiles on the C, Numba and JAX
backends, and its gradients (a transposed convolution for the input, a
correlation for the filters) are PyTensor's gradients of the slices and the
product; :func:`conv2d_grad_wrt_inputs` and :func:`conv2d_grad_wrt_weights`
are built from them.

Theano's arguments are kept: ``border_mode`` ('valid', 'full', 'half', an int,
two ints or two pairs), ``subsample`` (strides), ``filter_flip`` (True:
convolution, the filters flipped; False: correlation), ``filter_dilation``,
``num_groups`` and the ``input_shape`` / ``filter_shape`` hints, which are
checked against the values at run time (``conv3d``: three of each, one per
spatial axis).  The filters' rows and columns are
best known when the graph is built: from ``filter_shape``, the filters' static
shape, or the value of the shared variable they come from.  Otherwise (filters
given as a plain input, no hint) a scan loops over the filter taps, which is
slower and does not compile on the JAX backend (its slices need static sizes).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.traversal import graph_inputs

import seqgraph
from seqgraph.theano._removed import missing
from seqgraph.theano.tensor._args import int_tuple


def _pads(border_mode, kernel, fname):
    """``(before, after)`` padding per spatial axis for ``border_mode`` and the
    dilated kernel size ``kernel`` (one entry per spatial axis)."""
    nd = len(kernel)
    accepted = f"'valid', 'full', 'half', an int, {nd} ints or {nd} (before, after) pairs"
    if isinstance(border_mode, str):
        if border_mode == "valid":
            return ((0, 0),) * nd
        if border_mode == "full":
            return tuple((k - 1, k - 1) for k in kernel)
        if border_mode == "half":
            return tuple((k // 2, k // 2) for k in kernel)
        raise ValueError(f"{fname}: border_mode must be {accepted}; got {border_mode!r}.")
    if isinstance(border_mode, (int, np.integer)) and not isinstance(border_mode, bool):
        pads = ((int(border_mode),) * 2,) * nd
    else:
        try:
            items = tuple(border_mode)
        except TypeError:
            items = ()
        if len(items) != nd:
            raise ValueError(f"{fname}: border_mode must be {accepted}; got {border_mode!r}.")
        pads = tuple(
            int_tuple(item, 2, "border_mode", fname)
            if not isinstance(item, (int, np.integer))
            else (int(item),) * 2
            for item in items
        )
    if any(p < 0 for pair in pads for p in pair):
        raise ValueError(f"{fname}: border_mode padding must not be negative; got {border_mode!r}.")
    return pads


def get_conv_shape_1axis(image_shape, kernel_shape, border_mode, subsample, dilation=1):
    """Output length along one axis, as Theano's function of the same name.

    ``image_shape`` and ``kernel_shape`` may be ints, symbolic scalars or None
    (then the result is None); ``border_mode`` is 'valid', 'full', 'half', an
    int or a ``(before, after)`` pair.
    """
    if image_shape is None or kernel_shape is None:
        return None
    kernel = (kernel_shape - 1) * dilation + 1
    if border_mode == "valid":
        before = after = 0
    elif border_mode == "full":
        before = after = kernel - 1
    elif border_mode == "half":
        before = after = kernel // 2
    elif isinstance(border_mode, tuple):
        before, after = border_mode
    else:
        before = after = border_mode
    return (image_shape + before + after - kernel) // subsample + 1


def get_conv_output_shape(image_shape, kernel_shape, border_mode, subsample, filter_dilation=None):
    """``(batch, filters, rows, columns)`` of a convolution, as Theano's function.

    Entries of the shapes may be ints, symbolic scalars or None; so are the
    results.
    """
    nd = len(image_shape) - 2
    dilation = (1,) * nd if filter_dilation is None else tuple(filter_dilation)
    modes = border_mode if isinstance(border_mode, tuple) else (border_mode,) * nd
    kernel = kernel_shape[-nd:]
    out = tuple(
        get_conv_shape_1axis(image_shape[2 + k], kernel[k], modes[k], subsample[k], dilation[k])
        for k in range(nd)
    )
    return (image_shape[0], kernel_shape[0]) + out


def _hint(shape, name, fname, size=4):
    """A shape hint of ``size`` entries, each an int or None (symbolic entries are None)."""
    if shape is None:
        return None
    try:
        items = list(shape)
    except TypeError:
        raise TypeError(f"{fname}: {name} must have {size} entries; got {shape!r}.") from None
    if len(items) != size:
        raise ValueError(f"{fname}: {name} must have {size} entries; got {shape!r}.")
    out = []
    for item in items:
        if isinstance(item, Constant):
            item = item.data
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if item < 0:
                raise ValueError(f"{fname}: {name} has a negative size; got {shape!r}.")
            out.append(int(item))
        else:
            out.append(None)
    return tuple(out)


def _apply_hint(var, hint):
    if hint is None or all(h is None for h in hint):
        return var
    return pt.specify_shape(var, hint)


def _value_shape(var):
    """The shape of ``var`` when it follows from shared variables and constants
    alone (evaluated without optimising), else None."""
    if isinstance(var, SharedVariable):
        return var.get_value(borrow=True).shape
    if isinstance(var, Constant):
        return var.data.shape
    roots = [v for v in graph_inputs([var]) if not isinstance(v, (SharedVariable, Constant))]
    if roots:
        return None
    fn = pytensor.function([], var.shape, mode=Mode(linker="py", optimizer=None))
    return tuple(int(s) for s in fn())


_AXES = {2: "rows, columns", 3: "depth, rows, columns"}


def _filters(filters, filter_shape, fname, nd=2, unshared=False):
    """The filters, checked, with their sizes along the ``nd`` spatial axes:
    ints where they can be known when the graph is built, else symbolic.

    Unshared (locally connected) filters are ``(filters, output rows, output
    columns, channels, rows, columns)``: a filter bank for each output position.
    """
    filters = pt.as_tensor_variable(filters)
    lead = 4 if unshared else 2
    if filters.ndim != lead + nd:
        layout = (
            f"filters, output {_AXES[nd]}, channels, {_AXES[nd]}; for unshared convolution"
            if unshared
            else f"filters, channels, {_AXES[nd]}"
        )
        raise TypeError(f"{fname}: filters must be {lead + nd}-d ({layout}); got {filters.type}.")
    hint = _hint(filter_shape, "filter_shape", fname, lead + nd)
    filters = _apply_hint(filters, hint)
    sizes = filters.type.shape[lead:]
    if any(k is None for k in sizes):
        known = _value_shape(filters)
        if known is None:
            if unshared:
                raise ValueError(
                    f"{fname}: unshared convolution needs the filters' {_AXES[nd]} known when "
                    "the graph is built (filter_shape, a static shape or a shared variable)."
                )
            # Sizes known only at run time: the taps are looped over by a scan.
            return filters, tuple(filters.shape[lead + k] for k in range(nd))
        # Checked at run time too: a later set_value of another shape fails there.
        filters = pt.specify_shape(filters, (None,) * lead + tuple(known[lead:]))
        sizes = known[lead:]
    return filters, tuple(int(k) for k in sizes)


def _size(x, axis):
    size = x.type.shape[axis]
    return int(size) if size is not None else x.shape[axis]


def _conv(x, w, kernel, pads, subsample, dilation, flip, groups, fname, unshared=False):
    """Correlate (or, ``flip``, convolve) ``x`` with ``w``: the im2col form.

    ``kernel``, ``pads``, ``subsample`` and ``dilation`` have one entry per
    spatial axis (two for images, three for volumes).  ``unshared``: ``w`` has
    a filter bank per output position (:func:`_filters`).
    """
    nd = len(kernel)
    sizes = [_size(x, 2 + k) for k in range(nd)]
    batch, channels = x.shape[0], x.shape[1]
    dtype = pytensor.scalar.upcast(x.dtype, w.dtype)
    if any(not isinstance(p, int) or p for pair in pads for p in pair):
        padded = pt.zeros(
            (batch, channels, *(n + a + b for n, (a, b) in zip(sizes, pads))), dtype=x.dtype
        )
        inner = tuple(slice(a, a + n) for n, (a, _) in zip(sizes, pads))
        x = pt.set_subtensor(padded[(slice(None), slice(None), *inner)], x)
    span = [(kernel[k] - 1) * dilation[k] + 1 for k in range(nd)]
    out_sizes = [
        (sizes[k] + pads[k][0] + pads[k][1] - span[k]) // subsample[k] + 1 for k in range(nd)
    ]
    if any(isinstance(n, int) and n < 1 for n in out_sizes):
        padded_sizes = "x".join(str(n + a + b) for n, (a, b) in zip(sizes, pads))
        raise ValueError(
            f"{fname}: the filters ({'x'.join(map(str, kernel))}, dilation {dilation}) do not "
            f"fit the padded input ({padded_sizes})."
        )
    if unshared and all(isinstance(n, int) for n in out_sizes):
        positions_w = tuple(w.type.shape[1 : 1 + nd])
        if None not in positions_w and positions_w != tuple(out_sizes):
            raise ValueError(
                f"{fname}: unshared filters for {'x'.join(map(str, positions_w))} output "
                f"positions, but the output has {'x'.join(map(str, out_sizes))}."
            )
    if flip:
        w = w[(slice(None),) * (w.ndim - nd) + (slice(None, None, -1),) * nd]
    if not all(isinstance(k, int) for k in kernel):
        out = _conv_scan(x, w, kernel, out_sizes, subsample, dilation, groups)
        return pt.cast(out, dtype) if out.dtype != dtype else out
    # The patch matrix, (channels * filter taps, batch * output positions):
    # one strided slice per tap, channels first, so that each tap's slice is
    # copied in blocks of whole images (a layout with the taps innermost made
    # the copy element by element, and several times slower on the C backend),
    # and the rows are in the order of w.reshape((filters, -1)).
    taps = [
        _tap_slice(x, tap, out_sizes, subsample, dilation).dimshuffle(1, 0, *range(2, nd + 2))
        for tap in itertools.product(*(range(k) for k in kernel))
    ]
    positions = math.prod(kernel)
    patches = pt.stack(taps, axis=1).reshape((channels * positions, -1))
    n_filters = w.shape[0]
    per_group = channels // groups
    outs = []
    for g in range(groups):
        rows_g = (
            patches
            if groups == 1
            else patches[g * per_group * positions : (g + 1) * per_group * positions]
        )
        wg = w if groups == 1 else w[g * (n_filters // groups) : (g + 1) * (n_filters // groups)]
        if unshared:
            outs.append(_unshared_product(wg, rows_g, batch, per_group * positions))
        else:
            outs.append(pt.dot(wg.reshape((wg.shape[0], per_group * positions)), rows_g))
    out = outs[0] if groups == 1 else pt.concatenate(outs, axis=0)
    # (filters, batch, *positions), seen as (batch, filters, *positions).
    out = out.reshape((n_filters, batch, *out_sizes)).dimshuffle(1, 0, *range(2, nd + 2))
    return pt.cast(out, dtype) if out.dtype != dtype else out


def _unshared_product(w, patches, batch, k):
    """Each output position's filters times its patches.

    ``w`` is ``(filters, *positions, channels, *taps)``, ``patches`` ``(k,
    batch * n_positions)`` with ``k`` = channels times taps; the result is
    ``(filters, batch * n_positions)``, as the shared product's.
    """
    n_filters = w.shape[0]
    per_position = w.reshape((n_filters, -1, k)).dimshuffle(1, 0, 2)  # (n, filters, k)
    columns = patches.reshape((k, batch, -1)).dimshuffle(2, 0, 1)  # (n, k, batch)
    out = pt.matmul(per_position, columns)  # (n, filters, batch)
    return out.dimshuffle(1, 2, 0).reshape((n_filters, -1))


def _tap_slice(x, tap, out_sizes, subsample, dilation):
    """The strided slice of ``x`` that filter tap ``tap`` (an index per spatial axis) meets."""
    spatial = tuple(
        slice(t * d, t * d + (n - 1) * s + 1, s)
        for t, n, s, d in zip(tap, out_sizes, subsample, dilation)
    )
    return x[(slice(None), slice(None), *spatial)]


def _conv_scan(x, w, kernel, out_sizes, subsample, dilation, groups):
    """The convolution for filters whose size is known only at run time: a
    scan over the filter taps, each adding one slice of ``x`` times one tap
    of ``w``.  Slower than the patch matrix; used only when it cannot be built."""
    nd = len(kernel)
    n_filters, per_group = w.shape[0], x.shape[1] // groups
    f_group = n_filters // groups

    def step(flat, acc, x, w, *sizes):
        kernel_sizes, outs = sizes[:nd], sizes[nd:]
        # The tap's index along each axis, the last axis fastest.
        tap, rest = [], flat
        for k in reversed(range(nd)):
            tap.insert(0, rest % kernel_sizes[k])
            rest = rest // kernel_sizes[k]
        part = _tap_slice(x, tap, outs, subsample, dilation)
        weights = w[(slice(None), slice(None), *tap)]
        adds = [
            pt.tensordot(
                weights[g * f_group : (g + 1) * f_group],
                part[:, g * per_group : (g + 1) * per_group],
                axes=[[1], [1]],
            )
            for g in range(groups)
        ]
        return acc + (adds[0] if groups == 1 else pt.concatenate(adds, axis=0))

    dtype = pytensor.scalar.upcast(x.dtype, w.dtype)
    start = pt.zeros((n_filters, x.shape[0], *out_sizes), dtype=dtype)
    n_taps = kernel[0]
    for k in kernel[1:]:
        n_taps = n_taps * k
    [acc], _ = seqgraph.scan(
        step,
        sequences=pt.arange(n_taps),
        outputs_info=start,
        non_sequences=[x, w, *kernel, *out_sizes],
        strict=True,
    )
    return acc[-1].dimshuffle(1, 0, *range(2, nd + 2))


def _positive_tuple(value, nd, name, fname):
    items = int_tuple(value, nd, name, fname)
    if any(v < 1 for v in items):
        raise ValueError(f"{fname}: {name} must be positive; got {value!r}.")
    return items


def _prepare(
    input,
    filters,
    input_shape,
    filter_shape,
    border_mode,
    subsample,  # noqa: A002
    filter_dilation,
    num_groups,
    unshared,
    fname,
    nd=2,
):
    if unshared and nd != 2:
        raise ValueError(f"{fname}: unshared convolution is 2-d only.")
    x = pt.as_tensor_variable(input)
    if x.ndim != nd + 2:
        raise TypeError(
            f"{fname}: input must be {nd + 2}-d (batch, channels, {_AXES[nd]}); got {x.type}."
        )
    x = _apply_hint(x, _hint(input_shape, "input_shape", fname, nd + 2))
    w, kernel = _filters(filters, filter_shape, fname, nd, unshared)
    subsample = _positive_tuple(subsample, nd, "subsample", fname)
    dilation = _positive_tuple(filter_dilation, nd, "filter_dilation", fname)
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
        raise ValueError(f"{fname}: num_groups must be a positive int; got {num_groups!r}.")
    groups = int(num_groups)
    channels, n_filters = x.type.shape[1], w.type.shape[0]
    w_channels = w.type.shape[3 if unshared else 1]
    if channels is not None and w_channels is not None and channels != w_channels * groups:
        raise ValueError(
            f"{fname}: the input has {channels} channels but the filters take {w_channels} "
            f"per group, {groups} group(s)."
        )
    if n_filters is not None and n_filters % groups:
        raise ValueError(f"{fname}: {n_filters} filters do not split into {groups} groups.")
    span = tuple((kernel[k] - 1) * dilation[k] + 1 for k in range(nd))
    pads = _pads(border_mode, span, fname)
    return x, w, kernel, pads, subsample, dilation, groups


def conv2d(
    input,  # noqa: A002 - Theano's name
    filters,
    input_shape=None,
    filter_shape=None,
    border_mode="valid",
    subsample=(1, 1),
    filter_flip=True,
    filter_dilation=(1, 1),
    num_groups=1,
    unshared=False,
):
    """Convolve a batch of multi-channel images with a bank of filters.

    Parameters
    ----------
    input : tensor-like
        ``(batch, channels, rows, columns)``.
    filters : tensor-like
        ``(filters, channels // num_groups, rows, columns)`` (unshared: see
        ``unshared``).
    input_shape, filter_shape : tuple, optional
        The shapes, with None where not known; checked at run time.
    border_mode : str, int or tuple
        'valid' (no padding), 'full' (the filter's size less one on each
        side), 'half' (half the filter's size), an int, two ints (rows,
        columns) or two ``(before, after)`` pairs.
    subsample : tuple of 2 ints
        Strides.
    filter_flip : bool
        Flip the filters (a convolution, Theano's default) or not (a
        correlation, as most other libraries compute).
    filter_dilation : tuple of 2 ints
        Spacing between the filter's taps.
    num_groups : int
        Split channels and filters into this many groups.
    unshared : bool
        Locally connected filters: ``filters`` is then ``(filters, out_rows,
        out_columns, channels // num_groups, rows, columns)``, a filter bank
        for each output position.

    Returns
    -------
    TensorVariable
        ``(batch, filters, out_rows, out_columns)``.

    Examples
    --------
    >>> import numpy as np
    >>> import pytensor.tensor as pt
    >>> import seqgraph
    >>> from seqgraph.theano.tensor.nnet.abstract_conv import conv2d
    >>> x = pt.tensor4("x", dtype="float64")
    >>> y = conv2d(x, np.ones((1, 1, 2, 2)))
    >>> seqgraph.function([x], y, backend="c")(np.arange(9.0).reshape(1, 1, 3, 3))
    array([[[[ 8., 12.],
             [20., 24.]]]])
    """
    x, w, kernel, pads, subsample, dilation, groups = _prepare(
        input,
        filters,
        input_shape,
        filter_shape,
        border_mode,
        subsample,
        filter_dilation,
        num_groups,
        unshared,
        "conv2d",
    )
    return _conv(
        x, w, kernel, pads, subsample, dilation, filter_flip, groups, "conv2d", unshared=unshared
    )


def _shape_entries(shape, name, fname, size=4):
    """``size`` entries of a shape that may mix ints, None and symbolic scalars."""
    if isinstance(shape, Variable) and shape.ndim == 1:
        return [shape[k] for k in range(size)]
    items = list(shape)
    if len(items) != size:
        raise ValueError(f"{fname}: {name} must have {size} entries; got {shape!r}.")
    return items


def _grad_wrt_inputs(conv, nd, fname, output_grad, filters, input_shape, filter_shape, kwargs):
    """The gradient of ``conv`` (``nd`` spatial axes) with respect to its input."""
    output_grad = pt.as_tensor_variable(output_grad)
    if output_grad.ndim != nd + 2:
        raise TypeError(f"{fname}: output_grad must be {nd + 2}-d; got {output_grad.type}.")
    shape = _shape_entries(input_shape, "input_shape", fname, nd + 2)
    if any(s is None for s in shape[2:]):
        raise ValueError(f"{fname}: input_shape must give the input's {_AXES[nd]}.")
    w = pt.as_tensor_variable(filters)
    batch = output_grad.shape[0] if shape[0] is None else shape[0]
    channel_axis = 3 if kwargs.get("unshared") else 1
    channels = w.shape[channel_axis] * kwargs["num_groups"] if shape[1] is None else shape[1]
    # The forward convolution of a stand-in input; only its shape is used.
    stand_in = pt.zeros((batch, channels, *shape[2:]), dtype=output_grad.dtype)
    hint = [s if isinstance(s, (int, np.integer)) else None for s in shape]
    out = conv(stand_in, w, hint, filter_shape, **kwargs)
    return pytensor.grad(None, wrt=stand_in, known_grads={out: output_grad})


def _grad_wrt_weights(conv, nd, fname, input, output_grad, filter_shape, input_shape, kwargs):  # noqa: A002
    """The gradient of ``conv`` (``nd`` spatial axes) with respect to its filters."""
    output_grad = pt.as_tensor_variable(output_grad)
    x = pt.as_tensor_variable(input)
    lead = 4 if kwargs.get("unshared") else 2
    shape = _shape_entries(filter_shape, "filter_shape", fname, lead + nd)
    if not all(isinstance(s, (int, np.integer)) for s in shape[lead:]):
        raise ValueError(f"{fname}: filter_shape must give the filters' {_AXES[nd]} as ints.")
    n_filters = output_grad.shape[1] if shape[0] is None else shape[0]
    channels = x.shape[1] // kwargs["num_groups"] if shape[lead - 1] is None else shape[lead - 1]
    # Unshared: the output positions, from the output gradient where not given.
    positions = [
        output_grad.shape[2 + k] if shape[1 + k] is None else shape[1 + k] for k in range(lead - 2)
    ]
    stand_in = pt.zeros(
        (n_filters, *positions, channels, *(int(s) for s in shape[lead:])),
        dtype=output_grad.dtype,
    )
    out = conv(x, stand_in, input_shape, None, **kwargs)
    return pytensor.grad(None, wrt=stand_in, known_grads={out: output_grad})


def conv2d_grad_wrt_inputs(
    output_grad,
    filters,
    input_shape,
    filter_shape=None,
    border_mode="valid",
    subsample=(1, 1),
    filter_flip=True,
    filter_dilation=(1, 1),
    num_groups=1,
    unshared=False,
):
    """The gradient of :func:`conv2d` with respect to its input: a transposed convolution.

    ``input_shape`` gives the input's ``(batch, channels, rows, columns)``;
    rows and columns are needed (ints or symbolic scalars), batch and
    channels may be None.  The other arguments describe the forward
    convolution, as in :func:`conv2d`.
    """
    kwargs = dict(
        border_mode=border_mode,
        subsample=subsample,
        filter_flip=filter_flip,
        filter_dilation=filter_dilation,
        num_groups=num_groups,
        unshared=unshared,
    )
    return _grad_wrt_inputs(
        conv2d, 2, "conv2d_grad_wrt_inputs", output_grad, filters, input_shape, filter_shape, kwargs
    )


def conv2d_grad_wrt_weights(
    input,  # noqa: A002 - Theano's name
    output_grad,
    filter_shape,
    input_shape=None,
    border_mode="valid",
    subsample=(1, 1),
    filter_flip=True,
    filter_dilation=(1, 1),
    num_groups=1,
    unshared=False,
):
    """The gradient of :func:`conv2d` with respect to its filters.

    ``filter_shape`` gives ``(filters, channels, rows, columns)``; rows and
    columns must be ints, filters and channels may be None.
    """
    kwargs = dict(
        border_mode=border_mode,
        subsample=subsample,
        filter_flip=filter_flip,
        filter_dilation=filter_dilation,
        num_groups=num_groups,
        unshared=unshared,
    )
    return _grad_wrt_weights(
        conv2d, 2, "conv2d_grad_wrt_weights", input, output_grad, filter_shape, input_shape, kwargs
    )


def conv3d(
    input,  # noqa: A002 - Theano's name
    filters,
    input_shape=None,
    filter_shape=None,
    border_mode="valid",
    subsample=(1, 1, 1),
    filter_flip=True,
    filter_dilation=(1, 1, 1),
    num_groups=1,
):
    """Convolve a batch of multi-channel volumes (or videos) with a bank of 3-d filters.

    Parameters
    ----------
    input : tensor-like
        ``(batch, channels, depth, rows, columns)``.
    filters : tensor-like
        ``(filters, channels // num_groups, depth, rows, columns)``.
    input_shape, filter_shape : tuple, optional
        The shapes (5 entries), with None where not known; checked at run time.
    border_mode : str, int or tuple
        'valid', 'full', 'half', an int, three ints (depth, rows, columns) or
        three ``(before, after)`` pairs.
    subsample : tuple of 3 ints
        Strides.
    filter_flip : bool
        Flip the filters along all three axes (a convolution, Theano's
        default) or not (a correlation).
    filter_dilation : tuple of 3 ints
        Spacing between the filter's taps.
    num_groups : int
        Split channels and filters into this many groups.

    Returns
    -------
    TensorVariable
        ``(batch, filters, out_depth, out_rows, out_columns)``.

    Examples
    --------
    >>> import numpy as np
    >>> import pytensor.tensor as pt
    >>> import seqgraph
    >>> from seqgraph.theano.tensor.nnet.abstract_conv import conv3d
    >>> x = pt.tensor5("x", dtype="float64")
    >>> y = conv3d(x, np.ones((1, 1, 2, 2, 2)))
    >>> seqgraph.function([x], y, backend="c")(np.arange(27.0).reshape(1, 1, 3, 3, 3))
    array([[[[[ 52.,  60.],
              [ 76.,  84.]],
    <BLANKLINE>
             [[124., 132.],
              [148., 156.]]]]])
    """
    x, w, kernel, pads, subsample, dilation, groups = _prepare(
        input,
        filters,
        input_shape,
        filter_shape,
        border_mode,
        subsample,
        filter_dilation,
        num_groups,
        False,
        "conv3d",
        nd=3,
    )
    return _conv(x, w, kernel, pads, subsample, dilation, filter_flip, groups, "conv3d")


def conv3d_grad_wrt_inputs(
    output_grad,
    filters,
    input_shape,
    filter_shape=None,
    border_mode="valid",
    subsample=(1, 1, 1),
    filter_flip=True,
    filter_dilation=(1, 1, 1),
    num_groups=1,
):
    """The gradient of :func:`conv3d` with respect to its input: a transposed convolution.

    ``input_shape`` gives the input's ``(batch, channels, depth, rows,
    columns)``; the last three are needed (ints or symbolic scalars), batch
    and channels may be None.  The other arguments describe the forward
    convolution, as in :func:`conv3d`.
    """
    kwargs = dict(
        border_mode=border_mode,
        subsample=subsample,
        filter_flip=filter_flip,
        filter_dilation=filter_dilation,
        num_groups=num_groups,
    )
    return _grad_wrt_inputs(
        conv3d, 3, "conv3d_grad_wrt_inputs", output_grad, filters, input_shape, filter_shape, kwargs
    )


def conv3d_grad_wrt_weights(
    input,  # noqa: A002 - Theano's name
    output_grad,
    filter_shape,
    input_shape=None,
    border_mode="valid",
    subsample=(1, 1, 1),
    filter_flip=True,
    filter_dilation=(1, 1, 1),
    num_groups=1,
):
    """The gradient of :func:`conv3d` with respect to its filters.

    ``filter_shape`` gives ``(filters, channels, depth, rows, columns)``; the
    last three must be ints, filters and channels may be None.
    """
    kwargs = dict(
        border_mode=border_mode,
        subsample=subsample,
        filter_flip=filter_flip,
        filter_dilation=filter_dilation,
        num_groups=num_groups,
    )
    return _grad_wrt_weights(
        conv3d, 3, "conv3d_grad_wrt_weights", input, output_grad, filter_shape, input_shape, kwargs
    )


def _separable(
    conv, nd, fname, input, depthwise_filters, pointwise_filters, num_channels, shapes, kwargs
):  # noqa: A002
    """A depthwise convolution (one group per input channel), then a pointwise (1x1) one."""
    input_shape, depthwise_filter_shape, pointwise_filter_shape = shapes
    if not isinstance(num_channels, (int, np.integer)) or num_channels < 1:
        raise ValueError(
            f"{fname}: num_channels must be the input's number of channels, a positive int; "
            f"got {num_channels!r}."
        )
    depthwise = conv(
        input,
        depthwise_filters,
        input_shape,
        depthwise_filter_shape,
        num_groups=int(num_channels),
        **kwargs,
    )
    return conv(
        depthwise,
        pointwise_filters,
        None,
        pointwise_filter_shape,
        border_mode="valid",
        subsample=(1,) * nd,
        filter_flip=kwargs["filter_flip"],
        filter_dilation=(1,) * nd,
    )


def separable_conv2d(
    input,  # noqa: A002 - Theano's name
    depthwise_filters,
    pointwise_filters,
    num_channels,
    input_shape=None,
    depthwise_filter_shape=None,
    pointwise_filter_shape=None,
    border_mode="valid",
    subsample=(1, 1),
    filter_flip=True,
    filter_dilation=(1, 1),
):
    """A depthwise convolution of each input channel, then a pointwise one mixing them.

    Parameters
    ----------
    input : tensor-like
        ``(batch, num_channels, rows, columns)``.
    depthwise_filters : tensor-like
        ``(num_channels * multiplier, 1, rows, columns)``: ``multiplier``
        filters for each input channel.
    pointwise_filters : tensor-like
        ``(filters, num_channels * multiplier, 1, 1)``.
    num_channels : int
        The input's channels.
    input_shape, depthwise_filter_shape, pointwise_filter_shape : tuple, optional
        Shape hints, checked at run time.
    border_mode, subsample, filter_flip, filter_dilation
        As :func:`conv2d`; the padding, strides and dilation apply to the
        depthwise convolution.

    Returns
    -------
    TensorVariable
        ``(batch, filters, out_rows, out_columns)``.
    """
    kwargs = dict(
        border_mode=border_mode,
        subsample=subsample,
        filter_flip=filter_flip,
        filter_dilation=filter_dilation,
    )
    shapes = (input_shape, depthwise_filter_shape, pointwise_filter_shape)
    return _separable(
        conv2d,
        2,
        "separable_conv2d",
        input,
        depthwise_filters,
        pointwise_filters,
        num_channels,
        shapes,
        kwargs,
    )


def separable_conv3d(
    input,  # noqa: A002 - Theano's name
    depthwise_filters,
    pointwise_filters,
    num_channels,
    input_shape=None,
    depthwise_filter_shape=None,
    pointwise_filter_shape=None,
    border_mode="valid",
    subsample=(1, 1, 1),
    filter_flip=True,
    filter_dilation=(1, 1, 1),
):
    """:func:`separable_conv2d` for volumes: filters with a depth axis, as :func:`conv3d`."""
    kwargs = dict(
        border_mode=border_mode,
        subsample=subsample,
        filter_flip=filter_flip,
        filter_dilation=filter_dilation,
    )
    shapes = (input_shape, depthwise_filter_shape, pointwise_filter_shape)
    return _separable(
        conv3d,
        3,
        "separable_conv3d",
        input,
        depthwise_filters,
        pointwise_filters,
        num_channels,
        shapes,
        kwargs,
    )


class _ConvOp:
    """Theano's abstract convolution ops, called as ops: arguments at
    construction, tensors at the call.  ``_nd`` spatial axes."""

    _nd = 2

    def __init__(
        self,
        imshp=None,
        kshp=None,
        border_mode="valid",
        subsample=None,
        filter_flip=True,
        filter_dilation=None,
        num_groups=1,
        unshared=False,
    ):
        if unshared and self._nd != 2:
            raise ValueError(f"{type(self).__name__}: unshared convolution is 2-d only.")
        self.imshp = None if imshp is None else tuple(imshp)
        self.kshp = None if kshp is None else tuple(kshp)
        self.border_mode = border_mode
        self.subsample = (1,) * self._nd if subsample is None else subsample
        self.filter_flip = filter_flip
        self.filter_dilation = (1,) * self._nd if filter_dilation is None else filter_dilation
        self.num_groups = num_groups
        self.unshared = unshared

    def _kwargs(self):
        kwargs = dict(
            border_mode=self.border_mode,
            subsample=self.subsample,
            filter_flip=self.filter_flip,
            filter_dilation=self.filter_dilation,
            num_groups=self.num_groups,
        )
        if self._nd == 2:
            kwargs["unshared"] = self.unshared
        return kwargs


class _Forward(_ConvOp):
    def __call__(self, img, kern):
        conv = conv2d if self._nd == 2 else conv3d
        return conv(img, kern, self.imshp, self.kshp, **self._kwargs())


class _GradInputs(_ConvOp):
    def __call__(self, kern, topgrad, shape):
        nd = self._nd
        head = list(self.imshp[:2]) if self.imshp is not None else [None, None]
        head = [h if isinstance(h, (int, np.integer)) else None for h in head]
        if isinstance(shape, Variable):
            shape = [shape[k] for k in range(nd)]
        grad = conv2d_grad_wrt_inputs if nd == 2 else conv3d_grad_wrt_inputs
        return grad(topgrad, kern, head + list(shape), _kernel_hint(self.kshp), **self._kwargs())


class _GradWeights(_ConvOp):
    def __call__(self, img, topgrad, shape):
        nd = self._nd
        head = list(self.kshp[:2]) if self.kshp is not None else [None, None]
        head = [h if isinstance(h, (int, np.integer)) else None for h in head]
        if isinstance(shape, Variable):
            raise ValueError(f"{type(self).__name__}: shape must be {nd} ints.")
        grad = conv2d_grad_wrt_weights if nd == 2 else conv3d_grad_wrt_weights
        return grad(img, topgrad, head + list(shape), self.imshp, **self._kwargs())


class AbstractConv2d(_Forward):
    """``AbstractConv2d(imshp, kshp, ...)(img, kern)``: :func:`conv2d`."""


class AbstractConv2d_gradInputs(_GradInputs):  # noqa: N801 - Theano's name
    """``AbstractConv2d_gradInputs(imshp, kshp, ...)(kern, topgrad, shape)``.

    The transposed convolution: :func:`conv2d_grad_wrt_inputs` with the
    input's rows and columns ``shape``.
    """


class AbstractConv2d_gradWeights(_GradWeights):  # noqa: N801 - Theano's name
    """``AbstractConv2d_gradWeights(imshp, kshp, ...)(img, topgrad, shape)``.

    The filters' gradient: :func:`conv2d_grad_wrt_weights` with the filters'
    rows and columns ``shape``.
    """


class AbstractConv3d(_Forward):
    """``AbstractConv3d(imshp, kshp, ...)(img, kern)``: :func:`conv3d`."""

    _nd = 3


class AbstractConv3d_gradInputs(_GradInputs):  # noqa: N801 - Theano's name
    """``AbstractConv3d_gradInputs(imshp, kshp, ...)(kern, topgrad, shape)``.

    The transposed convolution: :func:`conv3d_grad_wrt_inputs` with the
    input's depth, rows and columns ``shape``.
    """

    _nd = 3


class AbstractConv3d_gradWeights(_GradWeights):  # noqa: N801 - Theano's name
    """``AbstractConv3d_gradWeights(imshp, kshp, ...)(img, topgrad, shape)``.

    The filters' gradient: :func:`conv3d_grad_wrt_weights` with the filters'
    depth, rows and columns ``shape``.
    """

    _nd = 3


def _kernel_hint(kshp):
    if kshp is None or isinstance(kshp, Variable):
        return None
    return [k if isinstance(k, (int, np.integer)) else None for k in kshp]


def __getattr__(name):
    raise missing("theano.tensor.nnet.abstract_conv", name)
