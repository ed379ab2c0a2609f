"""The implementations the suite times, all built from one seqgraph layer's weights.

Each builder returns an :class:`Impl`: a ``run()`` that performs one call
(forward, or one training step: forward, BPTT and an SGD update of every
weight) and waits for the device, and a ``result()`` of the first call for the
check against the NumPy reference.  Training steps minimise ``mean(h ** 2)``
with SGD at ``LEARNING_RATE``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

MODELS = ("elman", "gru", "lstm", "lstm_peep_mask", "bilstm")
SIZES = {
    "small": (16, 50, 64, 128),
    "medium": (64, 100, 128, 256),
    "large": (128, 200, 256, 512),
}
LEARNING_RATE = 0.01


@dataclass
class Spec:
    model: str
    batch: int
    steps: int
    n_in: int
    hidden: int
    task: str  # "forward" or "train"

    @property
    def masked(self) -> bool:
        return self.model == "lstm_peep_mask"


@dataclass
class Impl:
    name: str
    run: object
    first: object  # the result of the first call (checked before timing)
    compile_seconds: float
    notes: list = field(default_factory=list)
    graph_seconds: float = 0.0  # building the graph (seqgraph only), apart from compiling
    # JAX: MiB that XLA allocates for one call besides its arguments (temporaries
    # and outputs not written over donated inputs), from the compiled program.
    device_mib: object = None
    # seqgraph on JAX: op_times(calls) -> seqgraph.profiling.OpTimes of its program.
    op_times: object = None


def xla_call_mib(compiled) -> float:
    """MiB a compiled XLA program allocates per call besides its arguments."""
    stats = compiled.memory_analysis()
    extra = stats.temp_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes
    return extra / 2**20


def make_layer(spec, seed=0):
    """The seqgraph layer whose weights every implementation uses."""
    from seqgraph.init import Normal
    from seqgraph.layers import GRU, LSTM, Bidirectional, Elman

    # Small weights keep float32 results of long sequences well conditioned.
    init = dict(W_in_init=Normal(0.1), W_hid_init=Normal(0.05), seed=seed)
    if spec.model == "elman":
        return Elman(spec.n_in, spec.hidden, **init)
    if spec.model == "gru":
        return GRU(spec.n_in, spec.hidden, reset_after=True, **init)
    if spec.model == "lstm":
        return LSTM(spec.n_in, spec.hidden, **init)
    if spec.model == "lstm_peep_mask":
        layer = LSTM(spec.n_in, spec.hidden, peepholes=True, peephole_init=Normal(0.1), **init)
        return layer
    if spec.model == "bilstm":
        return Bidirectional(LSTM(spec.n_in, spec.hidden, **init), seed=seed + 1)
    raise ValueError(f"unknown model {spec.model!r}; models are {MODELS}.")


def make_data(spec, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(spec.batch, spec.steps, spec.n_in)).astype("float32")
    mask = None
    if spec.masked:
        lengths = rng.integers(spec.steps // 2, spec.steps + 1, size=spec.batch)
        lengths[0] = spec.steps
        mask = (np.arange(spec.steps)[None, :] < lengths[:, None]).astype("float32")
    return x, mask


def _directions(layer):
    from seqgraph.layers import Bidirectional

    if isinstance(layer, Bidirectional):
        return [(layer.forward, False), (layer.backward, True)]
    return [(layer, False)]


def _weights(layer):
    """Per direction: (kind, {name: float32 array}, go_backwards)."""
    out = []
    for direction, backwards in _directions(layer):
        cell = direction.cell
        kind = type(cell).__name__.replace("Cell", "").lower()
        values = {
            k: np.asarray(v.get_value(), dtype="float32") for k, v in cell.named_params().items()
        }
        out.append((kind, values, backwards))
    return out


# -- NumPy: the reference -------------------------------------------------------------


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_direction(kind, p, x, mask, backwards):
    batch, steps, _ = x.shape
    n = p["W_hid"].shape[0]
    xp = x @ p["W_in"] + p["b"]
    h = np.zeros((batch, n), x.dtype)
    c = np.zeros((batch, n), x.dtype)
    out = np.empty((batch, steps, n), x.dtype)
    for t in range(steps - 1, -1, -1) if backwards else range(steps):
        a = xp[:, t]
        if kind == "elman":
            h_new, c_new = np.tanh(a + h @ p["W_hid"]), c
        elif kind == "gru":
            hh = h @ p["W_hid"]
            r = _sigmoid(a[:, :n] + hh[:, :n])
            z = _sigmoid(a[:, n : 2 * n] + hh[:, n : 2 * n])
            cand = np.tanh(a[:, 2 * n :] + r * (hh[:, 2 * n :] + p["b_hn"]))
            h_new, c_new = (1 - z) * cand + z * h, c
        else:
            g = a + h @ p["W_hid"]
            gi, gf, gg, go = (g[:, k * n : (k + 1) * n] for k in range(4))
            if "w_ci" in p:
                gi, gf = gi + p["w_ci"] * c, gf + p["w_cf"] * c
            c_new = _sigmoid(gf) * c + _sigmoid(gi) * np.tanh(gg)
            if "w_co" in p:
                go = go + p["w_co"] * c_new
            h_new = _sigmoid(go) * np.tanh(c_new)
        if mask is not None:
            keep = mask[:, t, None] != 0
            h_new, c_new = np.where(keep, h_new, h), np.where(keep, c_new, c)
        h, c = h_new, c_new
        out[:, t] = h
    return out


def numpy_forward(layer, x, mask):
    outs = [_np_direction(kind, p, x, mask, bw) for kind, p, bw in _weights(layer)]
    return np.concatenate(outs, axis=-1) if len(outs) > 1 else outs[0]


def build_numpy(spec, layer, x, mask):
    if spec.task != "forward":
        return None
    start = time.perf_counter()
    first = numpy_forward(layer, x, mask)
    return Impl("numpy", lambda: numpy_forward(layer, x, mask), first, time.perf_counter() - start)


# -- seqgraph ----------------------------------------------------------------------


def build_seqgraph(spec, layer, x, mask, backend, device="cpu", batch_splits=1):
    import pytensor
    import pytensor.tensor as pt

    import seqgraph

    graph_start = time.perf_counter()
    xs = pt.tensor3("x", dtype="float32")
    ms = pt.matrix("mask", dtype="float32") if mask is not None else None
    h = layer(xs, mask=ms)
    inputs = [xs] + ([ms] if ms is not None else [])
    args = [x] + ([mask] if mask is not None else [])
    if batch_splits > 1:
        if spec.task != "train":
            return None
        return _build_split(layer, inputs, args, h, backend, device, batch_splits, graph_start)
    if spec.task == "forward":
        outputs, updates = h, None
    else:
        outputs = (h**2).mean()
        params = layer.params
        grads = pytensor.grad(outputs, params)
        lr = np.float32(LEARNING_RATE)
        updates = [(p, p - lr * g) for p, g in zip(params, grads)]
    # Building the graph (the layer's scan, pytensor.grad) is not compiling.
    start = time.perf_counter()
    if backend == "jax":
        # As the peers: data already on the device, the result left there
        # (the time is the computation's, not a copy of the output to the host).
        import jax

        from seqgraph.backends import jax_device

        args = jax.device_put(args, jax_device(device))
        fn = seqgraph.function(
            inputs, outputs, updates=updates, backend=backend, device=device, host_outputs=False
        )

        def run():
            return fn(*args).block_until_ready()

    else:
        fn = seqgraph.function(inputs, outputs, updates=updates, backend=backend, device=device)

        def run():
            return fn(*args)

    first = run()
    seconds = time.perf_counter() - start
    name = f"seqgraph-{backend}" + ("-gpu" if device == "gpu" else "")
    impl = Impl(name, run, np.asarray(first), seconds)
    impl.graph_seconds = start - graph_start
    if backend == "jax":

        def device_mib():
            [program] = fn._cache.values()
            lowered = program._fn.lower(*args, *fn._shared_values())
            return xla_call_mib(lowered.compile())

        impl.device_mib = device_mib

        def op_times(calls=3):
            from seqgraph.profiling import op_times

            return op_times(fn, *args, calls=calls)

        impl.op_times = op_times
    return impl


def _build_split(layer, inputs, args, h, backend, device, batch_splits, graph_start):
    """The training step as :func:`seqgraph.compile_train` with ``batch_splits``.

    The same work as :func:`build_seqgraph`'s (``mean(h ** 2)``, SGD): the
    batch's parts run as concurrent programs and SGD applies the average of
    their gradients.  The minibatch comes from the host, cut there.
    """
    from seqgraph.training import compile_train

    loss = (h**2).mean()
    start = time.perf_counter()
    step = compile_train(
        inputs,
        loss,
        layer.params,
        optimizer="sgd",
        learning_rate=LEARNING_RATE,
        backend=backend,
        device=device,
        batch_splits=batch_splits,
    )

    def run():
        return step(*args)[0]

    first = run()
    seconds = time.perf_counter() - start
    impl = Impl(f"seqgraph-{backend}-split{batch_splits}", run, np.asarray(first), seconds)
    impl.graph_seconds = start - graph_start
    return impl


# -- plain JAX ------------------------------------------------------------------------


# The plain-JAX peer writes the cell equations again on purpose rather than
# sharing _np_direction's code through an array-module argument: it is checked
# against the NumPy reference before it is timed, and a shared bug would pass.
def _jax_direction(kind, p, x_tm, m_tm, backwards):
    import jax
    import jax.numpy as jnp

    n = p["W_hid"].shape[0]
    xp = x_tm @ p["W_in"] + p["b"]
    batch = x_tm.shape[1]
    if backwards:
        xp = xp[::-1]
        m_tm = None if m_tm is None else m_tm[::-1]

    def step(carry, inputs):
        h, c = carry
        a, m = inputs
        if kind == "elman":
            h_new, c_new = jnp.tanh(a + h @ p["W_hid"]), c
        elif kind == "gru":
            hh = h @ p["W_hid"]
            r = jax.nn.sigmoid(a[:, :n] + hh[:, :n])
            z = jax.nn.sigmoid(a[:, n : 2 * n] + hh[:, n : 2 * n])
            cand = jnp.tanh(a[:, 2 * n :] + r * (hh[:, 2 * n :] + p["b_hn"]))
            h_new, c_new = (1 - z) * cand + z * h, c
        else:
            g = a + h @ p["W_hid"]
            gi, gf, gg, go = (g[:, k * n : (k + 1) * n] for k in range(4))
            if "w_ci" in p:
                gi, gf = gi + p["w_ci"] * c, gf + p["w_cf"] * c
            c_new = jax.nn.sigmoid(gf) * c + jax.nn.sigmoid(gi) * jnp.tanh(gg)
            if "w_co" in p:
                go = go + p["w_co"] * c_new
            h_new = jax.nn.sigmoid(go) * jnp.tanh(c_new)
        if m is not None:
            keep = m[:, None] != 0
            h_new, c_new = jnp.where(keep, h_new, h), jnp.where(keep, c_new, c)
        return (h_new, c_new), h_new

    zeros = jnp.zeros((batch, n), x_tm.dtype)
    seq = (xp, m_tm) if m_tm is not None else (xp, None)
    if m_tm is None:
        _, hs = jax.lax.scan(lambda carry, a: step(carry, (a, None)), (zeros, zeros), xp)
    else:
        _, hs = jax.lax.scan(step, (zeros, zeros), seq)
    return hs[::-1] if backwards else hs


def build_jax(spec, layer, x, mask, device="cpu"):
    import jax
    import jax.numpy as jnp

    from seqgraph.backends import jax_device

    dev = jax_device(device)
    kinds = [(kind, bw) for kind, _, bw in _weights(layer)]
    params = jax.device_put([p for _, p, _ in _weights(layer)], dev)
    x_d = jax.device_put(x, dev)
    m_d = None if mask is None else jax.device_put(mask, dev)

    def forward(params, x, mask):
        x_tm = jnp.swapaxes(x, 0, 1)
        m_tm = None if mask is None else jnp.swapaxes(mask, 0, 1)
        outs = [_jax_direction(k, p, x_tm, m_tm, bw) for (k, bw), p in zip(kinds, params)]
        out = jnp.concatenate(outs, axis=-1) if len(outs) > 1 else outs[0]
        return jnp.swapaxes(out, 0, 1)

    start = time.perf_counter()
    if spec.task == "forward":
        fn = jax.jit(forward)

        def run():
            return fn(params, x_d, m_d).block_until_ready()

        def device_mib():
            return xla_call_mib(fn.lower(params, x_d, m_d).compile())

        first = run()
    else:

        def loss(params, x, mask):
            return jnp.mean(forward(params, x, mask) ** 2)

        @jax.jit
        def train(params, x, mask):
            value, grads = jax.value_and_grad(loss)(params, x, mask)
            new = jax.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
            return new, value

        state = {"params": params}

        def run():
            state["params"], value = train(state["params"], x_d, m_d)
            return value.block_until_ready()

        def device_mib():
            return xla_call_mib(train.lower(state["params"], x_d, m_d).compile())

        first = run()
    seconds = time.perf_counter() - start
    name = "jax-lax.scan" + ("-gpu" if device == "gpu" else "")
    return Impl(name, run, np.asarray(first), seconds, device_mib=device_mib)


# -- PyTorch --------------------------------------------------------------------------


def build_torch(spec, layer, x, mask, device="cpu", onednn=True):
    """PyTorch's ``nn.RNN``/``nn.GRU``/``nn.LSTM`` with the layer's weights.

    ``onednn=False`` (CPU only) runs every call with oneDNN turned off, so that
    ``nn.LSTM`` uses PyTorch's own loop of ATen ops rather than oneDNN's fused
    LSTM kernel.
    """
    if spec.model == "lstm_peep_mask":
        return None  # nn.LSTM has no peepholes
    if not onednn and device != "cpu":
        raise ValueError(f"onednn=False is for the CPU; got device={device!r}.")
    import contextlib

    import torch

    from seqgraph.torch_io import torch_state_dict

    cls = {"elman": torch.nn.RNN, "gru": torch.nn.GRU}.get(spec.model, torch.nn.LSTM)
    module = cls(spec.n_in, spec.hidden, batch_first=True, bidirectional=spec.model == "bilstm")
    module.load_state_dict(torch_state_dict(layer, tensors=True))
    dev = torch.device("cuda" if device == "gpu" else "cpu")
    module = module.to(dev)
    x_t = torch.from_numpy(x).to(dev)
    sync = torch.cuda.synchronize if device == "gpu" else (lambda: None)

    @contextlib.contextmanager
    def backend_flags():
        if onednn:
            yield
            return
        with warnings.catch_warnings():
            # Setting the flags warns about TF32 on Intel GPUs, which we do not use.
            warnings.simplefilter("ignore", UserWarning)
            with torch.backends.mkldnn.flags(enabled=False):
                yield

    start = time.perf_counter()
    if spec.task == "forward":

        def run():
            with torch.no_grad(), backend_flags():
                out = module(x_t)[0]
            sync()
            return out

        first = run().cpu().numpy()
    else:
        params = list(module.parameters())

        def run():
            with backend_flags():
                out = module(x_t)[0]
                loss = (out**2).mean()
                loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= LEARNING_RATE * p.grad
                    p.grad = None
            sync()
            return loss

        first = run().item()
    seconds = time.perf_counter() - start
    name = "torch" + ("-cudnn" if device == "gpu" else "" if onednn else "-native")
    return Impl(name, run, np.asarray(first), seconds)
