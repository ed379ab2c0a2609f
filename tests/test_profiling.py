"""seqgraph.profiling: the time of each XLA operation; ``profile=True`` on every backend."""

import io
import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.layers import LSTM
from seqgraph.profiling import OpTimes, _hlo_structure, op_times

STEPS = 7
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _train(backend, **kwargs):
    layer = LSTM(8, 16, seed=0)
    x = pt.tensor3("x")
    loss = (layer(x) ** 2).mean()
    grads = pytensor.grad(loss, layer.params)
    updates = [(p, p - 0.1 * g) for p, g in zip(layer.params, grads)]
    fn = seqgraph.function([x], loss, updates=updates, backend=backend, **kwargs)
    xv = np.random.default_rng(0).normal(size=(4, STEPS, 8)).astype(x.dtype)
    return fn, layer, xv


def test_op_times_splits_a_training_step_into_its_loops_and_leaves_it_unchanged():
    pytest.importorskip("jax")
    fn, layer, xv = _train("jax")
    before = [p.get_value().copy() for p in layer.params]
    times = op_times(fn, xv, calls=2)
    assert isinstance(times, OpTimes) and times.calls == 2
    assert times.call_ms > 0 and times.traced_call_ms > 0 and times.platform == "cpu"
    # The forward scan and the written-out backward scan, each a loop of STEPS
    # steps with a matrix product in its body.
    loops = [op for op in times.top_level() if op.opcode == "while"]
    assert len(loops) == 2
    for loop in loops:
        body = times.inside(loop.name)
        assert body and all(op.count == STEPS for op in body)
        assert any(op.opcode in ("fusion:kCustom", "dot") for op in body)
        assert loop.ms >= max(op.ms for op in body)
    assert all(a.ms >= b.ms for a, b in zip(times.ops, times.ops[1:]))
    table = str(times)
    assert loops[0].name in table and f"\n  {times.inside(loops[0].name)[0].name}" in table
    # The parameters are where they were, and the function still runs.
    for old, p in zip(before, layer.params):
        np.testing.assert_array_equal(old, p.get_value())
    fn(xv)
    assert not all(np.array_equal(old, p.get_value()) for old, p in zip(before, layer.params))


def test_op_times_refuses_what_it_cannot_time():
    fn, _, xv = _train("c")
    with pytest.raises(ValueError, match="profile=True"):
        op_times(fn, xv)
    with pytest.raises(TypeError, match="seqgraph function"):
        op_times(lambda v: v, xv)
    pytest.importorskip("jax")
    jfn, _, _ = _train("jax")
    with pytest.raises(ValueError, match="calls must be a positive integer"):
        op_times(jfn, xv, calls=0)


def test_profile_true_on_c_gives_pytensor_profile():
    fn, _, xv = _train("c", profile=True)
    fn(xv)
    out = io.StringIO()
    fn.profile.summary(file=out)
    assert "Apply" in out.getvalue() and "Scan" in out.getvalue()
    assert _train("c")[0].profile is None


def test_profile_true_on_jax_times_calls_and_operations():
    pytest.importorskip("jax")
    fn, layer, xv = _train("jax", profile=True)
    out = io.StringIO()
    fn.profile.summary(file=out)
    assert "no call yet" in out.getvalue()
    for _ in range(3):
        fn(xv)
    profile = fn.profile
    assert profile.calls == 3 and profile.seconds >= profile.first_seconds > 0
    before = [p.get_value().copy() for p in layer.params]
    out = io.StringIO()
    profile.summary(file=out)
    text = out.getvalue()
    assert "3 calls" in text and "1 with a new shape signature" in text and "while" in text
    for old, p in zip(before, layer.params):
        np.testing.assert_array_equal(old, p.get_value())
    assert _train("jax")[0].profile is None


def test_theano_function_profile():
    pytest.importorskip("jax")
    import seqgraph.theano as theano

    x = theano.tensor.vector("x")
    for mode in ("FAST_RUN", "JAX"):
        f = theano.function([x], (x**2).sum(), profile=True, mode=mode)
        f(np.ones(3, dtype=x.dtype))
        out = io.StringIO()
        f.profile.summary(file=out)
        assert out.getvalue()
        if mode == "JAX":
            assert op_times(f, np.ones(3, dtype=x.dtype)).ops


def test_hlo_structure_places_operations_in_their_loops():
    hlo = """HloModule jit_call, is_scheduled=true

%fused (p: f32[4]) -> f32[4] {
  %p = f32[4]{0} parameter(0)
  ROOT %t = f32[4]{0} tanh(%p)
}

%inner_body (a: (s64[], f32[4])) -> (s64[], f32[4]) {
  %a = (s64[], f32[4]{0}) parameter(0)
  %tanh_fusion = f32[4]{0} fusion(%x), kind=kLoop, calls=%fused
  ROOT %r = (s64[], f32[4]{0}) tuple(%i, %tanh_fusion)
}

%inner_cond (a: (s64[], f32[4])) -> pred[] {
  ROOT %lt = pred[] compare(%i, %n), direction=LT
}

%outer_body (a: (s64[], f32[4])) -> (s64[], f32[4]) {
  %while.2 = (s64[], f32[4]{0}) while(%a), condition=%inner_cond, body=%inner_body
  %dot.1 = f32[4,4]{1,0} dot(%x, %y), lhs_contracting_dims={1}
}

%left (a: f32[4]) -> f32[4] {
  %neg.1 = f32[4]{0} negate(%a)
}

%callee (a: f32[4]) -> f32[4] {
  %exp_fusion = f32[4]{0} fusion(%a), kind=kLoop, calls=%fused
}

ENTRY %main.3 (x: f32[4]) -> f32[4] {
  %while.1 = (s64[], f32[4]{0}) while(%t0), condition=%inner_cond, body=%outer_body
  %conditional.1 = f32[4]{0} conditional(%pred, %x), branch_computations={%left, %left}
  %call.1 = f32[4]{0} call(%x), to_apply=%callee
  ROOT %copy.1 = f32[4]{0} copy(%x)
}
"""
    structure = _hlo_structure(hlo)
    assert structure["while.1"] == ("while", "(2 arrays)", None)
    assert structure["while.2"][2] == "while.1"
    assert structure["dot.1"] == ("dot", "f32[4,4]", "while.1")
    assert structure["tanh_fusion"] == ("fusion:kLoop", "f32[4]", "while.2")
    assert structure["neg.1"][2] == "conditional.1"
    assert structure["copy.1"] == ("copy", "f32[4]", None)
    assert structure["exp_fusion"][2] == "call.1" and structure["call.1"][2] is None
    assert "t" in structure and structure["t"][2] is None  # fused code: no thunk of its own


def test_profile_flag_prints_jax_profiles_at_exit(tmp_path):
    # Theano's THEANO_FLAGS=profile=True: every function profiled, the
    # profiles printed when the process ends; the JAX ones too.
    pytest.importorskip("jax")
    script = tmp_path / "profiled.py"
    script.write_text(
        "import numpy as np\n"
        "import seqgraph.theano as theano\n"
        "T = theano.tensor\n"
        "x = T.matrix('x')\n"
        "h, _ = theano.scan(lambda r, a: T.tanh(a + r), sequences=x,\n"
        "                   outputs_info=T.zeros_like(x[0]))\n"
        "f = theano.function([x], h[-1].sum(), mode='JAX')\n"
        "f(np.ones((40, 512), dtype=x.dtype))\n"
        "assert f.profile is not None\n"
    )
    env = {**os.environ, "THEANO_FLAGS": "profile=True"}
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "seqgraph function profile (jax backend" in done.stderr
    assert "1 calls" in done.stderr and "XLA operations of the program" in done.stderr
    assert "traced calls on the cpu" in done.stderr
    # A file as the destination: PyTensor rewrites it at exit, so the JAX
    # profiles go to the same name with ".jax" added.
    target = tmp_path / "profiles.txt"
    env["THEANO_FLAGS"] = f"profile=True,profiling.destination={target}"
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "seqgraph function profile" in (tmp_path / "profiles.txt.jax").read_text()
