"""Examples from Theano's own documentation (scan, "Creating a new Op", as_op, "Using the GPU"), unchanged."""

import sys

import numpy
import theano
import theano.tensor as T
from theano.compile.ops import as_op

# Scan tutorial: A ** k
k = T.iscalar("k")
A = T.vector("A")
result, updates = theano.scan(
    fn=lambda prior_result, A: prior_result * A,
    outputs_info=T.ones_like(A),
    non_sequences=A,
    n_steps=k,
)
power = theano.function(inputs=[A, k], outputs=result[-1], updates=updates)

# Scan tutorial: a polynomial
coefficients = theano.tensor.vector("coefficients")
x = T.scalar("x")
components, updates = theano.scan(
    fn=lambda coefficient, power, free_variable: coefficient * (free_variable**power),
    outputs_info=None,
    sequences=[coefficients, theano.tensor.arange(10000)],
    non_sequences=x,
)
calculate_polynomial = theano.function(inputs=[coefficients, x], outputs=components.sum())

# Scan tutorial: Fibonacci with taps, and reduce
n = T.iscalar("n")
x0 = T.ivector("x0")
fib, _ = theano.scan(lambda a, b: a + b, outputs_info=dict(initial=x0, taps=[-2, -1]), n_steps=n)
total, _ = theano.reduce(lambda e, acc: acc + e, sequences=A, outputs_info=T.constant(0.0))
fibonacci = theano.function([x0, n], fib)
summed = theano.function([A], total)


# "Creating a new Op": the Python implementation
class DoubleOp(theano.Op):
    __props__ = ()

    def make_node(self, x):
        x = theano.tensor.as_tensor_variable(x)
        return theano.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        z = output_storage[0]
        z[0] = x * 2

    def infer_shape(self, node, i0_shapes):
        return i0_shapes

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]


def infer_shape_numpy_dot(node, input_shapes):
    ashp, bshp = input_shapes
    return [ashp[:-1] + bshp[-1:]]


@as_op(itypes=[T.fmatrix, T.fmatrix], otypes=[T.fmatrix], infer_shape=infer_shape_numpy_dot)
def numpy_dot(a, b):
    return numpy.dot(a, b)


m = T.matrix("m")
doubled = DoubleOp()(m)
double = theano.function([m], [doubled, theano.grad(doubled.sum(), m)])
fa, fb = T.fmatrix(), T.fmatrix()
dot = theano.function([fa, fb], numpy_dot(fa, fb))

# "Using the GPU": the test of which ops the compiled function runs (fewer iterations)
from theano import config, function, shared, tensor  # noqa: E402

vlen = 10 * 30 * 768  # 10 x #cores x # threads per core
iters = 3
rng = numpy.random.RandomState(22)
x = shared(numpy.asarray(rng.rand(vlen), config.floatX))
f = function([], tensor.exp(x))
print(f.maker.fgraph.toposort())
for i in range(iters):  # noqa: B007 - as the documentation has it
    r = f()
if numpy.any(
    [
        isinstance(x.op, tensor.Elemwise) and ("Gpu" not in type(x.op).__name__)
        for x in f.maker.fgraph.toposort()
    ]
):
    used = "Used the cpu"
else:
    used = "Used the gpu"
graph_text = theano.printing.debugprint(f, file="str")

floatX = theano.config.floatX
values = numpy.arange(6, dtype=floatX).reshape(2, 3)
d, dg = double(values)
numpy.savez(
    sys.argv[1],
    power=power(numpy.arange(5, dtype=floatX), 3),
    polynomial=calculate_polynomial(numpy.asarray([1, 0, 2], dtype=floatX), 3),
    fibonacci=fibonacci(numpy.asarray([0, 1], dtype="int32"), 10),
    summed=summed(numpy.arange(5, dtype=floatX)),
    doubled=d,
    doubled_grad=dg,
    dot=dot(numpy.ones((2, 3), "float32"), numpy.ones((3, 4), "float32")),
    exp=r,
    used=used,
    graph_text=graph_text,
)
