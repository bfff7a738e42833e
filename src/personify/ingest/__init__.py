"""Ingest: read source files, check them against their kind, quarantine bad rows."""

from personify.ingest.kinds import KINDS, SourceKindSpec
from personify.ingest.loader import Ingest, IngestResult, SourceLoad

__all__ = ["KINDS", "Ingest", "IngestResult", "SourceKindSpec", "SourceLoad"]
