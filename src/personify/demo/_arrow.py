"""Vectorised string helpers on top of pyarrow (ids, timestamps, concatenation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

T0 = np.datetime64("2023-01-01T00:00:00", "s")
DAYS = 365 * 3 + 1  # 2023-01-01 .. 2025-12-31
T0_S = int(T0.astype(np.int64))


def _fixed_width(data: np.ndarray) -> pa.StringArray:
    """An (n, w) uint8 matrix of ASCII bytes -> n strings of width w."""
    n, w = data.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data).tobytes())
    )


def _digits(out: np.ndarray, col: int, values: np.ndarray, width: int) -> None:
    """Write values as zero-padded decimal digits into out[:, col:col + width]."""
    v = values.copy()
    for j in range(col + width - 1, col - 1, -1):
        out[:, j] = v % 10 + 48
        v //= 10


def fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """prefix + zero-padded numbers, e.g. fixed_ids("C", [12], 7) -> ["C0000012"]."""
    numbers = np.asarray(numbers, dtype=np.int64)
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    out = np.empty((len(numbers), len(pre) + width), dtype=np.uint8)
    out[:, : len(pre)] = pre
    _digits(out, len(pre), numbers, width)
    return _fixed_width(out)


def scramble(k: np.ndarray, mod: int, mult: int = 7_919_993, add: int = 1_234_567) -> np.ndarray:
    """A bijection on [0, mod) so that ids look random but never collide."""
    return (np.asarray(k, dtype=np.int64) * mult + add) % mod


def hex_ids(rng: np.random.Generator, n: int, *, uuid: bool = False) -> pa.StringArray:
    raw = np.frombuffer(rng.bytes(16 * n).hex().encode(), dtype=np.uint8).reshape(n, 32)
    if uuid:
        dash = np.full((n, 1), ord("-"), dtype=np.uint8)
        raw = np.hstack(
            [
                raw[:, :8],
                dash,
                raw[:, 8:12],
                dash,
                raw[:, 12:16],
                dash,
                raw[:, 16:20],
                dash,
                raw[:, 20:],
            ]
        )
    return _fixed_width(raw)


def to_ts(seconds: np.ndarray) -> pa.TimestampArray:
    """Seconds since 2023-01-01 -> timestamp[ms] (Parquet stores milliseconds)."""
    return pa.array((np.asarray(seconds, dtype=np.int64) + T0_S) * 1000, pa.timestamp("ms"))


def iso(seconds: np.ndarray) -> pa.StringArray:
    """Seconds since 2023-01-01 -> "YYYY-MM-DDTHH:MM:SS" (pyarrow's strftime is slow)."""
    sec = np.asarray(seconds, dtype=np.int64)
    day = sec // 86400
    lo = int(day.min()) if len(day) else 0
    span = np.arange(lo, (int(day.max()) if len(day) else 0) + 1).astype("datetime64[D]")
    table = np.frombuffer(
        "".join(str(d) for d in span + T0.astype("datetime64[D]").astype(np.int64)).encode(),
        dtype=np.uint8,
    ).reshape(-1, 10)
    tod = sec % 86400
    out = np.empty((len(sec), 19), dtype=np.uint8)
    out[:, :10] = table[day - lo]
    out[:, 10] = ord("T")
    out[:, [13, 16]] = ord(":")
    _digits(out, 11, tod // 3600, 2)
    _digits(out, 14, tod // 60 % 60, 2)
    _digits(out, 17, tod % 60, 2)
    return _fixed_width(out)


def to_date(days: np.ndarray) -> pa.Date32Array:
    return pa.array(
        np.asarray(days, dtype=np.int32) + int(T0.astype("datetime64[D]").astype(int)), pa.date32()
    )


def take(pool: Sequence[str] | np.ndarray | pa.Array, idx: np.ndarray) -> pa.Array:
    arr = pool if isinstance(pool, pa.Array) else pa.array(list(pool), pa.string())
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))


def cat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation; a null anywhere gives null."""
    return pc.binary_join_element_wise(*parts, "")


def strings(values: np.ndarray | list) -> pa.StringArray:
    return pa.array(values if isinstance(values, list) else values.tolist(), pa.string())


def money(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64), 2)


def mask_null(arr: pa.Array, null_mask: np.ndarray) -> pa.Array:
    """Replace the entries where null_mask is true by null."""
    return pc.if_else(pa.array(null_mask), pa.nulls(len(arr), arr.type), arr)


def pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of an (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def choose(cond: np.ndarray, yes: object, no: object) -> np.ndarray:
    """np.where on object arrays, where either branch may be None (a missing value)."""
    return np.where(cond, np.asarray(yes, dtype=object), np.asarray(no, dtype=object))


def present(values: np.ndarray) -> np.ndarray:
    """Which entries of an object array are not None."""
    return np.asarray(values != None)  # noqa: E711 - elementwise on object arrays
