"""The pure pieces behind issue 13's verdicts: the front-end's requests in the plan, same-origin probes
judged without CORS, and the substring attacker origin cut from each trusted host."""

from __future__ import annotations

import pytest

from corscheck.browser import Probe, judge
from corscheck.exchange import Exchange, Request
from corscheck.origins import attacker_origins
from corscheck.plan import plan_target
from corscheck.policy import build_policy

API = "http://127.0.0.1:8000/items"
POLICY = build_policy(
    origins=["http://localhost:3000"],
    methods=["GET", "POST", "PUT"],
    headers=["Content-Type", "Authorization", "X-Api-Key"],
    credentials=True,
)
ALL_HEADERS = (
    ("Content-Type", "application/json"),
    ("Authorization", "Bearer corscheck-probe-token"),
    ("X-Api-Key", "corscheck-probe-token"),
)


@pytest.mark.parametrize("depth", ["quick", "standard", "thorough"])
def test_every_policy_method_is_probed_with_every_header(depth: str) -> None:
    planned = plan_target(API, POLICY, depth)  # type: ignore[arg-type]
    requests = {
        (p.probe.method, p.probe.headers, p.probe.credentials)
        for p in planned
        if p.aspect == "request"
    }
    assert requests == {
        (method, ALL_HEADERS, mode)
        for method in ("GET", "POST", "PUT")
        for mode in ("omit", "include")
    }


def test_isolating_probes_carry_one_method_or_one_header() -> None:
    planned = plan_target(API, POLICY, "standard")
    isolated = {
        (p.aspect, p.probe.method, p.probe.headers) for p in planned if p.aspect != "request"
    }
    assert ("method", "PUT", ()) in isolated
    assert ("header", "GET", (("X-Api-Key", "corscheck-probe-token"),)) in isolated
    assert (
        "method",
        "POST",
        (),
    ) not in isolated  # POST alone is a simple request: nothing to isolate


def test_values_are_not_safelisted() -> None:
    from corscheck.browser import is_cors_safelisted_request_header

    assert not any(is_cors_safelisted_request_header(n, v) for n, v in ALL_HEADERS)


def test_a_policy_without_headers_probes_each_method_alone_once() -> None:
    policy = build_policy(origins=["http://localhost:3000"], methods=["GET", "PUT"])
    planned = [
        p
        for p in plan_target(API, policy, "standard")
        if p.probe.method == "PUT" and p.probe.origin == "http://localhost:3000"
    ]
    assert {p.aspect for p in planned} == {"request"}  # the front-end request is the isolation too


def test_same_origin_unsent_request_is_readable() -> None:
    probe = Probe(API, "http://127.0.0.1:8000", "PUT", (("Content-Type", "application/json"),))
    verdict = judge(probe, Exchange((), unsent=Request("PUT", API, ())))
    assert verdict.allowed and not verdict.preflight and verdict.judged
    assert "same-origin" in verdict.notes[0]


def test_cross_origin_unsent_simple_post_is_not_judged() -> None:
    probe = Probe(API, "http://localhost:3000", "POST")
    verdict = judge(probe, Exchange((), unsent=Request("POST", API, ())))
    assert not verdict.allowed and not verdict.judged


@pytest.mark.parametrize(
    ("trusted", "first"),
    [
        ("https://app.example.com", "https://app.example.co"),
        ("https://app.example.com:8443", "https://app.example.co:8443"),
        ("https://app.example.co.uk", "https://app.example.co"),
        ("https://API.Example.COM", "https://api.example.co"),
        ("http://shop.example.net", "http://shop.example.ne"),
    ],
)
def test_substring_origin_is_the_trusted_host_cut_short(trusted: str, first: str) -> None:
    found = [
        a
        for a in attacker_origins("https://svc.other.net/", [trusted])
        if a.origin_class == "substring"
    ]
    assert found[0].origin == first
    assert found[0].origin not in (trusted,)


def test_substring_with_a_port_also_drops_the_port() -> None:
    found = {
        a.origin
        for a in attacker_origins("https://svc.other.net/", ["https://app.example.com:8443"])
        if a.origin_class == "substring"
    }
    assert "https://app.example.co" in found  # a substring of "https://app.example.com:8443"


@pytest.mark.parametrize(
    "trusted", ["http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"]
)
def test_no_substring_origin_for_hosts_nobody_can_register(trusted: str) -> None:
    found = [
        a
        for a in attacker_origins("https://svc.other.net/", [trusted])
        if a.origin_class == "substring"
    ]
    assert all(a.derived_from != trusted for a in found)


def test_substring_origins_are_derived_from_discovered_origins_too() -> None:
    found = {
        (a.origin, a.derived_from)
        for a in attacker_origins("https://svc.other.net/", [], trusted=["https://app.example.com"])
        if a.origin_class == "substring"
    }
    assert ("https://app.example.co", "https://app.example.com") in found
