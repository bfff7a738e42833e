"""How long-running work reports progress without knowing who listens.

Library code calls ``progress(step, fraction_done)``; the CLI turns the calls
into Rich progress bars, tests pass nothing.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, float], None]


def no_progress(step: str, fraction: float) -> None:
    """The default listener: nobody is watching."""
