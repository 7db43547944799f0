"""Assert CORS in your own test suite: `assert_cors(app_or_url, policy)` and the `corscheck` fixture
(registered as a pytest plugin when corscheck is installed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from corscheck.policy import Policy, build_policy
from corscheck.report.model import Report
from corscheck.rules import SEVERITIES


def _policy(policy: Policy | dict[str, Any] | None) -> Policy | None:
    if policy is None or isinstance(policy, Policy):
        return policy
    fields = {key.replace("-", "_"): value for key, value in policy.items()}
    return build_policy(**fields)


def audit_report(
    app_or_url: Any,
    policy: Policy | dict[str, Any] | None = None,
    *,
    paths: Sequence[str] = ("/",),
    depth: str = "standard",
    base_url: str = "http://testserver",
) -> Report:
    """The report of auditing an ASGI/WSGI app object in-process, or a URL over the network."""
    from corscheck.app import LoadedApp, _framework, _kind, audit_app
    from corscheck.audit import Target, audit
    from corscheck.runner import run_async

    effective = _policy(policy)
    if isinstance(app_or_url, str):
        return audit([Target(app_or_url, effective)], depth=depth)
    loaded = LoadedApp(app_or_url, _kind(app_or_url, repr(app_or_url)), _framework(app_or_url))
    targets = [Target(base_url.rstrip("/") + "/" + p.lstrip("/"), effective) for p in paths]
    report: Report = run_async(audit_app(loaded, targets, base_url=base_url, depth=depth))
    return report


def assert_cors(
    app_or_url: Any,
    policy: Policy | dict[str, Any] | None = None,
    *,
    paths: Sequence[str] = ("/",),
    depth: str = "standard",
    fail_on: str = "low",
) -> Report:
    """Audit and raise AssertionError listing every finding at or above `fail_on`, with evidence
    and fix. Returns the report when the audit passes."""
    report = audit_report(app_or_url, policy, paths=paths, depth=depth)
    errors = [f"{t.url}: {e.kind}: {e.message}" for t in report.targets for e in t.errors]
    limit = -1 if fail_on == "never" else [str(s) for s in SEVERITIES].index(fail_on)
    failing = [f for f in report.findings() if SEVERITIES.index(f.severity) <= limit]
    if not failing and not errors:
        return report
    lines = [f"corscheck: {len(failing)} CORS finding(s) at or above {fail_on!r}"]
    for finding in failing:
        ev = finding.evidence
        lines.append(f"\n[{finding.severity}] {finding.rule.id}: {finding.title}")
        lines.append(f"  {finding.message}")
        lines.append(f"  request:  {ev.page_request()}")
        lines += [f"  sent:     {line}" for line in ev.sent_request()]
        lines += [f"  response: {line}" for line in ev.response()]
        lines.append(f"  fix:      {finding.fix}")
    lines += [f"\nnot audited: {error}" for error in errors]
    raise AssertionError("\n".join(lines))


class CorscheckFixture:
    """What the `corscheck` fixture gives a test."""

    assert_cors = staticmethod(assert_cors)
    audit = staticmethod(audit_report)


@pytest.fixture
def corscheck() -> CorscheckFixture:
    """corscheck's assertions: `corscheck.assert_cors(app, policy)`."""
    return CorscheckFixture()
