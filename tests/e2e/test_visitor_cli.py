"""The visitor on the command line, end to end (issue 23): --cookie is sent where the modelled
browser sends it and never shown, --browser picks whose verdicts, --user-agent is sent as asked,
and bad values are one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.visitor import CHROME_USER_AGENT, PLACEHOLDER_NAME
from tests.cors_server import CorsServer, Reply

REFLECT = ["Access-Control-Allow-Origin: {origin}", "Access-Control-Allow-Credentials: true"]
SECRET = "s3cr3t-session-value"
APP = "tests.e2e.visitor_apps:lax_session"
BASE = "https://api.corscheck-lab.test"


def test_the_cookie_goes_only_where_chrome_sends_it_and_is_never_shown(
    cors_server: CorsServer, tmp_path: Path
) -> None:
    cors_server.route("/api", options=Reply(204, REFLECT), actual=Reply(200, REFLECT))
    cookie = f"sid={SECRET}; SameSite=None; Secure"
    html = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["audit", cors_server.url("/api"), "--cookie", cookie, "--format", "json",
         "-o", str(html), "-o", str(tmp_path / "r.sarif"), "-o", str(tmp_path / "r.md")],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    for shown in (result.output, html.read_text(), *(p.read_text() for p in tmp_path.iterdir())):
        assert SECRET not in shown
    report = json.loads(result.stdout)
    assert report["settings"]["visitor"]["cookies"][0]["name"] == "sid"
    assert not report["settings"]["visitor"]["cookies_assumed"]
    preflights = [r for r in cors_server.requests if r.method == "OPTIONS"]
    assert preflights and all(r.header("Cookie") is None for r in preflights)
    sent = {r.header("Cookie") for r in cors_server.requests if r.method == "GET"}
    assert sent == {None, f"sid={SECRET}"}  # omit requests carry none; include ones the cookie
    assert all(PLACEHOLDER_NAME not in (r.header("Cookie") or "") for r in cors_server.requests)


def test_user_agent_chrome_is_sent_on_every_request(cors_server: CorsServer) -> None:
    cors_server.route("/api", options=Reply(204, REFLECT), actual=Reply(200, REFLECT))
    args = ["audit", cors_server.url("/api"), "--user-agent", "chrome", "--depth", "quick"]
    assert CliRunner().invoke(app, [*args, "--fail-on", "never"]).exit_code == 0
    assert {r.header("User-Agent") for r in cors_server.requests} == {CHROME_USER_AGENT}


def test_without_user_agent_corscheck_says_who_it_is(cors_server: CorsServer) -> None:
    cors_server.route("/api", options=Reply(204, REFLECT), actual=Reply(200, REFLECT))
    args = ["audit", cors_server.url("/api"), "--depth", "quick", "--fail-on", "never"]
    assert CliRunner().invoke(app, args).exit_code == 0
    agents = {r.header("User-Agent") or "" for r in cors_server.requests}
    assert len(agents) == 1 and agents.pop().startswith("corscheck/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--browser", "edge"], "--browser 'edge' is not one of chrome, chrome-no-3pc"),
        (["--cookie", f"novalue{SECRET}"], "--cookie"),
        (["--cookie", f"sid={SECRET}; SameSite=None"], "browsers reject SameSite=None without"),
        (["--user-agent", "a\nb"], "--user-agent: give 'chrome'"),
    ],
)
def test_bad_visitor_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["audit", "/api/me", "--app", APP, "--base-url", BASE, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert SECRET not in result.output


def test_browser_decides_the_evidence_of_a_lax_session() -> None:
    """A SameSite=Lax session: no browser sends it cross-site, so the finding's evidence is a
    same-site page in each profile, and the report says whose verdicts they are."""
    for browser in ("chrome", "safari"):
        result = CliRunner().invoke(
            app,
            ["audit", "/api/me", "--app", APP, "--base-url", BASE, "--format", "json",
             "--cookie", f"session={SECRET}; SameSite=Lax; Secure", "--browser", browser],
        )  # fmt: skip
        report = json.loads(result.stdout)
        assert report["settings"]["visitor"]["browsers"] == [browser]
        (finding,) = [
            f for f in report["targets"][0]["findings"] if f["severity"] in ("critical", "high")
        ]
        origin = finding["evidence"]["origin"]
        assert origin.endswith(".corscheck-lab.test") or origin.startswith(BASE + ":")
        assert [e["profile"] for e in finding["exposure"]] == [browser]
        assert finding["exposure"][0]["cross_site"] == 0


def test_probe_attaches_the_profiles_cookies_and_says_so(cors_server: CorsServer) -> None:
    cors_server.route("/api", options=Reply(204, REFLECT), actual=Reply(200, REFLECT))
    url = cors_server.url("/api")
    cookie = f"sid={SECRET}; SameSite=None; Secure"
    common = ["probe", url, "--origin", "https://corscheck-attacker.example", "--credentials"]
    chrome = CliRunner().invoke(app, [*common, "--cookie", cookie, "--format", "json"])
    assert chrome.exit_code == 0, chrome.output
    assert SECRET not in chrome.output
    assert "sending its cookies sid" in json.loads(chrome.stdout)["visitor"]
    blocked = CliRunner().invoke(app, [*common, "--cookie", cookie, "--browser", "chrome-no-3pc"])
    assert "sending none of its cookies" in blocked.output
    gets = [r for r in cors_server.requests if r.method == "GET"]
    assert [r.header("Cookie") for r in gets] == [f"sid={SECRET}", None]
    assert all(r.header("Sec-Fetch-Site") == "cross-site" for r in cors_server.requests)
