"""CORS that differs by path across one run's targets (evaluate/scope.py, issue 24): the refused
path's finding names the path that reads, or the path that reads says where it is refused."""

from __future__ import annotations

import pytest

from corscheck.audit import audit
from corscheck.config import AuditConfig, RunOptions
from corscheck.demo import HeaderLines, serve_routes
from corscheck.policy import build_policy
from corscheck.target import Target

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
