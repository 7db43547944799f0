from __future__ import annotations

from collections import Counter

import pytest

from corscheck.plan import (
    ALLOWED,
    distinct_chains,
    estimated_requests,
    plan_target,
)
from corscheck.policy import build_policy

URL = "https://api.example.com/v1/users"
POLICY = build_policy(
    origins=["https://app.example.com"],
    methods=["GET", "POST", "PUT"],
    headers=["Content-Type", "Authorization"],
    credentials=True,
)


def test_every_probe_has_both_credentials_modes_on_one_chain() -> None:
    planned = plan_target(URL, POLICY, "standard")
    modes = Counter(p.probe.credentials for p in planned)
    assert modes["omit"] == modes["include"]
    assert len(distinct_chains(planned)) == len(planned) // 2


@pytest.mark.parametrize("depth", ["quick", "standard", "thorough"])
def test_request_budget_per_depth(depth: str) -> None:
    chains = distinct_chains(plan_target(URL, POLICY, depth))  # type: ignore[arg-type]
    requests = estimated_requests(chains, send_unsafe=False)
    limits = {"quick": 16, "standard": 40, "thorough": 120}
    assert requests <= limits[depth]


def test_depths_grow() -> None:
    sizes = [
        len(distinct_chains(plan_target(URL, POLICY, d))) for d in ("quick", "standard", "thorough")
    ]
    assert sizes[0] < sizes[1] <= sizes[2]


def test_allowed_origin_probes_cover_policy_methods_headers_and_outside() -> None:
    planned = [p for p in plan_target(URL, POLICY, "standard") if p.origin_class == ALLOWED]
    subjects = {(p.aspect, p.subject) for p in planned}
    assert ("method", "PUT") in subjects
    assert ("method", "DELETE") in subjects  # outside the policy
    assert ("header", "Content-Type") in subjects
    assert ("header", "Authorization") in subjects
    assert ("header", "X-Corscheck-Probe") in subjects


def test_unspecified_headers_are_not_probed_beyond() -> None:
    policy = build_policy(origins=["https://app.example.com"], methods=["GET"])
    subjects = {p.subject for p in plan_target(URL, policy, "standard") if p.aspect == "header"}
    assert subjects == set()


def test_attackers_never_include_allowed_origins() -> None:
    planned = plan_target(URL, POLICY, "thorough")
    attackers = {p.probe.origin for p in planned if p.origin_class != ALLOWED}
    assert "https://app.example.com" not in attackers
    assert "null" in attackers


def test_pattern_origin_is_probed_by_a_subdomain() -> None:
    policy = build_policy(origins=["https://*.example.com"])
    allowed = {
        p.probe.origin for p in plan_target(URL, policy, "quick") if p.origin_class == ALLOWED
    }
    assert allowed == {"https://corscheck-probe.example.com"}


def test_no_policy_only_attackers() -> None:
    planned = plan_target(URL, None, "standard")
    assert planned
    assert all(p.origin_class != ALLOWED for p in planned)


def test_extra_headers_on_every_probe() -> None:
    extra = (("Authorization", "Bearer x"),)
    planned = plan_target(URL, POLICY, "quick", extra_headers=extra)
    assert all(p.probe.extra_headers[: len(extra)] == extra for p in planned)
