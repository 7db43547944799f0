"""Issue 13 point 8, "no evidence, no pass": a URL with userinfo is an input error (browsers refuse to
fetch it, so nothing would be sent), no target without a request made is ever reported as passed, and
a URL's userinfo is masked by its position in every output, never by matching its value."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.demo import serve_demo
from corscheck.errors import UsageError
from corscheck.report import renderer
from corscheck.report.codec import encode_report
from corscheck.report.model import (
    NOTHING_SENT,
    Report,
    TargetErrorRecord,
    TargetReport,
)
from corscheck.target import validate_url
from tests.cors_server import CorsServer, Reply

# Userinfo that value-based masking got wrong: short passwords (kept when shorter than 3), user
# names that are common substrings of the rest of the output, percent-encoding, an `@` inside.
USERINFO = [
    ("short-password", "alice:pw"),
    ("one-char-password", "bob:a"),
    ("username-http", "http:pw"),
    ("username-127", "127:a"),
    ("username-only", "http"),
    ("empty-password", "user:"),
    ("percent-encoded", "%61lice:p%40ss%3Aw"),
    ("at-inside", "a@b:c"),
    ("long", "alice:s3cr3t"),
]
USERINFO_IDS = [u[0] for u in USERINFO]
REFERENCE = "someone:something"  # every variant's output must equal this one's, byte for byte
FIX = "-H 'Authorization: Basic …'"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    output = result.stdout + (result.stderr or "")
    assert "Traceback" not in output
    return result.exit_code, output


def untimed(text: str) -> str:
    """Output without the times it was made at (the report's time, servers' Date lines)."""
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|Z)?", "(time)", text)
    return re.sub(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", "(date)", text)


# --- a URL with userinfo is an input error -------------------------------------------------------


@pytest.mark.parametrize("userinfo", [u[1] for u in USERINFO], ids=USERINFO_IDS)
def test_validate_url_refuses_userinfo_and_masks_it(userinfo: str) -> None:
    with pytest.raises(UsageError) as raised:
        validate_url(f"http://{userinfo}@127.0.0.1:9/")
    message = str(raised.value)
    assert "'http://****@127.0.0.1:9/'" in message and FIX in message
    assert f"{userinfo}@" not in message


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/", "http://127.0.0.1/p@q", "http://127.0.0.1/?email=a@b", "http://[::1]/"],
)
def test_validate_url_accepts_an_at_outside_the_authority(url: str) -> None:
    assert validate_url(url) == url


@pytest.mark.parametrize(
    "url", ["http://a:pw@127.0.0.1:99999/", "http://a b:pw@127.0.0.1/", "ftp://a:pw@127.0.0.1/"]
)
def test_other_url_errors_mask_the_userinfo_too(url: str) -> None:
    with pytest.raises(UsageError) as raised:
        validate_url(url)
    assert "pw@" not in str(raised.value) and "****@" in str(raised.value)


@pytest.mark.parametrize("command", ["audit", "probe"])
@pytest.mark.parametrize("userinfo", [u[1] for u in USERINFO], ids=USERINFO_IDS)
def test_cli_url_with_userinfo_is_exit_2_one_masked_line(command: str, userinfo: str) -> None:
    extra = ["--origin", "https://app.example.com"] if command == "probe" else []
    code, out = run(command, f"http://{userinfo}@127.0.0.1:9/", *extra)
    _, reference = run(command, f"http://{REFERENCE}@127.0.0.1:9/", *extra)
    assert code == 2
    assert len(out.strip().splitlines()) == 1
    assert "http://****@127.0.0.1:9/" in out and FIX in out
    assert "passed" not in out.lower()
    assert out == reference  # so no part of the userinfo can be in it


def test_cli_userinfo_among_several_urls_stops_before_any_is_audited() -> None:
    with serve_demo() as base:
        code, out = run("audit", base + "/api/status", "http://bob:a@127.0.0.1:9/")
    assert code == 2
    assert out.startswith("corscheck: error: URL 'http://****@127.0.0.1:9/'")
    assert "passed" not in out.lower() and "bob" not in out


# How each format says a run passed; a run with a target not audited must say it in none.
SHOWS_PASS: dict[str, Callable[[str], bool]] = {
    "console": lambda text: "PASSED" in text or "✓" in text,
    "json": lambda text: (
        json.loads(text)["summary"]["passed"]
        or any(t["passed"] for t in json.loads(text)["targets"])
    ),
    "sarif": lambda text: json.loads(text)["runs"][0]["invocations"][0]["executionSuccessful"],
    "junit": lambda text: ET.fromstring(text).get("errors") == "0",
    "markdown": lambda text: "✅" in text,
    "html": lambda text: "verdict passed'" in text or ">passed<" in text,
    "github": lambda text: "::error" not in text,
}
EXTENSIONS = {
    "json": ".json",
    "sarif": ".sarif",
    "junit": ".xml",
    "markdown": ".md",
    "html": ".html",
}


@pytest.mark.parametrize("userinfo", [u[1] for u in USERINFO], ids=USERINFO_IDS)
def test_userinfo_in_input_file_is_recorded_masked_in_every_format(
    tmp_path: Path, userinfo: str
) -> None:
    def outputs(info: str, into: Path) -> tuple[int, dict[str, str]]:
        into.mkdir()
        listing = into / "urls.txt"
        listing.write_text(f"http://{info}@127.0.0.1:9/api\n", encoding="utf-8")
        paths = {fmt: into / f"r{ext}" for fmt, ext in EXTENSIONS.items()}
        args = ["audit", "-i", str(listing), "-v"]
        for path in paths.values():
            args += ["-o", str(path)]
        code, console = run(*args)
        _, github = run("audit", "-i", str(listing), "--format", "github")
        texts = {fmt: untimed(path.read_text("utf-8")) for fmt, path in paths.items()}
        return code, {**texts, "console": console, "github": github}

    code, texts = outputs(userinfo, tmp_path / "variant")
    _, reference = outputs(REFERENCE, tmp_path / "reference")
    assert code == 2
    for fmt, text in texts.items():
        assert not SHOWS_PASS[fmt](text), fmt
        assert "http://****@127.0.0.1:9/api" in text, fmt
        assert text == reference[fmt].replace(
            str(tmp_path / "reference"), str(tmp_path / "variant")
        )
    target = json.loads(texts["json"])["targets"][0]
    assert target["errors"][0]["kind"] == "input" and FIX in target["errors"][0]["message"]


def test_userinfo_in_input_file_does_not_stop_the_other_targets(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    with serve_demo() as base:
        listing.write_text(f"http://127:pw@127.0.0.1:9/\n{base}/api/status\n", encoding="utf-8")
        code, out = run("audit", "-i", str(listing), "--format", "json", "--depth", "quick")
    report = json.loads(out)
    bad, good = report["targets"]
    assert code == 2
    assert bad["url"] == "http://****@127.0.0.1:9/" and not bad["passed"]
    assert bad["errors"][0]["kind"] == "input"
    assert good["requests"] > 0 and not good["errors"]
    assert not report["summary"]["passed"]
    assert "pw@" not in out


def test_userinfo_in_policy_file_target_is_an_input_error_at_its_line(tmp_path: Path) -> None:
    policy = tmp_path / "corscheck.toml"
    policy.write_text(
        '[policy]\norigins = ["https://app.example.com"]\n\n'
        '[[targets]]\nurl = "http://http:a@127.0.0.1:9/"\n',
        encoding="utf-8",
    )
    code, out = run("audit", "-p", str(policy), "--format", "json")
    target = json.loads(out)["targets"][0]
    assert code == 2
    assert target["url"] == "http://****@127.0.0.1:9/" and target["source"]["line"] == 5
    assert target["errors"][0]["kind"] == "input" and not target["passed"]
    code, out = run("audit", "-p", str(policy), "--print-policy")
    assert code == 0 and "http://****@127.0.0.1:9/" in out and "http:a@" not in out


# --- no evidence, no pass ------------------------------------------------------------------------

MODEL = [
    # (requests_sent, errors, findings?, passed, error kinds)
    (0, (), False, False, ["input"]),  # nothing sent: not audited, whatever built it
    (2, (), False, True, []),
    (0, (TargetErrorRecord("connect", "refused"),), False, False, ["connect"]),
    (3, (TargetErrorRecord("timeout", "slow"),), False, False, ["timeout"]),
]


@pytest.mark.parametrize(("requests", "errors", "findings", "passed", "kinds"), MODEL)
def test_a_target_passes_only_with_a_request_made(
    requests: int,
    errors: tuple[TargetErrorRecord, ...],
    findings: bool,
    passed: bool,
    kinds: list[str],
) -> None:
    del findings
    target = TargetReport("http://127.0.0.1:9/", None, errors=errors, requests_sent=requests)
    report = Report("1", "t", "standard", "medium", targets=(target,))
    assert target.passed is passed and report.passed is passed
    assert [e.kind for e in target.errors] == kinds
    assert encode_report(report)["summary"]["passed"] is passed
    assert encode_report(report)["targets"][0]["passed"] is passed
    if not requests and not errors:
        assert target.errors[0].message == NOTHING_SENT


@pytest.mark.parametrize("fmt", sorted(SHOWS_PASS))
@pytest.mark.parametrize(("requests", "passes"), [(0, False), (1, True)], ids=["none", "one"])
def test_no_format_shows_a_target_without_requests_as_passed(
    fmt: str, requests: int, passes: bool
) -> None:
    target = TargetReport("http://127.0.0.1:9/", None, requests_sent=requests)
    report = Report("1", "t", "standard", "medium", targets=(target,))
    assert SHOWS_PASS[fmt](renderer(fmt)(report)) is passes


def test_audit_where_no_request_is_sent_is_not_audited(monkeypatch: pytest.MonkeyPatch) -> None:
    import corscheck.audit

    # Whatever the cause (here: a plan with nothing to send), no request made means no verdict.
    monkeypatch.setattr(corscheck.audit, "plan_target", lambda *args, **kwargs: [])
    code, out = run("audit", "http://127.0.0.1:9/", "--format", "json")
    target = json.loads(out)["targets"][0]
    assert code == 2
    assert not target["passed"] and target["requests"] == 0
    assert target["errors"] == [{"kind": "input", "message": NOTHING_SENT}]
    code, out = run("audit", "http://127.0.0.1:9/")
    assert code == 2 and not SHOWS_PASS["console"](out) and "could not be audited" in out


def test_merge_does_not_pass_a_target_without_requests(tmp_path: Path) -> None:
    # A report of an older corscheck: the userinfo target "passed" with 0 requests, password shown.
    old = json.loads(
        renderer("json")(
            Report("0.0.1", "2026-01-01T00:00:00+00:00", "standard", "medium",
                   targets=(TargetReport("http://u:pw@127.0.0.1:9/", None, requests_sent=1),))
        )
    )  # fmt: skip
    old["targets"][0]["requests"] = old["summary"]["requests"] = 0
    old["targets"][0]["passed"] = old["summary"]["passed"] = True
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    code, out = run("merge", str(path), "--format", "json")
    merged = json.loads(out)
    assert code == 2
    assert not merged["summary"]["passed"] and not merged["targets"][0]["passed"]
    assert merged["targets"][0]["url"] == "http://****@127.0.0.1:9/"
    code, out = run("merge", str(path))
    assert not SHOWS_PASS["console"](out) and "pw@" not in out


# --- userinfo the server sends back (redirect Location lines) -------------------------------------


@pytest.mark.parametrize("userinfo", [u[1] for u in USERINFO], ids=USERINFO_IDS)
def test_userinfo_in_a_redirect_location_is_masked_everywhere(
    cors_server: CorsServer, tmp_path: Path, userinfo: str
) -> None:
    def outputs(info: str, into: Path) -> dict[str, str]:
        cors_server.route(
            "/r",
            options=Reply(204, ["Access-Control-Allow-Origin: {origin}"]),
            actual=Reply(
                302,
                [f"Location: http://{info}@127.0.0.1:{{port}}/next",
                 "Access-Control-Allow-Origin: {origin}"],
            ),
        )  # fmt: skip
        into.mkdir()
        paths = {fmt: into / f"r{ext}" for fmt, ext in EXTENSIONS.items()}
        args = ["audit", cors_server.url("/r"), "-v", "--depth", "quick"]
        for path in paths.values():
            args += ["-o", str(path)]
        _, console = run(*args)
        probe_args = ["probe", cors_server.url("/r"), "--origin", "https://app.example.com"]
        _, probe_console = run(*probe_args)
        _, probe_json = run(*probe_args, "--format", "json")
        texts = {fmt: path.read_text("utf-8") for fmt, path in paths.items()}
        texts.update(console=console, probe=probe_console, probe_json=probe_json)
        return {fmt: untimed(text) for fmt, text in texts.items()}

    texts = outputs(userinfo, tmp_path / "variant")
    reference = outputs(REFERENCE, tmp_path / "reference")
    for fmt, text in texts.items():
        assert f"{userinfo}@" not in text, fmt
        assert text == reference[fmt], fmt
    probe = json.loads(texts["probe_json"])
    assert probe["browser"]["allowed"] is False and "****@127.0.0.1" in probe["browser"]["reason"]
    (hop,) = probe["exchange"]["hops"]
    location = [v for n, v in hop["response"]["headers"] if n == "Location"]
    assert location == [f" http://****@127.0.0.1:{cors_server.port}/next"]


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:pa55word@api.example.com/v1?access_token=t0k3n-canary&page=2",
        "https://alice:pa55word@api.example.com/v1?api_key=t0k3n-canary",
        "ftp://alice:pa55word@api.example.com/?session=t0k3n-canary",
    ],
)
def test_a_refused_url_shows_neither_userinfo_nor_secret_query_values(url: str) -> None:
    with pytest.raises(UsageError) as raised:
        validate_url(url)
    message = str(raised.value)
    assert "pa55word" not in message and "alice" not in message
    assert "t0k3n-canary" not in message and "****" in message
    code, output = run("audit", url)
    assert code == 2 and "t0k3n-canary" not in output and "pa55word" not in output
