"""A small LeNet in the style of the 2013 deeplearning.net convolutional tutorial, unchanged.

Convolution and pooling layers as that tutorial wrote them (``conv.conv2d``
with ``filter_shape`` / ``image_shape``, ``downsample.max_pool_2d``), then a
hidden layer and a logistic regression; minibatches taken from shared data
through ``givens``.  The task: tell a vertical bar from a horizontal one in
noisy 10x10 images.  Saves the test error before and after training.
"""

# ruff: noqa: UP004, UP031, B007 - the tutorial's own style, kept.

import sys

import numpy
import theano
import theano.tensor as T
from theano.tensor.nnet import conv
from theano.tensor.signal import downsample


def make_bars(rng, n, size=10):
    images = rng.normal(0.0, 0.3, (n, size * size)).astype(theano.config.floatX)
    labels = rng.randint(0, 2, n).astype("int32")
    for i in range(n):
        image = images[i].reshape(size, size)
        length = rng.randint(5, 9)
        row, col = rng.randint(0, size - length + 1), rng.randint(0, size)
        if labels[i] == 0:
            image[row : row + length, col] += 1.0
        else:
            image[col, row : row + length] += 1.0
    return theano.shared(images, borrow=True), theano.shared(labels, borrow=True)


class LeNetConvPoolLayer(object):
    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        assert image_shape[1] == filter_shape[1]
        fan_in = numpy.prod(filter_shape[1:])
        fan_out = filter_shape[0] * numpy.prod(filter_shape[2:]) / numpy.prod(poolsize)
        bound = numpy.sqrt(6.0 / (fan_in + fan_out))
        self.W = theano.shared(
            numpy.asarray(rng.uniform(-bound, bound, filter_shape), dtype=theano.config.floatX),
            borrow=True,
        )
        self.b = theano.shared(numpy.zeros((filter_shape[0],), dtype=theano.config.floatX))
        conv_out = conv.conv2d(
            input=input, filters=self.W, filter_shape=filter_shape, image_shape=image_shape
        )
        pooled_out = downsample.max_pool_2d(input=conv_out, ds=poolsize, ignore_border=True)
        self.output = T.tanh(pooled_out + self.b.dimshuffle("x", 0, "x", "x"))
        self.params = [self.W, self.b]


class HiddenLayer(object):
    def __init__(self, rng, input, n_in, n_out):
        bound = numpy.sqrt(6.0 / (n_in + n_out))
        W = numpy.asarray(rng.uniform(-bound, bound, (n_in, n_out)), dtype=theano.config.floatX)
        self.W = theano.shared(W, name="W", borrow=True)
        self.b = theano.shared(numpy.zeros((n_out,), dtype=theano.config.floatX), name="b")
        self.output = T.tanh(T.dot(input, self.W) + self.b)
        self.params = [self.W, self.b]


class LogisticRegression(object):
    def __init__(self, input, n_in, n_out):
        self.W = theano.shared(numpy.zeros((n_in, n_out), dtype=theano.config.floatX), name="W")
        self.b = theano.shared(numpy.zeros((n_out,), dtype=theano.config.floatX), name="b")
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def negative_log_likelihood(self, y):
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        return T.mean(T.neq(self.y_pred, y))


rng = numpy.random.RandomState(23455)
train_set_x, train_set_y = make_bars(rng, 400)
test_set_x, test_set_y = make_bars(rng, 200)
batch_size = 20
learning_rate = 0.3

index = T.lscalar()
x = T.matrix("x")
y = T.ivector("y")

layer0_input = x.reshape((batch_size, 1, 10, 10))
layer0 = LeNetConvPoolLayer(
    rng, input=layer0_input, image_shape=(batch_size, 1, 10, 10), filter_shape=(5, 1, 3, 3)
)
layer1 = LeNetConvPoolLayer(
    rng, input=layer0.output, image_shape=(batch_size, 5, 4, 4), filter_shape=(8, 5, 3, 3)
)
layer2 = HiddenLayer(rng, input=layer1.output.flatten(2), n_in=8, n_out=16)
layer3 = LogisticRegression(input=layer2.output, n_in=16, n_out=2)

cost = layer3.negative_log_likelihood(y)
params = layer3.params + layer2.params + layer1.params + layer0.params
grads = T.grad(cost, params)
updates = [(p, p - learning_rate * g) for p, g in zip(params, grads)]

test_model = theano.function(
    [index],
    layer3.errors(y),
    givens={
        x: test_set_x[index * batch_size : (index + 1) * batch_size],
        y: test_set_y[index * batch_size : (index + 1) * batch_size],
    },
)
train_model = theano.function(
    [index],
    cost,
    updates=updates,
    givens={
        x: train_set_x[index * batch_size : (index + 1) * batch_size],
        y: train_set_y[index * batch_size : (index + 1) * batch_size],
    },
)

n_train, n_test = 400 // batch_size, 200 // batch_size
before = numpy.mean([test_model(i) for i in range(n_test)])
costs = []
for epoch in range(6):
    for minibatch_index in range(n_train):
        costs.append(train_model(minibatch_index))
after = numpy.mean([test_model(i) for i in range(n_test)])
print("test error %.3f -> %.3f" % (before, after))
numpy.savez(sys.argv[1], before=before, after=after, costs=numpy.array(costs))
