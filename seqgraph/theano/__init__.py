"""Theano's API on seqgraph and PyTensor, so that old Theano code runs unchanged.

``import seqgraph.theano as theano`` gives what Theano scripts import:
``shared``, ``function`` (with ``In`` / ``Param`` defaults), ``scan`` with
Theano's return convention (one output comes back bare, not in a list),
``map`` / ``reduce`` / ``foldl`` / ``foldr``, ``config``, ``grad``,
``gradient``, ``printing`` (and ``pp``), ``ifelse``, ``tensor`` (with ``nnet``,
``shared_randomstreams``, ``unbroadcast`` ...), ``Op`` for ops written in
Python, ``Mode`` / ``Out`` and ``sandbox.rng_mrg.MRG_RandomStreams``.  :func:`install` (or ``seqgraph run
script.py``) makes ``import theano`` resolve to this package.

Importing the package gives PyTensor's tensor variables Theano's truth value
(see :mod:`seqgraph.theano._truth`) and Theano's ``None`` in an index that
names fewer axes than the variable has (:mod:`seqgraph.theano._indexing`).

``THEANO_FLAGS`` and ``.theanorc`` are read on import: ``floatX``, ``mode``,
``optimizer`` and ``device`` (``cuda*`` / ``gpu*`` run on JAX on the GPU;
``cpu`` on the C backend, see :mod:`seqgraph.theano._flags`); the other flags
go to ``config`` (:mod:`seqgraph.theano._config`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import weakref
from collections import OrderedDict

import numpy as np
import pytensor
from pytensor.compile.builders import OpFromGraph
from pytensor.compile.ops import as_op
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Apply, Constant
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.null_type import NullType
from pytensor.graph.traversal import graph_inputs
from pytensor.printing import pp, pprint
from pytensor.scan.basic import get_updates_and_outputs
from pytensor.scan.checkpoints import scan_checkpoints
from pytensor.scan.utils import until
from pytensor.tensor.basic import get_scalar_constant_value
from pytensor.tensor.type import TensorType

import seqgraph
from seqgraph.theano._config import Config
from seqgraph.theano._eval import use_theano_eval
from seqgraph.theano._flags import backend_for, read_flags
from seqgraph.theano._indexing import use_theano_newaxis
from seqgraph.theano._legacy import install_legacy_names
from seqgraph.theano._op import Op
from seqgraph.theano._removed import TheanoImportError, missing
from seqgraph.theano._shared import as_theano_shared
from seqgraph.theano._truth import use_theano_truth
from seqgraph.theano._variable import Variable
from seqgraph.theano.updates import OrderedUpdates

__version__ = "1.0.5+seqgraph"

_FLAGS = read_flags()
if "floatX" in _FLAGS:
    pytensor.config.floatX = _FLAGS["floatX"]
_BACKEND, _DEVICE = backend_for(_FLAGS)
use_theano_truth()
use_theano_newaxis()
use_theano_eval()


config = Config(_FLAGS)


def shared(
    value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None, **kwargs
):
    """``theano.shared``; ``broadcastable=(True, False)`` becomes a static shape of 1.

    A tensor variable's ``get_value()`` returns a NumPy array, as Theano's did,
    also once a JAX function has left its value on the device
    (:mod:`seqgraph.theano._shared`).
    """
    if broadcastable is not None:
        kwargs["shape"] = tuple(1 if b else None for b in broadcastable)
    var = pytensor.shared(
        value, name=name, strict=strict, allow_downcast=allow_downcast, borrow=borrow, **kwargs
    )
    return as_theano_shared(var)


class In:
    """``theano.In`` / ``theano.Param``: an input with a default value and a name."""

    def __init__(self, variable, name=None, value=None, default=None, **unused):
        if not isinstance(variable, Variable):
            raise TypeError(f"In needs a symbolic variable; got {variable!r}.")
        self.variable = variable
        self.name = name or variable.name
        self.default = default if default is not None else value


def Param(variable, default=None, name=None, **kwargs):  # noqa: N802 - Theano's name
    """``theano.Param(variable, default, name)``, the old spelling of :class:`In`."""
    return In(variable, name=name, value=default, **kwargs)


def _writable(value):
    """``value``, or a copy of it where it is a read-only NumPy array."""
    if isinstance(value, np.ndarray) and not value.flags.writeable:
        return value.copy()
    return value


class TheanoFunction:
    """A compiled function that fills in ``In`` / ``Param`` defaults.

    Its outputs are NumPy arrays the caller may write into, as Theano's were
    (``score /= log(10)``, ``probs /= probs.sum()``): a JAX function returns
    read-only views of its results, which are copied here.
    """

    def __init__(self, fn, names, defaults, name=None):
        self.fn = fn
        self.names = names
        self.defaults = defaults
        self.name = name

    def __call__(self, *args, **kwargs):
        result = self.fn(*self.bind(*args, **kwargs))
        if isinstance(result, list):
            return [_writable(r) for r in result]
        return _writable(result)

    def bind(self, *args, **kwargs) -> list:
        """The value of every input for a call with these arguments, defaults filled in."""
        values = list(args)
        for i in range(len(args), len(self.names)):
            name = self.names[i]
            if name is not None and name in kwargs:
                values.append(kwargs.pop(name))
            elif self.defaults[i] is not None:
                values.append(self.defaults[i])
            else:
                raise TypeError(
                    f"missing a value for input {i} ({name or 'unnamed'}) of "
                    f"{self.name or 'this function'}."
                )
        if kwargs:
            raise TypeError(f"unknown input names {sorted(kwargs)}; inputs are {self.names}.")
        return values

    def __repr__(self) -> str:
        return f"<theano function {self.name or ''} via {self.fn!r}>"

    @property
    def profile(self):
        """Theano's ``f.profile`` (built with ``profile=True``); see :attr:`seqgraph.Function.profile`."""
        return self.fn.profile

    @property
    def compiled(self):
        """The PyTensor function that runs, on the C and Numba backends.

        Raises
        ------
        AttributeError
            On the JAX backend, which compiles a program per input shape
            from the graph and keeps no compiled PyTensor graph.
        """
        inner = getattr(self.fn, "_fn", None)
        if inner is None or not hasattr(inner, "maker"):
            raise AttributeError(
                f"{self.name or 'this function'} runs on seqgraph's {self.fn.backend} "
                "backend, which compiles a program per input shape and keeps no "
                "compiled graph; the C backend (THEANO_FLAGS=device=cpu, the default) "
                "or mode='NUMBA' keeps one for f.maker and debugprint(f)."
            )
        return inner

    @property
    def maker(self):
        """Theano's ``f.maker``: ``f.maker.fgraph`` is the compiled graph."""
        return self.compiled.maker


class Out:
    """``theano.Out(variable, borrow=False)``: an output and whether it may share memory.

    ``borrow`` let Theano return its internal buffer; seqgraph's functions
    return arrays that belong to the caller, which is always correct.
    """

    def __init__(self, variable, borrow=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"Out needs a symbolic variable; got {variable!r}.")
        self.variable = variable
        self.borrow = borrow


class Mode:
    """``theano.Mode(linker, optimizer)``: picks the backend by its linker.

    A linker naming Numba or JAX compiles on that backend; any other (``"cvm"``,
    ``"c"``, ``"py"``, ``"vm"``) on the backend ``THEANO_FLAGS`` chose, as a
    mode given by name (``"FAST_RUN"``) does.  ``optimizer`` is kept on the
    object and ``including`` / ``excluding`` / ``requiring`` return a copy:
    neither is applied, each backend runs PyTensor's rewrites for it.
    """

    def __init__(self, linker=None, optimizer="default"):
        self.linker = linker
        self.optimizer = optimizer

    def including(self, *tags):
        return Mode(self.linker, self.optimizer)

    def excluding(self, *tags):
        return Mode(self.linker, self.optimizer)

    def requiring(self, *tags):
        return Mode(self.linker, self.optimizer)

    def __repr__(self) -> str:
        return f"Mode(linker={self.linker!r}, optimizer={self.optimizer!r})"


def _output_variables(outputs):
    """``theano.function``'s outputs with each ``Out`` replaced by its variable."""
    if outputs is None:
        return []
    if isinstance(outputs, Out):
        return outputs.variable
    if isinstance(outputs, (list, tuple)):
        return [o.variable if isinstance(o, Out) else o for o in outputs]
    return outputs


def _mode_backend(mode):
    if mode is None:
        return _BACKEND, _DEVICE
    text = str(getattr(mode, "linker", mode)).upper()
    if "NUMBA" in text:
        return "numba", "cpu"
    if "JAX" in text:
        return "jax", _DEVICE if _BACKEND == "jax" else "cpu"
    return _BACKEND, _DEVICE


def function(
    inputs,
    outputs=None,
    mode=None,
    updates=None,
    givens=None,
    no_default_updates=False,
    accept_inplace=False,
    name=None,
    rebuild_strict=True,
    allow_input_downcast=None,
    profile=None,
    on_unused_input=None,
):
    """``theano.function``, compiled by :func:`seqgraph.function`.

    ``updates`` may be a list of pairs, a dict or an OrderedDict; ``inputs``
    may hold ``In`` / ``Param`` objects with defaults, ``outputs`` ``Out``
    objects.  The backend follows ``THEANO_FLAGS`` (see the package
    docstring), or ``mode``'s linker (see :class:`Mode`).
    """
    variables, names, defaults = [], [], []
    for item in inputs:
        if isinstance(item, In):
            variables.append(item.variable)
            names.append(item.name)
            defaults.append(item.default)
        else:
            variables.append(item)
            names.append(getattr(item, "name", None))
            defaults.append(None)
    if isinstance(updates, dict) and not isinstance(updates, OrderedDict) and len(updates) > 1:
        updates = list(updates.items())
    kwargs = {}
    if allow_input_downcast is not None:
        kwargs["allow_input_downcast"] = allow_input_downcast
    if on_unused_input is not None:
        kwargs["on_unused_input"] = on_unused_input
    if profile:
        kwargs["profile"] = profile
    if name is not None:
        kwargs["name"] = name
    if no_default_updates:
        kwargs["no_default_updates"] = no_default_updates
    backend, device = _mode_backend(mode)
    if isinstance(mode, pytensor.compile.MonitorMode):
        # Theano's recipe for finding NaNs: a function run by PyTensor's own
        # linker, calling the monitor's functions around each node.
        backend, device, kwargs["mode"] = "c", "cpu", mode
    fn = seqgraph.function(
        variables,
        _output_variables(outputs),
        updates=updates,
        givens=givens,
        backend=backend,
        device=device,
        **kwargs,
    )
    return TheanoFunction(fn, names, defaults, name)


def scan(
    fn,
    sequences=None,
    outputs_info=None,
    non_sequences=None,
    n_steps=None,
    truncate_gradient=-1,
    go_backwards=False,
    mode=None,
    name=None,
    profile=False,
    allow_gc=None,
    strict=False,
    return_list=False,
):
    """``theano.scan``: ``(outputs, updates)`` with one output returned bare, as Theano did.

    As in Theano, an ``outputs_info`` entry that is a dict with neither an
    ``initial`` state nor ``taps`` (``dict()``, as theano-hf's RNN example
    writes it) is an output that is not fed back, as ``None`` is.
    """
    outputs_info = _theano_outputs_info(outputs_info)
    outputs, updates = seqgraph.scan(
        _with_default_updates_each_step(fn),
        sequences=sequences,
        outputs_info=outputs_info,
        non_sequences=non_sequences,
        n_steps=n_steps,
        truncate_gradient=truncate_gradient,
        go_backwards=go_backwards,
        strict=strict,
        name=name,
    )
    updates = OrderedUpdates(updates)
    if len(outputs) == 1 and not return_list:
        return outputs[0], updates
    return outputs, updates


def _with_default_updates_each_step(fn):
    """``fn`` whose step also applies its shared variables' default updates, as in Theano.

    Theano's scan applied the ``default_update`` of every shared variable the
    step's graph reached, at every step, also of one made outside the step: a
    random draw made before the loop and read in the step (a closure, not a
    non-sequence) was drawn again at each step, the loop carrying the random
    state. PyTensor's scan applies only the default updates of variables made
    in the step, so such a draw stayed the same in every step.
    """

    def step(*args):
        condition, outputs, updates = get_updates_and_outputs(fn(*args))
        updates = OrderedDict(updates)
        reached = list(outputs) + list(updates.values())
        for var in graph_inputs(reached):
            default = getattr(var, "default_update", None)
            if isinstance(var, SharedVariable) and default is not None and var not in updates:
                updates[var] = default
        if condition is not None:
            return outputs, updates, until(condition)
        return outputs, updates

    return step


def _theano_outputs_info(outputs_info):
    def entry(info):
        if isinstance(info, dict) and info.get("initial") is None and info.get("taps") is None:
            return None
        return info

    if isinstance(outputs_info, (list, tuple)):
        return [entry(info) for info in outputs_info]
    return entry(outputs_info)


def map(  # noqa: A001 - Theano's name
    fn,
    sequences,
    non_sequences=None,
    truncate_gradient=-1,
    go_backwards=False,
    mode=None,
    name=None,
):
    """``theano.map``: ``fn`` applied to each step of ``sequences``; ``(outputs, updates)``.

    One output comes back bare, as from :func:`scan`.
    """
    return scan(
        fn,
        sequences=sequences,
        outputs_info=None,
        non_sequences=non_sequences,
        truncate_gradient=truncate_gradient,
        go_backwards=go_backwards,
        mode=mode,
        name=name,
    )


def reduce(  # noqa: A001 - Theano's name
    fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None, name=None
):
    """``theano.reduce``: the last step of a scan; ``(result, updates)``.

    ``fn`` gets the sequences' steps, then the running values, then
    ``non_sequences``; each output's value after the last step is returned
    (bare when there is one).

    Examples
    --------
    >>> import numpy as np
    >>> import seqgraph.theano as theano
    >>> v = theano.tensor.vector("v")
    >>> total, _ = theano.reduce(lambda x, acc: acc + x, sequences=v, outputs_info=v.sum() * 0)
    >>> float(theano.function([v], total)(np.arange(4, dtype=theano.config.floatX)))
    6.0
    """
    outputs, updates = scan(
        fn,
        sequences=sequences,
        outputs_info=outputs_info,
        non_sequences=non_sequences,
        go_backwards=go_backwards,
        name=name,
        return_list=True,
    )
    last = [out[-1] for out in outputs]
    return (last[0] if len(last) == 1 else last), updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``theano.foldl``: :func:`reduce` from the first step to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=False, name=name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``theano.foldr``: :func:`reduce` from the last step to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, go_backwards=True, name=name)


def grad(
    cost,
    wrt,
    consider_constant=None,
    disconnected_inputs="raise",
    add_names=True,
    known_grads=None,
    return_disconnected="zero",
    null_gradients="raise",
):
    """``theano.grad`` (``pytensor.grad``), one backward pass per cost.

    Theano scripts often ask for a cost's gradients one parameter at a time
    (``dU = T.grad(cost, U)``, ``dW = T.grad(cost, W)`` ...).  Each call
    would differentiate the whole graph again, a new backward scan per call
    for a recurrent cost, which the compiler then has to merge.  Here the
    first such call differentiates the cost with respect to every
    floating-point shared variable it depends on, and later calls for the
    same cost take their gradient from that one pass.  Calls with other
    arguments (``consider_constant``, ``known_grads``, a ``wrt`` that is not
    such a shared variable ...) differentiate as ``pytensor.grad`` does.
    """
    plain = (
        cost is not None
        and consider_constant is None
        and known_grads is None
        and add_names
        and return_disconnected == "zero"
        and null_gradients == "raise"
    )
    if plain:
        wanted = wrt if isinstance(wrt, (list, tuple)) else [wrt]
        found = _one_pass_grads(cost)
        if found is not None and wanted:
            got = [found.get(w) if isinstance(w, Variable) else None for w in wanted]
            if all(g is not None for g in got):
                return got if isinstance(wrt, (list, tuple)) else got[0]
    return pytensor.grad(
        cost,
        wrt,
        consider_constant=consider_constant,
        disconnected_inputs=disconnected_inputs,
        add_names=add_names,
        known_grads=known_grads,
        return_disconnected=return_disconnected,
        null_gradients=null_gradients,
    )


def _one_pass_grads(cost):
    """``{shared variable: gradient}`` for ``cost``, computed once and kept on it.

    Holds the gradients that a plain ``pytensor.grad`` call would return for
    each floating-point shared variable among the cost's inputs; a variable
    the cost does not reach through a gradient (disconnected, or a null
    gradient) is left out, so that its own call raises or warns as
    ``pytensor.grad`` does.  ``None`` when ``cost`` is not a variable or
    cannot be differentiated in one pass.  The gradients live on the cost's
    ``tag``, with a weak reference to the cost, since a clone of the cost
    copies the tag and must not take the original's gradients.
    """
    if not isinstance(cost, Variable):
        return None
    kept = getattr(cost.tag, "seqgraph_grads", None)
    if kept is not None and kept[0]() is cost:
        return kept[1]
    params = [
        v
        for v in graph_inputs([cost])
        if isinstance(v, SharedVariable)
        and isinstance(v.type, TensorType)
        and v.type.dtype in pytensor.tensor.type.float_dtypes
    ]
    found = {}
    if params:
        try:
            grads = pytensor.grad(
                cost,
                params,
                disconnected_inputs="ignore",
                return_disconnected="none",
                null_gradients="return",
            )
        except Exception:  # noqa: BLE001 - the plain call will raise it, for its own wrt
            grads = None
        if grads is None:
            found = None
        else:
            for p, g in zip(params, grads):
                if g is not None and not isinstance(g.type, NullType):
                    found[p] = g
    cost.tag.seqgraph_grads = (weakref.ref(cost), found)
    return found


def dot(a, b):
    """``theano.dot``."""
    return pytensor.tensor.dot(a, b)


def clone(output, replace=None, strict=True, share_inputs=True):
    """``theano.clone``: a copy of ``output``'s graph with ``replace`` applied.

    ``share_inputs=False`` copies the graph's inputs (shared variables
    included) as well.
    """
    from pytensor.graph.replace import clone_replace

    return clone_replace(
        output, replace=replace, rebuild_strict=strict, copy_inputs_over=share_inputs
    )


# Theano modules that PyTensor keeps, under another name or the same one.
_PYTENSOR_MODULES = {
    "theano.compile.builders": "pytensor.compile.builders",
    "theano.compile.profiling": (
        "pytensor.compile.profiling"
        if importlib.util.find_spec("pytensor.compile.profiling")
        else "pytensor.compile.debug.profiling"
    ),
    "theano.scalar": "pytensor.scalar",
    "theano.typed_list": "pytensor.typed_list",
}


def __getattr__(name):
    if name == "floatX":
        return pytensor.config.floatX
    if name == "ProfileStats":  # theano.ProfileStats, for function(..., profile=...)
        return compile.ProfileStats
    if f"theano.{name}" in _PYTENSOR_MODULES:  # theano.scalar without an import
        return importlib.import_module(_PYTENSOR_MODULES[f"theano.{name}"])
    if name == "sparse":
        return importlib.import_module("seqgraph.theano.sparse")
    raise missing("theano", name)


# Submodules: imported last, they use what is above.
from seqgraph.theano import (  # noqa: E402
    compile,  # noqa: A004 - Theano's name
    gof,
    gradient,
    ifelse,
    printing,
    sandbox,
    scan_module,
    tensor,
)
from seqgraph.theano.configparser import change_flags  # noqa: E402
from seqgraph.theano.gradient import Lop, Rop, subgraph_grad  # noqa: E402


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve ``theano`` and ``theano.*`` to ``seqgraph.theano`` and its modules.

    A name that is no module of ``seqgraph.theano`` but a module attribute of
    its parent (``theano.tensor.extra_ops``) or one of PyTensor's tensor
    modules resolves to that module; the modules in ``RENAMED`` (``theano.scalar``
    ...) resolve to PyTensor's.
    """

    RENAMED = _PYTENSOR_MODULES

    def __init__(self):
        self._aliases = {}
        self._specs = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "theano" and not fullname.startswith("theano."):
            return None
        real = "seqgraph." + fullname
        try:
            importlib.import_module(real)
        except ModuleNotFoundError as exc:
            if exc.name != real:
                raise
            parent, _, child = fullname.rpartition(".")
            if fullname in self.RENAMED:
                module = importlib.import_module(self.RENAMED[fullname])
            else:
                module = self._module_attribute(parent, child)
            if module is None:
                raise TheanoImportError(str(missing(parent, child)), name=fullname) from None
            self._aliases[fullname] = module
            package = hasattr(module, "__path__")
            return importlib.util.spec_from_loader(fullname, self, is_package=package)
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def _module_attribute(self, parent, child):
        owner = self._aliases.get(parent) or sys.modules.get("seqgraph." + parent)
        found = getattr(owner, child, None)
        if isinstance(found, type(sys)):
            return found
        if parent == "theano.tensor":
            try:
                return importlib.import_module(f"pytensor.tensor.{child}")
            except ModuleNotFoundError:
                return None
        return None

    def create_module(self, spec):
        if spec.name in self._aliases:
            module = self._aliases[spec.name]
            # The import system gives the module this spec; the module is
            # PyTensor's, and keeps its own (restored in exec_module).
            self._specs[spec.name] = module.__spec__
            return module
        return sys.modules["seqgraph." + spec.name]

    def exec_module(self, module):
        for name, spec in self._specs.items():
            if self._aliases.get(name) is module:
                module.__spec__ = spec


_finder = _AliasFinder()

# Theano's package held its own name (its __init__ imported theano.* submodules),
# so ``from theano import theano`` gave the package; books and scripts of its
# time import it that way.
theano = sys.modules[__name__]


def install():
    """Make ``import theano`` (and ``theano.tensor`` ...) resolve to this package."""
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    for key in [k for k in sys.modules if k == "theano" or k.startswith("theano.")]:
        if not sys.modules[key].__name__.startswith("seqgraph."):
            del sys.modules[key]


def uninstall():
    """Undo :func:`install`."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for key in [k for k in sys.modules if k == "theano" or k.startswith("theano.")]:
        del sys.modules[key]


__all__ = [
    "Apply",
    "Constant",
    "In",
    "Lop",
    "Mode",
    "Op",
    "OpFromGraph",
    "OrderedUpdates",
    "Out",
    "Param",
    "Rop",
    "Variable",
    "as_op",
    "change_flags",
    "clone",
    "compile",
    "config",
    "dot",
    "foldl",
    "foldr",
    "function",
    "FunctionGraph",
    "get_scalar_constant_value",
    "gof",
    "grad",
    "gradient",
    "ifelse",
    "install",
    "install_legacy_names",
    "map",
    "pp",
    "pprint",
    "printing",
    "reduce",
    "sandbox",
    "scan",
    "scan_checkpoints",
    "scan_module",
    "shared",
    "subgraph_grad",
    "tensor",
    "uninstall",
]
