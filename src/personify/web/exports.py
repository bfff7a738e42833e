"""Download formats of a persona card: one entry per format.

Each entry takes the persona document and the workspace folder and returns the file's
bytes (or None when that file cannot be had). Adding a format is one line. PDF and PNG
are drawn from the document by ``personify.personas.export`` (no database needed, so a
download never waits for a pipeline run)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from personify.config import CONFIG_FILE, load_config


@dataclass(frozen=True)
class Export:
    media_type: str
    label: str
    make: Callable[[dict[str, Any], Path], bytes | None]


def safe_slug(doc: dict[str, Any]) -> str:
    """The file name stem: the slug as the renderer writes it (never leaves its folder)."""
    raw = str(doc.get("slug") or doc.get("persona_id") or "persona")
    return re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:80].strip("-") or "persona"


def _json(doc: dict[str, Any], _ws: Path) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _written(suffix: str) -> Callable[[dict[str, Any], Path], bytes | None]:
    """The card file the personas stage wrote for this persona (output/personas/)."""

    def read(doc: dict[str, Any], ws: Path) -> bytes | None:
        out = Path(load_config(ws / CONFIG_FILE).personas.output_dir).expanduser()
        folder = (out if out.is_absolute() else ws / out) / "personas"
        path = folder / f"{safe_slug(doc)}.{suffix}"
        return path.read_bytes() if path.is_file() else None

    return read


def _numbers(ws: Path) -> Any:
    from personify.formatting import number_format

    locale = load_config(ws / CONFIG_FILE).locale
    return number_format(locale.currency, locale.language)


def _pdf(doc: dict[str, Any], ws: Path) -> bytes:
    from personify.personas.export import pdf_bytes

    return pdf_bytes([doc], _numbers(ws))


def _png(doc: dict[str, Any], ws: Path) -> bytes:
    from personify.personas.export import png_bytes

    return png_bytes(doc, _numbers(ws))


EXPORTS: dict[str, Export] = {
    "pdf": Export("application/pdf", "PDF", _pdf),
    "png": Export("image/png", "PNG card", _png),
    "json": Export("application/json", "JSON", _json),
    "md": Export("text/markdown; charset=utf-8", "Markdown", _written("md")),
}
