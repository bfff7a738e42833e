"""Demo company generator: a fictional retailer with known latent customer types."""

from ._types import LATENT_TYPES, TYPE_NAMES, LatentType
from .generator import DemoSummary, generate_demo_company

__all__ = ["LATENT_TYPES", "TYPE_NAMES", "DemoSummary", "LatentType", "generate_demo_company"]
