"""The command line through typer's CliRunner, and one subprocess smoke test of the entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corscheck import __version__
from corscheck.cli import app
from corscheck.demo import serve_demo
from tests.cors_server import CorsServer, Reply

runner = CliRunner()


@pytest.fixture
def unused_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    output = result.stdout + (result.stderr or "")
    assert "Traceback" not in output
    return result.exit_code, output


def test_version() -> None:
    code, out = invoke("--version")
    assert code == 0
    assert out.strip() == f"corscheck {__version__}"


def test_entry_point_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "corscheck", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert __version__ in done.stdout


def test_demo_shows_at_least_six_rules() -> None:
    code, out = invoke("demo", "--format", "json")
    assert code == 0
    report = json.loads(out)
    rules = {f["rule"] for t in report["targets"] for f in t["findings"]}
    assert "any-origin-with-credentials" in rules
    assert len(rules) >= 6
    assert report["schema"] == "corscheck.report/1"


def test_demo_console_report_is_plain_when_piped() -> None:
    code, out = invoke("demo")
    assert code == 0
    assert "\x1b[" not in out
    assert "CRITICAL" in out and "any-origin-with-credentials" in out
    assert "Summary:" in out


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("medium", 1), ("critical", 1), ("never", 0)],
    ids=["medium", "critical", "never"],
)
def test_audit_exit_code_follows_fail_on(fail_on: str, expected: int) -> None:
    with serve_demo() as base:
        code, _ = invoke("audit", base + "/api/profile", "--fail-on", fail_on, "--depth", "quick")
    assert code == expected


def test_audit_passes_clean_target_with_policy() -> None:
    with serve_demo() as base:
        code, out = invoke(
            "audit", base + "/api/status",
            "--allow-origin", "https://app.example.com",
            "--allow-method", "GET", "--allow-method", "POST", "--allow-method", "PUT",
            "--allow-header", "Content-Type", "--allow-header", "Authorization",
            "--expose-header", "X-Request-Id", "--credentials", "--max-age", "7200",
        )  # fmt: skip
    assert code == 0, out
    assert "PASSED" in out


def test_unreachable_target_is_exit_3_and_others_still_audited(unused_port: int) -> None:
    with serve_demo() as base:
        code, out = invoke(
            "audit", f"http://127.0.0.1:{unused_port}/", base + "/api/status", "--fail-on", "critical",
            "--format", "json", "--timeout", "2",
        )  # fmt: skip
    assert code == 3
    report = json.loads(out)
    errors = [t["errors"] for t in report["targets"]]
    assert errors[0][0]["kind"] == "connect"
    assert errors[1] == []
    assert report["targets"][1]["checks"]


def test_input_file_comments_blanks_duplicates(tmp_path: Path) -> None:
    with serve_demo() as base:
        listing = tmp_path / "urls.txt"
        listing.write_text(
            f"# demo\n\n{base}/api/status\n{base}/api/status\n  {base}/api/embed  \n"
        )
        code, out = invoke("audit", "-i", str(listing), "--format", "json", "--depth", "quick")
    report = json.loads(out)
    assert [t["url"] for t in report["targets"]] == [f"{base}/api/status", f"{base}/api/embed"]
    assert code in (0, 1)


def test_secret_header_is_masked_everywhere(tmp_path: Path) -> None:
    canary = "canary-secret-4242"
    json_path = tmp_path / "r.json"
    with serve_demo() as base:
        _code, out = invoke(
            "audit", base + "/api/profile", "-H", f"Authorization: Bearer {canary}",
            "-o", str(json_path), "-v", "--depth", "quick", "--detail", "full",
        )  # fmt: skip
    assert canary not in out
    assert canary not in json_path.read_text()
    assert "****" in json_path.read_text()


BAD_INPUT = [
    ("no-scheme", ["audit", "example.com/x"], "no scheme"),
    ("bad-scheme", ["audit", "ftp://example.com/"], "not http, https, ws or wss"),
    ("space", ["audit", "http://exa mple.com/"], "whitespace"),
    ("empty", ["audit", ""], "empty URL"),
    ("ipv6-unbracketed", ["audit", "http://::1:80/"], "URL"),
    ("no-url", ["audit"], "no URL"),
    ("header-no-colon", ["audit", "http://127.0.0.1:9/", "-H", "Authorization"], "no colon"),
    (
        "bad-origin",
        ["audit", "http://127.0.0.1:9/", "--allow-origin", "app.example.com"],
        "no scheme",
    ),
    ("bad-rate", ["audit", "http://127.0.0.1:9/", "--rate", "fast"], "--rate"),
    ("bad-concurrency", ["audit", "http://127.0.0.1:9/", "--concurrency", "0"], "concurrency"),
    ("bad-timeout", ["audit", "http://127.0.0.1:9/", "--timeout", "-1"], "timeout"),
    ("bad-format", ["audit", "http://127.0.0.1:9/", "--format", "yaml"], "unknown format"),
    ("bad-output-ext", ["audit", "http://127.0.0.1:9/", "-o", "report.pdf"], "extension"),
    ("missing-input", ["audit", "-i", "/nonexistent/urls.txt"], "cannot read"),
    ("probe-bad-origin", ["probe", "http://127.0.0.1:9/", "--origin", "nope"], "origin"),
    ("probe-bad-url", ["probe", "nope", "--origin", "https://a.example"], "no scheme"),
    ("unknown-rule", ["rules", "no-such-rule"], "no rule"),
    (
        "probe-bad-timeout",
        ["probe", "http://127.0.0.1:9/", "--origin", "https://a.example", "--timeout", "0"],
        "timeout",
    ),
    (
        "probe-bad-format",
        ["probe", "http://127.0.0.1:9/", "--origin", "https://a.example", "--format", "yaml"],
        "format",
    ),
    ("init-bad-url", ["init", "--from-url", "nope", "--origin", "https://a.example"], "no scheme"),
    (
        "init-bad-origin",
        ["init", "--from-url", "http://127.0.0.1:9/", "--origin", "a.example"],
        "origin",
    ),
    ("init-origin-alone", ["init", "--origin", "https://a.example"], "--from-url"),
    ("merge-missing-file", ["merge", "/nonexistent/shard.json"], "cannot read"),
    ("merge-nothing", ["merge"], "missing argument"),
    ("unknown-option", ["audit", "--nope"], "no option --nope"),
    ("unknown-command", ["adit"], "no command 'adit'"),
    ("bad-depth", ["audit", "http://127.0.0.1:9/", "--depth", "deep"], "--depth"),
    ("bad-max-age", ["audit", "http://127.0.0.1:9/", "--max-age", "-1"], "--max-age"),
    ("probe-no-origin", ["probe", "http://127.0.0.1:9/"], "--origin"),
    ("demo-bad-format", ["demo", "--format", "yaml"], "unknown format"),
    ("demo-bad-output", ["demo", "-o", "demo.pdf"], "extension"),
    ("audit-bad-shard", ["audit", "http://127.0.0.1:9/", "--shard", "5/4"], "--shard"),
    (
        "audit-bad-policy-file",
        ["audit", "http://127.0.0.1:9/", "-p", "/nonexistent.toml"],
        "cannot read",
    ),
    ("audit-bad-app", ["audit", "--app", "nope"], "module:attribute"),
]


@pytest.mark.parametrize(
    ("args", "message"), [b[1:] for b in BAD_INPUT], ids=[b[0] for b in BAD_INPUT]
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    """Every error in one style: `corscheck: error: …` on one line, an optional hint line."""
    code, out = invoke(*args)
    assert code == 2, out
    assert message in out
    lines = out.splitlines()
    assert lines[0].startswith("corscheck: error: "), out
    assert len(lines) <= 2 and all(line.startswith("corscheck: hint: ") for line in lines[1:]), out


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["audit", "--no-proxi"], "did you mean '--no-proxy'"),
        (["adit"], "did you mean 'audit'?"),
        (["rules", "any-origin-with-credential"], "'any-origin-with-credentials'"),
        (["audit", "http://127.0.0.1:9/", "--ignore", "untrusted-orign"], "'untrusted-origin'"),
    ],
    ids=["option", "command", "rule", "ignore-rule"],
)
def test_did_you_mean(args: list[str], hint: str) -> None:
    code, out = invoke(*args)
    assert code == 2
    assert out.splitlines()[1].startswith("corscheck: hint: did you mean")
    assert hint in out


def test_help_names_what_goes_there() -> None:
    for command in ("audit", "probe", "demo", "init", "merge", "rules"):
        code, out = invoke(command, "--help")
        assert code == 0
        for bad in ("<str>", "<int", "<float", "range>", "[x>=", "[x<", "{url}", "[urls]", "\\["):
            assert bad not in out, (command, bad)
    _, out = invoke("audit", "--help")
    assert "Usage: corscheck audit [OPTIONS] [URL…]" in out
    for panel in ("Policy:", "Requests:", "Output:", "Politeness:", "In-process:", "Exit codes:"):
        assert panel in out
    assert "-i, --input FILE" in out and "--rate N/s" in out and "--shard K/N" in out


def test_a_usage_error_names_no_environment_variable() -> None:
    """Older typer wrote "(env var: 'None')" into every usage error (pyproject.toml's floor)."""
    code, out = invoke("audit", "--depth", "deep", "http://127.0.0.1:9/")
    assert code == 2 and "'deep' is not one of quick, standard, thorough" in out
    assert "env var" not in out


def test_command_descriptions_are_whole() -> None:
    _, out = invoke("--help")
    commands = out.split("Commands:")[1]
    assert "..." not in commands


def test_bad_line_in_input_file_is_recorded_and_others_audited(tmp_path: Path) -> None:
    with serve_demo() as base:
        listing = tmp_path / "urls.txt"
        listing.write_text(f"ftp://nope.example/\n{base}/api/status\n")
        code, out = invoke("audit", "-i", str(listing), "--format", "json", "--depth", "quick")
    report = json.loads(out)
    assert code == 2
    assert report["targets"][0]["errors"][0]["kind"] == "input"
    assert report["targets"][1]["checks"] and not report["targets"][1]["errors"]


def test_binary_input_file(tmp_path: Path) -> None:
    binary = tmp_path / "urls.bin"
    binary.write_bytes(b"\x00\x01\x02http")
    code, out = invoke("audit", "-i", str(binary))
    assert code == 2
    assert "binary" in out


def test_unwritable_output(tmp_path: Path) -> None:
    with serve_demo() as base:
        code, out = invoke(
            "audit", base + "/api/status", "-o", str(tmp_path / "missing" / "r.json")
        )
    assert code == 2
    assert "cannot write" in out


def test_rules_lists_catalog_and_explains_one() -> None:
    code, out = invoke("rules")
    assert code == 0 and "any-origin-with-credentials" in out and "allowed-origin-refused" in out
    code, out = invoke("rules", "null-origin")
    assert code == 0 and "sandboxed iframe" in out and "Fix:" in out


def test_a_rule_s_regex_is_shown_as_written_not_taken_for_markup() -> None:
    code, out = invoke("rules", "untrusted-origin")
    assert code == 0 and r"^https://([a-z0-9-]+\.)*example\.com$" in " ".join(out.split())


def test_probe_json_contract() -> None:
    with serve_demo() as base:
        code, out = invoke(
            "probe", base + "/api/profile", "--origin", "https://evil.example", "--credentials",
            "--format", "json",
        )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["browser"]["allowed"] is True
    assert result["browser"]["preflight"] is False
    assert result["browser"]["reason"] is None
    assert result["request"]["origin"] == "https://evil.example"
    (hop,) = result["exchange"]["hops"]
    lines = [[name, value.strip()] for name, value in hop["response"]["headers"]]
    assert ["Access-Control-Allow-Origin", "https://evil.example"] in lines


def test_probe_unsafe_method_not_sent_without_flag() -> None:
    with serve_demo() as base:
        code, out = invoke(
            "probe", base + "/api/status", "--origin", "https://app.example.com", "--method", "PUT",
            "--format", "json",
        )  # fmt: skip
    result = json.loads(out)
    assert code == 0
    assert result["browser"]["preflight"] is True
    assert result["browser"]["actual_checked"] is False
    assert [h["kind"] for h in result["exchange"]["hops"]] == ["preflight"]
    assert result["exchange"]["unsent"]["method"] == "PUT"


@pytest.mark.parametrize(("status", "retry_after"), [(429, None), (503, "1")])
def test_probe_sends_a_rate_limited_request_once_and_judges_it(
    cors_server: CorsServer, status: int, retry_after: str | None
) -> None:
    """A page's fetch() is sent once and refused on a rate-limited answer without CORS headers:
    probe does the same, and says why (issue 34)."""
    lines = [f"Retry-After: {retry_after}"] if retry_after else []
    cors_server.route("/limited", actual=Reply(status, lines))
    code, out = invoke(
        "probe", cors_server.url("/limited"), "--origin", "https://app.example.com",
        "--format", "json",
    )  # fmt: skip
    assert len(cors_server.requests_for("/limited")) == 1
    result = json.loads(out)
    assert code == 0
    assert result["browser"]["allowed"] is False
    assert result["browser"]["reason_id"] == "CHECK-ACAO-MISSING"
    assert any("rate-limited this request" in note for note in result["browser"]["notes"])


def test_probe_does_not_retry_a_refused_connection(unused_port: int) -> None:
    from corscheck.probe import PROBE_OPTIONS

    assert (PROBE_OPTIONS.retries, PROBE_OPTIONS.rate_limit_tries) == (0, 0)


@pytest.mark.parametrize("name", ["report.sarif", "report.json", "report.html"])
def test_an_output_into_a_missing_folder_is_refused_before_anything_is_sent(
    cors_server: CorsServer, tmp_path: Path, name: str
) -> None:
    """Not after the whole audit, losing its report (issue 34)."""
    cors_server.route("/x", actual=Reply(200))
    missing = tmp_path / "no-such-folder" / name
    code, out = invoke("audit", cors_server.url("/x"), "-o", str(missing))
    assert code == 2
    assert "there is no folder" in out and len(out.strip().splitlines()) == 1
    assert cors_server.requests == []


def test_an_output_into_an_existing_folder_is_written(
    cors_server: CorsServer, tmp_path: Path
) -> None:
    cors_server.route("/x", actual=Reply(200))
    code, _ = invoke(
        "audit", cors_server.url("/x"), "--depth", "quick", "-o", str(tmp_path / "r.sarif")
    )
    assert code == 0 and (tmp_path / "r.sarif").exists()


def test_probe_unreachable_is_exit_3(unused_port: int) -> None:
    code, out = invoke(
        "probe",
        f"http://127.0.0.1:{unused_port}/",
        "--origin",
        "https://a.example",
        "--timeout",
        "2",
    )
    assert code == 3
    assert "connection refused" in out
    assert len(out.strip().splitlines()) == 1


def test_probe_header_without_colon_is_exit_2() -> None:
    code, out = invoke(
        "probe", "http://127.0.0.1:9/", "--origin", "https://a.example", "-H", "X-Api"
    )
    assert code == 2
    assert "no colon" in out
