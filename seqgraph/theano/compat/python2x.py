"""``theano.compat.python2x``: ``OrderedDict`` and friends, from where old tutorials import them."""

from collections import Counter, OrderedDict  # noqa: F401
from collections.abc import Mapping as DictMixin  # noqa: F401
from functools import partial  # noqa: F401
from itertools import combinations, product  # noqa: F401

any = any  # noqa: A001, PLW0127 - Theano's names
all = all  # noqa: A001, PLW0127
