"""Corrections to PyTensor's JAX dispatch that scan graphs need.

PyTensor enables ``jax_enable_x64`` only when ``floatX`` is float64 at import
time, and otherwise silently computes float64 graphs in float32.  seqgraph
enables it always: float64 graphs (gradient checks) stay float64, and float32
graphs stay float32 given the correction below.  Its JAX version of ``CAReduce`` (``sum``,
``prod``, ``all`` ...) returns the *accumulator* dtype, which for a float32 sum
is float64.  Outside a loop this only changes the result's dtype; inside
``lax.scan`` it is fatal, because the carry of a gradient accumulator (say, the
gradient of a bias, a sum over the batch) comes back as float64 while it went
in as float32, and JAX refuses the loop.  We re-register the dispatch so that
every reduction returns the dtype its PyTensor node declares.
"""

from __future__ import annotations

_installed = False


def install_fixes() -> None:
    """Register seqgraph's JAX dispatch corrections (idempotent)."""
    global _installed
    if _installed:
        return
    import jax
    from pytensor.link.jax.dispatch import jax_funcify
    from pytensor.link.jax.dispatch.elemwise import jax_funcify_CAReduce
    from pytensor.tensor.elemwise import CAReduce

    @jax_funcify.register(CAReduce)
    def _careduce_with_declared_dtype(op, node=None, **kwargs):
        reduce = jax_funcify_CAReduce(op, node=node, **kwargs)
        if node is None:
            return reduce
        out_dtype = node.outputs[0].dtype

        def careduce(x):
            return reduce(x).astype(out_dtype)

        return careduce

    jax.config.update("jax_enable_x64", True)
    _installed = True
