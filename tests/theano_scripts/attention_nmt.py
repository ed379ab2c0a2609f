"""An attention encoder-decoder in the style of the 2015-2016 Theano NMT tutorials (dl4mt).

The patterns such code has and this script keeps: time-major int64 batches
with float32 masks, a bidirectional GRU encoder (a second scan over the
reversed input), a conditional GRU decoder with soft attention (a scan with
three outputs, the context and its projection as non-sequences,
``strict=True``), the gradient copied to shared variables by one function
and Adadelta applied by another, and a sampler of two functions: ``f_init``
(source -> initial state and context) and ``f_next``, which takes the
context, an intermediate variable of ``f_init``'s graph, as an input, builds
the one-step decoder's mask with ``T.alloc(1., n, 1)`` and indexes it as
``m_[:, None]`` (Theano dropped the broadcastable axis), and draws the next
word with ``MRG_RandomStreams.multinomial``. The task: write the source
sentence backwards. Saves the training costs and the greedy decodings'
accuracy.
"""

# ruff: noqa: E501, NPY002, UP031 - the tutorials' own style, kept.

import sys
from collections import OrderedDict

import numpy
import theano
import theano.tensor as tensor
from theano.sandbox.rng_mrg import MRG_RandomStreams as RandomStreams

numpy.random.seed(1234)
n_words, dim_word, dim = 12, 16, 32  # word 0 ends a sentence


def norm_weight(nin, nout=None, scale=0.1):
    nout = nin if nout is None else nout
    return (scale * numpy.random.randn(nin, nout)).astype("float32")


def zeros(*shape):
    return numpy.zeros(shape, dtype="float32")


def gru_params(params, prefix, nin, dim, nctx=None):
    params[prefix + "_W"] = norm_weight(nin, 3 * dim)
    params[prefix + "_b"] = zeros(3 * dim)
    params[prefix + "_U"] = norm_weight(dim, 3 * dim)
    if nctx is not None:
        params[prefix + "_Wc"] = norm_weight(nctx, 3 * dim)
        params[prefix + "_Wc_att"] = norm_weight(nctx, nctx)
        params[prefix + "_W_comb_att"] = norm_weight(dim, nctx)
        params[prefix + "_U_att"] = norm_weight(nctx, 1)
    return params


def _slice(x, n, dim):
    return x[:, :, n * dim : (n + 1) * dim] if x.ndim == 3 else x[:, n * dim : (n + 1) * dim]


def gru_step(m_, x_, h_, U):
    preact = tensor.dot(h_, U[:, : 2 * dim]) + x_[:, : 2 * dim]
    r = tensor.nnet.sigmoid(_slice(preact, 0, dim))
    u = tensor.nnet.sigmoid(_slice(preact, 1, dim))
    h = tensor.tanh(tensor.dot(h_, U[:, 2 * dim :]) * r + _slice(x_, 2, dim))
    h = u * h_ + (1.0 - u) * h
    return m_[:, None] * h + (1.0 - m_)[:, None] * h_


def encoder(tp, prefix, emb, mask):
    below = tensor.dot(emb, tp[prefix + "_W"]) + tp[prefix + "_b"]
    rval, _ = theano.scan(
        gru_step,
        sequences=[mask, below],
        outputs_info=[tensor.alloc(0.0, emb.shape[1], dim)],
        non_sequences=[tp[prefix + "_U"]],
        name=prefix + "_layers",
        strict=True,
    )
    return rval


def decoder(tp, emb, mask, ctx, init_state, ctx_mask=None, one_step=False):
    pctx = tensor.dot(ctx, tp["dec_Wc_att"])
    below = tensor.dot(emb, tp["dec_W"]) + tp["dec_b"]

    def step(m_, x_, h_, ctx_, alpha_, pctx_, cc_, U, Wc, W_comb_att, U_att):
        h1 = gru_step(m_, x_, h_, U)
        att = tensor.tanh(pctx_ + tensor.dot(h1, W_comb_att)[None, :, :])
        alpha = tensor.dot(att, U_att)
        alpha = tensor.exp(alpha.reshape([alpha.shape[0], alpha.shape[1]]))
        if ctx_mask:
            alpha = alpha * ctx_mask
        alpha = alpha / alpha.sum(0, keepdims=True)
        ctx_ = (cc_ * alpha[:, :, None]).sum(0)
        h2 = gru_step(m_, tensor.dot(ctx_, Wc), h1, U)
        return h2, ctx_, alpha.T

    shared = [tp["dec_U"], tp["dec_Wc"], tp["dec_W_comb_att"], tp["dec_U_att"]]
    if one_step:
        mask = tensor.alloc(1.0, emb.shape[0], 1)  # (n, 1): m_[:, None] stays a matrix
        return step(mask, below, init_state, None, None, pctx, ctx, *shared)
    rval, _ = theano.scan(
        step,
        sequences=[mask, below],
        outputs_info=[
            init_state,
            tensor.alloc(0.0, emb.shape[1], ctx.shape[2]),
            tensor.alloc(0.0, emb.shape[1], ctx.shape[0]),
        ],
        non_sequences=[pctx, ctx] + shared,
        name="dec_layers",
        strict=True,
    )
    return rval


def readout(tp, h, emb, ctxs):
    logit = tensor.tanh(
        tensor.dot(h, tp["ro_h"]) + tensor.dot(emb, tp["ro_e"]) + tensor.dot(ctxs, tp["ro_c"])
    )
    return tensor.dot(logit, tp["out_W"]) + tp["out_b"]


def encode(tp, x, x_mask):
    emb = tp["Wemb"][x.flatten()].reshape([x.shape[0], x.shape[1], dim_word])
    embr = tp["Wemb"][x[::-1].flatten()].reshape([x.shape[0], x.shape[1], dim_word])
    proj = encoder(tp, "enc", emb, x_mask)
    projr = encoder(tp, "enc_r", embr, x_mask[::-1])
    ctx = tensor.concatenate([proj, projr[::-1]], axis=2)
    ctx_mean = (ctx * x_mask[:, :, None]).sum(0) / x_mask.sum(0)[:, None]
    return ctx, tensor.tanh(tensor.dot(ctx_mean, tp["init_W"]))


params = OrderedDict(Wemb=norm_weight(n_words, dim_word), Wemb_dec=norm_weight(n_words, dim_word))
gru_params(params, "enc", dim_word, dim)
gru_params(params, "enc_r", dim_word, dim)
gru_params(params, "dec", dim_word, dim, nctx=2 * dim)
params["init_W"] = norm_weight(2 * dim, dim)
params["ro_h"], params["ro_e"], params["ro_c"] = (
    norm_weight(dim, dim_word),
    norm_weight(dim_word, dim_word),
    norm_weight(2 * dim, dim_word),
)
params["out_W"], params["out_b"] = norm_weight(dim_word, n_words), zeros(n_words)
tparams = OrderedDict((k, theano.shared(v, name=k)) for k, v in params.items())

x, y = tensor.matrix("x", dtype="int64"), tensor.matrix("y", dtype="int64")
x_mask, y_mask = tensor.matrix("x_mask", dtype="float32"), tensor.matrix("y_mask", dtype="float32")
ctx, init_state = encode(tparams, x, x_mask)
emb = tparams["Wemb_dec"][y.flatten()].reshape([y.shape[0], y.shape[1], dim_word])
emb = tensor.set_subtensor(tensor.zeros_like(emb)[1:], emb[:-1])  # shifted right
h, ctxs, alphas = decoder(tparams, emb, y_mask, ctx, init_state, ctx_mask=x_mask)
logit = readout(tparams, h, emb, ctxs)
shp = logit.shape
probs = tensor.nnet.softmax(logit.reshape([shp[0] * shp[1], shp[2]]))
y_flat = y.flatten()
cost = -tensor.log(probs.flatten()[tensor.arange(y_flat.shape[0]) * n_words + y_flat])
cost = (cost.reshape([y.shape[0], y.shape[1]]) * y_mask).sum(0).mean()
grads = tensor.grad(cost, wrt=list(tparams.values()))

# Adadelta as the tutorials split it: gradients into shared variables, then the update.
zipped = [theano.shared(p.get_value() * numpy.float32(0.0)) for p in tparams.values()]
rup2 = [theano.shared(p.get_value() * numpy.float32(0.0)) for p in tparams.values()]
rgrad2 = [theano.shared(p.get_value() * numpy.float32(0.0)) for p in tparams.values()]
f_grad_shared = theano.function(
    [x, x_mask, y, y_mask],
    cost,
    updates=[(zg, g) for zg, g in zip(zipped, grads)]
    + [(rg2, 0.95 * rg2 + 0.05 * (g**2)) for rg2, g in zip(rgrad2, grads)],
)
updir = [
    -tensor.sqrt(ru2 + 1e-6) / tensor.sqrt(rg2 + 1e-6) * zg
    for zg, ru2, rg2 in zip(zipped, rup2, rgrad2)
]
f_update = theano.function(
    [],
    [],
    updates=[(ru2, 0.95 * ru2 + 0.05 * (ud**2)) for ru2, ud in zip(rup2, updir)]
    + [(p, p + ud) for p, ud in zip(tparams.values(), updir)],
)

# The sampler: f_init, then f_next word by word; ctx (computed) is an input of f_next.
trng = RandomStreams(1234)
xs = tensor.matrix("x", dtype="int64")
ctx_s, init_s = encode(tparams, xs, tensor.ones_like(xs, dtype="float32"))
f_init = theano.function([xs], [init_s, ctx_s], name="f_init")
y_s, state = tensor.vector("y_sampler", dtype="int64"), tensor.matrix("init_state", dtype="float32")
emb_s = tensor.switch(y_s[:, None] < 0, tensor.alloc(0.0, 1, dim_word), tparams["Wemb_dec"][y_s])
next_state, ctx_t, _ = decoder(tparams, emb_s, None, ctx_s, state, one_step=True)
next_probs = tensor.nnet.softmax(readout(tparams, next_state, emb_s, ctx_t))
next_sample = trng.multinomial(pvals=next_probs).argmax(1)
f_next = theano.function([y_s, ctx_s, state], [next_probs, next_sample, next_state], name="f_next")


def batch(n):
    lengths = numpy.random.randint(3, 6, size=n)
    xv = numpy.zeros((lengths.max() + 1, n), "int64")
    yv = numpy.zeros_like(xv)
    xm = numpy.zeros(xv.shape, "float32")
    for i, k in enumerate(lengths):
        words = numpy.random.randint(1, n_words, size=k)
        xv[:k, i], yv[:k, i] = words, words[::-1]
        xm[: k + 1, i] = 1.0
    return xv, xm, yv, xm.copy()


def greedy(source):
    state, ctx0 = f_init(source[:, None])
    word, out = -numpy.ones(1, "int64"), []
    for _ in range(len(source) + 2):
        p, sampled, state = f_next(word, ctx0, state)
        assert 0 <= sampled[0] < n_words and p.shape == (1, n_words)
        word = p.argmax(1)
        if word[0] == 0:
            break
        out.append(int(word[0]))
    return out


costs = []
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 300):
    costs.append(float(f_grad_shared(*batch(32))))
    f_update()
tests = [numpy.random.randint(1, n_words, size=4) for _ in range(20)]
right = [greedy(numpy.append(s, 0)) == list(s[::-1]) for s in tests]
numpy.savez(sys.argv[1], costs=numpy.array(costs), accuracy=numpy.mean(right))
print(
    "cost %.3f -> %.3f, reversed exactly: %d of %d"
    % (numpy.mean(costs[:10]), numpy.mean(costs[-10:]), sum(right), len(right))
)
