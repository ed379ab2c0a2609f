"""``theano.config``: Theano's flags, dotted sections included, over PyTensor's config.

PyTensor keeps many of Theano's flags under the same names, with a section's
dot written as ``__`` (``scan.allow_gc`` is ``pytensor.config.scan__allow_gc``).
Old scripts read and set them with the dots (``theano.config.scan.allow_gc``),
and set flags PyTensor no longer has: the ``warn.*`` switches for bugs of
Theano 0.x, the GPU back-end's ``gpuarray.*`` and ``dnn.*``, test values. Those
are listed in :data:`THEANO_ONLY` with Theano 1.0's defaults; they can be read
and set, and change nothing here (see each entry's note for what seqgraph does
instead). A name neither library has is an ``AttributeError`` that lists the
flags of its section.
"""

from __future__ import annotations

import warnings

import pytensor

__all__ = ["THEANO_ONLY", "Config"]

_GPU = "no effect: seqgraph runs the GPU through JAX (device=cuda)"
_BUG = "no effect: warnings about bugs of Theano 0.x"
_TEST_VALUES = "no effect: PyTensor 3 has no test values"
_NONE = "no effect"

#: Theano 1.0 flags that PyTensor does not have: name -> (Theano's default, note).
THEANO_ONLY = {
    "assert_no_cpu_op": ("ignore", _GPU),
    "cache_optimizations": (False, _NONE),
    "compute_test_value": ("off", _TEST_VALUES),
    "compute_test_value_opt": ("off", _TEST_VALUES),
    "contexts": ("", _GPU),
    "conv.assert_shape": (False, "no effect: shape hints are always checked"),
    "ctc.root": ("", _GPU),
    "cuda.include_path": ("", _GPU),
    "cuda.root": ("", _GPU),
    "deterministic": ("default", _NONE),
    "dnn.base_path": ("", _GPU),
    "dnn.bin_path": ("", _GPU),
    "dnn.conv.algo_bwd": ("", _GPU),
    "dnn.conv.algo_bwd_data": ("none", _GPU),
    "dnn.conv.algo_bwd_filter": ("none", _GPU),
    "dnn.conv.algo_fwd": ("small", _GPU),
    "dnn.conv.precision": ("as_input_f32", _GPU),
    "dnn.conv.workmem": ("", _GPU),
    "dnn.conv.workmem_bwd": ("", _GPU),
    "dnn.enabled": ("auto", _GPU),
    "dnn.include_path": ("", _GPU),
    "dnn.library_path": ("", _GPU),
    "experimental.local_alloc_elemwise": (True, _NONE),
    "experimental.local_alloc_elemwise_assert": (True, _NONE),
    "experimental.unpickle_gpu_on_cpu": (False, _GPU),
    "force_device": (False, _GPU),
    "gpu.local_elemwise_fusion": (True, _GPU),
    "gpuarray.cache_path": ("", _GPU),
    "gpuarray.preallocate": (0.0, _GPU),
    "gpuarray.sched": ("default", _GPU),
    "gpuarray.single_stream": (True, _GPU),
    "gpuarray.sync": (False, _GPU),
    "gpuelemwise.sync": (True, _GPU),
    "init_gpu_device": ("", _GPU),
    "int_division": ("int", _NONE),
    "lib.cnmem": (0.0, _GPU),
    "magma.enabled": (False, _GPU),
    "magma.include_path": ("", _GPU),
    "magma.library_path": ("", _GPU),
    "metaopt.optimizer_excluding": ("", _NONE),
    "metaopt.optimizer_including": ("", _NONE),
    "metaopt.verbose": (0, _NONE),
    "nvcc.fastmath": (False, _GPU),
    "nvcc.flags": ("", _GPU),
    "numpy.seterr_all": ("ignore", "no effect: Theano applied it once, at import"),
    "numpy.seterr_divide": (None, "no effect: Theano applied it once, at import"),
    "numpy.seterr_invalid": (None, "no effect: Theano applied it once, at import"),
    "numpy.seterr_over": (None, "no effect: Theano applied it once, at import"),
    "numpy.seterr_under": (None, "no effect: Theano applied it once, at import"),
    "pickle_test_value": (True, _TEST_VALUES),
    "print_active_device": (True, _GPU),
    "print_test_value": (False, _TEST_VALUES),
    "reoptimize_unpickled_function": (False, _NONE),
    "scan.debug": (False, _NONE),
    "tensor.local_elemwise_fusion": (True, "no effect: fusion is the backend's choice"),
    "unittests.rseed": (666, _NONE),
    "warn.argmax_pushdown_bug": (False, _BUG),
    "warn.gpu_set_subtensor1": (False, _BUG),
    "warn.gpusum_01_011_0111_bug": (False, _BUG),
    "warn.identify_1pexp_bug": (False, _BUG),
    "warn.inc_set_subtensor1": (False, _BUG),
    "warn.inc_subtensor1_opt": (True, _BUG),
    "warn.reduce_join": (False, _BUG),
    "warn.round": (False, _BUG),
    "warn.signal_conv2d_interface": (False, _BUG),
    "warn.subtensor_merge_bug": (False, _BUG),
    "warn.sum_div_dimshuffle_bug": (False, _BUG),
    "warn.sum_sum_bug": (False, _BUG),
    "warn.vm_gc_bug": (False, _BUG),
}


#: Flags seqgraph sets itself (or reads at import), which THEANO_FLAGS must not reach.
_OWN = {"floatX", "device", "mode", "optimizer", "linker", "cxx", "gcc.cxxflags", "blas.ldflags"}
_OWN |= {"compiledir", "base_compiledir", "compiledir_format"}


#: Rewrite queries applied by seqgraph's modes (:data:`seqgraph.backends.REWRITE_QUERY`).
_QUERY_FLAGS = ("optimizer_excluding", "optimizer_including", "optimizer_requiring")


def _set_query(name, value):
    from seqgraph import backends

    if not isinstance(value, str):
        raise TypeError(f"theano.config.{name} must be a string of names separated by ':'.")
    backends.REWRITE_QUERY[name.removeprefix("optimizer_")] = [n for n in value.split(":") if n]


def _like(default, text, key):
    """``text`` from a flag string, as the type of ``default`` (Theano's parsing)."""
    if isinstance(default, bool):
        if text.lower() in ("true", "1"):
            return True
        if text.lower() in ("false", "0"):
            return False
        raise ValueError(f"THEANO_FLAGS {key}={text!r}: expected True or False.")
    if isinstance(default, (int, float)):
        try:
            return type(default)(text)
        except ValueError:
            raise ValueError(f"THEANO_FLAGS {key}={text!r}: expected a number.") from None
    return text


def _pytensor_names():
    return {name.replace("__", ".") for name in pytensor.config._config_var_dict}


class _Section:
    """One dotted section of ``theano.config`` (``warn``, ``scan``, ``dnn.conv`` ...)."""

    def __init__(self, config, prefix):
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._config._get(f"{self._prefix}.{name}")

    def __setattr__(self, name, value):
        self._config._set(f"{self._prefix}.{name}", value)

    def __dir__(self):
        start = self._prefix + "."
        return sorted(
            {n[len(start) :].split(".")[0] for n in self._config._names() if n.startswith(start)}
        )

    def __repr__(self) -> str:
        return f"<theano.config.{self._prefix}: {', '.join(dir(self))}>"


class Config:
    """``theano.config``: floatX, the flags read at import, Theano-only flags and sections.

    Parameters
    ----------
    flags : dict
        What ``THEANO_FLAGS`` and ``.theanorc`` set. ``device``, ``mode`` and
        ``optimizer`` are kept here, Theano-only flags too; PyTensor's flags
        are set in ``pytensor.config``, except those seqgraph sets itself (the
        compiler, its flags, the BLAS, the cache directories: ``PYTENSOR_FLAGS``
        sets them).
    """

    def __init__(self, flags):
        values = {name: default for name, (default, _) in THEANO_ONLY.items()}
        values["device"] = flags.get("device", "cpu")
        values["mode"] = flags.get("mode", "FAST_RUN")
        values["optimizer"] = flags.get("optimizer", "fast_run")
        for name in _QUERY_FLAGS:  # PyTensor reads its own once; seqgraph's modes read these
            values[name] = ""
        object.__setattr__(self, "_values", values)
        known = {n.lower(): n for n in self._names()}
        for key, value in flags.items():
            name = known.get(key.lower())
            if name is None:
                warnings.warn(f"THEANO_FLAGS: unknown flag {key!r} ignored.", stacklevel=2)
            elif name in values:
                values[name] = _like(THEANO_ONLY.get(name, ("",))[0], value, key)
            elif name not in _OWN:
                try:
                    setattr(pytensor.config, name.replace(".", "__"), value)
                except Exception as err:  # PyTensor's checks: a bad value, a flag fixed at start
                    warnings.warn(
                        f"THEANO_FLAGS: {key}={value} not applied ({err}); PYTENSOR_FLAGS sets it.",
                        stacklevel=2,
                    )
        for name in _QUERY_FLAGS:
            _set_query(name, values[name])

    def _names(self):
        return _pytensor_names() | set(self._values)

    def _get(self, name):
        if name == "floatX":
            return pytensor.config.floatX
        if name in self._values:
            return self._values[name]
        if name in _pytensor_names():
            return getattr(pytensor.config, name.replace(".", "__"))
        if any(n.startswith(name + ".") for n in self._names()):
            return _Section(self, name)
        section, _, flag = name.rpartition(".")
        if section:
            raise AttributeError(
                f"theano.config.{section} has no flag {flag!r}; its flags are "
                f"{', '.join(dir(_Section(self, section)))}."
            )
        raise AttributeError(
            f"theano.config has no flag {name!r} (neither Theano 1.0 nor PyTensor has it)."
        )

    def _set(self, name, value):
        if name == "floatX":
            pytensor.config.floatX = value
        elif name in self._values:
            if name.startswith("compute_test_value") and value != "off":
                warnings.warn(
                    f"theano.config.{name} = {value!r} has no effect: PyTensor 3 has no "
                    "test values, so a shape error shows when the function is compiled "
                    "or called rather than when the graph is built.",
                    stacklevel=3,
                )
            if name in _QUERY_FLAGS:
                _set_query(name, value)
            self._values[name] = value
        elif name in _pytensor_names():
            setattr(pytensor.config, name.replace(".", "__"), value)
        else:
            self._get(name)  # a section: raise its error naming the flags
            raise AttributeError(
                f"theano.config.{name} is a section, not a flag; set one of its flags."
            )

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._get(name)

    def __setattr__(self, name, value):
        self._set(name, value)

    def __dir__(self):
        return sorted({n.split(".")[0] for n in self._names()} | {"floatX"})
