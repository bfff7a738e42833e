"""Profiles: one 360-degree row per person, computed inside the engine."""

from personify.profiles.build import ProfileBuilder, ProfileResult
from personify.profiles.features import FEATURES, Feature, describe

__all__ = ["FEATURES", "Feature", "ProfileBuilder", "ProfileResult", "describe"]
