"""Whole-function JAX programs and their on-disk cache.

:func:`seqgraph.function` compiles a JAX function as one *pure* program:
``(inputs..., shared values...) -> (outputs..., new shared values...)``.
Shared variables become ordinary arguments (of the static shape of their
current value), updated parameters are *donated* to XLA so that the new
values reuse their buffers, and the result is kept as a serialised
``jax.export`` module (StableHLO, no Python code) under
``$SEQGRAPH_JAX_CACHE/functions``.

A later process that builds the same graph finds the module by a structural
digest of the graph (ops, their parameters, constants, static input types,
the versions of seqgraph, PyTensor and JAX, and the source of seqgraph's
modules that rewrite and translate programs) and skips PyTensor's rewrites
and JAX's tracing; XLA's own persistent cache then supplies the executable.
A graph whose digest cannot be computed safely (an op parameter of a kind
the digest does not know) is compiled without this cache: an unknown object
is never digested by its ``repr``, which could make two different graphs
collide.

Code from outside PyTensor and seqgraph that shapes a program (a user's op,
its JAX implementation, a function given to an op, a rewrite registered in
PyTensor's databases) enters the digest by the contents of the file that
defines it, so that editing it builds the program anew instead of finding the
old one.  Code whose file cannot be read (defined in a notebook or an
interactive session) keeps its graphs out of the on-disk cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import inspect
import json
import os
import struct
import sys
import types
import warnings
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

__all__ = ["JaxProgram", "Unsupported", "graph_digest"]

_MAGIC = b"seqgraph-jaxfn-1\n"


class Unsupported(Exception):
    """The graph cannot be digested or built as a pure JAX program."""


# -- structural digest ------------------------------------------------------------


def _is(obj, cls) -> bool:
    """``isinstance`` without ABC machinery (slow for classes with many subclasses)."""
    return cls in type(obj).__mro__


# Packages whose code is in the key through their versions and (seqgraph's) sources.
_OWN_PACKAGES = frozenset({"pytensor", "seqgraph"})
_FILE_DIGESTS: dict = {}


def _file_digest(path: str) -> str:
    """A digest of a file's contents, read again when its size or time changes."""
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    digest = _FILE_DIGESTS.get(key)
    if digest is None:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        _FILE_DIGESTS[key] = digest
    return digest


def _code_sig(obj) -> str:
    """A digest of the file defining ``obj`` when that is a user's Python code, else ``""``.

    PyTensor's, seqgraph's and the standard library's code, and compiled code
    (a class of an extension module), are in the key through their versions.

    Raises
    ------
    Unsupported
        If ``obj`` was defined with no file behind it (in a notebook, an
        interactive session, ``python -c``), so that a change to it could not
        be told apart.
    """
    module = getattr(obj, "__module__", None) or ""
    top = module.split(".")[0]
    if top in _OWN_PACKAGES or top in sys.stdlib_module_names or top == "builtins":
        return ""
    try:
        path = inspect.getsourcefile(inspect.unwrap(obj) if callable(obj) else obj)
    except (TypeError, ValueError, OSError):  # OSError: a class of __main__ without a file
        path = None
    if path is not None and os.path.isfile(path):
        return "@" + _file_digest(path)
    loaded = sys.modules.get(module)
    if module == "__main__" or loaded is None or getattr(loaded, "__file__", None) is None:
        name = getattr(obj, "__qualname__", type(obj).__qualname__)
        raise Unsupported(f"the source of {module}.{name} is not in a file")
    return ""  # compiled code of an installed package


def _jax_implementation_sig(op_class) -> str:
    """The code sig of the JAX implementation registered for ``op_class``.

    PyTensor's JAX dispatch is not imported for it: a process that finds its
    programs in the cache runs without it (importing it takes time, and
    resets JAX's float64 switch from ``floatX``).  Until something has imported
    it, no implementation can have been registered but PyTensor's own.
    """
    dispatch = sys.modules.get("pytensor.link.jax.dispatch")
    if dispatch is None:
        return ""
    return _code_sig(dispatch.jax_funcify.dispatch(op_class))


def _user_rewrites_sig() -> str:
    """Names and code sigs of the rewrites registered from outside PyTensor and seqgraph."""
    from pytensor.compile.mode import optdb
    from pytensor.graph.rewriting.db import RewriteDatabase

    found, seen = [], set()

    def walk(db):
        if id(db) in seen:
            return
        seen.add(id(db))
        for name in sorted(db._names):
            for rewriter in db.__db__[name]:
                if isinstance(rewriter, RewriteDatabase):
                    walk(rewriter)
                    continue
                inner = getattr(rewriter, "node_rewriter", None)
                for code in (rewriter, inner):
                    if code is None:
                        continue
                    code = getattr(code, "fn", None) or type(code)
                    sig = _code_sig(code)
                    if sig:
                        found.append(f"{name}:{code.__module__}.{code.__qualname__}{sig}")

    walk(optdb)
    return ";".join(sorted(set(found)))


class _Digest:
    """Digest graphs, recursing into inner graphs (Scan, OpFromGraph, Composite)."""

    def __init__(self):
        self._ops: dict[int, str] = {}

    def type_sig(self, t) -> str:
        from pytensor.tensor.type import TensorType

        if _is(t, TensorType):
            return f"T[{t.dtype},{t.shape}]"
        props = getattr(type(t), "__props__", None)
        if props is None:
            if getattr(t, "__dict__", None):
                raise Unsupported(f"no digest for the type {t}")
            props = ()  # a type without state (NoneTypeT, SliceType ...)
        parts = ",".join(f"{p}={self.value(getattr(t, p))}" for p in props)
        return f"{type(t).__module__}.{type(t).__qualname__}({parts})"

    def value(self, v) -> str:
        from pytensor.graph.basic import Variable
        from pytensor.graph.op import Op
        from pytensor.graph.type import Type

        if v is None or isinstance(v, (bool, int, float, complex, str)):
            return f"{type(v).__name__}:{v!r}"
        if isinstance(v, bytes):
            return "b:" + hashlib.sha256(v).hexdigest()
        if isinstance(v, np.ndarray):
            data = np.ascontiguousarray(v)
            return f"a[{v.dtype},{v.shape}]:" + hashlib.sha256(data.tobytes()).hexdigest()
        if isinstance(v, (np.generic, np.dtype)):
            return f"{type(v).__name__}:{v!r}"
        if isinstance(v, enum.Enum):
            return f"enum:{type(v).__qualname__}.{v.name}"
        if isinstance(v, (tuple, list, frozenset, set)):
            items = [self.value(x) for x in v]
            if isinstance(v, (frozenset, set)):
                items.sort()
            return f"{type(v).__name__}(" + ",".join(items) + ")"
        if isinstance(v, Mapping):
            items = sorted(f"{self.value(k)}={self.value(x)}" for k, x in v.items())
            return "dict(" + ",".join(items) + ")"
        if isinstance(v, slice):
            return f"slice({self.value(v.start)},{self.value(v.stop)},{self.value(v.step)})"
        if _is(v, Op):
            return self.op(v)
        props = getattr(type(v), "__props__", None)
        if props is not None:  # PyTensor's parameter objects (MetaObject) compare by these
            parts = ",".join(f"{p}={self.value(getattr(v, p))}" for p in props)
            return f"obj:{type(v).__module__}.{type(v).__qualname__}({parts})"
        if _is(v, Type):
            return "type:" + self.type_sig(v)
        if isinstance(v, types.FunctionType) and "<" not in v.__qualname__:
            return f"fn:{v.__module__}.{v.__qualname__}{_code_sig(v)}"
        if isinstance(v, type):
            return f"cls:{v.__module__}.{v.__qualname__}{_code_sig(v)}"
        if dataclasses.is_dataclass(v):
            fields = [f"{f.name}={self.value(getattr(v, f.name))}" for f in dataclasses.fields(v)]
            return f"dc:{type(v).__qualname__}(" + ",".join(fields) + ")"
        if _is(v, Variable):
            raise Unsupported(f"an op parameter is a variable ({v})")
        raise Unsupported(f"no digest for an op parameter of type {type(v).__name__}")

    def op(self, op) -> str:
        key = id(op)
        if key in self._ops:
            return self._ops[key]
        from pytensor.compile.builders import OpFromGraph
        from pytensor.scalar.basic import Composite, ScalarOp
        from pytensor.scan.op import Scan

        name = f"{type(op).__module__}.{type(op).__qualname__}"
        if _is(op, Scan):
            parts = [
                self.value(op.info),
                self.value(op.truncate_gradient),
                self.value(op.name),
                self.value(bool(op.allow_gc)) if op.allow_gc is not None else "gc:None",
                self.graph(op.inner_inputs, op.inner_outputs),
                self.value(dict(op.destroy_map)),
            ]
        elif _is_symbolic_op(op) and getattr(type(op), "__props__", None) is not None:
            # A symbolic op whose inner graph its class builds from its
            # parameters and input types (``LogSoftmax`` is one).
            parts = [f"{p}={self.value(getattr(op, p))}" for p in type(op).__props__]
        elif _is(op, OpFromGraph):
            if getattr(op, "shared_inputs", None):
                raise Unsupported("OpFromGraph with shared inputs")
            parts = [
                self.value(getattr(op, "is_inline", None)),
                self.graph(op.inner_inputs, op.inner_outputs),
            ]
            # A custom gradient or R-op changes nothing in the forward program.
        elif _is(op, Composite):
            parts = [self.graph(op.inputs, op.outputs)]
        elif _is(op, ScalarOp) and getattr(type(op), "__props__", None) is None:
            # Scalar ops compare by class and a few attributes (the output
            # type rule, ``bool`` for comparisons): digest every attribute.
            parts = [f"{k}={self.value(v)}" for k, v in sorted(vars(op).items())]
        else:
            props = getattr(type(op), "__props__", None)
            if props is None:
                raise Unsupported(f"op {name} has no __props__")
            parts = [f"{p}={self.value(getattr(op, p))}" for p in props]
        # A user's op (or a user's JAX implementation of any op): the code too.
        code = _code_sig(type(op)) + _jax_implementation_sig(type(op))
        sig = name + code + "{" + ";".join(parts) + "}"
        self._ops[key] = sig
        return sig

    def reference(self, var, names, missing) -> str:
        """The name of ``var`` in a graph being digested, or its constant value.

        Raises
        ------
        Unsupported
            With ``missing`` formatted with ``var``, if it is neither.
        """
        from pytensor.graph.basic import Constant

        if var in names:
            return names[var]
        if _is(var, Constant):
            return f"c[{self.type_sig(var.type)}]{self.value(var.data)}"
        raise Unsupported(missing.format(var))

    def graph(self, inputs, outputs) -> str:
        from pytensor.graph.traversal import io_toposort

        names: dict = {}
        lines = []
        for i, var in enumerate(inputs):
            names[var] = f"i{i}"
            lines.append(f"i{i}:{self.type_sig(var.type)}")
        for k, node in enumerate(io_toposort(list(inputs), list(outputs))):
            args = [
                self.reference(
                    var, names, "the graph has a free variable ({}) that is not an input"
                )
                for var in node.inputs
            ]
            lines.append(f"n{k}={self.op(node.op)}(" + ",".join(args) + ")")
            for j, out in enumerate(node.outputs):
                names[out] = f"n{k}.{j}"
                lines.append(f"n{k}.{j}:{self.type_sig(out.type)}")
        outs = [
            self.reference(var, names, "output {} does not depend on the inputs") for var in outputs
        ]
        lines.append("out=" + ",".join(outs))
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def graph_digest(inputs, outputs) -> str:
    """A digest of a graph's structure that is stable across processes.

    Two graphs get the same digest when they apply the same ops (same class
    and parameters, inner graphs included) to inputs of the same types and to
    equal constants, in the same arrangement.  Variable names do not count.

    Raises
    ------
    Unsupported
        When an op parameter is of a kind the digest cannot represent safely.
    """
    return _Digest().graph(inputs, outputs)


@functools.cache
def _sources_digest() -> str:
    """A digest of the modules whose code shapes a program beyond its graph.

    The JAX dispatch and rewrites, and the corrections to PyTensor's rewrites
    and shape inference: a checkout changed without a new version would
    otherwise find programs built by the old rewrites.  Read once a process.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    sources = hashlib.sha256()
    for name in (
        "_jax.py",
        "_jaxfn.py",
        "_chunked.py",
        "function.py",
        "_pytensor_fixes.py",
        "_compat.py",
    ):
        with open(os.path.join(here, name), "rb") as handle:
            sources.update(handle.read())
    return sources.hexdigest()


def _environment_sig(platform: str) -> str:
    import jax
    import pytensor

    import seqgraph
    from seqgraph import _jax

    return json.dumps(
        [
            seqgraph.__version__,
            _sources_digest(),
            pytensor.__version__,
            jax.__version__,
            platform,
            _jax.unroll_for(platform),
            _jax.prefetch_for(platform),
            _jax.scan_overwrite_for(platform),
            _jax.slab_join_for(platform),
            _jax.chunked_updates_for(platform),
            _jax.transposed_copy_for(platform),
            bool(jax.config.jax_enable_x64),
            pytensor.config.floatX,
        ]
    )


def _rewrites_sig(mode) -> str:
    """The rewrite query of a mode (which rewrites run), stable across processes."""
    query = getattr(mode, "provided_optimizer", None)
    if query is None or not hasattr(query, "include"):
        return repr(type(query))
    return json.dumps(
        [
            sorted(query.include),
            sorted(query.require),
            sorted(query.exclude),
            str(query.position_cutoff),
            sorted(query.subquery),
            len(query.extra_rewrites),
            type(mode.linker).__name__,
        ]
    )


def _cache_folder() -> str | None:
    folder = os.environ.get(
        "SEQGRAPH_JAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "seqgraph", "jax")
    )
    if not folder:
        return None
    return os.path.join(folder, "functions")


def _read(path: str, expect: dict):
    import jax.export

    try:
        with open(path, "rb") as handle:
            blob = handle.read()
    except OSError:
        return None
    if not blob.startswith(_MAGIC):
        return None
    offset = len(_MAGIC)
    (size,) = struct.unpack_from("<I", blob, offset)
    offset += 4
    try:
        meta = json.loads(blob[offset : offset + size])
        if meta != expect:
            return None
        exported = jax.export.deserialize(bytearray(blob[offset + size :]))
    except Exception:  # a damaged or foreign file is a cache miss, never an error
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used now: the last to go when the folder is pruned
    return exported


def _write(path: str, meta: dict, payload: bytes) -> None:
    from seqgraph import _jax
    from seqgraph.params import atomic_write

    header = json.dumps(meta).encode()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = _MAGIC + struct.pack("<I", len(header)) + header + bytes(payload)
        atomic_write(path, lambda handle: handle.write(data))
    except OSError:
        return  # a read-only or full disk only costs the next process a compile
    _prune(os.path.dirname(path), _jax.cache_limit_bytes(), keep=path)


def _prune(folder: str, limit: int, keep: str) -> None:
    """Delete the least recently used programs in ``folder`` until it holds ``limit`` bytes."""
    entries = []
    try:
        with os.scandir(folder) as found:
            for entry in found:
                if entry.name.endswith(".jaxfn") and entry.path != keep:
                    with contextlib.suppress(OSError):
                        stat = entry.stat()
                        entries.append((stat.st_mtime, stat.st_size, entry.path))
        total = sum(size for _, size, _ in entries) + os.path.getsize(keep)
    except OSError:
        return
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        with contextlib.suppress(OSError):  # another process may have removed it
            os.remove(path)
            total -= size


# -- the program ---------------------------------------------------------------------


def _argument_variable(var, value):
    """The free variable that stands for shared variable ``var`` in a pure program."""
    from pytensor.tensor.random.type import RandomType
    from pytensor.tensor.type import TensorType

    if isinstance(var.type, TensorType):
        return var.type.clone(shape=np.shape(value))(name=var.name)
    if isinstance(var.type, RandomType):
        return var.type(name=var.name)
    raise Unsupported(f"shared variable {var} of type {var.type}")


def _export_platform(device) -> str:
    """The platform name ``jax.export`` uses for a device (``cuda``, not ``gpu``)."""
    platform = device.platform
    if platform == "gpu":
        version = str(getattr(device.client, "platform_version", "")).lower()
        return "rocm" if "rocm" in version else "cuda"
    return platform


def _aval(value):
    import jax

    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), value)


def _call_aval(value):
    """The type of a call's argument, with the device of a committed JAX array."""
    import jax

    def aval(a):
        if isinstance(a, jax.Array) and a.committed:
            return jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding)
        return jax.ShapeDtypeStruct(np.shape(a), a.dtype)

    return jax.tree.map(aval, value)


class JaxProgram:
    """One shape signature of a seqgraph JAX function, compiled as a pure program.

    Parameters
    ----------
    inputs : list of Variable
        The explicit inputs, with static shapes.
    outputs : list of Variable
        The outputs the caller gets back.
    updates : list of (SharedVariable, Variable)
        New values of shared variables.
    shared : list of SharedVariable
        Every shared variable the graph reads (``updates``' included).
    shared_values : list
        Their current values: device arrays, and random generators as
        :func:`random_state` values (their shapes become static).
    mode : pytensor Mode
        The JAX mode whose rewrites build the program.
    device : jax.Device
    options : dict, optional
        XLA compiler options added to seqgraph's own for the platform.
    """

    def __init__(self, inputs, outputs, updates, shared, shared_values, mode, device, options=None):
        import jax
        from pytensor.graph.replace import graph_replace

        from seqgraph import _jax

        position = {v: i for i, v in enumerate(shared)}
        # The program returns the new values of the shared variables first, in
        # the order of their arguments, then the outputs.  JAX gives each result
        # the buffer of the first donated argument of its shape and dtype not
        # taken yet; in any other order the optimizer's states and parameters of
        # one shape swap buffers and XLA copies each of them on every call.
        updates = sorted(updates, key=lambda u: (_is_random(u[0]), position[u[0]]))
        shared_args = [_argument_variable(v, x) for v, x in zip(shared, shared_values)]
        replace = dict(zip(shared, shared_args))
        roots = [new for _, new in updates] + list(outputs)
        roots = graph_replace(roots, replace, strict=False) if replace else roots
        self.inputs = list(inputs) + shared_args
        self.outputs = roots
        self.n_out = len(outputs)
        self.n_in = len(inputs)
        # Where each update goes: index into ``shared``.
        self.update_slots = [position[var] for var, _ in updates]
        self.donate = tuple(self.n_in + position[var] for var, _ in updates if not _is_random(var))
        self.device = device
        self._on_default_device = device == jax.devices()[0]
        self.platform = _export_platform(device)
        self._options = _jax.compiler_options_for(self.platform)
        if options:
            self._options = {**(self._options or {}), **options}
        self.from_cache = False
        self.cache_path = None
        self._exported = None
        self._fn = None
        # compile(): its Future, and the same while it runs in the background.
        self._compiled = None
        self._pending = None
        self._avals = [
            jax.ShapeDtypeStruct(v.type.shape, np.dtype(v.type.dtype)) for v in inputs
        ] + [_aval(x) for x in shared_values]
        key = self._key(mode)
        if key is not None:
            self.cache_path = os.path.join(_cache_folder(), key + ".jaxfn")
            exported = _read(self.cache_path, self._meta())
            if exported is not None:
                self._exported = exported
                self.from_cache = True
        if self._exported is None:
            self._build(mode)
        if self._exported is not None:
            self._fn = jax.jit(
                self._exported.call, donate_argnums=self.donate, compiler_options=self._options
            )

    # -- building ----------------------------------------------------------------

    def _meta(self) -> dict:
        return {
            "n_in": self.n_in,
            "n_args": len(self.inputs),
            "n_out": self.n_out,
            "n_results": len(self.outputs),
            "results": "updates, then outputs",
            "donate": list(self.donate),
        }

    def _key(self, mode) -> str | None:
        if _cache_folder() is None:
            return None
        try:
            digest = graph_digest(self.inputs, self.outputs)
            rewrites = [_rewrites_sig(mode), _user_rewrites_sig()]
        except Unsupported:
            return None
        text = json.dumps([digest, self._meta(), rewrites, _environment_sig(self.platform)])
        return hashlib.sha256(text.encode()).hexdigest()

    def _build(self, mode) -> None:
        import jax
        import pytensor
        from pytensor.graph.features import PreserveVariableAttributes
        from pytensor.graph.fg import FunctionGraph

        from seqgraph import _chunked, _jax

        _jax.install_fixes()
        fgraph = FunctionGraph(self.inputs, self.outputs, clone=True)
        try:
            from pytensor.compile.aliasing import add_supervisor_to_fgraph
            from pytensor.compile.io import SymbolicInput

            add_supervisor_to_fgraph(fgraph, [SymbolicInput(v) for v in fgraph.inputs])
        except ImportError:  # other PyTensor versions: inplace rewrites are off for JAX anyway
            pass
        fgraph.attach_feature(PreserveVariableAttributes())
        # As pytensor.function does: no Python stack is recorded for the
        # thousands of nodes the rewrites create (a third of the time otherwise).
        limit = pytensor.config.traceback__compile_limit
        slab_join = _jax.slab_join(_jax.slab_join_for(self.platform))
        # Output i < len(update_slots) is the new value of argument n_in + update_slots[i].
        chunked = _chunked.chunked_updates(
            _jax.chunked_updates_for(self.platform),
            {i: self.n_in + slot for i, slot in enumerate(self.update_slots)},
        )
        with (
            pytensor.config.change_flags(mode=mode, traceback__limit=limit),
            slab_join,
            chunked,
        ):
            mode.optimizer(fgraph)
            with _jax.funcifying(fgraph):
                funcified = self._funcify(fgraph)
        unroll = _jax.unroll_for(self.platform)
        prefetch = _jax.prefetch_for(self.platform)
        overwrite = _jax.scan_overwrite_for(self.platform)
        transposed_copy = _jax.transposed_copy_for(self.platform)

        def program(*args):
            # JAX traces the scans here.
            with (
                _jax.scan_unroll(unroll),
                _jax.scan_prefetch(prefetch),
                _jax.scan_overwrite(overwrite),
                _jax.transposed_copy(transposed_copy),
            ):
                return funcified(*args)

        jitted = jax.jit(program, donate_argnums=self.donate, compiler_options=self._options)
        _jax.host_callbacks["used"] = False
        try:
            exported = jax.export.export(jitted, platforms=[self.platform])(*self._avals)
            payload = exported.serialize()
        except ImportError:  # flatbuffers missing: no serialisation, no cache
            self._fn = jitted
            return
        except Exception as err:
            # A program that JAX cannot trace is wrong (sizes that do not
            # match, say): the same error would come from the first call, so
            # it is raised here, where the caller knows which shapes it built
            # for.  One that traces but does not export (an op without an
            # exportable lowering) runs as a jitted function instead.
            jitted.trace(*self._avals)
            if _jax.host_callbacks["used"]:
                # An op run by its Python code on the host (a callback): JAX
                # does not export such programs; it is compiled in this process.
                self._fn = jitted
                return
            warnings.warn(
                f"seqgraph could not export the JAX program ({type(err).__name__}: {err}); "
                "it is compiled in this process only.",
                RuntimeWarning,
                stacklevel=4,
            )
            self._fn = jitted
            return
        self._exported = exported
        if self.cache_path:
            _write(self.cache_path, self._meta(), payload)

    @staticmethod
    def _funcify(fgraph):
        from pytensor.link.jax.dispatch import jax_funcify
        from pytensor.link.jax.dispatch.shape import JAXShapeTuple

        for node in fgraph.apply_nodes:
            if isinstance(node.op, JAXShapeTuple) and any(v in fgraph.inputs for v in node.inputs):
                raise Unsupported("an input is used as a shape")
        with warnings.catch_warnings():
            # PyTensor's JAX backend warns for every runtime Assert it drops
            # (shape checks); with static shapes the rewrites checked them.
            warnings.filterwarnings("ignore", message="Skipping .* as JAX tracing would remove it")
            try:
                return jax_funcify(fgraph)
            except NotImplementedError as err:
                if "No JAX conversion" in str(err):
                    err.add_note(
                        "An op with no JAX implementation (one written with only a Python "
                        "`perform`, say) runs on the C or Numba backend; for JAX, register "
                        "one with `pytensor.link.jax.dispatch.jax_funcify.register(OpClass)`."
                    )
                raise

    # -- compiling ---------------------------------------------------------------

    def compile(self, background=False, args=None, shared_values=None):
        """Compile the program with XLA for its device, now or on a background thread.

        The program's calls find the executable in JAX's cache; a call made
        while the background compile runs waits for it, and raises what it
        raised.  The compile holds Python's lock only while JAX lowers the
        program (milliseconds); XLA's optimisation and code generation, most
        of the time, leave the calling thread free to build other programs.

        Parameters
        ----------
        background : bool
            Run the compile on seqgraph's compile thread and return at once.
        args, shared_values : list, optional
            Values like those the calls will pass for the inputs and the
            shared variables: JAX compiles for where they lie (a value
            committed to a device compiles apart from one that is not), so a
            call finds the compile only if it was made for values placed as
            its own.  Only their types and placement are kept.  Default: the
            types the program was built for, uncommitted.

        Returns
        -------
        concurrent.futures.Future
            Done when the compile is (already done unless ``background``).
        """
        if self._compiled is not None:
            return self._compiled
        if self._fn is None:
            raise RuntimeError("the JAX program failed to build")
        import jax

        jitted, avals = self._fn, self._avals
        if args is not None:
            avals = [_call_aval(v) for v in args] + avals[self.n_in :]
        if shared_values is not None:
            avals = avals[: self.n_in] + [_call_aval(v) for v in shared_values]
        # As __call__ runs it, so that the call finds this compile in JAX's cache.
        place = (
            contextlib.nullcontext
            if self._on_default_device
            else lambda: jax.default_device(self.device)
        )

        def run():
            # 64-bit types on this thread whatever another thread sets meanwhile
            # (importing PyTensor's JAX dispatch turns them off for a moment).
            with jax.enable_x64(True), place():
                jitted.lower(*avals).compile()

        if background:
            self._compiled = self._pending = _compile_thread().submit(run)
            return self._compiled
        future = Future()
        run()
        future.set_result(None)
        self._compiled = future
        return future

    def output_types(self) -> list[tuple[tuple[int, ...], np.dtype]]:
        """The shape and dtype of each output (the new shared values left out)."""
        import jax

        if self._exported is not None:
            results = jax.tree.unflatten(self._exported.out_tree, self._exported.out_avals)
        else:
            results = jax.eval_shape(self._fn, *self._avals)
        # The new values of the shared variables (random states are trees) come first.
        return [(tuple(a.shape), np.dtype(a.dtype)) for a in results[len(self.update_slots) :]]

    # -- calling -----------------------------------------------------------------

    def __call__(self, args, shared_values):
        if self._pending is not None:
            self._pending.result()  # the compile's error, if it failed
            self._pending = None
        if self._fn is None:
            raise RuntimeError("the JAX program failed to build")
        if self._on_default_device:
            return self._fn(*args, *shared_values)
        import jax

        # NumPy inputs go to the default device, and jit compiles for it.
        with jax.default_device(self.device):
            return self._fn(*args, *shared_values)


_COMPILE_THREAD = None


def _compile_thread():
    """The one thread that runs background compiles, in the order asked.

    One is enough: XLA spreads each compile over the cores itself.
    """
    global _COMPILE_THREAD
    if _COMPILE_THREAD is None:
        _COMPILE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seqgraph-compile")
    return _COMPILE_THREAD


def _is_symbolic_op(op) -> bool:
    try:
        from pytensor.compile.builders import SymbolicOp
    except ImportError:  # PyTensor versions without it
        return False
    return isinstance(op, SymbolicOp)


def _is_random(var) -> bool:
    from pytensor.tensor.random.type import RandomType

    return isinstance(var.type, RandomType)


def random_state(typified):
    """A PyTensor-JAX generator state with every leaf a strongly typed JAX array.

    The state PyTensor's JAX backend makes holds Python integers (the bit
    generator's counters).  ``jnp.asarray`` would make them *weakly* typed
    scalars, while the state the program returns is strongly typed, so the
    second call would present JAX with other argument types and compile the
    whole program again.  Each leaf goes through NumPy first, which has no
    weak types, and is then copied with ``jax.device_put`` (``jnp.asarray``
    of a NumPy value compiles a small XLA program for each new type).  The
    state also gets the Philox state that seqgraph's JAX uniform draws
    advance (:func:`seqgraph._jax.philox_state`).
    """
    import jax

    from seqgraph import _jax

    typified = dict(typified)
    if "jax_state" in typified:
        typified[_jax.PHILOX_STATE] = _jax.philox_state(typified["jax_state"])
    return jax.tree.map(lambda leaf: jax.device_put(np.asarray(leaf)), typified)
