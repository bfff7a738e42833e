"""What a segment writes about: distinctive terms and representative quotes.

Texts (tickets, reviews, survey answers) of a sample of each segment's members
are weighted with TF-IDF; a segment's candidate themes are the terms it uses much
more than the other segments. A candidate is kept only if a permutation test says
the segment's use of it is not chance: the segment's texts are compared with as
many texts drawn at random from all segments, PERMUTATIONS times, with the max-T
correction over the candidates, so texts assigned to segments at random give a
segment any theme with a chance below ALPHA.
Quotes are the texts that carry the kept themes most (with no theme, the
segment's most typical texts), alternating between positive and negative ones
when the texts have a sentiment. Texts are scrubbed
of personal data before anything is kept (voice_texts holds them scrubbed).
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
PERMUTATIONS = 1000
ALPHA = 0.01  # chance that a segment shows any theme from text unrelated to it
SENTIMENT_SPLIT = 0.05  # above: a positive text, below its negative: a negative one


@dataclass(frozen=True)
class SegmentVoice:
    themes: list[dict[str, Any]]
    quotes: list[dict[str, str]]
    texts: int
    candidates: int = 0  # terms tested; themes are those that passed


def segment_voices(
    texts: pd.DataFrame,
    *,
    quotes_per_segment: int,
    themes_per_segment: int = 8,
    region: str | None = None,
    k: int = 1,
) -> dict[int, SegmentVoice]:
    """``texts``: columns segment_id, text, source, date, and optionally sentiment
    (-1..1), person_id and scrubbed (already free of personal data). A voice per segment
    present. A theme used by fewer than ``k`` persons (texts, without person_id) is not kept."""
    texts = texts.dropna(subset=["text"])
    texts = texts[texts["text"].str.len() >= 20].reset_index(drop=True)
    if texts.empty:
        return {}
    if "sentiment" not in texts:
        texts["sentiment"] = np.nan
    if not bool(texts.get("scrubbed", pd.Series([False])).all()):
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
    rng = np.random.default_rng(0)  # the same texts give the same themes
    voices: dict[int, SegmentVoice] = {}
    for seg, idx in texts.groupby("segment_id").groups.items():
        rows = np.asarray(idx)
        seg_mean = np.asarray(matrix[rows].mean(axis=0)).ravel()
        # KL-style contribution: frequent in the segment and much more than elsewhere.
        lift = seg_mean * np.log((seg_mean + 1e-9) / (overall + 1e-9))
        candidates = [
            i for i in np.argsort(-lift, kind="stable")[: themes_per_segment * 3] if lift[i] > 0
        ]
        p = _permutation_p(matrix, rows, candidates, rng) if candidates else np.array([])
        passed = [i for i, pv in zip(candidates, p, strict=True) if pv < ALPHA]
        seg_texts = texts.iloc[rows]
        sub = matrix[rows]
        themes: list[dict[str, Any]] = []
        top: list[int] = []
        for i in _drop_nested(passed, terms):
            if len(top) >= themes_per_segment:
                break
            uses = seg_texts.iloc[sub[:, i].nonzero()[0]]
            persons = uses["person_id"].nunique() if "person_id" in uses else len(uses)
            if persons < k:  # k-anonymity: a term from fewer than k writers is not shown
                continue
            top.append(i)
            tone = uses["sentiment"].astype(float)
            themes.append(
                {
                    "term": str(terms[i]),
                    "score": round(float(lift[i]), 4),
                    "p_value": float(p[candidates.index(i)]),
                    "texts": len(uses),
                    "persons": int(persons),
                    "sentiment": None if tone.isna().all() else round(float(tone.mean()), 3),
                    "negative_share": None
                    if tone.isna().all()
                    else round(float((tone < -SENTIMENT_SPLIT).mean()), 3),
                    "source": str(uses["source"].mode().iloc[0]),
                }
            )
        if top:  # the texts that carry the themes most
            weight = np.asarray(matrix[rows][:, top].sum(axis=1)).ravel()
        else:  # no theme: the segment's most typical texts (nearest its mean)
            weight = np.asarray(matrix[rows] @ seg_mean).ravel()
        quotes = _quotes(texts.iloc[rows], weight, quotes_per_segment)
        voices[int(seg)] = SegmentVoice(themes, quotes, len(rows), len(candidates))
    return voices


def _permutation_p(matrix: Any, rows: np.ndarray, candidates: list[int], rng: Any) -> np.ndarray:
    """Family-wise p-values (Westfall and Young's max-T permutation test).

    A term's statistic is the segment's mean weight of it, standardised by the term's
    spread over all texts. The same is computed for ``len(rows)`` texts drawn at
    random, PERMUTATIONS times, for every term of the vocabulary (the candidates were
    picked from all of them, so the null must pick too), and a candidate's p-value is
    how often the largest statistic of a draw reaches the candidate's own. So p < ALPHA
    keeps the chance of any false theme in a segment below ALPHA."""
    n, k = matrix.shape[0], len(rows)
    if k >= n:  # one segment holds every text: nothing to compare with
        return np.ones(len(candidates))
    centre = np.asarray(matrix.mean(axis=0)).ravel()
    square = np.asarray(matrix.multiply(matrix).mean(axis=0)).ravel()
    spread = np.sqrt(np.maximum(square - centre**2, 0.0)) + 1e-12
    seg_mean = np.asarray(matrix[rows].mean(axis=0)).ravel()
    observed = ((seg_mean - centre) / spread)[candidates]
    by_term = matrix.T.tocsr()  # terms x texts: a draw's means are one product
    maxima = np.empty(PERMUTATIONS)
    block = max(1, min(PERMUTATIONS, 4_000_000 // max(n, matrix.shape[1])))
    for start in range(0, PERMUTATIONS, block):
        size = min(block, PERMUTATIONS - start)
        # Draws without replacement: the first k of a random ordering of all texts.
        drawn = np.argpartition(rng.random((size, n)), k - 1, axis=1)[:, :k]
        pick = np.zeros((n, size))
        pick[drawn.T, np.arange(size)] = 1.0 / k
        means = by_term @ pick  # terms x draws
        maxima[start : start + size] = ((means - centre[:, None]) / spread[:, None]).max(axis=0)
    hits = (maxima[None, :] >= observed[:, None] - 1e-12).sum(axis=1)
    return (hits + 1) / (PERMUTATIONS + 1)


def _drop_nested(order: list[int], terms: np.ndarray) -> list[int]:
    """Keep 'return label' or 'label', not both."""
    kept: list[int] = []
    for i in order:
        t = str(terms[i])
        if any(t in str(terms[j]) or str(terms[j]) in t for j in kept):
            continue
        kept.append(i)
    return kept


def _quotes(rows: pd.DataFrame, score: np.ndarray, n: int) -> list[dict[str, str]]:
    """The texts of highest ``score``; positive and negative in turn where known."""
    if n == 0:
        return []
    length = rows["text"].str.len().to_numpy()
    score = np.where((length >= 40) & (length <= 320), score, -1.0)
    sentiment = rows["sentiment"].to_numpy(dtype=float)
    tone = np.where(sentiment > SENTIMENT_SPLIT, 1, np.where(sentiment < -SENTIMENT_SPLIT, -1, 0))
    order = [int(i) for i in np.argsort(-score, kind="stable") if score[i] > 0]
    if (tone == 1).any() and (tone == -1).any():
        # Interleave the best positive and the best negative texts (then the rest).
        pos = [i for i in order if tone[i] == 1]
        neg = [i for i in order if tone[i] == -1]
        rest = [i for i in order if tone[i] == 0]
        order = [i for pair in zip(pos, neg, strict=False) for i in pair]
        order += pos[len(order) // 2 :] + neg[len(order) // 2 :] + rest
    chosen: list[dict[str, str]] = []
    seen: list[set[str]] = []
    for i in order:
        if len(chosen) >= n:
            break
        row = rows.iloc[i]
        words = set(WORD.findall(row["text"].lower()))
        # Two quotes should say two things: skip near-repeats of one already chosen.
        if any(len(words & w) > NEAR_REPEAT * min(len(words), len(w)) for w in seen):
            continue
        seen.append(words)
        date = "" if pd.isna(row["date"]) else str(row["date"])[:10]  # some kinds date nothing
        quote = {"text": row["text"], "source": row["source"], "date": date}
        if tone[i]:
            quote["tone"] = "positive" if tone[i] > 0 else "negative"
        chosen.append(quote)
    return chosen
