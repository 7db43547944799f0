"""Safety, proven by a recording server: without --send-unsafe only OPTIONS, GET and HEAD are sent, at
every depth, with and without a policy; with it, the unsafe actual requests go out too."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.visitor import PLACEHOLDER_COOKIE
from tests.cors_server import CorsServer, Reply

REFLECT = [
    "Access-Control-Allow-Origin: {origin}",
    "Access-Control-Allow-Credentials: true",
    "Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE",
    "Access-Control-Allow-Headers: Content-Type, Authorization, X-Corscheck-Probe",
    "Vary: Origin",
]
POLICY_FLAGS = [
    "--allow-origin", "https://app.example.com", "--allow-method", "PUT", "--allow-method", "DELETE",
    "--allow-header", "Content-Type", "--credentials",
]  # fmt: skip


@pytest.mark.parametrize("depth", ["quick", "standard", "thorough"])
@pytest.mark.parametrize("with_policy", [True, False], ids=["policy", "no-policy"])
def test_only_safe_methods_without_send_unsafe(
    cors_server: CorsServer, depth: str, with_policy: bool
) -> None:
    cors_server.route("/api", options=Reply(204, REFLECT), actual=Reply(200, REFLECT))
    args = ["audit", cors_server.url("/api"), "--depth", depth, "--fail-on", "never"]
    result = CliRunner().invoke(app, args + (POLICY_FLAGS if with_policy else []))
    assert result.exit_code == 0, result.output
    methods = {r.method for r in cors_server.requests}
    assert methods <= {"OPTIONS", "GET", "HEAD"}
    assert "GET" in methods
    assert ("OPTIONS" in methods) is (with_policy or depth != "quick")  # quick baseline: GETs only


def test_send_unsafe_sends_the_unsafe_actual_requests(cors_server: CorsServer) -> None:
    cors_server.route("/api", options=Reply(204, REFLECT), actual=Reply(200, REFLECT))
    args = ["audit", cors_server.url("/api"), "--send-unsafe", "--fail-on", "never", *POLICY_FLAGS]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    methods = {r.method for r in cors_server.requests}
    assert {"PUT", "DELETE"} <= methods


def test_preflights_carry_no_credentials_but_user_headers_go_on_actual_requests(
    cors_server: CorsServer,
) -> None:
    cors_server.route("/api", options=Reply(204, REFLECT), actual=Reply(200, REFLECT))
    args = ["audit", cors_server.url("/api"), "-H", "X-Api-Key: k-123", "--fail-on", "never"]
    assert CliRunner().invoke(app, args + POLICY_FLAGS).exit_code == 0
    actual = [r for r in cors_server.requests if r.method == "GET"]
    preflights = [r for r in cors_server.requests if r.method == "OPTIONS"]
    # Every actual request carries the user's headers, except the one error-path probe that is
    # there to see the answer without them (plan.py).
    without = [r for r in actual if r.header("X-Api-Key") is None]
    assert len(without) == 1 and all(
        r.header("X-Api-Key") == "k-123" for r in actual if r not in without
    )
    assert all(r.header("Access-Control-Request-Method") for r in preflights)
    assert all(r.header("Cookie") is None for r in preflights)
    # Without --cookie, the only cookie is the visitor model's placeholder, on credentialed requests
    # only: never anything of the user's.
    cookies = {r.header("Cookie") for r in actual}
    assert cookies == {None, PLACEHOLDER_COOKIE.pair}


def test_rate_limit_paces_the_requests_of_a_run(cors_server: CorsServer) -> None:
    """--rate N/s per host, end to end: the limiter is applied to every request, whatever the
    concurrency. The promise itself (no window admits more than the bucket allows) is tested exactly
    on an injected clock in test_pacing.py; here only a bound that load cannot break: N requests at
    20/s with a bucket of one take at least (N - 1) / 20 seconds, however slow the machine."""
    cors_server.route("/api", options=Reply(204, REFLECT), actual=Reply(200, REFLECT))
    args = ["audit", cors_server.url("/api"), "--depth", "standard", "--rate", "20/s"]
    started = time.monotonic()
    result = CliRunner().invoke(app, [*args, "--concurrency", "50", "--fail-on", "never"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 0
    sent = len(cors_server.requests)
    assert sent >= 10  # enough that an unpaced run would finish in a fraction of the bound
    assert elapsed >= (sent - 1) / 20


@pytest.mark.parametrize(
    ("status", "kind"),
    [(404, "status"), (410, "status"), (502, "status"), (401, None), (200, None)],
)
def test_a_url_that_answers_only_errors_is_not_a_pass(
    cors_server: CorsServer, status: int, kind: str | None
) -> None:
    """404 everywhere (a typo, a dead route) or a failing server is said, with exit 3; a 401 is an
    API's own answer to a visitor without a session, judged like any other."""
    cors_server.route("/gone", options=Reply(status), actual=Reply(status))
    result = CliRunner().invoke(
        app, ["audit", cors_server.url("/gone"), "--depth", "quick", "--format", "json"]
    )
    (target,) = json.loads(result.stdout)["targets"]
    assert [e["kind"] for e in target["errors"]] == ([kind] if kind else [])
    assert result.exit_code == (3 if kind else 0)
    if kind:
        assert f"every request was answered {status}" in target["errors"][0]["message"]
        console = CliRunner().invoke(app, ["audit", cors_server.url("/gone"), "--depth", "quick"])
        assert "answered only with errors" in console.output and "passed" not in console.output


@pytest.mark.parametrize("size", [5000, 100])
def test_a_400_to_an_oversized_h_line_says_why_it_may_be(
    cors_server: CorsServer, size: int
) -> None:
    """A header line past the servers' size limits (nginx's 8 KB) is answered 400 before any CORS
    layer: the finding says so, naming the header and its size, never its value."""
    cors_server.route("/api", options=Reply(400), actual=Reply(400))
    secret = "t" * size
    args = ["audit", cors_server.url("/api"), "--allow-origin", "https://app.example.com"]
    result = CliRunner().invoke(app, [*args, "-H", f"X-Api-Key: {secret}", "-f", "json"])
    report = json.loads(result.stdout)
    notes = [n for t in report["targets"] for f in t["findings"] for n in f["notes"]]
    assert report["targets"][0]["findings"], result.stdout[-500:]
    hinted = [n for n in notes if "-H X-Api-Key of" in n]
    assert bool(hinted) is (size > 4096), notes
    assert secret not in result.stdout
