"""Segments: machine-learned customer groups, ranked by value into primary, secondary, negative."""

from personify.segments.model import KSelectingKMeans, SegmentModel
from personify.segments.segmentation import Segmentation, SegmentationResult

__all__ = ["KSelectingKMeans", "SegmentModel", "Segmentation", "SegmentationResult"]
