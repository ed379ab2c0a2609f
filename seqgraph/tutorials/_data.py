"""Offline text for the tutorials, and readers of the original tutorials' files.

Everything here comes with Python itself: the documentation topics shipped in
``pydoc_data.topics`` (English prose) and the standard library's own source
(a tagging task labelled with :mod:`tokenize`).  Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import io
import keyword
import os
import pickle
import re
import sysconfig
import tokenize
from collections import Counter

import numpy as np

UNK, EOS = "<unk>", "<eos>"
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|[0-9]+|[^\sa-z0-9]")


def doc_sentences(max_sentences=None, min_words=4, max_words=40):
    """Sentences (lists of lower-case tokens) from ``pydoc_data.topics``, in a fixed order."""
    from pydoc_data.topics import topics

    out = []
    for name in sorted(topics):
        text = re.sub(r"\s+", " ", topics[name].lower())
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            words = _WORD.findall(sentence)
            if min_words <= len(words) <= max_words and sum(w.isalpha() for w in words) >= 3:
                out.append(words)
                if max_sentences and len(out) >= max_sentences:
                    return out
    return out


class Vocab:
    """Word <-> id, with ``<unk>`` (and the other specials given) first."""

    def __init__(self, sentences, min_count=1, max_size=None, specials=(UNK,)):
        counts = Counter(w for s in sentences for w in s)
        words = [w for w, c in counts.most_common(max_size) if c >= min_count and w not in specials]
        self.words = list(specials) + words
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self):
        return len(self.words)

    def encode(self, words):
        unk = self.index.get(UNK, 0)
        return np.array([self.index.get(w, unk) for w in words], dtype="int64")

    def decode(self, ids):
        return [self.words[i] for i in ids]


def split(items, valid=0.1, test=0.1, seed=0):
    """Shuffle with ``seed`` and split into train, valid, test."""
    order = np.random.default_rng(seed).permutation(len(items))
    n_valid, n_test = int(len(items) * valid), int(len(items) * test)
    pick = [items[i] for i in order]
    return pick[n_valid + n_test :], pick[:n_valid], pick[n_valid : n_valid + n_test]


# -- a slot-filling task from the standard library's source ----------------------

_STDLIB_FILES = (
    "argparse.py",
    "ast.py",
    "calendar.py",
    "csv.py",
    "difflib.py",
    "fractions.py",
    "functools.py",
    "gettext.py",
    "heapq.py",
    "inspect.py",
    "ipaddress.py",
    "locale.py",
    "optparse.py",
    "pathlib.py",
    "pprint.py",
    "random.py",
    "shutil.py",
    "statistics.py",
    "string.py",
    "tarfile.py",
    "textwrap.py",
    "threading.py",
    "typing.py",
    "zipfile.py",
)


def _word(tok):
    if tok.type == tokenize.STRING:
        return "<str>"
    if tok.type == tokenize.NUMBER:
        return "<num>"
    return tok.string.lower() if tok.type == tokenize.NAME else tok.string


def code_tagging(max_sentences=None):
    """Logical lines of stdlib source as (words, slot labels), BIO-tagged.

    The slots are what a reader of the line fills in: ``funcdef`` (the name
    after ``def``), ``classdef``, ``param`` (a parameter in a ``def``'s
    parentheses), ``call`` (a name called), ``module`` (a name imported) and
    ``attr`` (an attribute after a dot); everything else is ``O``.  Context
    decides most labels, as in ATIS.
    """
    root = sysconfig.get_paths()["stdlib"]
    out = []
    for name in _STDLIB_FILES:
        path = os.path.join(root, name)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as handle:
            tokens = [
                t
                for t in tokenize.tokenize(handle.readline)
                if t.type
                not in (
                    tokenize.COMMENT,
                    tokenize.NL,
                    tokenize.INDENT,
                    tokenize.DEDENT,
                    tokenize.ENCODING,
                )
            ]
        line = []
        for tok in tokens:
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if 3 <= len(line) <= 40:
                    out.append(_label_line(line))
                    if max_sentences and len(out) >= max_sentences:
                        return out
                line = []
            else:
                line.append(tok)
    return out


def _label_line(tokens):
    words = [_word(t) for t in tokens]
    labels = ["O"] * len(tokens)
    in_def_params, depth = False, 0
    first = tokens[0].string
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1].string if i else ""
        nxt = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if tok.string == "(":
            depth += 1
        elif tok.string == ")":
            depth -= 1
            if depth == 0:
                in_def_params = False
        if tok.type != tokenize.NAME or keyword.iskeyword(tok.string):
            continue
        if prev == "def":
            labels[i] = "B-funcdef"
            in_def_params = True
        elif prev == "class":
            labels[i] = "B-classdef"
        elif in_def_params and depth == 1 and prev in ("(", ",", "*", "**"):
            labels[i] = "B-param"
        elif first in ("import", "from") and prev in ("import", "from", ",", "."):
            labels[i] = "I-module" if prev == "." else "B-module"
        elif prev == ".":
            labels[i] = "B-attr"
        elif nxt == "(":
            labels[i] = "B-call"
    return words, labels


# -- conlleval --------------------------------------------------------------------


def _chunks(labels):
    """(type, start, end) of each BIO chunk."""
    out, start, kind = [], None, None
    for i, label in enumerate(list(labels) + ["O"]):
        tag, _, name = label.partition("-")
        if kind is not None and (tag != "I" or name != kind):
            out.append((kind, start, i))
            kind = None
        if tag == "B" or (tag == "I" and kind is None):
            kind, start = name, i
    return set(out)


def conlleval(true_labels, pred_labels):
    """Chunk precision, recall and F1 (in %), as conlleval.pl computes them."""
    tp = n_pred = n_true = 0
    for t, p in zip(true_labels, pred_labels):
        ct, cp = _chunks(t), _chunks(p)
        tp += len(ct & cp)
        n_pred += len(cp)
        n_true += len(ct)
    precision = 100.0 * tp / n_pred if n_pred else 0.0
    recall = 100.0 * tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# -- the original tutorials' files -------------------------------------------------


class _ArraysOnly(pickle.Unpickler):
    """Unpickle lists, dicts, tuples and NumPy arrays only; anything else is refused."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"),
        ("__builtin__", "object"),
        ("builtins", "object"),
        # Protocol-2 pickles written by Python 3 store bytes through this.
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name} from a data file: only lists, dicts and "
            "NumPy arrays are read."
        )


def _open(path):
    with open(path, "rb") as handle:
        raw = handle.read()
    return io.BytesIO(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


def load_atis(path):
    """An ATIS fold of the RNNSLU tutorial (``atis.foldN.pkl.gz``).

    Returns ``(train, valid, test, words2idx, labels2idx)``; each set a list
    of (word ids, label ids).
    """
    with _open(path) as handle:
        train, valid, test, dicts = _ArraysOnly(handle, encoding="latin1").load()

    def pairs(dataset):
        lex, _, y = dataset
        return [
            (np.asarray(w, dtype="int64"), np.asarray(t, dtype="int64")) for w, t in zip(lex, y)
        ]

    return pairs(train), pairs(valid), pairs(test), dicts["words2idx"], dicts["labels2idx"]


def load_imdb(path):
    """The lstm.py tutorial's ``imdb.pkl``: ``(train, test)`` as lists of (ids, label)."""
    with _open(path) as handle:
        unpickler = _ArraysOnly(handle, encoding="latin1")
        train = unpickler.load()
        test = unpickler.load()
    return (
        [(np.asarray(x, dtype="int64"), int(y)) for x, y in zip(*train)],
        [(np.asarray(x, dtype="int64"), int(y)) for x, y in zip(*test)],
    )
