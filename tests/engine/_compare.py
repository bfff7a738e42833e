"""Column-by-column comparison of one table on two engines."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

# Floats (averages, shares, distances) are sums taken in another order on another
# engine: equal to 1e-9 relative. Money and shares are rounded (to 0.01, 1e-6) in SQL,
# and DuckDB rounds the binary double (2.675 -> 2.67) where Spark rounds its decimal
# text (2.68), so a rounded value may differ by one step.
RELATIVE = 1e-9
ROUNDING_STEP = {"monetary": 0.01, "revenue_12m": 0.01, "clv": 0.01}


def table(engine: Any, name: str, key: list[str]) -> pd.DataFrame:
    df = engine.fetch_df(f"SELECT * FROM {name}")
    return df.sort_values(key).reset_index(drop=True)


def differences(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    skip: tuple[str, ...] = (),
    relative: float | None = None,
) -> dict[str, str]:
    """Column -> the first row where the two differ (nothing when they are equal)."""
    out: dict[str, str] = {}
    if list(left.columns) != list(right.columns):
        return {"(columns)": f"{list(left.columns)} vs {list(right.columns)}"}
    if len(left) != len(right):
        return {"(rows)": f"{len(left)} vs {len(right)}"}
    for column in left.columns:
        if column in skip:
            continue
        step = ROUNDING_STEP.get(column, 0.0)
        for i, (a, b) in enumerate(zip(left[column], right[column], strict=True)):
            if not _equal(a, b, step, relative or RELATIVE):
                out[column] = f"row {i}: {a!r} vs {b!r}"
                break
    return out


def _missing(x: Any) -> bool:
    if isinstance(x, np.ndarray | list | dict):
        return False
    return x is None or bool(pd.isna(x))


def _equal(a: Any, b: Any, step: float, relative: float = RELATIVE) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, np.ndarray | list) or isinstance(b, np.ndarray | list):
        return len(a) == len(b) and all(
            _equal(x, y, step, relative) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, str) and a.startswith("{") and isinstance(b, str):
        return _equal_json(json.loads(a), json.loads(b))
    if isinstance(a, bool | np.bool_) or isinstance(b, bool | np.bool_):
        return bool(a) == bool(b)
    if isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number):
        a, b = float(a), float(b)
        return abs(a - b) <= max(relative * max(abs(a), abs(b)), step + 1e-9)
    if isinstance(a, pd.Timestamp) or isinstance(b, pd.Timestamp):
        return pd.Timestamp(a) == pd.Timestamp(b)
    return bool(a == b)


def _equal_json(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal_json(x, y) for x, y in zip(a, b, strict=True))
    return _equal(a, b, 0.0)
