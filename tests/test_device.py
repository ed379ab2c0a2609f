"""Where JAX functions run: parameters stay on the device, device inputs stay put.

The ``gpu`` cases run only where JAX sees a GPU (they are skipped on the CI
machine); the ``cpu`` cases check the same contract on JAX's CPU device.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from seqgraph.backends import jax_device
from seqgraph.layers import LSTM, Bidirectional
from seqgraph.training import compile_train

jax = pytest.importorskip("jax")


def _has_gpu() -> bool:
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


needs_gpu = pytest.mark.skipif(not _has_gpu(), reason="JAX sees no GPU")


@pytest.fixture(params=["cpu", pytest.param("gpu", marks=needs_gpu)])
def device(request):
    return request.param


def _rel_error(actual, expected) -> float:
    actual, expected = np.asarray(actual, "float64"), np.asarray(expected, "float64")
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


# float32 on the CPU; on a GPU, XLA's default float32 matrix products may use
# TF32 (10-bit mantissa), so results agree to about 1e-3.
_TOLERANCE = {"cpu": 1e-5, "gpu": 1e-2}


def _lstm_step(backend, device, seed=0):
    """A masked LSTM's SGD training step; the initial state's shape comes from ``x``."""
    x = pt.tensor3("x", dtype="float32")
    mask = pt.matrix("mask", dtype="float32")
    layer = LSTM(5, 16, seed=seed, peepholes=True, learn_init=True)
    h = layer(x, mask=mask)
    loss = ((h - 0.5) ** 2).mean()
    step = compile_train(
        [x, mask], loss, layer, optimizer="sgd", learning_rate=0.5, backend=backend, device=device
    )
    return step, layer


def _batch(seed=1, batch=4, steps=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, 5)).astype("float32")
    mask = np.ones((batch, steps), "float32")
    mask[1, 4:] = 0
    mask[3, 2:] = 0
    return x, mask


def test_parameters_and_inputs_stay_on_the_device(device, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    target = jax_device(device)
    step, layer = _lstm_step("jax", device)
    x, mask = _batch()
    step(x, mask)  # the first call moves the parameters there (and compiles)
    on_device = [jax.device_put(v, target) for v in (x, mask)]
    # No host-to-device copy at all per call: parameters are resident, the
    # inputs were placed on the device by the caller.
    with jax.transfer_guard_host_to_device("disallow"):
        losses = [float(step(*on_device)[0]) for _ in range(3)]
    assert losses[-1] < losses[0]
    for param in layer.params:
        value = param.get_value(borrow=True)
        assert isinstance(value, jax.Array), param.name
        assert value.devices() == {target}, param.name


def test_host_outputs_false_leaves_results_on_the_device(device, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    x = pt.vector("x", dtype="float32")
    fn = seqgraph.function([x], [2 * x, x.sum()], backend="jax", device=device, host_outputs=False)
    out = fn(np.ones(3, "float32"))
    for value in out:
        assert isinstance(value, jax.Array) and value.devices() == {jax_device(device)}
    np.testing.assert_array_equal(np.asarray(out[0]), [2.0, 2.0, 2.0])
    default = seqgraph.function([x], 2 * x, backend="jax", device=device)
    assert type(default(np.ones(3, "float32"))) is np.ndarray
    with pytest.raises(TypeError, match="host_outputs must be True or False"):
        seqgraph.function([x], 2 * x, backend="jax", host_outputs="no")


def test_training_matches_the_c_backend(device, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    x, mask = _batch()
    results = {}
    for backend, dev in (("c", "cpu"), ("jax", device)):
        step, layer = _lstm_step(backend, dev)
        losses = [float(step(x, mask)[0]) for _ in range(3)]
        results[backend] = losses, [np.asarray(p.get_value()) for p in layer.params]
    (c_losses, c_params), (j_losses, j_params) = results["c"], results["jax"]
    assert _rel_error(j_losses, c_losses) < _TOLERANCE[device]
    for mine, ref in zip(j_params, c_params):
        assert _rel_error(mine, ref) < _TOLERANCE[device]


@needs_gpu
def test_gpu_gradient_of_input_shaped_scans_matches_cpu(tmp_path, monkeypatch):
    # Shapes from the inputs, go_backwards and truncate_gradient, on the GPU.
    monkeypatch.setenv("SEQGRAPH_JAX_CACHE", str(tmp_path))
    x = pt.tensor3("x", dtype="float32")
    layer = Bidirectional(
        LSTM(5, 8, seed=2, truncate_gradient=4),
        LSTM(5, 8, seed=3, go_backwards=True),
        merge="concat",
    )
    out = layer(x)
    loss = (out**2).sum()
    grads = pytensor.grad(loss, layer.params)
    data = np.random.default_rng(4).normal(size=(3, 9, 5)).astype("float32")
    results = {}
    for dev in ("cpu", "gpu"):
        fn = seqgraph.function([x], [loss, *grads], backend="jax", device=dev)
        results[dev] = fn(data)
    for gpu, cpu in zip(results["gpu"], results["cpu"]):
        assert _rel_error(gpu, cpu) < _TOLERANCE["gpu"]


_PROBE = """
import numpy as np, pytensor.tensor as pt, seqgraph
from seqgraph.layers import LSTM
x = pt.tensor3("x", dtype="float32")
layer = LSTM(3, 8, seed=0)
fn = seqgraph.function([x], (layer(x) ** 2).sum(), backend="jax", device="gpu")
value = fn(np.ones((2, 5, 3), "float32"))
[program] = fn._cache.values()
print(program.from_cache, program.platform, repr(float(value)))
"""


@needs_gpu
def test_gpu_program_is_cached_across_processes(tmp_path):
    # This process holds 75% of the GPU's memory (JAX preallocates it): the
    # children allocate on demand from the rest.
    env = dict(os.environ, SEQGRAPH_JAX_CACHE=str(tmp_path), XLA_PYTHON_CLIENT_PREALLOCATE="false")
    lines = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
        lines.append(done.stdout.split())
    assert lines[0][:2] == ["False", "cuda"] and lines[1][:2] == ["True", "cuda"]
    assert lines[0][2] == lines[1][2]
