"""The errors Personify raises.

Every error derives from :class:`PersonifyError` and also from the built-in it
resembles, so callers can catch either. Messages say what was expected, what
was found and where (file, row, column or config key).
"""

from __future__ import annotations


class PersonifyError(Exception):
    """Root of every error raised by Personify."""


class ConfigError(PersonifyError, ValueError):
    """``personify.yaml`` is missing or invalid; ``problems`` lists every problem found."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path} has {len(problems)} problem(s):\n{listing}")


class SourceError(PersonifyError, ValueError):
    """A source could not be read: missing file, unreadable format, malformed rows."""


class WorkspaceError(PersonifyError, RuntimeError):
    """The workspace is missing, locked, or lacks a table a stage needs."""


class StageError(PersonifyError, RuntimeError):
    """A pipeline stage could not run (for example: too few customers to segment)."""
