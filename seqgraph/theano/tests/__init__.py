"""``theano.tests``: the helpers old test suites of custom ops import."""
