"""Personas: named, evidence-backed portraits of segments, rendered for people."""

from personify.personas.build import SCHEMA, PersonaBuilder, PersonaResult

__all__ = ["SCHEMA", "PersonaBuilder", "PersonaResult"]
