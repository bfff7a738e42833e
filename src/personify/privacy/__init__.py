"""Privacy: keep personal data out of everything people read."""

from personify.privacy.scrub import scrub_text

__all__ = ["scrub_text"]
