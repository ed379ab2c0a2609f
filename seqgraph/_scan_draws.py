"""Gradients of loops whose step draws random numbers.

A step that draws random numbers (a dropout mask, a sampled attention
location, the noise of a reparameterised sample) carries its generator from
step to step as an untraced state of the ``Scan``. PyTensor cannot
differentiate such a loop: its backward loop would have to draw each step's
numbers again, from a generator state it no longer has, and it refuses
("Depends on a untraced variable"), or fails with an ``AttributeError`` where
the generator's gradient is null (PyTensor issue #555). Theano, whose MRG
streams kept their state the same way, differentiated these loops: the
stochastic "hard" attention of *Show, Attend and Tell* and similar REINFORCE
code rely on it.

seqgraph does it in two parts:

* :func:`store_draws` gives a loop built by :func:`seqgraph.scan` (and so
  ``theano.scan``) each step's draws as extra, hidden outputs, so the numbers
  the forward loop drew are kept. A function that takes no gradient does not
  keep them: PyTensor drops a loop output nothing uses.
* :func:`pullback` (installed on ``Scan.pullback``) differentiates such a
  loop as its *replay*: the same loop with the stored draws read as sequences
  and without the generators, a deterministic loop PyTensor can differentiate.
  The replay's forward values are the original loop's, substituted into its
  gradient, so the replay itself never runs. A loop built by
  ``pytensor.scan`` directly has no stored draws; its gradient then runs a
  second copy of the forward loop that stores them (the same generator state
  gives the same numbers).
"""

from __future__ import annotations

import dataclasses

from pytensor.gradient import DisconnectedType, grad_undefined
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.replace import clone_replace, graph_replace
from pytensor.graph.traversal import graph_inputs, io_toposort
from pytensor.scan.op import Scan
from pytensor.tensor.random.op import RNGConsumerOp
from pytensor.tensor.random.type import RandomType

__all__ = ["pullback", "scan_like", "store_draws"]


def _is_generator(var) -> bool:
    return isinstance(var.type, RandomType)


def _carried_generators(op) -> list[int]:
    """Indices, among the untraced states, of the generators carried between steps."""
    inner = op.inner_untraced_sit_sot(op.inner_inputs)
    return [i for i, var in enumerate(inner) if _is_generator(var)]


def _generator_non_seqs(op) -> list[int]:
    """Indices, among the non-sequences, of generators (each step draws the same numbers)."""
    inner = op.inner_non_seqs(op.inner_inputs)
    return [i for i, var in enumerate(inner) if _is_generator(var)]


def _draws(op) -> list[Variable]:
    """The step's random draws: the samples of random variables fed a generator input."""
    untraced = op.inner_untraced_sit_sot(op.inner_inputs)
    non_seqs = op.inner_non_seqs(op.inner_inputs)
    generators = {untraced[i] for i in _carried_generators(op)}
    generators |= {non_seqs[i] for i in _generator_non_seqs(op)}
    if not generators:
        return []
    draws = []
    for node in io_toposort(op.inner_inputs, op.inner_outputs):
        # Only random variables: another node fed a generator (a nested loop
        # that draws) may have outputs to differentiate through; the replay
        # then still depends on the generator and the loop is left to PyTensor.
        if not isinstance(node.op, RNGConsumerOp):
            continue
        if not any(inp in generators for inp in node.inputs):
            continue
        for out in node.outputs:
            if _is_generator(out):
                generators.add(out)
            else:
                draws.append(out)
    return draws


def _stored_draws(op) -> dict[Variable, int]:
    """Draws that already are per-step outputs: draw -> index among the nit-sot outputs."""
    nitsot = op.inner_nitsot_outs(op.inner_outputs)
    stored = {}
    for draw in _draws(op):
        if draw in nitsot:
            stored[draw] = nitsot.index(draw)
    return stored


def _mutable_inner(op):
    """The loop's inner inputs and outputs to build on, and a map from the op's own.

    PyTensor 3.3 freezes a loop's inner graph (its nodes cannot be cloned);
    its ``unfreeze`` gives a mutable copy. Before, the inner graph was mutable.
    """
    fgraph = op.fgraph
    if hasattr(fgraph, "unfreeze"):
        mutable, memo = fgraph.unfreeze(return_memo=True)
        return list(mutable.inputs), list(mutable.outputs), memo.__getitem__
    return list(op.inner_inputs), list(op.inner_outputs), lambda var: var


def scan_like(op, inner_inputs, inner_outputs, info):
    """A ``Scan`` op with ``op``'s settings (mode, name, truncation ...) and a new inner graph."""
    return Scan(
        inner_inputs,
        inner_outputs,
        info,
        mode=op.mode,
        truncate_gradient=op.truncate_gradient,
        name=op.name,
        profile=op.profile,
        allow_gc=op.allow_gc,
        strict=op.strict,
    )


def _supported(op) -> bool:
    return isinstance(op, Scan) and not op.info.as_while and bool(_draws(op))


def _output_positions(op, n_added: int) -> list[int]:
    """Where each output of ``op`` lands once ``n_added`` nit-sot outputs follow its own."""
    info = op.info
    n_before_untraced = info.n_mit_mot + info.n_mit_sot + info.n_sit_sot + info.n_nit_sot
    n_outputs = n_before_untraced + info.n_untraced_sit_sot
    return [i if i < n_before_untraced else i + n_added for i in range(n_outputs)]


def _with_draws_stored(node: Apply) -> tuple[Apply, list[int]]:
    """A copy of the loop ``node`` whose every draw is also a per-step output.

    Returns the new node and, for each output of ``node``, the index of the
    new node's output with the same value.
    """
    op = node.op
    stored = _stored_draws(op)
    missing = [draw for draw in _draws(op) if draw not in stored]
    if not missing:
        return node, list(range(len(node.outputs)))
    info = op.info
    inner_inputs, inner_outputs, mapped = _mutable_inner(op)
    missing = [mapped(draw) for draw in missing]
    n_nitsot_end = (
        len(op.inner_mitmot_outs(inner_outputs)) + info.n_mit_sot + info.n_sit_sot + info.n_nit_sot
    )
    new_inner = clone_replace(
        inner_outputs[:n_nitsot_end] + missing + inner_outputs[n_nitsot_end:], replace={}
    )
    new_info = dataclasses.replace(info, n_nit_sot=info.n_nit_sot + len(missing))
    new_op = scan_like(op, inner_inputs, new_inner, new_info)
    outer = list(node.inputs)
    n_nitsot_inputs_end = (
        1
        + info.n_seqs
        + info.n_mit_mot
        + info.n_mit_sot
        + info.n_sit_sot
        + info.n_untraced_sit_sot
        + info.n_nit_sot
    )
    # A nit-sot's outer input is its buffer length: the number of steps.
    outer[n_nitsot_inputs_end:n_nitsot_inputs_end] = [node.inputs[0]] * len(missing)
    new_node = new_op.make_node(*outer)
    return new_node, _output_positions(op, len(missing))


def store_draws(outputs: list, updates: dict) -> tuple[list, dict]:
    """Make the loop behind ``scan``'s results keep each step's random draws.

    Parameters
    ----------
    outputs : list of Variable
        The outputs ``pytensor.scan`` returned.
    updates : dict
        Its updates; a generator carried through the loop has its final state
        there.

    Returns
    -------
    outputs, updates
        The same values, computed by a copy of the loop that also outputs
        each step's draws (unchanged where the loop draws nothing).
    """
    # The loop's node: the owner of its outputs, or of what scan took of them
    # (a recurrent output is the loop's buffer without its initial state), or
    # of a generator's final state.
    nodes = {}
    for var in list(outputs) + list(updates.values()):
        for candidate in (var, *(var.owner.inputs[:1] if var.owner is not None else ())):
            if candidate.owner is not None and isinstance(candidate.owner.op, Scan):
                nodes[candidate.owner] = None
                break
    for node in nodes:
        if not _supported(node.op):
            continue
        new_node, positions = _with_draws_stored(node)
        if new_node is node:
            continue
        mapping = {old: new_node.outputs[j] for old, j in zip(node.outputs, positions)}
        keys = list(updates.keys())
        replaced = graph_replace(list(outputs) + [updates[k] for k in keys], mapping, strict=False)
        outputs = replaced[: len(outputs)]
        updates = type(updates)(zip(keys, replaced[len(outputs) :]))
    return outputs, updates


def _replay(op, draws: list[Variable]):
    """The loop ``op`` with ``draws`` read as sequences and its generators removed.

    Returns the replay op, or None where its outputs would still depend on a
    generator.
    """
    info = op.info
    inner_in, inner_out, mapped = _mutable_inner(op)
    draws = [mapped(draw) for draw in draws]
    generators = set(_carried_generators(op))
    draw_seqs = [draw.type() for draw in draws]

    nitsot = op.inner_nitsot_outs(inner_out)
    kept_nitsot = [out for out in nitsot if out not in draws]
    untraced_out = op.inner_untraced_sit_sot_outs(inner_out)
    kept_untraced_out = [out for i, out in enumerate(untraced_out) if i not in generators]
    kept_out = (
        op.inner_mitmot_outs(inner_out)
        + op.inner_mitsot_outs(inner_out)
        + op.inner_sitsot_outs(inner_out)
        + kept_nitsot
        + kept_untraced_out
    )
    new_out = clone_replace(kept_out, replace=dict(zip(draws, draw_seqs)))

    untraced_in = op.inner_untraced_sit_sot(inner_in)
    non_seqs_in = op.inner_non_seqs(inner_in)
    generator_non_seqs = set(_generator_non_seqs(op))
    removed = {untraced_in[i] for i in generators}
    removed |= {non_seqs_in[i] for i in generator_non_seqs}
    if any(var in removed for var in graph_inputs(new_out)):
        return None
    new_in = (
        op.inner_seqs(inner_in)
        + draw_seqs
        + op.inner_mitmot(inner_in)
        + op.inner_mitsot(inner_in)
        + op.inner_sitsot(inner_in)
        + [var for i, var in enumerate(untraced_in) if i not in generators]
        + [var for i, var in enumerate(non_seqs_in) if i not in generator_non_seqs]
    )
    new_info = dataclasses.replace(
        info,
        n_seqs=info.n_seqs + len(draws),
        n_nit_sot=len(kept_nitsot),
        n_untraced_sit_sot=info.n_untraced_sit_sot - len(generators),
        n_non_seqs=info.n_non_seqs - len(generator_non_seqs),
    )
    return scan_like(op, new_in, new_out, new_info)


def pullback(original, op, inputs, outputs, output_grads):
    """``Scan.pullback`` that also differentiates loops drawing random numbers.

    ``original`` is PyTensor's method, used for every loop that draws nothing
    from a generator it carries, and for ``while`` loops.
    """
    if not _supported(op):
        return original(op, inputs, outputs, output_grads)
    info = op.info
    node = outputs[0].owner
    aug_node, positions = _with_draws_stored(node)
    aug_op = aug_node.op
    aug_outputs = list(aug_node.outputs)
    for j, out in zip(positions, outputs):
        aug_outputs[j] = out  # the same values; keep the caller's variables
    draws = _draws(aug_op)
    stored = _stored_draws(aug_op)
    draw_order = sorted(draws, key=stored.__getitem__)
    replay_op = _replay(aug_op, draw_order)
    if replay_op is None:
        return original(op, inputs, outputs, output_grads)

    aug_info = aug_op.info
    nitsot_outputs = aug_op.outer_nitsot_outs(aug_outputs)
    draw_outputs = [nitsot_outputs[stored[d]] for d in draw_order]
    draw_nitsot = {stored[d] for d in draws}
    generators = set(_carried_generators(aug_op))
    generator_non_seqs = set(_generator_non_seqs(aug_op))

    # The replay's outer inputs, from the loop's.
    aug_inputs = list(inputs)
    n_added = aug_info.n_nit_sot - info.n_nit_sot
    if n_added:
        at = 1 + info.n_seqs + info.n_mit_mot + info.n_mit_sot + info.n_sit_sot
        at += info.n_untraced_sit_sot + info.n_nit_sot
        aug_inputs[at:at] = [inputs[0]] * n_added
    untraced_in = aug_op.outer_untraced_sit_sot(aug_inputs)
    nitsot_in = aug_op.outer_nitsot(aug_inputs)
    replay_inputs = (
        [aug_inputs[0]]
        + aug_op.outer_seqs(aug_inputs)
        + draw_outputs
        + aug_op.outer_mitmot(aug_inputs)
        + aug_op.outer_mitsot(aug_inputs)
        + aug_op.outer_sitsot(aug_inputs)
        + [v for i, v in enumerate(untraced_in) if i not in generators]
        + [v for i, v in enumerate(nitsot_in) if i not in draw_nitsot]
        + [
            v
            for i, v in enumerate(aug_op.outer_non_seqs(aug_inputs))
            if i not in generator_non_seqs
        ]
    )

    # The loop's outputs and their gradients, less the draws and generators.
    aug_grads = [DisconnectedType()() for _ in aug_outputs]
    for j, grad in zip(positions, output_grads):
        aug_grads[j] = grad

    def kept(values):
        untraced = aug_op.outer_untraced_sit_sot_outs(values)
        return (
            aug_op.outer_mitmot_outs(values)
            + aug_op.outer_mitsot_outs(values)
            + aug_op.outer_sitsot_outs(values)
            + [v for i, v in enumerate(aug_op.outer_nitsot_outs(values)) if i not in draw_nitsot]
            + [v for i, v in enumerate(untraced) if i not in generators]
        )

    replay_node = replay_op.make_node(*replay_inputs)
    replay_grads = replay_op.pullback(replay_node.inputs, replay_node.outputs, kept(aug_grads))
    # The replay computes the loop's own values: use those, so it never runs.
    substitute = dict(zip(replay_node.outputs, kept(aug_outputs)))
    present = [i for i, g in enumerate(replay_grads) if g.owner is not None]
    replaced = graph_replace([replay_grads[i] for i in present], substitute, strict=False)
    replay_grads = list(replay_grads)
    for i, g in zip(present, replaced):
        replay_grads[i] = g

    # Back to the loop's inputs.
    n_seqs = info.n_seqs
    n_draws = len(draw_order)
    it = iter(replay_grads[1 + n_seqs + n_draws :])
    n_states = info.n_mit_mot + info.n_mit_sot + info.n_sit_sot
    grads = [replay_grads[0], *replay_grads[1 : 1 + n_seqs]]
    grads += [next(it) for _ in range(n_states)]

    def undefined(index):
        return grad_undefined(op, index, inputs[index], "a random generator")

    for i in range(info.n_untraced_sit_sot):
        grads.append(undefined(len(grads)) if i in generators else next(it))
    for i in range(info.n_nit_sot):
        grads.append(DisconnectedType()() if i in draw_nitsot else next(it))
    for i in range(info.n_non_seqs):
        grads.append(undefined(len(grads)) if i in generator_non_seqs else next(it))
    return grads
