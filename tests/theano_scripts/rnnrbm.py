"""An RNN-RBM (an RBM per time step whose biases an RNN sets), in the 2012 tutorial's style.

As Boulanger-Lewandowski's deeplearning.net tutorial wrote it: a Gibbs chain
(a scan drawing from ``RandomStreams``) inside the step of the generating
scan, a step that returns ``(outputs, updates)``, ``T.xlogx.xlogy0``, updates
merged with ``OrderedUpdates.update`` from a generator of pairs, and a
``theano.config.warn`` flag set as old scripts did. The data: a note moving up
or down the 12 semitones with a chord every fourth step. Saves the monitoring
cost per epoch and two generated sequences.
"""

# ruff: noqa: E501, B007, NPY002 - the tutorial's own style, kept.

import sys

import numpy
import theano
import theano.tensor as T
from theano.tensor.shared_randomstreams import RandomStreams

numpy.random.seed(0xBEEF)
rng = RandomStreams(seed=numpy.random.randint(1 << 30))
theano.config.warn.subtensor_merge_bug = False


def build_rbm(v, W, bv, bh, k):
    def gibbs_step(v):
        mean_h = T.nnet.sigmoid(T.dot(v, W) + bh)
        h = rng.binomial(size=mean_h.shape, n=1, p=mean_h, dtype=theano.config.floatX)
        mean_v = T.nnet.sigmoid(T.dot(h, W.T) + bv)
        v = rng.binomial(size=mean_v.shape, n=1, p=mean_v, dtype=theano.config.floatX)
        return mean_v, v

    chain, updates = theano.scan(lambda v: gibbs_step(v)[1], outputs_info=[v], n_steps=k)
    v_sample = chain[-1]
    mean_v = gibbs_step(v_sample)[0]
    monitor = T.xlogx.xlogy0(v, mean_v) + T.xlogx.xlogy0(1 - v, 1 - mean_v)
    monitor = monitor.sum() / v.shape[0]

    def free_energy(v):
        return -(v * bv).sum() - T.log(1 + T.exp(T.dot(v, W) + bh)).sum()

    cost = (free_energy(v) - free_energy(v_sample)) / v.shape[0]
    return v_sample, cost, monitor, updates


def shared_normal(num_rows, num_cols, scale=1):
    return theano.shared(
        numpy.random.normal(scale=scale, size=(num_rows, num_cols)).astype(theano.config.floatX)
    )


def shared_zeros(*shape):
    return theano.shared(numpy.zeros(shape, dtype=theano.config.floatX))


def build_rnnrbm(n_visible, n_hidden, n_hidden_recurrent):
    W = shared_normal(n_visible, n_hidden, 0.01)
    bv = shared_zeros(n_visible)
    bh = shared_zeros(n_hidden)
    Wuh = shared_normal(n_hidden_recurrent, n_hidden, 0.0001)
    Wuv = shared_normal(n_hidden_recurrent, n_visible, 0.0001)
    Wvu = shared_normal(n_visible, n_hidden_recurrent, 0.0001)
    Wuu = shared_normal(n_hidden_recurrent, n_hidden_recurrent, 0.0001)
    bu = shared_zeros(n_hidden_recurrent)
    params = W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu

    v = T.matrix()
    u0 = T.zeros((n_hidden_recurrent,))

    def recurrence(v_t, u_tm1):
        bv_t = bv + T.dot(u_tm1, Wuv)
        bh_t = bh + T.dot(u_tm1, Wuh)
        generate = v_t is None
        if generate:
            v_t, _, _, updates = build_rbm(T.zeros((n_visible,)), W, bv_t, bh_t, k=25)
        u_t = T.tanh(bu + T.dot(v_t, Wvu) + T.dot(u_tm1, Wuu))
        return ([v_t, u_t], updates) if generate else [u_t, bv_t, bh_t]

    (u_t, bv_t, bh_t), updates_train = theano.scan(
        lambda v_t, u_tm1, *_: recurrence(v_t, u_tm1),
        sequences=v,
        outputs_info=[u0, None, None],
        non_sequences=params,
    )
    v_sample, cost, monitor, updates_rbm = build_rbm(v, W, bv_t[:], bh_t[:], k=15)
    updates_train.update(updates_rbm)

    (v_t, u_t), updates_generate = theano.scan(
        lambda u_tm1, *_: recurrence(None, u_tm1),
        outputs_info=[None, u0],
        non_sequences=params,
        n_steps=30,
    )
    return (v, v_sample, cost, monitor, params, updates_train, v_t, updates_generate)


class RnnRbm:
    def __init__(self, n_hidden=30, n_hidden_recurrent=20, lr=0.01):
        (v, v_sample, cost, monitor, params, updates_train, v_t, updates_generate) = build_rnnrbm(
            12, n_hidden, n_hidden_recurrent
        )
        gradient = T.grad(cost, params, consider_constant=[v_sample])
        updates_train.update(((p, p - lr * g) for p, g in zip(params, gradient)))
        self.train_function = theano.function([v], monitor, updates=updates_train)
        self.generate_function = theano.function([], v_t, updates=updates_generate)


def sequences(n, length=40):
    """A note (one of 12) moving up or down by one each step, with a chord now and then."""
    seqs = []
    r = numpy.random.RandomState(3)
    for _ in range(n):
        s = numpy.zeros((length, 12), dtype=theano.config.floatX)
        p, d = r.randint(12), r.choice([-1, 1])
        for t in range(length):
            s[t, p] = 1
            if t % 4 == 0:
                s[t, (p + 4) % 12] = 1
            p = (p + d) % 12
        seqs.append(s)
    return seqs


if __name__ == "__main__":
    model = RnnRbm()
    data = sequences(20)
    costs = []
    for epoch in range(10):
        costs.append(numpy.mean([model.train_function(s) for s in data]))
    g1 = model.generate_function()
    g2 = model.generate_function()
    numpy.savez(sys.argv[1], costs=numpy.array(costs), g1=g1, g2=g2)
