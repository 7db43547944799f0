"""Assert CORS in your own test suite: `assert_cors(app_or_url, policy)` and the `corscheck` fixture
(registered as a pytest plugin when corscheck is installed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal, cast

import pytest

from corscheck.config import DEPTHS, FAIL_ON_VALUES
from corscheck.errors import UsageError
from corscheck.policy import Policy, build_policy
from corscheck.report.model import Report
from corscheck.rules import SEVERITIES
from corscheck.transport.options import DEFAULT_BASE_URL

# The keys a policy given as a dict may have: build_policy's own, spelt with - or _.
_POLICY_KEYS = (
    "origins",
    "methods",
    "headers",
    "expose",
    "credentials",
    "max_age",
    "private_network",
)


def _policy(policy: Policy | dict[str, Any] | None) -> Policy | None:
    if policy is None or isinstance(policy, Policy):
        return policy
    fields = {key.replace("-", "_"): value for key, value in policy.items()}
    unknown = [key for key in fields if key not in _POLICY_KEYS]
    if unknown:
        raise UsageError(f"unknown policy key {unknown[0]!r}; expected {', '.join(_POLICY_KEYS)}")
    return build_policy(**fields)


def _checked(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise UsageError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def audit_report(
    app_or_url: Any,
    policy: Policy | dict[str, Any] | None = None,
    *,
    paths: Sequence[str] = ("/",),
    depth: str = "standard",
    base_url: str = DEFAULT_BASE_URL,
    routes: Literal["paths", "openapi"] = "paths",
    openapi_path: str = "/openapi.json",
) -> Report:
    """The report of auditing an ASGI/WSGI app object in-process, or a URL over the network.

    With `routes="openapi"`, every route of the app's OpenAPI document (served at `openapi_path`;
    for a URL, at that path of its origin) is audited, each with the methods and headers its calls
    need, instead of `paths`.
    """
    from corscheck.audit import run_config
    from corscheck.config import AuditConfig
    from corscheck.origins import Depth
    from corscheck.runner import run_async
    from corscheck.target import Target
    from corscheck.transport.app import app_of

    effective = _policy(policy)
    _checked("depth", depth, DEPTHS)
    loaded = None if isinstance(app_or_url, str) else app_of(app_or_url)
    if routes == "openapi":
        targets = _openapi_targets(app_or_url, loaded, effective, base_url, openapi_path)
    elif isinstance(app_or_url, str):
        targets = [Target(app_or_url, effective)]
    else:
        targets = [Target(base_url.rstrip("/") + "/" + p.lstrip("/"), effective) for p in paths]
    config = AuditConfig(
        tuple(targets),
        depth=cast(Depth, depth),
        policy=effective,
    )
    if effective is not None:
        config = replace(config, policy_statement="the policy given to the corscheck fixture")
    return run_async(run_config(config, app=loaded, base_url=base_url))


def _openapi_targets(
    app_or_url: Any,
    loaded: Any,
    policy: Policy | None,
    base_url: str,
    openapi_path: str,
) -> list[Any]:
    from urllib.parse import urljoin

    from corscheck.config import route_policy
    from corscheck.inputs import routes_base
    from corscheck.openapi import document_routes, load_document
    from corscheck.target import Target

    if loaded is None:
        source = urljoin(app_or_url, openapi_path)
        document, fetched_from = load_document(source)
        base = routes_base(document, fetched_from) or source
    else:
        document, fetched_from = load_document(openapi_path, app=loaded, app_base_url=base_url)
        base = routes_base(document, fetched_from, base_url) or ""
    return [
        Target(r.url, route_policy(policy, r) if policy else None, route=r)
        for r in document_routes(document, base)
    ]


def assert_cors(
    app_or_url: Any,
    policy: Policy | dict[str, Any] | None = None,
    *,
    paths: Sequence[str] = ("/",),
    depth: str = "standard",
    fail_on: str = "low",
    routes: Literal["paths", "openapi"] = "paths",
    openapi_path: str = "/openapi.json",
) -> Report:
    """Audit and raise AssertionError listing every finding at or above `fail_on`, with evidence
    and fix. Returns the report when the audit passes. `routes="openapi"` checks every route of
    the app's OpenAPI document instead of `paths`."""
    _checked("fail_on", fail_on, FAIL_ON_VALUES)
    report = audit_report(
        app_or_url, policy, paths=paths, depth=depth, routes=routes, openapi_path=openapi_path
    )
    errors = [f"{t.url}: {e.kind}: {e.message}" for t in report.targets for e in t.errors]
    limit = -1 if fail_on == "never" else [str(s) for s in SEVERITIES].index(fail_on)
    failing = [f for f in report.findings() if SEVERITIES.index(f.severity) <= limit]
    if not failing and not errors:
        return report
    lines = [f"corscheck: {len(failing)} CORS finding(s) at or above {fail_on!r}"]
    for finding in failing:
        ev = finding.evidence
        route = next((t.route for t in report.targets if t.url == finding.target), None)
        where = f" ({route.label})" if route is not None else ""
        lines.append(f"\n[{finding.severity}] {finding.rule.id}: {finding.title}{where}")
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
