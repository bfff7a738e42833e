"""Event collection: a Segment-compatible HTTP API that logs events durably before it
acknowledges them and moves them into the workspace as JSON-lines files the ``events``
source kind ingests (docs/events.md)."""

from personify.events.keys import KeyStore, WriteKey

INBOX_GLOB = "events/inbox/*.jsonl"

__all__ = ["INBOX_GLOB", "KeyStore", "WriteKey"]
