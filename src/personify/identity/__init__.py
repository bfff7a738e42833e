"""Identity: stitch records of one person across sources into a person id."""

from personify.identity.linking import IdentityResolver, IdentityResult

__all__ = ["IdentityResolver", "IdentityResult"]
