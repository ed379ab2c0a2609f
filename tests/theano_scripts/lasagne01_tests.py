"""Run Lasagne 0.1's own test suite (from its source release) under ``seqgraph run``.

Usage: ``seqgraph run lasagne01_tests.py LASAGNE_SOURCE_DIR [pytest arguments]``.
Lasagne's top-level ``conftest.py`` (a doctest-collection hook written for the
pytest of 2015) is left out with ``--confcutdir``; its tests' conftests are used.
"""

import sys
from pathlib import Path

import pytest

source = Path(sys.argv[1]).resolve()
tests = source / "lasagne" / "tests"
sys.exit(
    pytest.main(
        [
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "no:warnings",
            "-c",
            "/dev/null",
            "--rootdir",
            str(source),
            "--confcutdir",
            str(tests),
            str(tests),
            *sys.argv[2:],
        ]
    )
)
