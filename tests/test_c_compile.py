"""The test run's C compile settings (tests/c_compile.py)."""

from __future__ import annotations

import subprocess
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
    # A test process that the first one starts (pytest-xdist) inherits them.
    child = dict(env)
    assert c_compile.set_flags_before_import(child)
    assert child == env
    env = {"PYTENSOR_FLAGS": "base_compiledir=/x"}
    assert c_compile.set_flags_before_import(env)
    assert env["PYTENSOR_FLAGS"] == "base_compiledir=/x,gcc__cxxflags=-O0"
    env = {"PYTENSOR_FLAGS": "gcc__cxxflags=-O2"}
    assert not c_compile.set_flags_before_import(env)
    assert env == {"PYTENSOR_FLAGS": "gcc__cxxflags=-O2"}


def test_modules_compile_with_the_precompiled_header(tmp_path):
    flags = pytensor.config.gcc__cxxflags
    if "-include" not in flags:
        pytest.skip(f"this run's gcc__cxxflags ({flags!r}) has no precompiled header")
    header = Path(flags.split("-include", 1)[1].split()[0])
    assert header.read_text() == c_compile.HEADER
    assert header.with_suffix(".h.gch").stat().st_size > 0
    # g++ uses it with this process's module options (-H marks it "!"; an
    # unusable one "x", after which g++ reads the header's text).
    source = tmp_path / "mod.cpp"
    source.write_text("#include <Python.h>\nint f() { return 1; }\n")
    shown = subprocess.run(
        [pytensor.config.cxx, *c_compile.module_options(), "-H", "-fsyntax-only", str(source)],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert f"! {header}.gch" in shown.splitlines(), shown[:500]
    # A new op's module (a constant no other test uses) compiles and runs with it.
    x = pt.vector("x")
    f = seqgraph.function([x], pt.tanh(x) * 1.2345678 + 0.5, backend="c")
    np.testing.assert_allclose(f(np.zeros(3, "float32")), 0.5)
