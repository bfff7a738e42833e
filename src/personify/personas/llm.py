"""An optional narrative written by a language model through an OpenAI-compatible endpoint.

Off unless ``personas.narrative.url`` is set in personify.yaml (a local server such as
llama.cpp, vLLM or Ollama, or a hosted one): the deterministic template narrative stays the
default and is what a card says whenever the model is not configured, not reachable, or
answers with nothing usable. The model is given only the card's evidence (figures and the
statements with their tests, never a quote or any customer text) and told to stay within
it; its answer is marked ``generated_by: "llm"`` with the model's name, and the card shows
that it is generated. The API key, when one is needed, is read from the environment variable
named by ``personas.narrative.api_key_env`` (never from the YAML file).

The request is a plain ``POST {url}/chat/completions`` (the OpenAI chat completions shape
that local and hosted servers share) sent with httpx.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from personify.config import NarrativeConfig

__all__ = ["SYSTEM_PROMPT", "evidence_for", "llm_narrative"]

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You write the short narrative paragraph of a marketing persona card. Use only the facts "
    "in the JSON you are given: do not add any fact, number, name, place, age, job, motive or "
    "quote that is not in it, and keep every number as given. Write 3 to 5 sentences in the "
    "third person about the persona by its name, in the language given by 'language'. "
    "Answer with the paragraph only."
)
FIELDS = ("goals", "frustrations", "gains", "objections")


def evidence_for(doc: dict[str, Any], language: str) -> dict[str, Any]:
    """What the model may use: the persona's figures and statements, no customer text."""

    def texts(field: str) -> list[str]:
        return [str(s["text"]) for s in (doc.get(field) or {}).get("statements") or []][:4]

    size, value = doc.get("size") or {}, doc.get("value") or {}
    return {
        "language": language,
        "name": doc.get("name"),
        "title": doc.get("title"),
        "negative_persona": bool(doc.get("negative")),
        "customers": size.get("customers"),
        "share_of_customers": size.get("share"),
        "share_of_revenue": value.get("revenue_share"),
        "currency": value.get("currency"),
        "average_revenue": value.get("avg_revenue"),
        "traits": [str(t["text"]) for t in doc.get("traits") or []][:6],
        **{field: texts(field) for field in FIELDS},
        "template_narrative": (doc.get("narrative") or {}).get("text"),
    }


def llm_narrative(
    doc: dict[str, Any], config: NarrativeConfig, *, language: str = "en"
) -> dict[str, Any] | None:
    """The model's narrative for ``doc``, or None (the caller keeps the template's)."""
    import httpx

    if not config.url:
        return None
    headers = {"Content-Type": "application/json"}
    if config.api_key_env:
        key = os.environ.get(config.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": config.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {
                "role": "user",
                "content": json.dumps(evidence_for(doc, language), ensure_ascii=False),
            },
        ],
    }
    url = config.url.rstrip("/") + "/chat/completions"
    try:
        answer = httpx.post(url, json=body, headers=headers, timeout=config.timeout_seconds)
        answer.raise_for_status()
        text = str(answer.json()["choices"][0]["message"]["content"]).strip()
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        log.warning("narrative: the model at %s gave no answer (%s); the template's is kept",
                    config.url, type(exc).__name__)  # fmt: skip
        return None
    if not text:
        return None
    return {"text": text[: config.max_chars], "generated_by": "llm", "model": config.model}
