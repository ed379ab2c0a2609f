"""seqgraph.function: backends, devices, calling conventions, errors."""

from __future__ import annotations

import gc
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph import backends

HAS_JAX = importlib.util.find_spec("jax") is not None


def test_unknown_backend_lists_the_valid_ones():
    x = pt.vector("x")
    with pytest.raises(
        ValueError, match=r"backend='torch' is not valid; expected one of 'c', 'numba', 'jax'"
    ):
        seqgraph.function([x], x, backend="torch")


def test_unknown_device():
    with pytest.raises(
        ValueError, match=r"device='tpu' is not valid; expected one of 'cpu', 'gpu'"
    ):
        seqgraph.function([pt.vector("x")], pt.vector("x"), device="tpu")


def test_gpu_with_c_backend_is_refused():
    with pytest.raises(ValueError, match=r"device='gpu' needs backend='jax'"):
        backends.resolve("c", "gpu")


def _has_gpu():
    if not HAS_JAX:
        return False
    import jax

    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_gpu_without_a_gpu_raises_instead_of_running_on_cpu():
    if _has_gpu():
        pytest.skip("this machine has a GPU")
    x = pt.vector("x")
    with pytest.raises(RuntimeError, match=r"device='gpu' was asked for, but JAX sees no GPU"):
        seqgraph.function([x], 2 * x, device="gpu")


def test_environment_variables_set_the_defaults(monkeypatch):
    monkeypatch.setenv("SEQGRAPH_BACKEND", "numba")
    assert backends.resolve().backend == "numba"
    monkeypatch.setenv("SEQGRAPH_BACKEND", "fortran")
    with pytest.raises(ValueError, match=r"from the environment variable SEQGRAPH_BACKEND"):
        backends.resolve()
    monkeypatch.delenv("SEQGRAPH_BACKEND")
    monkeypatch.setenv("SEQGRAPH_DEVICE", "gpu")
    # The GPU default picks JAX; without a visible GPU that is an error, not a CPU run.
    if _has_gpu():
        assert backends.resolve() == backends.Target("jax", "gpu")
    else:
        with pytest.raises(RuntimeError, match=r"backend='jax' is not available|JAX sees no GPU"):
            backends.resolve()


def test_default_backend_is_the_measured_one(monkeypatch):
    monkeypatch.delenv("SEQGRAPH_BACKEND", raising=False)
    monkeypatch.delenv("SEQGRAPH_DEVICE", raising=False)
    target = backends.resolve()
    expected = "jax" if HAS_JAX else "c"
    assert target == backends.Target(expected, "cpu")
    assert backends.default_backend() == expected
    x = pt.vector("x")
    assert seqgraph.function([x], x).backend == expected


def test_single_output_and_list_of_outputs(backend):
    x = pt.vector("x", dtype="float64")
    single = seqgraph.function([x], x + 1, backend=backend)
    listed = seqgraph.function([x], [x + 1], backend=backend)
    value = np.arange(3.0)
    np.testing.assert_allclose(single(value), value + 1)
    result = listed(value)
    assert isinstance(result, list) and len(result) == 1
    np.testing.assert_allclose(result[0], value + 1)
    assert isinstance(single(value), np.ndarray)


def test_call_by_name_and_argument_count_errors():
    x, y = pt.vector("x", dtype="float64"), pt.vector("y", dtype="float64")
    f = seqgraph.function([x, y], x - y, backend="c")
    np.testing.assert_allclose(f(y=np.ones(2), x=np.full(2, 3.0)), [2.0, 2.0])
    with pytest.raises(TypeError, match=r"takes 2 input\(s\) \(x, y\); got 1"):
        f(np.ones(2))
    with pytest.raises(TypeError, match=r"unknown input name 'z'"):
        f(x=np.ones(2), z=np.ones(2))
    with pytest.raises(TypeError, match=r"missing value\(s\) for input\(s\) \['y'\]"):
        f(x=np.ones(2))


def test_bad_inputs_and_updates_are_named():
    x = pt.vector("x")
    w = pytensor.shared(np.zeros(2, dtype=x.dtype), name="w")
    with pytest.raises(TypeError, match=r"wrap a single input as \[x\]"):
        seqgraph.function(x, x)
    with pytest.raises(TypeError, match=r"inputs\[0\] \(w\) is a .*SharedVariable"):
        seqgraph.function([w], w)
    with pytest.raises(TypeError, match=r"updates\[0\] updates x, which is not a shared variable"):
        seqgraph.function([x], x, updates=[(x, x + 1)])


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_a_variable_nobody_gives_is_named_before_anything_compiles(backend, monkeypatch):
    from pytensor.graph.utils import MissingInputError

    if backend == "jax":
        pytest.importorskip("jax")
    x, y = pt.vector("x"), pt.vector("y")
    w = pytensor.shared(np.zeros(2, dtype=x.dtype), name="w")
    # Nothing may reach PyTensor's compiler (C) or the program's build (JAX).
    monkeypatch.setattr(pytensor, "function", lambda *a, **k: pytest.fail("compiled"))
    with pytest.raises(MissingInputError, match=r"depend on y .*not among the inputs \(x\)"):
        seqgraph.function([x], x + y, backend=backend)
    with pytest.raises(MissingInputError, match=r"depend on y"):
        seqgraph.function([x], x, updates=[(w, w + y)], backend=backend)


def test_a_variable_replaced_through_givens_is_not_missing():
    x, y, z = pt.vector("x"), pt.vector("y"), pt.vector("z")
    hidden = y * 2  # replaced as a whole: y, below it, needs no value
    f = seqgraph.function([x, z], x + hidden, givens={hidden: z}, backend="c")
    np.testing.assert_allclose(f(np.ones(2, x.dtype), np.full(2, 3.0, x.dtype)), [4.0, 4.0])


def test_an_intermediate_variable_can_be_an_input(backend):
    # Theano allowed it and old code relies on it (dl4mt's sampler takes the
    # encoder's context, a computed variable, as an input of its next-word
    # function): the graph above the input is not needed, and its own inputs
    # are not missing.
    x, y = pt.vector("x"), pt.vector("y")
    ctx = pt.exp(x) * 2
    f = seqgraph.function([ctx, y], ctx + y, backend=backend)
    np.testing.assert_allclose(f(np.ones(2, x.dtype), np.full(2, 3.0, x.dtype)), [4.0, 4.0])
    with pytest.raises(pytensor.compile.UnusedInputError, match="is not (used|part of the comp)"):
        seqgraph.function([ctx, y], ctx * 2, backend=backend)


def test_givens_and_updates(backend):
    data = pytensor.shared(np.arange(6.0).reshape(3, 2), name="data")
    total = pytensor.shared(np.zeros(2), name="total")
    row = pt.vector("row", dtype="float64")
    i = pt.lscalar("i")
    f = seqgraph.function(
        [i], row * 2, updates={total: total + row}, givens={row: data[i]}, backend=backend
    )
    np.testing.assert_allclose(f(1), [4.0, 6.0])
    np.testing.assert_allclose(f(2), [8.0, 10.0])
    np.testing.assert_allclose(np.asarray(total.get_value()), [6.0, 8.0])


def test_givens_take_values_as_in_theano(backend):
    # TheanoLM: givens=[(is_training, numpy.int8(1)), ...]; the value becomes a
    # shared variable, as Theano and PyTensor make it.
    x = pt.vector("x", dtype="float64")
    flag = pt.scalar("flag", dtype="int8")
    f = seqgraph.function([x], x * flag, givens=[(flag, np.int8(3))], backend=backend)
    np.testing.assert_allclose(f(np.ones(2)), [3.0, 3.0])
    with pytest.raises(TypeError, match="not a symbolic variable"):
        seqgraph.function([x], x, givens=[(np.int8(1), flag)], backend=backend)
    with pytest.raises(TypeError, match="pairs"):
        seqgraph.function([x], x, givens=[flag], backend=backend)


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def test_jax_keeps_parameters_on_the_device_and_c_still_reads_them():
    import jax

    w = pytensor.shared(np.ones(3), name="w")
    x = pt.vector("x", dtype="float64")
    step = seqgraph.function([x], (w * x).sum(), updates={w: w * 2}, backend="jax")
    step(np.ones(3))
    assert isinstance(w.get_value(borrow=True), jax.Array)  # resident, no host copy
    step(np.ones(3))
    np.testing.assert_allclose(np.asarray(w.get_value()), [4.0, 4.0, 4.0])
    read = seqgraph.function([x], (w * x).sum(), backend="c")
    assert float(read(np.ones(3))) == 12.0


@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed")
def _record_collector_state(monkeypatch):
    """Record whether the cyclic collector is on inside each compile."""
    module = sys.modules["seqgraph.function"]
    seen = []
    for name in ("_compile", "_specialise"):
        original = getattr(module.Function, name)

        def wrapped(self, *args, _original=original, **kwargs):
            seen.append(gc.isenabled())
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(module.Function, name, wrapped)
    return seen


def test_compiles_run_with_the_collector_paused(backend, monkeypatch):
    monkeypatch.delenv("SEQGRAPH_GC_PAUSE", raising=False)
    seen = _record_collector_state(monkeypatch)
    x = pt.vector("x", dtype="float64")
    f = seqgraph.function([x], 2 * x, backend=backend)
    np.testing.assert_allclose(f(np.arange(3.0)), [0.0, 2.0, 4.0])
    assert seen and not any(seen)
    assert gc.isenabled()


def test_collector_pause_setting(monkeypatch):
    seen = _record_collector_state(monkeypatch)
    x = pt.vector("x", dtype="float64")
    monkeypatch.setenv("SEQGRAPH_GC_PAUSE", "0")
    seqgraph.function([x], x + 1, backend="c")
    assert seen == [True]
    monkeypatch.setenv("SEQGRAPH_GC_PAUSE", "yes")
    with pytest.raises(ValueError, match="SEQGRAPH_GC_PAUSE must be 0 or 1"):
        seqgraph.function([x], x + 1, backend="c")
    assert gc.isenabled()


def test_the_collector_is_left_as_the_caller_set_it(monkeypatch):
    monkeypatch.delenv("SEQGRAPH_GC_PAUSE", raising=False)
    paused = sys.modules["seqgraph.function"]._collector_paused
    with pytest.raises(RuntimeError, match="compile failed"):
        with paused():
            assert not gc.isenabled()
            raise RuntimeError("compile failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_jax_compiles_once_per_shape_signature():
    x = pt.matrix("x", dtype="float64")
    f = seqgraph.function([x], pt.zeros((x.shape[1],)) + x.sum(0), backend="jax")
    f(np.ones((2, 3)))
    f(np.ones((2, 3)))
    assert len(f._cache) == 1
    np.testing.assert_allclose(f(np.ones((5, 4))), np.full(4, 5.0))
    assert len(f._cache) == 2


# -- precompile ---------------------------------------------------------------------


def _counter_step():
    """A function that updates a shared variable, and that variable."""
    floatx = pytensor.config.floatX
    acc = pytensor.shared(np.zeros(3, floatx), name="acc")
    x = pt.matrix("x")
    f = seqgraph.function([x], x.sum(), updates=[(acc, acc + x.sum(0))], backend="jax")
    return f, acc


def test_precompile_runs_nothing_and_the_first_call_finds_the_compile(jax_compiles):
    f, acc = _counter_step()
    acc.set_value(np.ones(3, acc.dtype))  # a host value, moved to the device by the call
    x = np.arange(6, dtype=acc.dtype).reshape(2, 3)
    future = f.precompile(x)
    future.result()
    assert future.done() and future.exception() is None
    np.testing.assert_array_equal(acc.get_value(), np.ones(3))  # nothing ran
    compiled = len(jax_compiles)
    assert float(f(x)) == 15.0
    np.testing.assert_array_equal(acc.get_value(), [4.0, 6.0, 8.0])
    # The call lowered and compiled nothing: the precompile was made for the
    # values as the call passes them (committed to the device).
    assert len(jax_compiles) == compiled
    assert f.precompile(x) is future  # known shapes: the same compile
    f.precompile(np.ones((5, 3), acc.dtype)).result()  # a new shape compiles
    assert len(f._cache) == 2
    compiled = len(jax_compiles)
    assert float(f(np.ones((5, 3), acc.dtype))) == 15.0
    assert len(jax_compiles) == compiled


def test_precompile_checks_its_arguments_as_a_call_does():
    pytest.importorskip("jax")
    f, _ = _counter_step()
    with pytest.raises(TypeError, match=r"takes 1 input\(s\) \(x\); got 2"):
        f.precompile(np.ones((2, 3)), np.ones(3))
    with pytest.raises(
        ValueError, match=r"input x expects ndim=2; got an argument of shape \(3,\)"
    ):
        f.precompile(np.ones(3))


def test_a_failed_background_compile_is_raised_by_the_call():
    pytest.importorskip("jax")
    f, acc = _counter_step()
    f.compiler_options = {"xla_no_such_option": True}
    x = np.ones((2, 3), acc.dtype)
    future = f.precompile(x)  # returns before XLA has looked at the options
    with pytest.raises(Exception, match="xla_no_such_option"):
        future.result()
    with pytest.raises(Exception, match="xla_no_such_option"):
        f(x)
    np.testing.assert_array_equal(acc.get_value(), np.zeros(3))


def test_precompile_on_the_c_backend_is_done_at_once():
    x = pt.vector("x")
    f = seqgraph.function([x], 2 * x, backend="c")
    future = f.precompile(np.ones(3))
    assert future.done() and future.result() is None
    with pytest.raises(TypeError, match="takes 1 input"):
        f.precompile()


def test_c_backend_links_openblas_without_warning():
    """In a fresh process: importing seqgraph and compiling a GEMM warns nothing."""
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "import numpy as np, pytensor.tensor as pt, seqgraph\n"
        "a = pt.matrix('a'); b = pt.matrix('b')\n"
        "f = seqgraph.function([a, b], a @ b + 1, backend='c')\n"
        "x = np.ones((4, 4), 'float32')\n"
        "assert np.allclose(f(x, x), 5.0)\n"
        "import pytensor\n"
        "print(seqgraph.BLAS_SOURCE)\n"
        "print(pytensor.config.blas__ldflags)\n"
        "print([type(n.op).__name__ for n in f._fn.maker.fgraph.toposort()])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "could not link to a BLAS" not in result.stderr
    source, flags, ops = result.stdout.splitlines()[:3]
    assert source == "scipy-openblas32"
    assert "-lscipy_openblas" in flags and "-Dsgemm_=scipy_sgemm_" in flags
    assert "Dot22" in ops or "Gemm" in ops


def test_jax_compiled_executables_are_cached_on_disk(tmp_path):
    pytest.importorskip("jax")
    script = (
        "import numpy as np, pytensor.tensor as pt, seqgraph\n"
        "x = pt.vector('x')\n"
        "f = seqgraph.function([x], (x ** 2).sum(), backend='jax')\n"
        "print(f(np.ones(3, 'float32')))\n"
    )
    env = dict(os.environ, SEQGRAPH_JAX_CACHE=str(tmp_path / "jax"))
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    assert any((tmp_path / "jax").iterdir())
    env["SEQGRAPH_JAX_CACHE"] = ""
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
