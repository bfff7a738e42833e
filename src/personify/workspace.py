"""The workspace: one folder with ``personify.yaml`` and the DuckDB database.

``Workspace`` is the one entry object of the Python API. Each pipeline stage is
reached by name (``ws.ingest``, ``ws.identity``, ``ws.profiles``,
``ws.segments``, ``ws.personas``); ``ws.run()`` runs them all in order.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from personify.config import CONFIG_FILE, Config, SourceSpec, load_config, parse_config
from personify.engine import DuckDBEngine, Engine
from personify.errors import WorkspaceError
from personify.progress import ProgressFn, no_progress

if TYPE_CHECKING:  # stages import lazily: opening a workspace loads only what it runs
    from personify.identity import IdentityResolver
    from personify.ingest import Ingest
    from personify.personas import PersonaBuilder
    from personify.profiles import ProfileBuilder
    from personify.segments import Segmentation
    from personify.segments.audiences import Audiences

ENV_VAR = "PERSONIFY_WORKSPACE"


def default_workspace_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or ".")


class Workspace:
    """An open workspace. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False) -> None:
        """``read_only`` opens a DuckDB database for reading only, so other processes may
        read it at the same time (the web app does); a Spark workspace ignores it."""
        self.path = Path(path) if path is not None else default_workspace_dir()
        self.config: Config = load_config(self.path / CONFIG_FILE)
        self.read_only = read_only
        self._engine: Engine | None = None
        self._ingest_engine: DuckDBEngine | None = None

    # -- creation ---------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        path: str | Path,
        *,
        sources: dict[str, Any] | None = None,
        locale: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> Workspace:
        """Create a workspace folder with a commented ``personify.yaml`` and an empty database.

        ``sources`` (a mapping as in the YAML ``sources:`` key) is validated and
        written in; otherwise the template's commented example stays. ``locale``
        (as the YAML ``locale:`` key) replaces the template's.
        """
        folder = Path(path)
        config_path = folder / CONFIG_FILE
        if config_path.exists() and not overwrite:
            raise WorkspaceError(f"{config_path} already exists (use overwrite to replace it)")
        text = resources.files("personify").joinpath("templates/personify.yaml").read_text()
        if sources or locale:  # fail before writing
            parse_config({"sources": sources or {}, "locale": locale or {}}, path=str(config_path))
        if sources:
            block = yaml.safe_dump({"sources": sources}, sort_keys=False, width=100)
            text = text.replace("sources: {}\n", block, 1)
        if locale:
            block = yaml.safe_dump({"locale": locale}, sort_keys=False, width=100)
            text = re.sub(r"^locale:\n(?:  .*\n)+", lambda _: block, text, count=1, flags=re.M)
        folder.mkdir(parents=True, exist_ok=True)
        config_path.write_text(text, encoding="utf-8")
        ws = cls(folder)
        _ = ws.engine  # opening the engine creates the database file
        return ws

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def engine(self) -> Any:
        """The workspace's engine (``engine.kind``): a DuckDBEngine or a SparkEngine.

        Typed ``Any`` while ingest still uses DuckDB-only parts of its engine; stages use
        only the :class:`Engine` interface."""
        if self._engine is None:
            settings = self.config.engine
            if settings.kind == "spark":
                try:
                    from personify.engine._spark import SparkEngine
                except ImportError as exc:
                    raise WorkspaceError(
                        "engine.kind 'spark' needs PySpark and sqlglot: "
                        "pip install 'personify[spark]' (and Java 17 or later)"
                    ) from exc
                self._engine = SparkEngine(
                    self.resolve(settings.path),
                    master=settings.master,
                    temp_directory=self.resolve(settings.temp_directory),
                )
            else:
                self._engine = DuckDBEngine(
                    self.resolve(self.config.database),
                    read_only=self.read_only,
                    memory_limit=settings.memory_limit,
                    temp_directory=self.resolve(settings.temp_directory),
                )
        return self._engine

    @property
    def ingest_engine(self) -> DuckDBEngine:
        """Where ingest validates and keeps its state: the workspace engine itself on DuckDB;
        on Spark, the DuckDB file ``database``, whose raw_*, quarantine and load_batches
        tables each load then publishes to Spark (ingest/_publish.py).

        Ingest's readers (read_csv with rejects tables and line numbers, Arrow batches from
        PostgreSQL) and its checks in one pass are DuckDB's; a Spark workspace reads its
        files with the same code, so a row quarantined on one engine is quarantined on the
        other."""
        if self.config.engine.kind == "duckdb":
            return cast(DuckDBEngine, self.engine)
        if self._ingest_engine is None:
            settings = self.config.engine
            self._ingest_engine = DuckDBEngine(
                self.resolve(self.config.database),
                memory_limit=settings.memory_limit,
                temp_directory=self.resolve(settings.temp_directory),
            )
        return self._ingest_engine

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the workspace folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.path / p

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.config.personas.output_dir)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        if self._ingest_engine is not None:
            self._ingest_engine.close()
            self._ingest_engine = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- stages, reached by name -------------------------------------------------------------
    @cached_property
    def ingest(self) -> Ingest:
        from personify.ingest import Ingest

        return Ingest(self)

    @cached_property
    def identity(self) -> IdentityResolver:
        from personify.identity import IdentityResolver

        return IdentityResolver(self)

    @cached_property
    def profiles(self) -> ProfileBuilder:
        from personify.profiles import ProfileBuilder

        return ProfileBuilder(self)

    @cached_property
    def segments(self) -> Segmentation:
        from personify.segments import Segmentation

        return Segmentation(self)

    @cached_property
    def audiences(self) -> Audiences:
        """Rule-based audiences over the profiles: live counts, saved rules, exports."""
        from personify.segments.audiences import Audiences

        return Audiences(self)

    @cached_property
    def personas(self) -> PersonaBuilder:
        from personify.personas import PersonaBuilder

        return PersonaBuilder(self)

    STAGES = ("ingest", "identity", "profiles", "segments", "personas")

    def run(self, *, progress: ProgressFn = no_progress) -> dict[str, Any]:
        """Run every stage in order; return each stage's result by name."""
        results: dict[str, Any] = {}
        for stage in self.STAGES:
            results[stage] = getattr(self, stage).run(progress=progress)
        return results

    def loaded_sources(self) -> dict[str, SourceSpec]:
        """The configured sources whose ``raw_<name>`` table exists."""
        have = set(self.engine.list_tables())
        return {n: s for n, s in self.config.sources.items() if f"raw_{n}" in have}

    def sources_of_kind(self, kind: str) -> list[str]:
        return [n for n, s in self.loaded_sources().items() if s.kind == kind]

    def tables(self) -> list[str]:
        return self.engine.list_tables()


__all__ = ["Workspace", "default_workspace_dir"]
