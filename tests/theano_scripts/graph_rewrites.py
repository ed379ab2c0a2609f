"""The global and local optimizers of Theano's "Graph optimization" tutorial, as it wrote them.

Saves each graph after its optimizer ran (as text) to the file named by the first argument.
"""

import sys

import numpy
from theano import gof
from theano.gof import toolbox
from theano.gof.opt import OpSub, PatternSub
from theano.scalar import add, float64, mul, true_div


class Simplify(gof.Optimizer):
    def add_requirements(self, fgraph):
        fgraph.attach_feature(toolbox.ReplaceValidate())

    def apply(self, fgraph):
        for node in fgraph.toposort():
            if node.op == true_div:
                x, y = node.inputs
                z = node.outputs[0]
                if x.owner and x.owner.op == mul:
                    a, b = x.owner.inputs
                    if y == a:
                        fgraph.replace_validate(z, b)
                    elif y == b:
                        fgraph.replace_validate(z, a)


simplify = Simplify()
x = float64("x")
y = float64("y")
z = float64("z")
a = add(z, mul(true_div(mul(y, x), y), z))
e = gof.FunctionGraph([x, y, z], [a])
before = str(e)
simplify.optimize(e)
after_global = str(e)


class LocalSimplify(gof.LocalOptimizer):
    def transform(self, node):
        if node.op == true_div:
            x, y = node.inputs
            if x.owner and x.owner.op == mul:
                a, b = x.owner.inputs
                if y == a:
                    return [b]
                elif y == b:
                    return [a]
        return False

    def tracks(self):
        return []  # as in the tutorial: no ops named, so every node is offered


local_simplify = LocalSimplify()
x = float64("x")
y = float64("y")
z = float64("z")
a = add(z, mul(true_div(mul(y, x), y), z))
e = gof.FunctionGraph([x, y, z], [a])
simplify = gof.TopoOptimizer(local_simplify)
simplify.optimize(e)
after_local = str(e)

# OpSub (add becomes mul) and PatternSub ((x * y) / y becomes x), as Theano's docs describe them.
add_to_mul = gof.TopoOptimizer(OpSub(add, mul))
x = float64("x")
y = float64("y")
e = gof.FunctionGraph([x, y], [add(x, y)])
add_to_mul.optimize(e)
after_opsub = str(e)

div_mul = gof.TopoOptimizer(PatternSub((true_div, (mul, "x", "y"), "y"), "x"))
e = gof.FunctionGraph([x, y], [add(true_div(mul(x, y), y), y)])
div_mul.optimize(e)
after_pattern = str(e)

numpy.savez(
    sys.argv[1],
    before=before,
    after_global=after_global,
    after_local=after_local,
    after_opsub=after_opsub,
    after_pattern=after_pattern,
)
