"""Rule objects: one class per RULES.md rule ID, registered by ID so presets can name them as data.

Importing the rule modules here registers them, so any engine sees every rule a preset can name.
"""

from service.rules import autocross, ffm, lemans  # noqa: F401  (registers AX-*/KA-*, CC-*, LM-*)
from service.rules.base import RULES, Rule, register
from service.rules.context import RuleContext

__all__ = ["RULES", "Rule", "RuleContext", "register"]
