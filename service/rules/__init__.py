"""Rule objects: one class per RULES.md rule ID, registered by ID so presets can name them as data."""

from service.rules.base import RULES, Rule, register

__all__ = ["RULES", "Rule", "register"]
