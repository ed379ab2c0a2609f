"""``theano.printing``: Print, debugprint, pp, pprint, pydotprint."""

from pytensor.printing import Print, debugprint, pp, pprint, pydotprint  # noqa: F401

from seqgraph.theano._removed import missing


def __getattr__(name):
    raise missing("theano.printing", name)
