"""seqgraph.theano.config: Theano's dotted flags over PyTensor's, flags files, change_flags."""

from __future__ import annotations

import pytensor
import pytest

import seqgraph.theano
from seqgraph.theano._config import THEANO_ONLY, Config
from seqgraph.theano._flags import read_flags
from seqgraph.theano.configparser import change_flags


@pytest.fixture
def config():
    """A fresh ``theano.config``; PyTensor's flags it touches are put back after."""
    saved = {n: getattr(pytensor.config, n) for n in ("scan__allow_gc", "exception_verbosity")}
    yield Config({})
    for name, value in saved.items():
        setattr(pytensor.config, name, value)


def test_dotted_sections_reach_pytensor_flags(config):
    assert config.scan.allow_gc == pytensor.config.scan__allow_gc
    config.scan.allow_gc = not pytensor.config.scan__allow_gc
    assert pytensor.config.scan__allow_gc == config.scan.allow_gc
    assert config.gcc.cxxflags == pytensor.config.gcc__cxxflags
    assert config.floatX == pytensor.config.floatX
    assert "allow_gc" in dir(config.scan)


def test_theano_only_flags_are_kept_without_effect(config):
    assert config.warn.sum_div_dimshuffle_bug is False  # Theano 1.0's default
    config.warn.sum_div_dimshuffle_bug = True
    assert config.warn.sum_div_dimshuffle_bug is True
    assert config.dnn.conv.algo_fwd == "small"  # a section inside a section
    config.gpuarray.preallocate = 0.9
    assert config.gpuarray.preallocate == 0.9
    with pytest.warns(UserWarning, match="PyTensor 3 has no test values"):
        config.compute_test_value = "raise"
    assert config.compute_test_value == "raise"
    assert all(isinstance(note, str) and note for _, note in THEANO_ONLY.values())


def test_unknown_flags_name_the_section_and_its_flags(config):
    with pytest.raises(
        AttributeError, match="theano.config.warn has no flag 'nosuch'.*sum_sum_bug"
    ):
        config.warn.nosuch  # noqa: B018
    with pytest.raises(AttributeError, match="neither Theano 1.0 nor PyTensor has it"):
        config.nosuch  # noqa: B018
    with pytest.raises(AttributeError, match="is a section, not a flag"):
        config.warn = False
    with pytest.raises(AttributeError, match="has no flag"):
        config.scan.nosuch = 1


def test_flags_from_theano_flags_and_theanorc(tmp_path):
    rc = tmp_path / "theanorc"
    rc.write_text("[global]\nfloatX = float64\n\n[warn]\nround = True\n\n[lib]\ncnmem = 0.5\n")
    flags = read_flags(
        {
            "THEANORC": str(rc),
            "THEANO_FLAGS": "exception_verbosity=high,NanGuardMode.nan_is_error=False",
        }
    )
    assert flags["warn.round"] == "True" and flags["lib.cnmem"] == "0.5"
    saved = pytensor.config.exception_verbosity, pytensor.config.NanGuardMode__nan_is_error
    try:
        config = Config(flags)
        assert config.warn.round is True  # parsed as Theano's type for the flag
        assert config.lib.cnmem == 0.5
        assert pytensor.config.exception_verbosity == "high"
        assert config.NanGuardMode.nan_is_error is False  # found whatever the case in the file
    finally:
        pytensor.config.exception_verbosity, pytensor.config.NanGuardMode__nan_is_error = saved
    with pytest.warns(UserWarning, match="unknown flag 'nosuch'"):
        Config({"nosuch": "1"})
    with pytest.warns(UserWarning, match="on_unused_input=bogus not applied"):
        Config({"on_unused_input": "bogus"})
    with pytest.raises(ValueError, match="warn.round='yes': expected True or False"):
        Config({"warn.round": "yes"})
    # Flags seqgraph sets itself are not taken from THEANO_FLAGS.
    ldflags = pytensor.config.blas__ldflags
    Config({"blas.ldflags": "-lblas"})
    assert pytensor.config.blas__ldflags == ldflags


def test_change_flags_sets_and_restores():
    theano = seqgraph.theano
    before = theano.config.floatX
    with change_flags(floatX="float64", **{"warn.round": True}):
        assert theano.tensor.scalar().dtype == "float64"
        assert theano.config.warn.round is True
    assert theano.config.floatX == before
    assert theano.config.warn.round is False

    @theano.change_flags({"scan.allow_gc": True})
    def read():
        return pytensor.config.scan__allow_gc

    allow = pytensor.config.scan__allow_gc
    assert read() is True
    assert pytensor.config.scan__allow_gc == allow
    with (
        pytest.raises(AttributeError, match="has no flag"),
        change_flags(floatX="float64", nosuch=1),
    ):
        pass
    assert theano.config.floatX == before  # put back when a later flag fails


def test_optimizer_flags_reach_seqgraph_backend_modes(monkeypatch):
    # PyTensor applies its optimizer_* flags to its "Mode" mode only, and
    # reads them once; theano.config's (THEANO_FLAGS) reach seqgraph's modes.
    import numpy as np
    import pytensor.tensor as pt
    from pytensor.scalar import Composite

    from seqgraph import backends

    monkeypatch.setattr(backends, "REWRITE_QUERY", {k: [] for k in backends.REWRITE_QUERY})
    x = pt.vector("x")
    graph = pt.exp(x) * 2 + 1

    def fused(fn):
        nodes = fn._fn.maker.fgraph.apply_nodes
        return any(isinstance(getattr(n.op, "scalar_op", None), Composite) for n in nodes)

    assert fused(seqgraph.function([x], graph, backend="c"))
    config = Config({"optimizer_excluding": "fusion:nosuch"})
    assert config.optimizer_excluding == "fusion:nosuch"
    assert {"fusion", "nosuch"} <= set(backends.get_mode("c").provided_optimizer.exclude)
    fn = seqgraph.function([x], graph, backend="c")
    assert not fused(fn)
    np.testing.assert_allclose(fn(np.zeros(2, x.dtype)), [3.0, 3.0])
    config.optimizer_including = "local_remove_all_assert"
    assert "local_remove_all_assert" in backends.get_mode("numba").provided_optimizer.include
    config.optimizer_excluding = ""
    assert "fusion" not in backends.get_mode("c").provided_optimizer.exclude
    with pytest.raises(TypeError, match="optimizer_requiring must be a string"):
        config.optimizer_requiring = ["fusion"]
