"""Theano APIs seqgraph does not provide, with what to use instead."""

from __future__ import annotations

REMOVED = {
    "theano.sandbox.cuda": "GPU code runs through JAX: THEANO_FLAGS=device=cuda",
    "theano.sandbox.gpuarray": "GPU code runs through JAX: THEANO_FLAGS=device=cuda",
    "theano.gpuarray": "GPU code runs through JAX: THEANO_FLAGS=device=cuda",
    "theano.tensor.nnet.blocksparse": None,
    "theano.tensor.shared_randomstreams.RandomStateSharedVariable": None,
    "theano.compile.debugmode": None,
    "theano.compile.nanguardmode": None,
    "theano.misc.pkl_utils": "seqgraph's Module.save / Module.load (.npz, no pickle)",
}


class TheanoAPIError(AttributeError):
    """A Theano name that seqgraph.theano does not provide."""


class TheanoImportError(ModuleNotFoundError):
    """A Theano module that seqgraph.theano does not provide."""


def missing(module, name):
    """The error for ``module.name``, naming the replacement where one exists."""
    full = f"{module}.{name}"
    if full in REMOVED:
        hint = REMOVED[full]
        if not hint:
            advice = "it has no replacement in seqgraph"
        elif hint.startswith(("pytensor.", "theano.", "seqgraph")):
            advice = f"use {hint} instead"
        else:
            advice = hint
        return TheanoAPIError(f"{full} is not provided by seqgraph.theano; {advice}.")
    return TheanoAPIError(
        f"{full} is not provided by seqgraph.theano (Theano compatibility on PyTensor); "
        "write it with pytensor or report it as a missing API."
    )
