"""Direction, ambiguity, description and judge metrics against hand values and references."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vl4gaze.metrics import ambiguity, description, direction, judge


def test_direction_metrics_by_hand() -> None:
    preds = ["up", "upper left", None, "down"]
    gts = ["up", "up", "left", "up"]
    assert direction.accuracy(preds, gts) == 0.25
    assert direction.adjacent_accuracy(preds, gts) == 0.5
    assert direction.angular_error("down", 90.0) == 180.0
    assert direction.angular_error("lower right", 10.0) == 55.0
    m = direction.confusion_matrix(preds, gts)
    assert m[2, 8] == 0 and m[4, 8] == 1 and m[2, 2] == 1 and m.sum() == 4


def test_binary_scores_match_sklearn() -> None:
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    rng = np.random.default_rng(0)
    t, p = rng.random(50) < 0.5, rng.random(50) < 0.4
    s = ambiguity.binary_scores(t, p)
    assert s["accuracy"] == pytest.approx(accuracy_score(t, p))
    assert s["precision"] == pytest.approx(precision_score(t, p))
    assert s["recall"] == pytest.approx(recall_score(t, p))
    assert s["f1"] == pytest.approx(f1_score(t, p))
    none = ambiguity.binary_scores(np.zeros(3, bool), np.zeros(3, bool))
    assert none["f1"] == 0.0 and none["accuracy"] == 1.0


def test_label_match() -> None:
    assert description.label_match("Two MUGS on a shelf", "mug")
    assert description.label_match("her smartphone", "cell phone")
    assert description.label_match("the sofa", "couch")
    assert description.label_match("x", "book", synonyms=["x"])
    assert not description.label_match("a mugshot", "mug")  # whole words only
    assert not description.label_match("", "mug")


def test_cider_by_hand_and_against_pycocoevalcap() -> None:
    # N=2, every n-gram in one document: weights ln 2; identical sentences give cosine 1 for
    # unigrams and bigrams, empty 3/4-grams give 0: 10 * mean(1, 1, 0, 0) = 5.
    assert description.cider(["a b", "c d"], [["a b"], ["c d"]]).tolist() == [5.0, 5.0]
    # values printed by pycocoevalcap 1.2's CiderScorer on the same (tokenized) input
    answers = ["a red mug on the table", "the laptop", "a dog", "a white cup",
               "the television screen"]
    refs = [["a red mug"], ["an open laptop on the desk"], ["a small dog on the floor"],
            ["a red cup on the table"], ["the tv"]]
    np.testing.assert_allclose(description.cider(answers, refs),
                               [4.12580243, 0.99567621, 1.17029969, 1.05032108, 0.03303708],
                               rtol=1e-7)


def test_rouge_l_by_hand() -> None:
    assert description.rouge_l("a red mug", "a red mug") == 1.0
    # LCS "red mug": P = 2/3, R = 2/6 -> F = 4/9
    assert description.rouge_l("a red mug", "the red mug on the table") == pytest.approx(4 / 9)


_WORDS = st.sampled_from(["a", "red", "Mug", "the", "mug", "on", "table", "42", "dog's",
                          "TV", "x-ray", "café", "", "!", "...", "a1b2"])
_TEXT = st.lists(_WORDS, max_size=12).map(" ".join) | st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(_TEXT, _TEXT)
def test_rouge_l_is_rouge_scores_number(answer: str, reference: str) -> None:
    # rouge_l computes the LCS with rapidfuzz (rouge_score's own scorer imports nltk);
    # the number must be the reference package's, bit for bit
    from rouge_score import rouge_scorer

    expected = rouge_scorer.RougeScorer(["rougeL"]).score(reference, answer)["rougeL"].fmeasure
    assert description.rouge_l(answer, reference) == expected


def test_rouge_l_does_not_import_nltk() -> None:
    # importing nltk (which imports scipy and scikit-learn) was 3-4 s of every scoring run
    # with object items (issue 20)
    code = ("import sys; from vl4gaze.metrics import description; "
            "assert description.rouge_l('a red mug', 'the mug') > 0; "
            "print('nltk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_judge_with_model_like_object() -> None:
    class Echo:
        name = "echo"

        def generate(self, requests, max_new_tokens):
            return ["No" if "dog" in r.messages[0]["content"][0]["text"] else "yes, same"
                    for r in requests]

    out = judge.judge_answers(["a mug", "a dog", "?"], ["a cup", "a cat", "x"], Echo(),
                              batch_size=2)
    assert out["verdicts"] == [1.0, 0.0, 1.0]
    assert out["prompt_version"] == judge.JUDGE_PROMPT_VERSION
    assert judge.verdict("Maybe") is None
    with pytest.raises(TypeError):
        judge.judge_answers(["a"], ["b"], 42)


@pytest.mark.slow
def test_real_sentence_embeddings() -> None:
    emb = description.SentenceEmbedder()
    sims = description.embedding_similarity(["a red mug", "a red mug"],
                                            ["a red cup", "a dog running on grass"], emb)
    assert sims[0] > 0.7 and sims[1] < 0.4
    assert emb.encode(["a red mug"]).shape == (1, 384)
