"""``seqgraph run SCRIPT ARGS`` in a process of its own, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys


def seqgraph_run(script, *args, options=(), env=None, timeout=900):
    """Run ``script`` under ``seqgraph run`` with ``env`` added to this process's; the result."""
    return subprocess.run(
        [sys.executable, "-m", "seqgraph.cli", "run", *options, str(script), *map(str, args)],
        env=dict(os.environ, **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
