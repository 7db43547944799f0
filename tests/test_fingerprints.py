"""Fingerprints (corscheck/evaluate.py): a finding's identity across runs, as baselines and
suppressions store it. Pure; the gates that use them are in tests/test_gate.py."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from corscheck import rules
from corscheck.evaluate import (
    BaselineState,
    Evidence,
    Finding,
    Suppression,
    fingerprint,
    normalized_target,
)


def finding(
    rule: rules.Rule = rules.DEVELOPMENT_ORIGIN,
    target: str = "https://api.example.com/v1/users",
    origin: str = "http://localhost:3000",
    origin_class: str = "developer",
    method: str = "GET",
    headers: tuple[tuple[str, str], ...] = (),
) -> Finding:
    evidence = Evidence(
        origin=origin,
        method=method,
        request_headers=headers,
        credentials="include",
        step="actual",
        status=200,
        response_lines=(("Access-Control-Allow-Origin", origin),),
        origin_class=origin_class,
    )
    return Finding(rule, rule.severity, target, f"{origin} can read {target}", evidence)


# --- fingerprints ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (finding(), finding(origin="http://127.0.0.1:8080")),
        (
            finding(rules.UNTRUSTED_ORIGIN, origin="https://app.example.com.evil.example"),
            finding(rules.UNTRUSTED_ORIGIN, origin="https://appxexample.com", origin_class="dot"),
        ),
        (finding(target="https://API.example.com:443/v1/users"), finding()),
        (
            finding(target="https://api.example.com/?b=2&a=1"),
            finding(target="https://api.example.com?a=1&b=2"),
        ),
        (
            finding(
                rules.ALLOWED_HEADER_REFUSED,
                origin="https://app.example.com",
                origin_class="allowed",
                method="put",
                headers=(("X-Tenant", "a"),),
            ),
            finding(
                rules.ALLOWED_HEADER_REFUSED,
                origin="https://app.example.com",
                origin_class="allowed",
                method="PUT",
                headers=(("x-tenant", "b"),),
            ),
        ),
    ],
    ids=[
        "crafted-origin-label",
        "witness-class-of-one-mistake",
        "host-case-default-port",
        "query-order",
        "header-case-and-value",
    ],
)
def test_fingerprint_is_the_same_for_the_same_root_cause(a: Finding, b: Finding) -> None:
    assert fingerprint(a) == fingerprint(b)
    assert len(fingerprint(a)) == 32


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (finding(), finding(rules.NULL_ORIGIN, origin="null", origin_class="null")),
        (finding(), finding(target="https://api.example.com/v1/orders")),
        (
            finding(
                rules.ALLOWED_HEADER_REFUSED,
                origin="https://app.example.com",
                origin_class="allowed",
            ),
            finding(
                rules.ALLOWED_HEADER_REFUSED,
                origin="https://app.example.com",
                origin_class="allowed",
                headers=(("X-Tenant", "a"),),
            ),
        ),
    ],
    ids=["rule", "target", "refused-header"],
)
def test_fingerprint_differs_for_another_root_cause(a: Finding, b: Finding) -> None:
    assert fingerprint(a) != fingerprint(b)


def test_fingerprint_ignores_message_severity_and_notes() -> None:
    plain = finding()
    reworded = replace(plain, message="reworded by a later version", severity="low", notes=("x",))
    assert fingerprint(plain) == fingerprint(reworded)


def test_normalized_target() -> None:
    assert normalized_target("HTTP://Example.COM:80") == "http://example.com/"
    assert normalized_target("https://[::1]:8443/a?z=1&a=2#f") == "https://[::1]:8443/a?a=2&z=1"


def sha(*key: str) -> str:
    return hashlib.sha256("\n".join(key).encode("utf-8")).hexdigest()[:32]


TARGET = "https://api.example.com/v1/users"


@pytest.mark.parametrize(
    ("found", "key"),
    [
        # an attacker origin: its class is the root cause
        (finding(), ("corscheckFinding/v2", "development-origin", TARGET, "class", "developer")),
        # a rule gathering every crafted origin of one mistake: the rule and target alone
        (
            finding(
                rules.ANY_ORIGIN,
                origin="https://corscheck-attacker.example",
                origin_class="unrelated",
            ),
            ("corscheckFinding/v2", "any-origin", TARGET),
        ),
        # the front-end's own request: origin, normalized method, sorted header names, credentials
        (
            finding(
                rules.ALLOWED_HEADER_REFUSED,
                origin="https://app.example.com",
                origin_class="allowed",
                method="put",
                headers=(("X-B", "1"), ("X-A", "2")),
            ),
            (
                "corscheckFinding/v2",
                "allowed-header-refused",
                TARGET,
                "request",
                "https://app.example.com",
                "PUT",
                "x-a,x-b",
                "include",
            ),
        ),
        # no class recorded (a report from before classes): the request is the cause
        (
            finding(origin_class=""),
            (
                "corscheckFinding/v2",
                "development-origin",
                TARGET,
                "request",
                "http://localhost:3000",
                "GET",
                "",
                "include",
            ),
        ),
    ],
    ids=["attacker-class", "one-per-target", "own-request", "no-class"],
)
def test_fingerprint_is_the_documented_key(found: Finding, key: tuple[str, ...]) -> None:
    """Baselines and suppressions written by another version must still match: the fingerprint is
    the first 32 hex digits of the SHA-256 of its documented key, one part a line."""
    assert fingerprint(found) == found.fingerprint == sha(*key)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("  https://a.example  ", "https://a.example/"),
        ("https://a.example:99999/x", "https://a.example:99999/x"),  # no valid port: kept as given
        (" https://a.example:99999/x ", "https://a.example:99999/x"),
        ("http://a.example:443", "http://a.example:443/"),  # only the scheme's own default goes
        ("https://a.example:80/", "https://a.example:80/"),
        ("https://a.example?b=1&a=", "https://a.example/?a=&b=1"),  # blank values are kept
        ("HTTPS://[::1]/#f", "https://[::1]/"),
        ("https://A.example/P?q=1#frag", "https://a.example/P?q=1"),  # the path keeps its case
        ("/v1/users?b=1&a=2", "/v1/users?a=2&b=1"),  # no host: none is made up
    ],
)
def test_normalized_target_table(url: str, normalized: str) -> None:
    assert normalized_target(url) == normalized


@pytest.mark.parametrize(
    ("suppressed", "baseline", "counts"),
    [
        (None, None, True),
        (None, "new", True),
        (None, "unchanged", False),  # in the baseline: known already
        (True, None, False),  # accepted with a reason
        (True, "new", False),
    ],
)
def test_which_findings_count_for_fail_on(
    suppressed: bool | None, baseline: BaselineState | None, counts: bool
) -> None:
    found = replace(
        finding(),
        suppressed=Suppression("accepted", None, "--ignore") if suppressed else None,
        baseline=baseline,
    )
    assert found.counts is counts


def test_a_suppression_says_its_reason_where_it_is_written_and_until_when() -> None:
    from corscheck.evaluate import Suppression

    assert Suppression("a local front-end", None, "corscheck.toml:5").statement() == (
        "a local front-end (corscheck.toml:5)"
    )
    assert Suppression("a local front-end", "2027-03-31", "--ignore").statement() == (
        "a local front-end (--ignore, until 2027-03-31)"
    )
