"""``Variable.eval`` compiled as ``theano.function`` compiles, as in Theano.

Theano's ``x.eval({...})`` compiled ``theano.function(inputs, x)`` with the
default mode, and Theano code uses it in tests, tutorials and notebooks.
PyTensor's compiles with PyTensor's default mode, Numba, which is slow to
compile and fails on some scan graphs that the C backend runs. With
:func:`use_theano_eval` (done on ``import seqgraph.theano``, so also under
``seqgraph run``), ``eval`` without keyword arguments compiles through
:func:`seqgraph.theano.function`: the backend ``THEANO_FLAGS`` chose, C by
default. With keyword arguments (a ``mode``, ``on_unused_input`` ...), or
string keys naming variables, it is PyTensor's ``eval`` as before.
"""

from __future__ import annotations

from pytensor.graph.basic import Variable

_PYTENSOR_EVAL = Variable.eval


def _theano_eval(self, inputs_to_values=None, **kwargs):
    """Evaluate this variable, given values of the variables it depends on (Theano's ``eval``).

    Parameters
    ----------
    inputs_to_values : dict, optional
        Maps each input variable of the graph to its value.

    Returns
    -------
    numpy.ndarray
        The variable's value. The compiled function is kept for the next call
        with the same inputs.
    """
    values = {} if inputs_to_values is None else dict(inputs_to_values)
    if kwargs or any(isinstance(key, str) for key in values):
        return _PYTENSOR_EVAL(self, inputs_to_values, **kwargs)
    from seqgraph.theano import function

    inputs = tuple(sorted(values, key=id))
    # PyTensor's own cache: it is dropped when the variable is pickled.
    cache = self.__dict__.setdefault("_fn_cache", {})
    key = ("seqgraph.theano", inputs)
    fn = cache.get(key)
    if fn is None:
        fn = cache[key] = function(list(inputs), self)
    return fn(*[values[var] for var in inputs])


def use_theano_eval() -> None:
    """Make ``Variable.eval`` compile as ``theano.function`` does (see the module docstring)."""
    Variable.eval = _theano_eval


def use_pytensor_eval() -> None:
    """Give ``Variable.eval`` back PyTensor's behaviour."""
    Variable.eval = _PYTENSOR_EVAL
