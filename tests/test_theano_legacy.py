"""seqgraph.theano._legacy: removed Python and NumPy names defined again for ``seqgraph run``."""

from __future__ import annotations

import pytest

import seqgraph
from seqgraph.theano._legacy import (
    DistributionNotFound,
    VersionConflict,
    _getargspec,
    _pkg_resources,
    _umath_tests,
)
from tests.seqgraph_run import seqgraph_run

SCRIPT = """\
import collections, inspect, time, sys
import numpy as np
from collections import Iterable
assert isinstance([], collections.Mapping) is False and isinstance([], Iterable)
spec = inspect.getargspec(lambda a, b=2, *rest, **kw: None)
assert spec.args == ["a", "b"] and spec.keywords == "kw" and spec.defaults == (2,)
assert np.float is float and np.int is int and np.float_ is np.float64 and np.NaN != np.NaN
assert np.asscalar(np.array([4])) == 4 and np.product([2, 3]) == 6
half = np.cast["float32"](0.5)
assert half.dtype == np.float32 and half.shape == () and np.cast[np.int8]([1.7]).tolist() == [1]
assert time.clock() >= 0
# Sentences of different lengths, as NumPy before 1.24 took them: an object array.
ragged = np.asarray([[0, 4, 7], [0, 2]])
assert ragged.dtype == object and ragged.shape == (2,) and ragged[1] == [0, 2]
assert np.array([[0, 4], [1, 2]]).dtype.kind == "i"  # rectangular: as before
try:
    np.asarray([[0, 4, 7], [0, 2]], dtype="int32")  # a dtype asked for: NumPy's error
    raise AssertionError("ragged int32 array accepted")
except ValueError:
    pass
from numpy.core.umath_tests import inner1d, matrix_multiply  # NumPy 2.0 removed it (neupy)
assert inner1d(np.ones((2, 3)), np.full((2, 3), 2.0)).tolist() == [6.0, 6.0]
assert matrix_multiply(np.eye(2), np.ones((2, 2))).tolist() == [[1.0, 1.0], [1.0, 1.0]]
from pkg_resources import parse_version  # setuptools 81 removed the module
assert parse_version("1.10") > parse_version("1.9")
print("ok")
"""


def _run(tmp_path, *options):
    script = tmp_path / "old.py"
    script.write_text(SCRIPT)
    return seqgraph_run(script, options=options, timeout=300)


def test_seqgraph_run_defines_removed_names(tmp_path):
    done = _run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_no_legacy_names_leaves_them_out(tmp_path):
    done = _run(tmp_path, "--no-legacy-names")
    assert done.returncode != 0
    assert "Iterable" in done.stderr


def test_getargspec_refuses_what_it_cannot_express():
    def keyword_only(a, *, b):
        return a

    with pytest.raises(ValueError, match="keyword-only parameters"):
        _getargspec(keyword_only)
    assert _getargspec(lambda a, *r: a).varargs == "r"


def test_pkg_resources_stand_in_answers_from_the_installed_packages():
    import numpy as np

    pkg = _pkg_resources()
    assert pkg.parse_version("1.2.10") > pkg.parse_version("1.2.9")
    assert pkg.parse_version("1.0.5+seqgraph").release == (1, 0, 5)
    dist = pkg.get_distribution("NumPy")
    assert dist.version == np.__version__ and dist.key == "numpy"
    assert dist.parsed_version == pkg.parse_version(np.__version__)
    with pytest.raises(DistributionNotFound, match="no-such-dist"):
        pkg.get_distribution("no-such-dist")
    assert [d.key for d in pkg.require("numpy>=1.0")] == ["numpy"]
    with pytest.raises(VersionConflict, match="numpy<1.0"):
        pkg.require("numpy<1.0")
    assert pkg.resource_isdir("seqgraph", "theano")
    assert pkg.resource_exists("seqgraph", "theano/_legacy.py")
    assert not pkg.resource_exists("seqgraph", "no_such_file")
    assert b"pkg_resources" in pkg.resource_string("seqgraph", "theano/_legacy.py")
    with pkg.resource_stream("seqgraph", "__init__.py") as f:
        assert f.read() == pkg.resource_string("seqgraph", "__init__.py")
    assert pkg.resource_filename("seqgraph", "cli.py") == str(
        __import__("pathlib").Path(seqgraph.__file__).with_name("cli.py")
    )
    assert "_legacy.py" in pkg.resource_listdir("seqgraph", "theano")
    [script] = pkg.iter_entry_points("console_scripts", "seqgraph")
    assert script.load() is __import__("seqgraph.cli").cli.main


def test_umath_tests_stand_in_where_numpy_has_no_private_copy(monkeypatch):
    import importlib  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    real = importlib.import_module

    def without_private(name, *args):
        if name == "numpy._core._umath_tests":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_private)
    module = _umath_tests()
    a, b, w = np.arange(6.0).reshape(2, 3), np.ones((2, 3)), np.full((2, 3), 2.0)
    np.testing.assert_array_equal(module.inner1d(a, b), [3.0, 12.0])
    np.testing.assert_array_equal(module.innerwt(a, b, w), [6.0, 24.0])
    np.testing.assert_array_equal(module.matrix_multiply(a[:, :2], np.eye(2)), a[:, :2])
