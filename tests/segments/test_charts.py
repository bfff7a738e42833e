"""The charts a segmentation run writes (segments/charts.py), read back as SVG (XML)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from sklearn.decomposition import PCA

from personify.segments.charts import MANIFEST, pca_2d

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<b>Max</b> & "$x$"'  # markup, an entity and TeX: must stay plain text


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from personify import Workspace
    from personify.config import SegmentsConfig

    rng = np.random.default_rng(3)
    n = 240
    group = np.repeat([0, 1, 2], n // 3)
    tenure = np.array([5.0, 30.0, 60.0])[group] + rng.normal(0, 2, n)
    fee = np.array([20.0, 55.0, 35.0])[group] + rng.normal(0, 3, n)
    plans = np.array(["basic", HOSTILE, "plus"])[group]
    root = tmp_path_factory.mktemp("charts")
    rows = "".join(
        f'C{i},{tenure[i]:.2f},{fee[i]:.2f},"{plans[i].replace(chr(34), chr(34) * 2)}"\n'
        for i in range(n)
    )
    (root / "crm.csv").write_text("customer_id,tenure,fee,plan\n" + rows, encoding="utf-8")
    attributes = {
        "tenure": {"role": "numeric"},
        "fee": {"role": "numeric"},
        "plan": {"role": "categorical"},
    }
    sources = {
        "crm": {"kind": "customers", "path": str(root / "crm.csv"), "attributes": attributes}
    }
    ws = Workspace.init(root / "ws", sources=sources, overwrite=True)
    ws.config = ws.config.model_copy(
        update={"segments": SegmentsConfig(k=3, min_orders=0, bootstrap=1)}
    )
    for stage in ("ingest", "identity", "profiles"):
        getattr(ws, stage).run()
    result = ws.segments.run()
    sizes = dict(
        ws.engine.sql(
            "SELECT segment_id, size FROM segments WHERE run_id = ?", [result.run_id]
        ).fetchall()
    )
    yield ws, result, sizes
    ws.close()


def test_the_run_writes_its_charts_and_says_where(run) -> None:
    ws, result, _ = run
    folder = ws.output_dir / "segments"
    assert result.charts_dir == str(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["run_id"] == result.run_id
    assert manifest["segments"] == [1, 2, 3]
    for name in ("sizes", "attributes", "map", "distributions"):
        assert manifest["files"][name] == f"{name}.svg"
        ET.parse(folder / f"{name}.svg")  # well-formed XML, whatever the labels held


def test_the_map_has_every_person_of_the_sample_in_its_segment_colour(run) -> None:
    ws, _, sizes = run
    root = ET.parse(ws.output_dir / "segments" / "map.svg").getroot()
    groups = {
        g.get("id"): g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("segment-")
    }
    assert set(groups) == {"segment-1", "segment-2", "segment-3"}
    # 240 persons, all in the fitting sample and under the 1,500 points drawn: the points of
    # each segment's layer are exactly its members, as the engine assigned them in SQL.
    points = {int(k.split("-")[1]): len(list(g.iter(f"{SVG}use"))) for k, g in groups.items()}
    assert points == sizes and sum(points.values()) == 240
    legend = _texts(root)
    assert {"Segment 1", "Segment 2", "Segment 3"} <= set(legend)
    assert any("principal component" in t for t in legend)


def test_sizes_chart_names_each_segment_once(run) -> None:
    ws, _, sizes = run
    texts = _texts(ET.parse(ws.output_dir / "segments" / "sizes.svg").getroot())
    labels = [t for t in texts if t.startswith("Segment ")]
    assert sorted(t.split(" (")[0] for t in labels) == [f"Segment {s}" for s in sorted(sizes)]


def test_a_label_from_customer_data_is_escaped(run) -> None:
    ws, _, _ = run
    path = ws.output_dir / "segments" / "attributes.svg"
    raw = path.read_text(encoding="utf-8")
    assert "<b>" not in raw  # the value is text, not markup
    texts = _texts(ET.parse(path).getroot())
    # read back as XML, the label is the customer's value verbatim ($ not read as TeX)
    assert any(t.endswith(HOSTILE) for t in texts), texts


def test_pca_projection_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    xy, explained = pca_2d(X)
    ref = PCA(n_components=2).fit(X)
    assert explained == pytest.approx(ref.explained_variance_ratio_, rel=1e-9)
    want = ref.transform(X)
    for j in range(2):  # components are defined up to their sign
        assert np.abs(xy[:, j]) == pytest.approx(np.abs(want[:, j]), abs=1e-9)
