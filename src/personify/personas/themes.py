"""What a segment writes about: distinctive terms and representative quotes.

Texts (tickets, reviews, survey answers) of a sample of each segment's members
are weighted with TF-IDF; a segment's themes are the terms it uses much more
than the other segments, its quotes the texts that carry those terms most.
Texts are scrubbed of personal data before anything is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from personify.privacy import scrub_text

WORD = re.compile(r"[a-z']+")
NEAR_REPEAT = 0.6  # share of the shorter quote's words found in the other


@dataclass(frozen=True)
class SegmentVoice:
    themes: list[dict[str, float | str]]
    quotes: list[dict[str, str]]
    texts: int


def segment_voices(
    texts: pd.DataFrame,
    *,
    quotes_per_segment: int,
    themes_per_segment: int = 8,
    region: str | None = None,
) -> dict[int, SegmentVoice]:
    """``texts``: columns segment_id, text, source, date. Returns a voice per segment present."""
    texts = texts.dropna(subset=["text"])
    texts = texts[texts["text"].str.len() >= 20].reset_index(drop=True)
    if texts.empty:
        return {}
    # Phones written nationally are read in the company's region ("ZZ": none known).
    texts["text"] = texts["text"].map(lambda t: scrub_text(t, region=region or "ZZ"))
    vec = TfidfVectorizer(
        ngram_range=(1, 2),
        stop_words="english",
        min_df=3,
        max_df=0.5,
        sublinear_tf=True,
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",  # words, not the [phone] placeholders
    )
    try:
        matrix = vec.fit_transform(texts["text"])
    except ValueError:  # too few texts for min_df: no vocabulary
        return {}
    terms = np.array(vec.get_feature_names_out())
    overall = np.asarray(matrix.mean(axis=0)).ravel()
    voices: dict[int, SegmentVoice] = {}
    for seg, idx in texts.groupby("segment_id").groups.items():
        rows = np.asarray(idx)
        seg_mean = np.asarray(matrix[rows].mean(axis=0)).ravel()
        # KL-style contribution: frequent in the segment and much more than elsewhere.
        lift = seg_mean * np.log((seg_mean + 1e-9) / (overall + 1e-9))
        top = [i for i in np.argsort(-lift, kind="stable")[: themes_per_segment * 3] if lift[i] > 0]
        top = _drop_nested(top, terms)[:themes_per_segment]
        themes: list[dict[str, float | str]] = [
            {"term": str(terms[i]), "score": round(float(lift[i]), 4)} for i in top
        ]
        quotes = _quotes(texts.iloc[rows], matrix[rows], top, quotes_per_segment)
        voices[int(seg)] = SegmentVoice(themes, quotes, len(rows))
    return voices


def _drop_nested(order: list[int], terms: np.ndarray) -> list[int]:
    """Keep 'return label' or 'label', not both."""
    kept: list[int] = []
    for i in order:
        t = str(terms[i])
        if any(t in str(terms[j]) or str(terms[j]) in t for j in kept):
            continue
        kept.append(i)
    return kept


def _quotes(rows: pd.DataFrame, matrix: Any, top: list[int], n: int) -> list[dict[str, str]]:
    if n == 0 or not top:
        return []
    score = np.asarray(matrix[:, top].sum(axis=1)).ravel()
    length = rows["text"].str.len().to_numpy()
    score = np.where((length >= 40) & (length <= 320), score, -1.0)
    chosen: list[dict[str, str]] = []
    seen: list[set[str]] = []
    for i in np.argsort(-score, kind="stable"):
        if score[i] <= 0 or len(chosen) >= n:
            break
        row = rows.iloc[int(i)]
        words = set(WORD.findall(row["text"].lower()))
        # Two quotes should say two things: skip near-repeats of one already chosen.
        if any(len(words & w) > NEAR_REPEAT * min(len(words), len(w)) for w in seen):
            continue
        seen.append(words)
        date = "" if pd.isna(row["date"]) else str(row["date"])[:10]  # some kinds date nothing
        chosen.append({"text": row["text"], "source": row["source"], "date": date})
    return chosen
