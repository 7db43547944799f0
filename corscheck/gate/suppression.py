"""What a team accepts: `[[ignore]]` entries and `--ignore RULE` (each an `Ignore`), and the findings of
an earlier report (a `Baseline`). PURE value types, below both the policy file that declares them and
the gate that applies them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase

from corscheck import rules
from corscheck.errors import UsageError
from corscheck.evaluate.model import Finding


@dataclass(frozen=True, slots=True)
class Ignore:
    """One accepted finding (or class of them): an `[[ignore]]` entry or an `--ignore RULE`."""

    rule: str
    reason: str
    source: str  # "corscheck.toml:12", or "--ignore"
    target: str | None = None  # a glob over target URLs; None: every target
    origin: str | None = None  # only findings whose evidence origin is this one
    expires: date | None = None  # the last day it works

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def matches(self, finding: Finding) -> bool:
        if finding.rule.id != self.rule:
            return False
        if self.target is not None and not fnmatchcase(finding.target, self.target):
            return False
        return self.origin is None or finding.evidence.origin == self.origin


def validate_ignore_rule(rule: str) -> str:
    """The rule id if the catalog has it; raises UsageError otherwise."""
    if rule not in rules.RULES_BY_ID:
        raise UsageError(f"no rule {rule!r} to ignore", hint=rules.unknown_rule_hint(rule))
    return rule


@dataclass(frozen=True, slots=True)
class Baseline:
    """The findings of an earlier report, by fingerprint, and the targets it audited."""

    path: str
    findings: tuple[tuple[str, Finding], ...]
