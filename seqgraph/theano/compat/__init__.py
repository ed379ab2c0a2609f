"""``theano.compat``: Theano's Python 2/3 helpers, as old scripts import them."""

from __future__ import annotations

import collections
from collections import OrderedDict  # noqa: F401 - Theano's name
from functools import partial  # noqa: F401 - Theano's name

from seqgraph.theano.compat import python2x  # noqa: F401

PY3 = True
izip = zip
imap = map
ifilter = filter
integer_types = (int,)
string_types = (str,)
text_type = str
unicode = str
xrange = range
Counter = collections.Counter
DefaultOrderedDict = collections.defaultdict


def iteritems(d):
    """``d.items()``."""
    return iter(d.items())


def iterkeys(d):
    """``d.keys()``."""
    return iter(d.keys())


def itervalues(d):
    """``d.values()``."""
    return iter(d.values())


def decode(x):
    """``x`` as text (bytes decoded as UTF-8)."""
    return x.decode() if isinstance(x, bytes) else x


def decode_iter(itr):
    """Each item of ``itr`` as text."""
    for x in itr:
        yield decode(x)


def cmp(a, b):
    """Python 2's ``cmp``: -1, 0 or 1."""
    return (a > b) - (a < b)
