"""The ported tutorials: quick runs reach their metrics; original data formats load."""

from __future__ import annotations

import gzip
import json
import os
import pickle

import numpy as np
import pytest

from seqgraph.cli import main as cli
from seqgraph.tutorials import _data, gru_lm, lstm, rnnlm, rnnslu


def test_rnnslu_quick_reaches_a_useful_f1(capsys):
    scores = rnnslu.main(["--quick", "--no-progress"])
    assert scores["test"]["f1"] > 80
    assert "test: F1" in capsys.readouterr().out


def test_rnnslu_validation_error_counts_real_words_that_predict_gets_wrong():
    from seqgraph.models import RNNSLU

    model = RNNSLU(20, 5, emb_dim=4, num_hidden=6, win=3, seed=0)
    _, valid_error, predict = rnnslu.compile_functions(model, 0.1, "jax")
    rng = np.random.default_rng(0)
    words = rng.integers(0, 20, size=(3, 6))
    mask = np.ones((3, 6), "float32")
    mask[1, 4:] = 0
    labels = np.asarray(predict(words, mask)).copy()
    assert valid_error(words, mask, labels) == 0.0
    labels[0, 1] = (labels[0, 1] + 1) % 5  # a real word
    labels[1, 5] = (labels[1, 5] + 1) % 5  # padding: not counted
    assert valid_error(words, mask, labels) == pytest.approx(1 / mask.sum())


def test_lstm_quick_tells_sentences_from_shuffled_ones():
    result = lstm.main(["--quick", "--no-progress"])
    assert result["test"] < 25  # error rate in %, chance is 50


@pytest.mark.parametrize("module", [rnnlm, gru_lm], ids=["rnnlm", "gru_lm"])
def test_language_models_beat_the_unigram_baseline(module, capsys):
    result = module.main(["--quick", "--no-progress"])
    out = capsys.readouterr().out
    vocab = int(out.split("vocabulary ")[1].split(",")[0])
    assert result["test"] < vocab / 3
    assert out.count("sample:") == 3


def test_conlleval_chunks():
    truth = [["B-a", "I-a", "O", "B-b"], ["O", "B-a"]]
    guess = [["B-a", "I-a", "O", "O"], ["O", "B-b"]]
    s = _data.conlleval(truth, guess)
    assert s["precision"] == pytest.approx(50.0) and s["recall"] == pytest.approx(100 / 3)


def test_atis_and_imdb_files_in_the_original_formats(tmp_path):
    rng = np.random.default_rng(0)

    def sentences(n):
        lex = [rng.integers(0, 30, size=rng.integers(3, 9)).astype("int32") for _ in range(n)]
        return lex, [np.zeros_like(s) for s in lex], [s % 3 for s in lex]

    dicts = {
        "words2idx": {f"w{i}": i for i in range(30)},
        "labels2idx": {"O": 0, "B-x": 1, "B-y": 2},
    }
    atis = tmp_path / "atis.fold0.pkl.gz"
    with gzip.open(atis, "wb") as handle:
        pickle.dump((sentences(40), sentences(10), sentences(10), dicts), handle, protocol=2)
    scores = rnnslu.main(["--data", str(atis), "--quick", "--epochs", "1", "--no-progress"])
    assert set(scores) == {"valid", "test"}

    imdb = tmp_path / "imdb.pkl"
    with open(imdb, "wb") as handle:
        xs = [list(rng.integers(1, 50, size=rng.integers(3, 12))) for _ in range(60)]
        ys = list(rng.integers(0, 2, size=60))
        pickle.dump((xs[:40], ys[:40]), handle, protocol=2)
        pickle.dump((xs[40:], ys[40:]), handle, protocol=2)
    result = lstm.main(["--data", str(imdb), "--quick", "--epochs", "1", "--no-progress"])
    assert set(result) == {"train", "valid", "test"}


def test_data_files_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "atis.pkl"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        _data.load_atis(path)


def test_tutorial_command_lists_and_rejects(capsys):
    assert cli(["tutorial"]) == 0
    assert "rnnslu" in capsys.readouterr().out
    assert cli(["tutorial", "mnist"]) == 2


@pytest.mark.parametrize("flag", [[], ["--no-compile-ahead"]])
def test_train_passes_compile_ahead_and_writes_the_history(flag, tmp_path, monkeypatch):
    from seqgraph.tutorials import _common

    calls = []
    record = [{"epoch": 1, "train_loss": 0.5, "seconds": 1.25}]

    def fake_fit(step, data, epochs, **kwargs):
        calls.append(kwargs)
        return record

    monkeypatch.setattr(_common, "fit", fake_fit)
    path = tmp_path / "history.json"
    options = _common.parser("x", "x", 3, 1).parse_args(["--history", str(path), *flag])
    assert _common.train(None, options, [], None, None, {}) == record
    assert calls[0]["compile_ahead"] == (not flag)
    assert json.loads(path.read_text()) == record
