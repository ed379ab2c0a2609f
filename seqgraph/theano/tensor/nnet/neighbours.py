"""``theano.tensor.nnet.neighbours``: image patches as rows (``images2neibs``) and back.

Written out as strided slices of the (padded) images, one per position in
the patch, so every backend compiles it and PyTensor differentiates it.
Patches that tile the image without overlap (the default step) are a
reshape and a transpose instead.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.raise_op import Assert

from seqgraph.theano.tensor._args import int_tuple

__all__ = ["images2neibs", "neibs2images"]

_MODES = ("valid", "ignore_borders", "half", "full", "wrap_centered")


def images2neibs(ten4, neib_shape, neib_step=None, mode="valid"):
    """The patches of each image of ``ten4`` as the rows of a matrix.

    Parameters
    ----------
    ten4 : 4-d tensor
        ``(batch, channels, rows, columns)``.
    neib_shape : pair of int
        The patch's ``(rows, columns)``.
    neib_step : pair of int, optional
        The distance between patches; ``neib_shape`` (no overlap) by default.
    mode : {"valid", "ignore_borders", "half", "full", "wrap_centered"}
        ``"valid"``: the patches must cover the image exactly (checked when the
        function runs); ``"ignore_borders"``: rows and columns left over are
        dropped; ``"half"`` and ``"full"``: the image padded with zeros by
        ``neib_shape // 2`` or ``neib_shape - 1`` on each side first;
        ``"wrap_centered"``: a patch centred on every ``neib_step``-th pixel
        from the first, the image wrapped around at its borders (the patch
        sizes must be odd and at most the image's, checked when the function
        runs).

    Returns
    -------
    matrix
        One row per patch, ``rows * columns`` long, in the order batch,
        channel, patch row, patch column; each row holds its patch row by row.
    """
    fname = "images2neibs"
    ten4 = pt.as_tensor_variable(ten4)
    if ten4.ndim != 4:
        raise ValueError(
            f"{fname}: ten4 must be 4-d (batch, channels, rows, columns); got {ten4.type}."
        )
    ch, cw = int_tuple(neib_shape, 2, "neib_shape", fname)
    sh, sw = (ch, cw) if neib_step is None else int_tuple(neib_step, 2, "neib_step", fname)
    if min(ch, cw, sh, sw) < 1:
        raise ValueError(f"{fname}: neib_shape and neib_step must be positive.")
    if mode not in _MODES:
        raise ValueError(f"{fname}: mode must be one of {_MODES}; got {mode!r}.")
    pad = {"half": (ch // 2, cw // 2), "full": (ch - 1, cw - 1)}.get(mode)
    if pad is not None:
        shape = ten4.shape
        padded = pt.zeros(
            (shape[0], shape[1], shape[2] + 2 * pad[0], shape[3] + 2 * pad[1]), dtype=ten4.dtype
        )
        ten4 = pt.set_subtensor(
            padded[:, :, pad[0] : pad[0] + shape[2], pad[1] : pad[1] + shape[3]], ten4
        )
    if mode == "wrap_centered":
        if ch % 2 == 0 or cw % 2 == 0:
            raise ValueError(f"{fname}: mode='wrap_centered' needs odd neib_shape; got {(ch, cw)}.")
        rows, cols = ten4.shape[2], ten4.shape[3]
        ten4 = Assert(
            f"{fname}: with mode='wrap_centered' the image must be at least the patch "
            f"({ch}, {cw}) in rows and columns"
        )(ten4, pt.and_(pt.ge(rows, ch), pt.ge(cols, cw)))
        ten4 = _wrap(ten4, ch // 2, 2)
        ten4 = _wrap(ten4, cw // 2, 3)
        # Centres at 0, step, 2 step ... < rows: ceil(rows / step) of them.
        n_rows, n_cols = (rows - 1) // sh + 1, (cols - 1) // sw + 1
    else:
        rows, cols = ten4.shape[2], ten4.shape[3]
        n_rows = (rows - ch) // sh + 1
        n_cols = (cols - cw) // sw + 1
    if mode == "valid":
        fits = pt.and_(pt.eq((rows - ch) % sh, 0), pt.eq((cols - cw) % sw, 0))
        ten4 = Assert(
            f"{fname}: with mode='valid' the patches ({ch}, {cw}) at steps ({sh}, {sw}) must "
            "cover the image exactly; use mode='ignore_borders' to drop the rest"
        )(ten4, pt.and_(fits, pt.and_(pt.ge(rows, ch), pt.ge(cols, cw))))
    batch, chans = ten4.shape[0], ten4.shape[1]
    if (sh, sw) == (ch, cw):
        tiled = ten4[:, :, : n_rows * ch, : n_cols * cw]
        tiled = tiled.reshape((batch, chans, n_rows, ch, n_cols, cw))
        return tiled.dimshuffle(0, 1, 2, 4, 3, 5).reshape((-1, ch * cw))
    taps = [
        ten4[:, :, i : i + sh * (n_rows - 1) + 1 : sh, j : j + sw * (n_cols - 1) + 1 : sw]
        for i in range(ch)
        for j in range(cw)
    ]
    return pt.stack(taps, axis=-1).reshape((-1, ch * cw))


def _wrap(ten4, half, axis):
    """``ten4`` with its last ``half`` rows (or columns) before it and its first ``half`` after."""
    if half == 0:
        return ten4
    index = [slice(None)] * 4
    index[axis] = slice(-half, None)
    before = ten4[tuple(index)]
    index[axis] = slice(None, half)
    return pt.concatenate([before, ten4, ten4[tuple(index)]], axis=axis)


def neibs2images(neibs, neib_shape, original_shape, mode="valid"):
    """The images whose non-overlapping patches ``neibs`` are (the inverse of :func:`images2neibs`).

    Parameters
    ----------
    neibs : matrix
        One patch per row, as :func:`images2neibs` returns them with its
        default step.
    neib_shape : pair of int
    original_shape : 4 ints or a symbolic shape
        ``(batch, channels, rows, columns)`` of the images.
    mode : {"valid", "ignore_borders"}
        With ``"ignore_borders"`` the rows and columns the patches did not
        cover come back as zeros.
    """
    fname = "neibs2images"
    if mode not in ("valid", "ignore_borders"):
        raise NotImplementedError(
            f"{fname}: mode must be 'valid' or 'ignore_borders'; got {mode!r}."
        )
    neibs = pt.as_tensor_variable(neibs)
    if neibs.ndim != 2:
        raise ValueError(f"{fname}: neibs must be a matrix of patches; got {neibs.type}.")
    ch, cw = int_tuple(neib_shape, 2, "neib_shape", fname)
    shape = pt.as_tensor_variable(original_shape)
    if shape.ndim != 1:
        raise ValueError(f"{fname}: original_shape must be the images' 4 sizes; got {shape.type}.")
    batch, chans, rows, cols = (shape[i] for i in range(4))
    n_rows, n_cols = rows // ch, cols // cw
    tiles = neibs.reshape((batch, chans, n_rows, n_cols, ch, cw)).dimshuffle(0, 1, 2, 4, 3, 5)
    images = tiles.reshape((batch, chans, n_rows * ch, n_cols * cw))
    if mode == "valid":
        fits = pt.and_(pt.eq(rows % ch, 0), pt.eq(cols % cw, 0))
        return Assert(
            f"{fname}: with mode='valid' the original shape must be a multiple of ({ch}, {cw})"
        )(images, fits)
    full = pt.zeros((batch, chans, rows, cols), dtype=neibs.dtype)
    return pt.set_subtensor(full[:, :, : n_rows * ch, : n_cols * cw], images)
