"""Segments: machine-learned customer groups, ranked by value, negative ones flagged."""

from personify.segments.model import KSelectingKMeans
from personify.segments.segmentation import Segmentation, SegmentationResult

__all__ = ["KSelectingKMeans", "Segmentation", "SegmentationResult"]
