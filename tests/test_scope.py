"""CORS that differs by path across one run's targets (report/scope.py, issue 24): the refused
path's finding names the path that reads, or the path that reads says where it is refused."""

from __future__ import annotations

import pytest

from corscheck.audit import audit
from corscheck.config import AuditConfig
from corscheck.demo import HeaderLines, serve_routes
from corscheck.policy import build_policy
from corscheck.target import Target
from corscheck.transport.options import RunOptions

APP = "https://app.example.com"
POLICY = build_policy(origins=[APP])


def granted(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    lines: HeaderLines = [("Vary", "Origin")]
    return 200, lines + ([("Access-Control-Allow-Origin", APP)] if origin == APP else [])


def outside(origin: str | None, preflight: bool) -> tuple[int, HeaderLines]:
    return 200, []


@pytest.mark.parametrize("refused_first", [False, True])
def test_a_front_end_refused_at_one_path_and_read_at_another_is_a_path_scope(
    refused_first: bool,
) -> None:
    with serve_routes({"/api/items": granted, "/admin/stats": outside}) as base:
        paths = ["/admin/stats", "/api/items"] if refused_first else ["/api/items", "/admin/stats"]
        config = AuditConfig(
            tuple(Target(base + p, POLICY) for p in paths), options=RunOptions(trust_env=False)
        )
        report = audit(config)
    by_path = {t.url.removeprefix(base): t for t in report.targets}
    (refusal,) = by_path["/admin/stats"].findings
    assert refusal.rule.id == "allowed-origin-refused"
    if refused_first:
        (note,) = by_path["/api/items"].notes
        assert note.startswith(f"CORS differs by path: {APP} reads this URL but is refused at ")
        assert note.endswith("routes mounted outside the CORS middleware)")
        assert refusal.notes == ()
    else:
        assert by_path["/api/items"].notes == ()
        assert refusal.notes == (
            f"{APP} reads {base}/api/items of the same API: a CORS configuration scoped by path "
            "(Flask-CORS resources, an nginx location with its own add_header, routes mounted "
            "outside the CORS middleware)",
        )


def test_the_same_answer_everywhere_is_not_a_scope() -> None:
    with serve_routes({"/a": outside, "/b": outside}) as base:
        targets = tuple(Target(base + p, POLICY) for p in ("/a", "/b"))
        report = audit(AuditConfig(targets, options=RunOptions(trust_env=False)))
    assert all(t.notes == () for t in report.targets)
    assert all(f.notes == () for t in report.targets for f in t.findings)


# --- the bookkeeping alone, on reports built by hand ----------------------------------------------

from corscheck.evaluate.model import Evidence, Finding  # noqa: E402
from corscheck.report.model import TargetReport  # noqa: E402
from corscheck.report.scope import PathScopes  # noqa: E402
from corscheck.rules import RULES_BY_ID  # noqa: E402

API = "https://api.example.com"


def refusal(rule: str, *lines: tuple[str, str]) -> Finding:
    evidence = Evidence(APP, "GET", (), "omit", "actual", 200, lines)
    return Finding(RULES_BY_ID[rule], "high", API + "/b", "m", evidence, (), "fix")


def read_report(url: str) -> TargetReport:
    """A target where APP's plain read was granted: the report of a real audit of one."""
    with serve_routes({"/a": granted}) as base:
        config = AuditConfig((Target(base + "/a", POLICY),), options=RunOptions(trust_env=False))
        (target,) = audit(config).targets
    from dataclasses import replace

    probes = tuple(
        replace(p, planned=replace(p.planned, probe=replace(p.planned.probe, url=url)))
        if p.planned.probe.url == target.url
        else p
        for p in target.probes
    )
    return replace(target, url=url, probes=probes)


@pytest.mark.parametrize(
    ("finding", "scoped"),
    [
        (refusal("allowed-origin-refused"), True),
        (refusal("credentials-refused"), True),
        (
            refusal("allowed-origin-refused", ("Access-Control-Allow-Origin", "https://x.test")),
            False,
        ),
        (refusal("allowed-origin-refused", ("Vary", "Origin")), True),
        (refusal("allowed-method-refused"), False),
    ],
)
def test_which_refusals_are_a_path_scope(finding: Finding, scoped: bool) -> None:
    scopes = PathScopes()
    scopes.observe(read_report(API + "/a"))
    refused = TargetReport(API + "/b", POLICY, findings=(finding,), requests_sent=1)
    (seen,) = scopes.observe(refused).findings
    assert bool(seen.notes) is scoped
    later = scopes.observe(read_report(API + "/c"))
    assert bool(later.notes) is scoped


def test_a_report_without_an_origin_is_left_as_it_is() -> None:
    report = TargetReport("not a url", POLICY, findings=(refusal("allowed-origin-refused"),))
    assert PathScopes().observe(report) is report
