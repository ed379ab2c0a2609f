"""seqgraph.theano._legacy: removed Python and NumPy names defined again for ``seqgraph run``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqgraph.theano._legacy import _getargspec

SCRIPT = """\
import collections, inspect, time, sys
import numpy as np
from collections import Iterable
assert isinstance([], collections.Mapping) is False and isinstance([], Iterable)
spec = inspect.getargspec(lambda a, b=2, *rest, **kw: None)
assert spec.args == ["a", "b"] and spec.keywords == "kw" and spec.defaults == (2,)
assert np.float is float and np.int is int and np.float_ is np.float64 and np.NaN != np.NaN
assert np.asscalar(np.array([4])) == 4 and np.product([2, 3]) == 6
assert time.clock() >= 0
print("ok")
"""


def _run(tmp_path, *options):
    script = tmp_path / "old.py"
    script.write_text(SCRIPT)
    return subprocess.run(
        [sys.executable, "-m", "seqgraph.cli", "run", *options, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
    )


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
