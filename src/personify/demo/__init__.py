"""Demo company generator: a fictional retailer with known latent customer types."""

from ._types import LATENT_TYPES, TYPE_NAMES, LatentType
from .generator import QUARTER_START, DemoSummary, Shift, cut_sources, generate_demo_company

__all__ = [
    "LATENT_TYPES",
    "QUARTER_START",
    "TYPE_NAMES",
    "DemoSummary",
    "LatentType",
    "Shift",
    "cut_sources",
    "generate_demo_company",
]
