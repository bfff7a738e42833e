"""Input preparation: skew, robust scaling, unit spread, group weights from the config."""

import numpy as np
import pytest

from personify.errors import StageError


def _workspace(make_workspace, weights):
    rng = np.random.default_rng(7)
    n = 400
    spend = rng.lognormal(3, 1.2, n).round(2)  # right-skewed: modelled as ln(1 + x)
    score = rng.normal(50, 10, n).round(1)
    noise = rng.normal(0, 1, n).round(3)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    rows = "".join(f"C{i},{spend[i]},{score[i]},{noise[i]},{plan[i]}\n" for i in range(n))
    ws = make_workspace(
        {"crm": ("customers", "crm.csv", "customer_id,spend,score,noise,plan\n" + rows)},
        crm={
            "attributes": {
                "spend": {"role": "numeric"},
                "score": {"role": "numeric"},
                "noise": {"role": "numeric"},
                "plan": {"role": "categorical"},
            }
        },
    )
    segments = ws.config.segments.model_copy(update={"weights": weights})
    ws.config = ws.config.model_copy(update={"segments": segments})
    ws.ingest.run()
    ws.identity.run()
    ws.profiles.run()
    return ws, spend, score


def test_inputs_are_scaled_to_their_group_weight(make_workspace) -> None:
    ws, spend, score = _workspace(make_workspace, {"score": 2.0, "noise": 0.0})
    fs = ws.segments.feature_set()
    by_name = {i.name: i for i in fs.inputs}
    assert "attr_noise" not in by_name  # weight 0 leaves it out
    assert by_name["attr_spend"].log and not by_name["attr_score"].log
    # robust centre: the median of ln(1 + spend), computed here with numpy
    assert by_name["attr_spend"].center == pytest.approx(np.median(np.log1p(spend)), rel=1e-6)
    assert by_name["attr_score"].center == pytest.approx(np.median(score), rel=1e-6)
    # plan's three values are one group: each 0/1 input weighs 1/sqrt(3)
    plan = [i for i in fs.inputs if i.column == "attr_plan"]
    assert len(plan) == 3 and all(i.weight == pytest.approx(1 / np.sqrt(3)) for i in plan)
    sql = ", ".join(f"{i.sql()} AS {i.name}" for i in fs.inputs)
    X = ws.engine.fetch_df(f"SELECT {sql} FROM profiles")
    # Every input ends with the spread of its weight: score's group counts twice.
    assert X["attr_score"].std(ddof=0) == pytest.approx(2.0, rel=1e-6)
    assert X["attr_spend"].std(ddof=0) == pytest.approx(1.0, rel=1e-6)
    group_var = sum(X[i.name].var(ddof=0) for i in plan)
    assert group_var == pytest.approx(1.0, rel=1e-6)
    assert fs.group_weights["score"] == 2.0


def test_unknown_names_in_the_config_are_refused(make_workspace) -> None:
    ws, _, _ = _workspace(make_workspace, {"categoriez": 0.5})
    with pytest.raises(StageError, match=r"unknown attribute or group.*categoriez"):
        ws.segments.feature_set()
