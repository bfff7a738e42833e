"""Survey scales inferred from behaviour for the persons who took no survey.

A company of 600 customers described by a declared attribute (store visits a month)
and a plan; 240 answered a survey. 'Prefers the store' follows the visits (plus
answer noise); 'Likes cats' is noise; 'Rare question' was answered by 30. The test
knows the rule behind each answer, so it can tell a good inference from a bad one.
"""

from __future__ import annotations

import numpy as np
import pytest

N, TAKERS, RARE = 600, 240, 30


def _company() -> tuple[str, str, np.ndarray]:
    rng = np.random.default_rng(7)
    visits = rng.integers(0, 21, N)
    plans = rng.choice(["basic", "plus"], N)
    customers = "customer_id,email,visits,plan\n" + "".join(
        f"C{i:04d},c{i}@example.org,{visits[i]},{plans[i]}\n" for i in range(N)
    )
    store = np.clip(np.rint(1 + visits / 5 + rng.normal(0, 0.5, N)), 1, 5).astype(int)
    cats = rng.integers(1, 6, N)
    rows = []
    for i in range(TAKERS):
        rare = str(rng.integers(1, 6)) if i < RARE else ""
        rows.append(f"S{i:04d},c{i}@example.org,2025-03-01T10:00:00,{store[i]},{cats[i]},{rare}\n")
    survey = "response_id,email,submitted_ts,in_store,cats,rare\n" + "".join(rows)
    return customers, survey, 1 + visits / 5


def _build(root, traits: dict | None = None):
    from personify import Workspace

    customers, survey, truth = _company()
    (root / "customers.csv").write_text(customers)
    (root / "survey.csv").write_text(survey)
    scale = {"range": [1, 5]}
    ws = Workspace.init(
        root / "ws",
        sources={
            "crm": {
                "kind": "customers",
                "path": str(root / "customers.csv"),
                "attributes": {
                    "visits": {"role": "numeric", "label": "Store visits a month"},
                    "plan": {"role": "categorical"},
                },
            },
            "survey": {
                "kind": "survey_responses",
                "path": str(root / "survey.csv"),
                "scales": {
                    "in_store": {"label": "Prefers the store", **scale},
                    "cats": {"label": "Likes cats", **scale},
                    "rare": {"label": "Rare question", **scale},
                },
            },
        },
    )
    if traits:
        settings = ws.config.profiles
        settings = settings.model_copy(update={"traits": settings.traits.model_copy(update=traits)})
        ws.config = ws.config.model_copy(update={"profiles": settings})
    ws.ingest.run()
    ws.identity.run()
    result = ws.profiles.run()
    profiles = ws.engine.fetch_df(
        "SELECT p.*, r.record_id AS customer_id FROM profiles p JOIN identity_links r "
        "ON r.person_id = p.person_id AND r.source = 'crm'"
    )
    profiles["truth"] = [truth[int(c[1:])] for c in profiles["customer_id"]]
    models = ws.engine.fetch_df("SELECT * FROM profile_models").set_index("target")
    return result, profiles, models, ws


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    result, profiles, models, ws = _build(tmp_path_factory.mktemp("traits"))
    yield result, profiles, models, ws
    ws.close()


def test_a_scale_that_behaviour_explains_is_inferred_for_everyone(built) -> None:
    _, profiles, models, _ = built
    assert profiles["inferred_in_store"].notna().all()
    others = profiles[profiles["scale_in_store"].isna()]
    assert len(others) == N - TAKERS
    # the answer's rule is 1 + visits / 5; the model never saw those 360 answers
    assert np.corrcoef(others["inferred_in_store"], others["truth"])[0, 1] > 0.9
    assert others["inferred_in_store"].between(1, 5).all()
    row = models.loc["scale_in_store"]
    assert row["metric"] == "r2" and row["persons"] == TAKERS
    assert row["cv_score"] > 0.6 and abs(row["baseline_cv_score"]) < 0.05


def test_answerers_get_a_prediction_made_without_their_own_answer(built) -> None:
    _, profiles, models, _ = built
    answered = profiles[profiles["scale_in_store"].notna()]
    y, predicted = answered["scale_in_store"], answered["inferred_in_store"]
    assert (predicted.round(4) != y).mean() > 0.9  # not a copy of the answer
    # the R² stored for the model is the R² of these out-of-fold predictions
    r2 = 1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert r2 == pytest.approx(models.loc["scale_in_store", "cv_score"], abs=0.01)


def test_noise_and_too_few_answers_infer_nothing(built) -> None:
    result, profiles, models, _ = built
    assert profiles["inferred_cats"].isna().all()
    assert models.loc["scale_cats", "cv_score"] < 0.05  # reported, not kept
    assert profiles["inferred_rare"].isna().all()
    assert "scale_rare" not in models.index  # 30 answers: no model at all
    assert "trait_in_store" in result.models and "trait_rare" not in result.models


def test_the_catalogue_describes_an_inferred_scale_as_inferred(built) -> None:
    from personify.profiles.features import Catalogue

    result, _, _, ws = built
    assert "inferred_in_store" in result.columns
    feature = Catalogue(ws.config).describe("inferred_in_store")
    assert feature.label == "Inferred: Prefers the store (1-5)"
    assert feature.group == "psychographic"
    assert "inferred from behaviour" in feature.high


def test_many_answers_are_fitted_on_a_sample_and_the_rest_scored_like_everyone(
    tmp_path,
) -> None:
    _, profiles, models, ws = _build(tmp_path, {"max_train": 100})
    ws.close()
    assert models.loc["scale_in_store", "persons"] == 100
    answered = profiles[profiles["scale_in_store"].notna()]
    assert len(answered) == TAKERS and answered["inferred_in_store"].notna().all()
    # 140 answerers were left out of the fit: their scores still follow the rule
    assert np.corrcoef(profiles["inferred_in_store"], profiles["truth"])[0, 1] > 0.85
