"""A plain-JAX LSTM training step with its time axis in K chunks (projection, loop and
weight gradients per chunk), against K = 1, in one process.

The experiment behind the README's "Tried and left out: the time axis in chunks".

Usage: ``python chunks_plain_jax.py BATCH STEPS INPUTS HIDDEN 1,2,4 PAIRS`` (STEPS divisible
by every K)
"""

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

B, T, D, H = [int(v) for v in sys.argv[1:5]]
Ks = [int(k) for k in sys.argv[5].split(",")]
r = np.random.default_rng(0)
X = jnp.asarray(r.standard_normal((T, B, D), dtype="f4"))
W = jnp.asarray(r.standard_normal((D, 4 * H), dtype="f4") * 0.05)
U = jnp.asarray(r.standard_normal((H, 4 * H), dtype="f4") * 0.05)
DH = jnp.asarray(r.standard_normal((T, B, H), dtype="f4"))
s = jnp.concatenate([jnp.full(2 * H, 0.5), jnp.ones(H), jnp.full(H, 0.5)]).astype("f4")


def fbody(U):
    def body(carry, xp):
        h, c = carry
        act = s * jnp.tanh(s * (xp + h @ U)) + (1 - s)
        i, f, g, o = act[:, :H], act[:, H : 2 * H], act[:, 2 * H : 3 * H], act[:, 3 * H :]
        c2 = f * c + i * g
        h2 = o * jnp.tanh(c2)
        return (h2, c2), (h2, c2, act)

    return body


def bbody(U):
    def body(carry, seq):
        dh, dc = carry
        act, cp, dhi = seq
        dh = dh + dhi
        i, f, g, o = act[:, :H], act[:, H : 2 * H], act[:, 2 * H : 3 * H], act[:, 3 * H :]
        tc = jnp.tanh(f * cp + i * g)
        do = dh * tc
        dc = dc + dh * o * (1 - tc * tc)
        da = jnp.concatenate(
            [dc * g * i * (1 - i), dc * cp * f * (1 - f), dc * i * (1 - g * g), do * o * (1 - o)], 1
        )
        return (da @ U.T, dc * f), da

    return body


def step(X, W, U, K):
    n = T // K
    z = jnp.zeros((B, H), "f4")
    carry = (z, z)
    outs = []
    for k in range(K):
        xp = (X[k * n : (k + 1) * n].reshape(n * B, D) @ W).reshape(n, B, 4 * H)
        c0 = carry
        carry, o = jax.lax.scan(fbody(U), carry, xp)
        outs.append((c0, o))
    dW = 0
    dU = 0
    dXs = []
    bc = (z, z)
    for k in reversed(range(K)):
        (h0, c0), (hs, cs, acts) = outs[k]
        hp = jnp.concatenate([h0[None], hs[:-1]])
        cp = jnp.concatenate([c0[None], cs[:-1]])
        bc, da = jax.lax.scan(bbody(U), bc, (acts, cp, DH[k * n : (k + 1) * n]), reverse=True)
        daf = da.reshape(n * B, 4 * H)
        dW = dW + X[k * n : (k + 1) * n].reshape(n * B, D).T @ daf
        dU = dU + hp.reshape(n * B, H).T @ daf
        dXs.append(daf @ W.T)
    return W - 0.01 * dW, U - 0.01 * dU, jnp.concatenate(dXs[::-1])


fs = {K: jax.jit(lambda X, W, U, K=K: step(X, W, U, K)) for K in Ks}
ref = fs[1](X, W, U)
for K, f in fs.items():
    o = f(X, W, U)
    print(K, [float(jnp.abs(a - b).max()) for a, b in zip(o, ref)])
ts = {K: [] for K in fs}
for _ in range(int(sys.argv[6])):
    for K, f in fs.items():
        t0 = time.perf_counter()
        jax.block_until_ready(f(X, W, U))
        ts[K].append(time.perf_counter() - t0)
for K in fs:
    print(K, "%.3f ms" % (np.median(ts[K]) * 1e3))
