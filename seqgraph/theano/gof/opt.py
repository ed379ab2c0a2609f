"""``theano.gof.opt``: graph rewrites under Theano's names, on ``pytensor.graph.rewriting``.

Theano called its rewrites optimizers: a *local* optimizer replaces one node
(PyTensor's ``NodeRewriter``), a *global* one works on the whole graph
(``GraphRewriter``).  The classes and decorators here are PyTensor's, with
Theano's signatures where they differ:

- a local optimizer's function, or the ``transform`` method of a
  :class:`LocalOptimizer` subclass, takes ``(node)`` as in Theano 1.0 (or
  ``(fgraph, node)``, as PyTensor's do); it returns the replacements (a list
  or a dict), or ``False`` / ``None`` for no change;
- :class:`TopoOptimizer`, :class:`EquilibriumOptimizer`,
  :class:`SeqOptimizer`, ``OpSub``, ``OpRemove`` and ``PatternSub`` take
  Theano's arguments;
- a global optimizer runs on a graph with ``opt.optimize(fgraph)``, Theano's
  name of PyTensor's ``rewrite`` (added to PyTensor's ``GraphRewriter`` when
  this module is imported).

A rewrite registered in PyTensor's databases (``theano.tensor.opt``'s
``register_canonicalize`` and the others, or ``theano.compile.optdb``) runs on
every backend; on JAX, the on-disk cache of compiled programs keys on the
contents of the file that defines it, so an edited rewrite builds anew.
"""

from __future__ import annotations

import functools
import inspect

from pytensor.graph.rewriting.basic import (  # noqa: F401
    EquilibriumGraphRewriter,
    GraphRewriter,
    MergeOptimizer,
    NodeProcessingGraphRewriter,
    NodeRewriter,
    PatternNodeRewriter,
    SequentialGraphRewriter,
    SequentialNodeRewriter,
    SubstitutionNodeRewriter,
    WalkingGraphRewriter,
    check_stack_trace,
    copy_stack_trace,
    in2out,
    node_rewriter,
    out2in,
)

from seqgraph.theano._removed import missing

__all__ = [
    "EquilibriumOptimizer",
    "GlobalOptimizer",
    "LocalOptGroup",
    "LocalOptimizer",
    "MergeOptimizer",
    "NavigatorOptimizer",
    "OpRemove",
    "OpSub",
    "Optimizer",
    "PatternSub",
    "SeqOptimizer",
    "TopoOptimizer",
    "check_stack_trace",
    "copy_stack_trace",
    "in2out",
    "local_optimizer",
    "out2in",
]

Optimizer = GraphRewriter
GlobalOptimizer = GraphRewriter
MergeOptimizer = MergeOptimizer
NavigatorOptimizer = NodeProcessingGraphRewriter
LocalOptGroup = SequentialNodeRewriter

# Theano's global optimizers ran with ``opt.optimize(fgraph)``; PyTensor's
# method is ``rewrite`` (the same: add_requirements, then apply).
if not hasattr(GraphRewriter, "optimize"):
    GraphRewriter.optimize = GraphRewriter.rewrite


def _takes_node_only(fn, skip=0) -> bool:
    """Whether ``fn`` takes Theano's ``(node)`` rather than PyTensor's ``(fgraph, node)``.

    ``skip``: leading parameters not counted (``self`` of a method).
    """
    try:
        parameters = list(inspect.signature(fn).parameters.values())[skip:]
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    return len(positional) == 1 and not variadic


def local_optimizer(tracks, inplace=False, requirements=()):
    """Decorate ``fn(node)`` into a local optimizer that looks at nodes of ``tracks``.

    Parameters
    ----------
    tracks : list of Op instances or Op classes, or None
        The ops whose nodes the function is called on (None: every node).
    inplace : bool
        The replacement destroys its inputs (adds PyTensor's DestroyHandler).
    requirements : tuple
        Features the function graph needs.

    Returns
    -------
    callable
        A decorator returning a ``NodeRewriter``, for ``register_canonicalize``
        and the others, or for :class:`TopoOptimizer`.

    Raises
    ------
    ValueError
        If ``tracks`` is not None or a non-empty list of ops and op classes
        (raised by PyTensor's ``node_rewriter``).
    """

    def decorator(fn):
        if _takes_node_only(fn):
            theano_fn = fn

            # wraps: the user's name, and (__wrapped__) the file the JAX cache's key reads.
            @functools.wraps(theano_fn)
            def fn(fgraph, node):
                return theano_fn(node)

        return node_rewriter(tracks, inplace=inplace, requirements=requirements)(fn)

    return decorator


class LocalOptimizer(NodeRewriter):
    """A local optimizer written as a class, Theano's way.

    A subclass defines ``transform(self, node)`` (Theano 1.0) or
    ``transform(self, fgraph, node)`` (PyTensor), and ``tracks(self)`` for the
    ops it looks at (None, the default: every node).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        transform = cls.__dict__.get("transform")
        if transform is not None and _takes_node_only(transform, skip=1):

            def adapted(self, fgraph, node, *args, **kwargs):
                return transform(self, node)

            adapted.__name__ = "transform"
            adapted.__qualname__ = f"{cls.__qualname__}.transform"
            adapted.__module__ = cls.__module__
            cls.transform = adapted

    def transform(self, fgraph, node, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} defines no transform(node).")


def OpSub(op1, op2, transfer_tags=True):  # noqa: N802 - Theano's name
    """Replace every node of ``op1`` with one of ``op2`` on the same inputs."""
    return SubstitutionNodeRewriter(op1, op2, transfer_tags=transfer_tags)


def OpRemove(op):  # noqa: N802 - Theano's name
    """Remove every node of ``op`` (of one input and one output): its output becomes its input."""

    @node_rewriter([op])
    def remove(fgraph, node):
        if node.op == op and len(node.inputs) == 1 and len(node.outputs) == 1:
            return [node.inputs[0]]
        return False

    return remove


def PatternSub(  # noqa: N802 - Theano's name
    in_pattern,
    out_pattern,
    allow_multiple_clients=False,
    skip_identities_fn=None,
    name=None,
    pdb=False,
    tracks=(),
    get_nodes=None,
    values_eq_approx=None,
):
    """Replace the subgraphs matching ``in_pattern`` with ``out_pattern`` (PyTensor's patterns)."""
    return PatternNodeRewriter(
        in_pattern,
        out_pattern,
        allow_multiple_clients=allow_multiple_clients,
        name=name,
        tracks=tracks,
        get_nodes=get_nodes,
        values_eq_approx=values_eq_approx,
    )


def TopoOptimizer(  # noqa: N802 - Theano's name
    local_opt, order="in_to_out", ignore_newtrees=False, failure_callback=None
):
    """Apply the local optimizer ``local_opt`` to each node, in topological ``order``."""
    if order not in ("in_to_out", "out_to_in"):
        raise ValueError(f"TopoOptimizer: order must be 'in_to_out' or 'out_to_in'; got {order!r}.")
    return WalkingGraphRewriter(
        local_opt, order=order, ignore_newtrees=ignore_newtrees, failure_callback=failure_callback
    )


def EquilibriumOptimizer(  # noqa: N802 - Theano's name
    optimizers,
    failure_callback=None,
    ignore_newtrees=True,
    tracks_on_change_inputs=False,
    max_use_ratio=None,
    final_optimizers=None,
    cleanup_optimizers=None,
):
    """Apply ``optimizers`` (local and global) again and again until none changes the graph."""
    return EquilibriumGraphRewriter(
        optimizers,
        max_use_ratio=max_use_ratio,
        ignore_newtrees=ignore_newtrees,
        tracks_on_change_inputs=tracks_on_change_inputs,
        failure_callback=failure_callback,
        final_rewriters=final_optimizers,
        cleanup_rewriters=cleanup_optimizers,
    )


def SeqOptimizer(*optimizers, failure_callback=None):  # noqa: N802 - Theano's name
    """Apply global optimizers one after another (given as arguments or one list)."""
    if len(optimizers) == 1 and isinstance(optimizers[0], (list, tuple)):
        optimizers = tuple(optimizers[0])
    return SequentialGraphRewriter(*optimizers, failure_callback=failure_callback)


def __getattr__(name):
    raise missing("theano.gof.opt", name)
