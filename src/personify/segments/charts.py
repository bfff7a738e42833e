"""Charts of a segmentation run, written as SVG files for the report and the web app.

Four files in ``<output>/segments/`` (``personas.output_dir``, ``output`` by default),
rewritten by every run, with ``charts.json`` saying which run they show:

- ``sizes.svg``: per segment, its share of the customers and of the revenue, and its
  tier;
- ``attributes.svg``: per segment, the attributes that distinguish it most (the
  ``segment_attributes`` rows marked distinguishing, by |effect|), as effect sizes;
- ``map.svg``: a 2-D map of a sample of the segmented persons coloured by segment:
  the first two principal components of the model inputs (the weighted, scaled
  features the clusters are fitted on), so distances on the map are the model's,
  projected; the share of variance the two axes keep is in the axis titles;
- ``distributions.svg``: per segment, box plots of the value figures (CLV, revenue,
  purchases, days since the last one, age: those the profiles have) and then of the
  numeric attributes that distinguish segments most, up to five.

Text from the workspace (attribute labels, categorical values) goes into the SVG as
text: Matplotlib escapes it for XML and ``text.parse_math`` is off, so a ``$`` is a
dollar, not mathematics. Every file is deterministic for the same run (no date, a
fixed hash salt).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from personify.ingest._readers import quote_ident
from personify.profiles.features import Catalogue

if TYPE_CHECKING:
    from personify.workspace import Workspace

FOLDER = "segments"
MANIFEST = "charts.json"
NAMES = ("sizes", "attributes", "map", "distributions")
MAP_POINTS = 1500  # persons on the map (a deterministic sample of the fitting sample)
TOP_ATTRIBUTES = 4  # per segment on the attributes chart
BOX_ATTRIBUTES = 5
# The value figures shown first on the distributions chart when the profiles have them.
VALUE_ATTRIBUTES = ("clv", "monetary", "frequency", "recency_days", "age")
LABEL_CHARS = 48
# Colour-blind-safe categorical palette (Okabe-Ito) then Tableau's for more segments.
PALETTE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
UNASSIGNED = "#c8c8c8"
_RC = {
    "svg.hashsalt": "personify-segments",
    "svg.fonttype": "none",  # text stays text: searchable, and readable by tests
    "text.parse_math": False,
    "font.size": 9,
}


def _rc(svg_id: str) -> Any:
    return {**_RC, "svg.id": svg_id}


_META = {"Date": None, "Creator": None, "Format": None, "Type": None}


def colour(segment_id: int) -> str:
    return PALETTE[(segment_id - 1) % len(PALETTE)]


def folder(workspace: Workspace) -> Path:
    return workspace.output_dir / FOLDER


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of X (centred), and the share of variance each keeps."""
    Xc = X - X.mean(axis=0, keepdims=True)
    if Xc.shape[1] == 1:
        Xc = np.hstack([Xc, np.zeros_like(Xc)])
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    comps = vt[:2]
    # Sign fixed (largest loading positive) so the same data always draws the same map.
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
    signs[signs == 0] = 1
    comps = comps * signs[:, None]
    total = float((s**2).sum()) or 1.0
    return Xc @ comps.T, (s[:2] ** 2) / total


def write_charts(
    workspace: Workspace,
    run_id: str,
    X: np.ndarray,
    segment_of_row: np.ndarray,
    input_names: list[str],
) -> dict[str, Any]:
    """Write the four charts of ``run_id``; returns the manifest (also in ``charts.json``).

    ``X``: the model inputs of the fitting sample (rows in sample order);
    ``segment_of_row``: each row's segment id (0: not assigned)."""
    out = folder(workspace)
    out.mkdir(parents=True, exist_ok=True)
    engine = workspace.engine
    segs = engine.fetch_df(
        "SELECT segment_id, size, share, revenue_share, tier FROM segments WHERE run_id = ? "
        "ORDER BY segment_id",
        [run_id],
    )
    attrs = engine.fetch_df(
        "SELECT segment_id, attribute, value, label, effect_size FROM segment_attributes "
        "WHERE run_id = ? AND distinguishing",
        [run_id],
    )
    ids = [int(s) for s in segs["segment_id"]]
    rng = np.random.default_rng(0)
    rows = np.arange(len(X))
    if len(rows) > MAP_POINTS:
        rows = np.sort(rng.choice(len(rows), size=MAP_POINTS, replace=False))
    coords, explained = pca_2d(np.asarray(X, dtype=float))
    svgs = {
        "sizes": _sizes(segs),
        "attributes": _attributes(ids, attrs),
        "map": _map(ids, coords[rows], np.asarray(segment_of_row)[rows], explained),
        "distributions": _distributions(workspace, run_id, ids, attrs),
    }
    files = {}
    for name, svg in svgs.items():
        path = out / f"{name}.svg"
        path.write_text(svg, encoding="utf-8")
        files[name] = path.name
    manifest = {
        "run_id": run_id,
        "files": files,
        "segments": ids,
        "map": {
            "projection": "PCA of the weighted, scaled model inputs",
            "inputs": len(input_names),
            "points": len(rows),
            "explained": [round(float(e), 4) for e in explained],
        },
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(output_dir: Path) -> dict[str, Any] | None:
    """The manifest of the charts in ``output_dir/segments``, or None when there are none."""
    path = output_dir / FOLDER / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "run_id" in data else None


# ----------------------------------------------------------------------------- charts
def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", transparent=False, metadata=_META)
    return buffer.getvalue()


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "\u2026"


def _name(sid: int, tier: Any = None) -> str:
    return f"Segment {sid}" + (f" ({tier})" if isinstance(tier, str) and tier else "")


def _sizes(segs: pd.DataFrame) -> str:
    with matplotlib.rc_context(_rc("segment-sizes")):
        n = max(len(segs), 1)
        fig = Figure(figsize=(7.5, 1.0 + 0.55 * n), layout="constrained")
        ax = fig.add_subplot()
        ys = np.arange(len(segs))
        h = 0.38
        share = segs["share"].fillna(0).to_numpy(dtype=float) * 100
        revenue = segs["revenue_share"].fillna(0).to_numpy(dtype=float) * 100
        for off, vals, label, col in (
            (-h / 2, share, "Share of customers", "#0072B2"),
            (h / 2, revenue, "Share of revenue", "#E69F00"),
        ):
            bars = ax.barh(ys + off, vals, h, label=label, color=col)
            ax.bar_label(bars, fmt="%.0f%%", padding=3, fontsize=8, color="#495057")
        labels = [_name(int(s), t) for s, t in zip(segs["segment_id"], segs["tier"], strict=True)]
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, max([*share, *revenue, 1.0]) * 1.18)
        ax.xaxis.set_major_formatter("{x:.0f}%")
        ax.set_title("Size and value per segment", loc="left")
        ax.legend(loc="lower right", frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _svg(fig)


def _attributes(ids: list[int], attrs: pd.DataFrame) -> str:
    with matplotlib.rc_context(_rc("segment-attributes")):
        n = max(len(ids), 1)
        fig = Figure(figsize=(7.5, 1.2 + 1.25 * n), layout="constrained")
        axes = fig.subplots(n, 1, squeeze=False)[:, 0]
        for ax, sid in zip(axes, ids or [0], strict=False):
            mine = attrs[attrs["segment_id"] == sid]
            mine = mine.reindex(mine["effect_size"].abs().sort_values(ascending=False).index)
            mine = mine.head(TOP_ATTRIBUTES)
            ax.set_title(_name(sid), loc="left", color=colour(sid), fontweight="bold")
            if mine.empty:
                ax.text(0.0, 0.5, "no attribute distinguishes it", transform=ax.transAxes)
                ax.set_axis_off()
                continue
            effects = mine["effect_size"].to_numpy(dtype=float)
            ys = np.arange(len(mine))
            ax.barh(ys, effects, 0.6, color=[colour(sid) if e > 0 else "#868e96" for e in effects])
            ax.set_yticks(ys, [_short(str(x)) for x in mine["label"]])
            ax.invert_yaxis()
            lim = max(1.0, float(np.abs(effects).max()) * 1.1)
            ax.set_xlim(-lim, lim)
            ax.axvline(0, color="#adb5bd", linewidth=0.8)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        axes[-1].set_xlabel("effect size against the rest (Cohen's d, or h for shares)")
        return _svg(fig)


def _map(ids: list[int], xy: np.ndarray, seg: np.ndarray, explained: Any) -> str:
    with matplotlib.rc_context(_rc("segment-map")):
        fig = Figure(figsize=(7.0, 5.6), layout="constrained")
        ax = fig.add_subplot()
        rest = seg == 0
        if rest.any():
            pts = ax.scatter(xy[rest, 0], xy[rest, 1], s=6, color=UNASSIGNED, label="not assigned")
            pts.set_gid("segment-0")
        for sid in ids:
            mine = seg == sid
            if not mine.any():
                continue
            pts = ax.scatter(
                xy[mine, 0], xy[mine, 1], s=6, color=colour(sid), alpha=0.7, label=_name(sid)
            )
            pts.set_gid(f"segment-{sid}")
        ex = [100 * float(e) for e in explained] + [0.0, 0.0]
        ax.set_xlabel(f"first principal component ({ex[0]:.0f}% of variance)")
        ax.set_ylabel(f"second principal component ({ex[1]:.0f}% of variance)")
        ax.set_title(f"{len(xy):,} segmented persons, PCA of the model inputs", loc="left")
        ax.legend(loc="best", markerscale=2.5, frameon=False, fontsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _svg(fig)


def _distributions(workspace: Workspace, run_id: str, ids: list[int], attrs: pd.DataFrame) -> str:
    """Box plots per segment of the numeric attributes that distinguish segments most."""
    engine = workspace.engine
    catalogue = Catalogue(workspace.config)
    have = set(engine.columns("profiles"))
    numeric = attrs[attrs["value"].isna()]
    order = numeric.groupby("attribute")["effect_size"].agg(lambda e: e.abs().max())
    ranked = [c for c in VALUE_ATTRIBUTES if c in have]
    ranked += [c for c in order.sort_values(ascending=False).index if c not in ranked]
    columns = ranked[:BOX_ATTRIBUTES]
    values = pd.DataFrame()
    if columns:
        key = engine.sample_key("m.person_id")
        cols = ", ".join(f"CAST(p.{quote_ident(c)} AS DOUBLE) AS {quote_ident(c)}" for c in columns)
        values = engine.fetch_df(
            f"""SELECT m.segment_id, {cols} FROM segment_membership m
            JOIN profiles p ON p.person_id = m.person_id WHERE m.run_id = ?
            ORDER BY {key} LIMIT 20000""",
            [run_id],
        )
    with matplotlib.rc_context(_rc("segment-distributions")):
        n = max(len(columns), 1)
        fig = Figure(figsize=(7.5, 0.6 + 1.9 * n), layout="constrained")
        axes = fig.subplots(n, 1, squeeze=False)[:, 0]
        if not columns:
            axes[0].text(0.0, 0.5, "no numeric attribute distinguishes the segments")
            axes[0].set_axis_off()
        for ax, col in zip(axes, columns, strict=False):
            data, labels, colours = [], [], []
            for sid in ids:
                v = values.loc[values["segment_id"] == sid, col].dropna().to_numpy(dtype=float)
                if len(v):
                    data.append(v)
                    labels.append(f"Segment {sid}")
                    colours.append(colour(sid))
            ax.set_title(_short(str(catalogue.describe(col).label)), loc="left")
            if not data:
                ax.set_axis_off()
                continue
            box = ax.boxplot(
                data, orientation="horizontal", showfliers=False, patch_artist=True, widths=0.6
            )
            for patch, c in zip(box["boxes"], colours, strict=True):
                patch.set_facecolor(c)
                patch.set_alpha(0.75)
            for med in box["medians"]:
                med.set_color("#212529")
            ax.set_yticks(np.arange(1, len(labels) + 1), labels)
            ax.invert_yaxis()
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        return _svg(fig)
