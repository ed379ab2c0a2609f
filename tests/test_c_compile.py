"""The test run's C compile settings (tests/c_compile.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import seqgraph
from tests import c_compile


def test_flags_are_added_only_where_none_are_given():
    env = {}
    assert c_compile.set_flags_before_import(env)
    assert env["PYTENSOR_FLAGS"] == "gcc__cxxflags=-O0"
    env = {"PYTENSOR_FLAGS": "base_compiledir=/x"}
    assert c_compile.set_flags_before_import(env)
    assert env["PYTENSOR_FLAGS"] == "base_compiledir=/x,gcc__cxxflags=-O0"
    env = {"PYTENSOR_FLAGS": "gcc__cxxflags=-O2"}
    assert not c_compile.set_flags_before_import(env)
    assert env["PYTENSOR_FLAGS"] == "gcc__cxxflags=-O2"


def test_modules_compile_with_the_precompiled_header(tmp_path):
    flags = pytensor.config.gcc__cxxflags
    if "-include" not in flags:
        pytest.skip(f"this run's gcc__cxxflags ({flags!r}) has no precompiled header")
    header = Path(flags.split("-include", 1)[1].split()[0])
    assert header.read_text() == c_compile.HEADER
    assert header.with_suffix(".h.gch").stat().st_size > 0
    # A new op's module (a constant no other test uses) compiles and runs with it.
    x = pt.vector("x")
    f = seqgraph.function([x], pt.tanh(x) * 1.2345678 + 0.5, backend="c")
    np.testing.assert_allclose(f(np.zeros(3, "float32")), 0.5)
