"""Compliance rules: each policy section compiles into steps the pipeline runs at its stages."""

from middleware.rules.base import Gate, Guard, GuardStep, Notifier, RuleSet, Shaper

__all__ = ["Gate", "Guard", "GuardStep", "Notifier", "RuleSet", "Shaper"]
