"""A restricted Boltzmann machine trained by CD-k and PCD, in the 2013 deeplearning.net style.

As that tutorial wrote it: Gibbs chains in ``theano.scan`` whose steps draw from
``RandomStreams`` (the draws' updates come back from scan), ``consider_constant``
on the chain's end, a persistent chain and a pseudo-likelihood bit index kept
in shared variables through the updates, then sampling from the trained model.
The data: 6x6 images of random horizontal or vertical bars. Saves the costs per
epoch, free energies of data and of noise, and the samples.
"""

# ruff: noqa: UP004, UP008, UP031, E501, B007 - the tutorial's own style, kept.

import sys

import numpy
import theano
import theano.tensor as T
from theano.tensor.shared_randomstreams import RandomStreams


class RBM(object):
    def __init__(self, input, n_visible, n_hidden, numpy_rng, theano_rng):
        bound = 4 * numpy.sqrt(6.0 / (n_hidden + n_visible))
        W0 = numpy.asarray(
            numpy_rng.uniform(low=-bound, high=bound, size=(n_visible, n_hidden)),
            dtype=theano.config.floatX,
        )
        self.W = theano.shared(value=W0, name="W", borrow=True)
        self.hbias = theano.shared(
            value=numpy.zeros(n_hidden, dtype=theano.config.floatX), name="hbias", borrow=True
        )
        self.vbias = theano.shared(
            value=numpy.zeros(n_visible, dtype=theano.config.floatX), name="vbias", borrow=True
        )
        self.input = input
        self.n_visible = n_visible
        self.theano_rng = theano_rng
        self.params = [self.W, self.hbias, self.vbias]

    def free_energy(self, v_sample):
        wx_b = T.dot(v_sample, self.W) + self.hbias
        vbias_term = T.dot(v_sample, self.vbias)
        hidden_term = T.sum(T.log(1 + T.exp(wx_b)), axis=1)
        return -hidden_term - vbias_term

    def propup(self, vis):
        pre = T.dot(vis, self.W) + self.hbias
        return [pre, T.nnet.sigmoid(pre)]

    def sample_h_given_v(self, v0):
        pre_h1, h1_mean = self.propup(v0)
        h1 = self.theano_rng.binomial(
            size=h1_mean.shape, n=1, p=h1_mean, dtype=theano.config.floatX
        )
        return [pre_h1, h1_mean, h1]

    def propdown(self, hid):
        pre = T.dot(hid, self.W.T) + self.vbias
        return [pre, T.nnet.sigmoid(pre)]

    def sample_v_given_h(self, h0):
        pre_v1, v1_mean = self.propdown(h0)
        v1 = self.theano_rng.binomial(
            size=v1_mean.shape, n=1, p=v1_mean, dtype=theano.config.floatX
        )
        return [pre_v1, v1_mean, v1]

    def gibbs_hvh(self, h0):
        pre_v1, v1_mean, v1 = self.sample_v_given_h(h0)
        pre_h1, h1_mean, h1 = self.sample_h_given_v(v1)
        return [pre_v1, v1_mean, v1, pre_h1, h1_mean, h1]

    def gibbs_vhv(self, v0):
        pre_h1, h1_mean, h1 = self.sample_h_given_v(v0)
        pre_v1, v1_mean, v1 = self.sample_v_given_h(h1)
        return [pre_h1, h1_mean, h1, pre_v1, v1_mean, v1]

    def get_cost_updates(self, lr=0.1, persistent=None, k=1):
        pre_ph, ph_mean, ph_sample = self.sample_h_given_v(self.input)
        if persistent is None:
            chain_start = ph_sample
        else:
            chain_start = persistent
        ([pre_nvs, nv_means, nv_samples, pre_nhs, nh_means, nh_samples], updates) = theano.scan(
            self.gibbs_hvh,
            outputs_info=[None, None, None, None, None, chain_start],
            n_steps=k,
            name="gibbs_hvh",
        )
        chain_end = nv_samples[-1]
        cost = T.mean(self.free_energy(self.input)) - T.mean(self.free_energy(chain_end))
        gparams = T.grad(cost, self.params, consider_constant=[chain_end])
        for gparam, param in zip(gparams, self.params):
            updates[param] = param - gparam * T.cast(lr, dtype=theano.config.floatX)
        if persistent:
            updates[persistent] = nh_samples[-1]
            monitoring_cost = self.get_pseudo_likelihood_cost(updates)
        else:
            monitoring_cost = self.get_reconstruction_cost(updates, pre_nvs[-1])
        return monitoring_cost, updates

    def get_pseudo_likelihood_cost(self, updates):
        bit_i_idx = theano.shared(value=0, name="bit_i_idx")
        xi = T.round(self.input)
        fe_xi = self.free_energy(xi)
        xi_flip = T.set_subtensor(xi[:, bit_i_idx], 1 - xi[:, bit_i_idx])
        fe_xi_flip = self.free_energy(xi_flip)
        cost = T.mean(self.n_visible * T.log(T.nnet.sigmoid(fe_xi_flip - fe_xi)))
        updates[bit_i_idx] = (bit_i_idx + 1) % self.n_visible
        return cost

    def get_reconstruction_cost(self, updates, pre_sigmoid_nv):
        return T.mean(
            T.sum(
                self.input * T.log(T.nnet.sigmoid(pre_sigmoid_nv))
                + (1 - self.input) * T.log(1 - T.nnet.sigmoid(pre_sigmoid_nv)),
                axis=1,
            )
        )


def patterns(rng, n, side=6):
    """Bars: each image is a few random rows or columns switched on."""
    data = numpy.zeros((n, side, side))
    for img in data:
        lines = rng.rand(side) < 0.3
        if rng.rand() < 0.5:
            img[lines, :] = 1
        else:
            img[:, lines] = 1
    return data.reshape(n, side * side).astype(theano.config.floatX)


def main(out):
    rng = numpy.random.RandomState(123)
    train_x = theano.shared(patterns(rng, 400), borrow=True)
    batch_size = 20
    n_batches = train_x.get_value(borrow=True).shape[0] // batch_size
    index = T.lscalar()
    x = T.matrix("x")
    results = {}
    for mode in ("cd", "pcd"):
        theano_rng = RandomStreams(rng.randint(2**30))
        rbm = RBM(x, 36, 24, numpy.random.RandomState(7), theano_rng)
        persistent = None
        if mode == "pcd":
            persistent = theano.shared(
                numpy.zeros((batch_size, 24), dtype=theano.config.floatX), borrow=True
            )
        cost, updates = rbm.get_cost_updates(lr=0.1, persistent=persistent, k=3)
        train_rbm = theano.function(
            [index],
            cost,
            updates=updates,
            givens={x: train_x[index * batch_size : (index + 1) * batch_size]},
            name="train_rbm",
        )
        fe = theano.function([x], T.mean(rbm.free_energy(x)))
        costs = []
        for epoch in range(8):
            costs.append(numpy.mean([train_rbm(i) for i in range(n_batches)]))
        results[mode + "_costs"] = numpy.array(costs)
        results[mode + "_fe_data"] = fe(train_x.get_value())
        results[mode + "_fe_noise"] = fe((rng.rand(400, 36) < 0.3).astype(theano.config.floatX))
        if persistent is not None:
            results["pcd_chain"] = persistent.get_value()

    # sampling from the last model, as the tutorial does
    n_chains = 10
    chain = theano.shared(train_x.get_value()[:n_chains], borrow=True)
    ([presig_h, h_mf, h_s, presig_v, v_mf, v_s], updates) = theano.scan(
        rbm.gibbs_vhv,
        outputs_info=[None, None, None, None, None, chain],
        n_steps=50,
        name="gibbs_vhv",
    )
    updates.update({chain: v_s[-1]})
    sample_fn = theano.function([], [v_mf[-1], v_s[-1]], updates=updates, name="sample_fn")
    samples = [sample_fn()[1] for _ in range(3)]
    results["samples"] = numpy.array(samples)
    results["chain_after"] = chain.get_value()
    numpy.savez(out, **results)


if __name__ == "__main__":
    main(sys.argv[1])
