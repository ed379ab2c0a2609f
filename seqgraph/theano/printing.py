"""``theano.printing``: Print, debugprint, pp, pydotprint."""

from pytensor.printing import Print, debugprint, pp, pydotprint  # noqa: F401

from seqgraph.theano._removed import missing


def __getattr__(name):
    raise missing("theano.printing", name)
