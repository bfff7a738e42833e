"""Personify: data-driven customer profiles, segments and personas.

The Python API starts at :class:`Workspace`; the CLI (``personify``) is a thin
layer over it.
"""

from personify.errors import (
    ConfigError,
    PersonifyError,
    SourceError,
    StageError,
    WorkspaceError,
)
from personify.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "PersonifyError",
    "SourceError",
    "StageError",
    "Workspace",
    "WorkspaceError",
    "__version__",
]
