"""The allow-list where it is written (witness.py, written.py, nginxconf.py, appconfig.py): regex
witnesses under each framework's match rule, the mended regex, the readers, and the two rules
(regex-origin, grant-beyond-code) firing and quiet through whole in-process audits."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.errors import UsageError
from corscheck.headers import parse_origin
from corscheck.nginxconf import read_nginx
from corscheck.origins import registrable_domain
from corscheck.witness import (
    MATCH_RULES,
    MatchRule,
    UnsupportedRegex,
    accepts,
    corrected_regex,
    regex_witnesses,
)
from corscheck.written import Entry, WrittenAllowList, unreadable_regexes, witnesses

WRITTEN_RULES = {"regex-origin", "grant-beyond-code"}

# --- witnesses: the regexes, each under its framework's rule ----------------------------

KNOWN: list[tuple[str, MatchRule, bool, str, str]] = [
    # Starlette fullmatch: a foreign TLD through an alternation.
    (r"https://(app|admin)\.example\.(com|net)", "fullmatch", False, "foreign-domain",
     "https://app.example.net"),
    # django-cors-headers re.match: anchored at the start only.
    (r"^https://\w+\.partner\.io", "match", False, "no-end-anchor",
     "https://a.partner.io.corscheck-attacker.example"),
    # Flask-CORS: a glob read as a regex, re.match ignoring case.
    (r"https://*.example.com", "match", True, "unescaped-dot", "https://xexample.com"),
    (r"https://*.example.com", "match", True, "no-end-anchor",
     "https://xexample.com.corscheck-attacker.example"),
    (r"^https://static\.cdn\.io|https://www\.example\.com$", "match", True, "alternation",
     "https://static.cdn.io.corscheck-attacker.example"),
    # Litestar: "https://*example-partner.com" becomes .* under fullmatch.
    (r"https://.*example\-partner\.com", "fullmatch", False, "wildcard",
     "https://corscheckexample-partner.com"),
    # nginx: PCRE search, ~* ignoring case.
    (r"example-cdn\.net$", "search", False, "no-start-anchor", "https://corscheckexample-cdn.net"),
    (r"^https://(app\.example\.com|assets.examplecdn.net)$", "search", True, "unescaped-dot",
     "https://assetsxexamplecdn.net"),
    (r"https?://app\.example\.com", "fullmatch", False, "http", "http://app.example.com"),
    (r"https://[a-z]+\.github\.io", "fullmatch", False, "hosting-platform",
     "https://corscheck.github.io"),
    (r"http://localhost:\d+", "fullmatch", False, "port", "http://localhost:11"),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "rule", "ignore_case", "kind", "origin"), KNOWN)
def test_each_flaw_has_its_shortest_readable_witness(
    pattern: str, rule: MatchRule, ignore_case: bool, kind: str, origin: str
) -> None:
    found = {w.kind: w.origin for w in regex_witnesses(pattern, rule, ignore_case=ignore_case)}
    assert found.get(kind) == origin, found


@pytest.mark.parametrize(
    ("pattern", "rule"),
    [
        (r"^https://([a-z0-9-]+\.)?example\.com$", "fullmatch"),
        (r"^https://([a-z0-9-]+\.)?example\.com$", "match"),
        (r"^https://([a-z0-9-]+\.)?example\.com$", "search"),
        (r"https://(app|admin)\.example\.com", "fullmatch"),
        (r"^https://(app|admin)\.example\.com$", "search"),
        (r"^https://app\.example\.com$", "match"),
    ],
)
def test_a_correct_regex_has_no_witness(pattern: str, rule: MatchRule) -> None:
    assert regex_witnesses(pattern, rule) == []


def test_the_match_rule_decides_the_missing_end_anchor() -> None:
    """The same regex is exact under fullmatch (Starlette) and open at its end under re.match
    (django-cors-headers): the witness exists only where the framework's rule lets it in."""
    pattern = r"https://app\.example\.com"
    assert regex_witnesses(pattern, "fullmatch") == []
    (witness,) = regex_witnesses(pattern, "match")
    assert witness.kind == "no-end-anchor"
    assert not accepts(pattern, "fullmatch", witness.origin)


def test_the_policy_says_which_alternatives_are_the_owners() -> None:
    pattern = r"https://(app|admin)\.example\.(com|net)"
    assert regex_witnesses(pattern, "fullmatch", owner_origins=["https://app.example.net"]) == []


def test_a_regex_that_backtracks_without_end_is_set_aside_not_waited_for() -> None:
    """Python's re takes exponential time on some regexes (nested repeats): trying it would hang
    the audit before any request, so it is tried in a child process first and set aside."""
    from corscheck.appconfig import tried

    slow = Entry(
        "regex",
        r"^https://([a-z0-9]+[-.]?)*[a-z0-9]+\.example\.com$",
        "origins",
        "app.py:3",
        "match",
    )
    fine = Entry("regex", r"^https://app\.example\.com", "origins", "app.py:4", "match")
    result = tried(WrittenAllowList("flask", "app:app", (slow, fine)))
    assert result.entries == (fine,) and result.untried == (slow,)
    (note,) = result.notes
    assert note.startswith("app.py:3: origins") and "drift is not judged" in note


def test_a_backreference_is_one_clear_line_not_a_guess() -> None:
    with pytest.raises(UnsupportedRegex):
        regex_witnesses(r"https://(a)\1\.example\.com", "fullmatch")
    entry = Entry("regex", r"https://(a)\1\.example\.com", "allow_origin_regex", "app.py:3")
    (line,) = unreadable_regexes(WrittenAllowList("starlette", "app:app", (entry,)))
    assert line.startswith("app.py:3: allow_origin_regex") and "backreference" in line


# Regexes built from the pieces allow-lists are made of: schemes, hosts with escaped or unescaped
# dots, wildcards, alternations, optional anchors.
_SCHEMES = st.sampled_from(["https://", "https?://", "http://", "(http|https)://", ""])
_LABEL = st.sampled_from(["app", "api", "example", "partner", "cdn", "static", "www"])
_TLD = st.sampled_from(["com", "net", "io", "(com|net)", "co\\.uk"])
_DOT = st.sampled_from(["\\.", "."])
_WILD = st.sampled_from(
    ["", ".*", "\\w+\\.", "[a-z0-9-]+\\.", "([a-z0-9-]+\\.)?", "(app|admin)\\."]
)


@st.composite
def _regexes(draw: st.DrawFn) -> str:
    host = draw(_WILD) + draw(_LABEL) + draw(_DOT) + draw(_LABEL) + draw(_DOT) + draw(_TLD)
    core = draw(_SCHEMES) + host
    if draw(st.booleans()):
        core = f"{core}|https://{draw(_LABEL)}\\.example\\.org"
    return draw(st.sampled_from(["", "^"])) + core + draw(st.sampled_from(["", "$"]))


@settings(max_examples=300, deadline=None)
@given(pattern=_regexes(), rule=st.sampled_from(MATCH_RULES), ignore_case=st.booleans())
def test_every_witness_is_granted_valid_and_not_the_owners(
    pattern: str, rule: MatchRule, ignore_case: bool
) -> None:
    owner = ["https://app.example.com"]
    for witness in regex_witnesses(pattern, rule, ignore_case=ignore_case, owner_origins=owner):
        flags = re.IGNORECASE if ignore_case else 0
        assert getattr(re.compile(pattern, flags), rule)(witness.origin), witness
        assert parse_origin(witness.origin) is not None, witness
        assert witness.origin not in owner
        host = parse_origin(witness.origin)[1]  # type: ignore[index]
        if witness.kind not in ("http", "port"):
            assert registrable_domain(host) != "example.com", witness


@settings(max_examples=200, deadline=None)
@given(pattern=_regexes(), rule=st.sampled_from(MATCH_RULES))
def test_the_mended_regex_refuses_the_witnesses(pattern: str, rule: MatchRule) -> None:
    found = regex_witnesses(pattern, rule)
    mended = corrected_regex(pattern, rule, found)
    if mended is None:
        return
    for witness in found:
        assert not accepts(mended, rule, witness.origin), (mended, witness)


def test_the_mended_regex_keeps_what_the_regex_was_written_for() -> None:
    pattern = r"^https://(app\.example\.com|assets.examplecdn.net)$"
    found = regex_witnesses(pattern, "search", ignore_case=True)
    mended = corrected_regex(pattern, "search", found, ignore_case=True)
    assert mended == r"^(?:https://(app\.example\.com|assets\.examplecdn\.net))$"
    assert accepts(mended, "search", "https://assets.examplecdn.net")
    assert not accepts(mended, "search", "https://assetsxexamplecdn.net")


# --- nginx ----------------------------------------------------------------------------------------

NGINX = r"""
http {
  map $http_origin $cors {
    default "";
    "~example-cdn\.net$" $http_origin;   # searched: no start anchor
    "https://app.example.com" $http_origin;
    "~^https://off\.example\.com$" "";
  }
  server {
    location /a/ { add_header Access-Control-Allow-Origin $cors always; }
    location /b/ {
      if ($http_origin ~* "^https://(app\.example\.com|assets.examplecdn.net)$") {
        add_header Access-Control-Allow-Origin $http_origin always;
      }
    }
  }
}
"""


def test_nginx_map_and_if_entries_keep_their_lines_and_rules() -> None:
    read = read_nginx(NGINX, "site.conf")
    assert [(e.kind, e.value, e.where, e.rule, e.ignore_case) for e in read.entries] == [
        ("regex", r"example-cdn\.net$", "site.conf:5", "search", False),
        ("exact", "https://app.example.com", "site.conf:6", "fullmatch", True),
        ("regex", r"^https://(app\.example\.com|assets.examplecdn.net)$", "site.conf:12",
         "search", True),
    ]  # fmt: skip
    assert read.grants("https://corscheckexample-cdn.net") is read.entries[0]
    assert read.grants("https://off.example.com") is None


def test_an_nginx_file_without_a_cors_header_is_one_clear_line() -> None:
    with pytest.raises(UsageError, match="no add_header Access-Control-Allow-Origin"):
        read_nginx("server { listen 80; }", "plain.conf")


@pytest.mark.parametrize(
    ("conf", "entries"),
    [
        # nginx takes the if's parentheses off its first and last argument only.
        (r"server { if ($http_origin ~* (app|admin)\.example\.com) { add_header "
         r"Access-Control-Allow-Origin $http_origin; } }", [("regex", r"(app|admin)\.example\.com")]),
        (r'server { if ( $http_origin ~* "^https://a\.com$" ) { add_header '
         r"Access-Control-Allow-Origin $http_origin; } }", [("regex", r"^https://a\.com$")]),
        # A granting default grants every origin the other entries do not.
        (r'map $http_origin $c { default $http_origin; "~^https://a\.com$" $http_origin; } '
         r"server { add_header Access-Control-Allow-Origin $c; }", [("any", "*"), ("regex", r"^https://a\.com$")]),
        # A map feeding an if that reflects.
        (r'map $http_origin $ok { "~^https://(x|y)\.example\.com$" 1; } server { if ($ok) { '
         r"add_header Access-Control-Allow-Origin $http_origin; } }", [("regex", r"^https://(x|y)\.example\.com$")]),
    ],
)  # fmt: skip
def test_nginx_conditions_as_nginx_reads_them(conf: str, entries: list[tuple[str, str]]) -> None:
    assert [(e.kind, e.value) for e in read_nginx(conf, "c.conf").entries] == entries


def test_a_negative_nginx_guard_is_one_line_not_a_guess() -> None:
    conf = (
        r'server { if ($http_origin !~ "^https://app\.example\.com$") { return 403; } '
        r"add_header Access-Control-Allow-Origin $http_origin; }"
    )
    with pytest.raises(UsageError, match=r"c.conf:1: if \(\$http_origin !~ …\) is a guard"):
        read_nginx(conf, "c.conf")


def test_nginx_reflecting_every_origin_is_an_any_entry() -> None:
    read = read_nginx("server { add_header Access-Control-Allow-Origin $http_origin; }", "r.conf")
    assert [e.kind for e in read.entries] == ["any"]
    assert witnesses(read, ()) == []


# --- apps -----------------------------------------------------------------------------------------

STARLETTE_APP = """
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example.com"],
    allow_origin_regex=r"{regex}",
    allow_credentials=True,
)


@app.get("/api/me")
def me() -> dict[str, str]:
    return {{"user": "alice"}}
"""

FLASK_APP = """
from flask import Flask
from flask_cors import CORS

app = Flask(__name__)
CORS(app, origins=["https://*.example.com", r"^https://static\\.cdn\\.io|https://www\\.example\\.com$"],
     supports_credentials=True)


@app.get("/api/me")
def me():
    return {"user": "alice"}
"""

LITESTAR_APP = """
from litestar import Litestar, get
from litestar.config.cors import CORSConfig


@get("/api/me")
async def me() -> dict[str, str]:
    return {"user": "alice"}


app = Litestar(
    [me],
    cors_config=CORSConfig(
        allow_origins=["https://*example-partner.com", "https://app.example.com"],
        allow_credentials=True,
    ),
    # Litestar's own logging writes from a thread to the stream it found at start-up, which a
    # test's captured stderr is, closed once the test ends.
    logging_config=None,
)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("written_")]:
        sys.modules.pop(name, None)


def _write(project: Path, name: str, text: str) -> str:
    (project / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return f"{name}:app"


def _audit(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["audit", *args, "--depth", "quick", "-f", "json"])
    return result.exit_code, json.loads(result.stdout)


def _findings(report: dict[str, object]) -> list[dict[str, object]]:
    (target,) = report["targets"]  # type: ignore[misc]
    return list(target["findings"])  # type: ignore[index]


def test_a_starlette_regex_with_a_foreign_tld_fires_with_its_location(project: Path) -> None:
    spec = _write(
        project,
        "written_star",
        STARLETTE_APP.format(regex=r"https://(app|admin)\.example\.(com|net)"),
    )
    code, report = _audit(
        "--app", spec, "/api/me", "--allow-origin", "https://app.example.com", "--credentials"
    )
    (finding,) = [f for f in _findings(report) if f["rule"] == "regex-origin"]
    assert code == 1
    assert finding["severity"] == "high"
    assert finding["evidence"]["origin"] == "https://app.example.net"  # type: ignore[index]
    message = str(finding["message"])
    assert "written_star.py:9" in message and "re.fullmatch" in message
    assert r"^(?:https://app\.example\.com|https://admin\.example\.com)$" in str(finding["fix"])


def test_a_correct_regex_gives_nothing_at_medium_or_above(project: Path) -> None:
    spec = _write(
        project,
        "written_good",
        STARLETTE_APP.format(regex=r"^https://([a-z0-9-]+\.)?example\.com$"),
    )
    code, report = _audit(
        "--app", spec, "/api/me", "--allow-origin", "https://app.example.com", "--credentials"
    )
    assert code == 0
    assert [f for f in _findings(report) if f["severity"] in ("critical", "high", "medium")] == []


def test_flask_cors_globs_and_a_half_anchored_alternation(project: Path) -> None:
    spec = _write(project, "written_flask", FLASK_APP)
    _, report = _audit("--app", spec, "/api/me")
    found = {f["evidence"]["origin"] for f in _findings(report) if f["rule"] == "regex-origin"}  # type: ignore[index]
    assert found == {"https://xexample.com", "https://static.cdn.io.corscheck-attacker.example"}


def test_litestar_wildcard_entry(project: Path) -> None:
    spec = _write(project, "written_lite", LITESTAR_APP)
    _, report = _audit("--app", spec, "/api/me")
    (finding,) = [f for f in _findings(report) if f["rule"] == "regex-origin"]
    assert finding["evidence"]["origin"] == "https://corscheckexample-partner.com"  # type: ignore[index]
    assert "allow_origins entry 'https://*example-partner.com'" in str(finding["message"])


QUART_APP = """
import re

from quart import Quart
from quart_cors import cors

app = Quart(__name__)
app = cors(app, allow_origin=["https://app.example.com", re.compile(r"https://\\w+\\.example\\.com")],
           allow_credentials=True)


@app.get("/api/me")
async def me():
    return {"user": "alice"}
"""


def test_quart_cors_compiled_pattern_is_matched_from_the_start_only(project: Path) -> None:
    spec = _write(project, "written_quart", QUART_APP)
    _, report = _audit(
        "--app", spec, "/api/me", "--allow-origin", "https://app.example.com", "--credentials"
    )
    (finding,) = [f for f in _findings(report) if f["rule"] == "regex-origin"]
    assert finding["evidence"]["origin"] == "https://a.example.com.corscheck-attacker.example"  # type: ignore[index]
    assert "written_quart.py:8" in str(finding["message"]) and "re.match" in str(finding["message"])
    assert 'cors(app, allow_origin=[re.compile(r"^(?:https://\\w+\\.example\\.com)$")])' in str(
        finding["fix"]
    )


FLASK_VIEW_APP = """
from flask import Flask
from flask_cors import cross_origin

app = Flask(__name__)


@app.get("/api/me")
@cross_origin(origins=[r"https://.*\\.example\\.com"], supports_credentials=True)
def me():
    return {"user": "alice"}
"""


def test_a_cross_origin_view_is_read_and_its_subdomains_stay_the_owners(project: Path) -> None:
    """@cross_origin's regex under re.match: open at its end; a subdomain the wildcard reaches
    (https://corscheck.example.com) is the owner's and no witness."""
    spec = _write(project, "written_view", FLASK_VIEW_APP)
    _, report = _audit("--app", spec, "/api/me")
    found = [f for f in _findings(report) if f["rule"] == "regex-origin"]
    assert [f["evidence"]["origin"] for f in found] == [
        "https://a.example.com.corscheck-attacker.example"
    ]  # type: ignore[index]
    assert "@cross_origin view me" in str(found[0]["message"])
    assert r"^(?:https://([a-z0-9-]+\.)+example\.com)$" in str(found[0]["fix"])


def test_config_from_a_module_it_cannot_read_is_a_usage_error(project: Path) -> None:
    result = CliRunner().invoke(
        app, ["audit", "http://127.0.0.1:9/", "--config-from", "nowhere_mod:app"]
    )
    assert result.exit_code == 2
    assert "--config-from: no module named 'nowhere_mod'" in result.output


def _drift_audit(code_spec: str, deployed_spec: str, policy: bool = False) -> Any:
    """An in-process audit of `deployed_spec` with `code_spec` as --config-from would give it."""
    from corscheck.appconfig import read_config_source
    from corscheck.audit import audit_targets
    from corscheck.config import AuditConfig
    from corscheck.policy import build_policy
    from corscheck.runner import run_async
    from corscheck.target import Target
    from corscheck.transport import open_transport
    from corscheck.transport.app import load_app

    declared = (
        build_policy(origins=["https://app.example.com"], credentials=True) if policy else None
    )
    config = AuditConfig(
        targets=(Target("http://testserver/api/me", declared),),
        depth="quick",
        written=read_config_source(code_spec),
        drift=True,
    )

    async def run() -> Any:
        async with open_transport(config.options, load_app(deployed_spec)) as transport:
            return await audit_targets(config, transport=transport)

    return run_async(run())


def test_grant_beyond_code_fires_where_another_layer_adds_headers(project: Path) -> None:
    """The code (--config-from) grants one origin; the deployment (here an app that reflects every
    origin, standing for a proxy that adds headers) grants more: drift. The same code as the
    deployment gives none."""
    code_spec = _write(
        project,
        "written_code",
        STARLETTE_APP.format(regex=r"^https://([a-z0-9-]+\.)?example\.com$"),
    )
    deployed = _write(project, "written_deployed", STARLETTE_APP.format(regex=".*"))
    for app_spec, fires in ((deployed, True), (code_spec, False)):
        report = _drift_audit(code_spec, app_spec)
        rules = {f.rule.id for t in report.targets for f in t.findings}
        assert ("grant-beyond-code" in rules) is fires, rules


NO_CORS_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/api/me")
def me() -> dict[str, str]:
    return {"user": "alice"}
"""


def test_what_the_code_grants_and_the_deployment_refuses_is_a_note(project: Path) -> None:
    code_spec = _write(
        project, "written_code_only", STARLETTE_APP.format(regex=r"^https://x\.example\.com$")
    )
    stripped = _write(project, "written_stripped", NO_CORS_APP)
    (target,) = _drift_audit(code_spec, stripped, policy=True).targets
    (note,) = [n for n in target.notes if "but the deployment refused it" in n]
    assert "https://app.example.com through allow_origins at written_code_only.py:8" in note
    (same,) = _drift_audit(code_spec, code_spec, policy=True).targets
    assert not [n for n in same.notes if "deployment refused" in n]


# --- the policy the code declares (init --from-app) ----------------------------------------------


def test_declared_policy_lists_exact_and_spelled_out_origins_and_comments_the_rest() -> None:
    from corscheck.written import declared_policy

    allow_list = WrittenAllowList(
        "starlette",
        "app:app",
        (
            Entry("exact", "https://app.example.com", "allow_origins", "app.py:8"),
            Entry(
                "regex",
                r"https://(admin|ops)\.example\.(com|net)",
                "allow_origin_regex",
                "app.py:9",
            ),
            Entry("regex", r"https://.*example\-partner\.com", "allow_origin_regex", "app.py:10"),
        ),
        credentials=True,
        methods=("GET", "PUT"),
        headers=("*",),
    )
    declared = declared_policy(allow_list)
    assert declared.origins == (
        "https://app.example.com",
        "https://admin.example.com",
        "https://ops.example.com",
    )
    assert declared.methods == ("GET", "PUT") and declared.headers is None
    assert declared.credentials
    (comment,) = declared.comments
    assert "app.py:10" in comment and "https://corscheckexample-partner.com (wildcard)" in comment


def test_init_from_app_writes_a_policy_that_loads_back(project: Path) -> None:
    spec = _write(project, "written_init", LITESTAR_APP)
    result = CliRunner().invoke(app, ["init", "--from-app", spec])
    assert result.exit_code == 0, result.output
    text = (project / "corscheck.toml").read_text()
    assert 'origins = ["https://app.example.com"]' in text
    assert "https://corscheckexample-partner.com (wildcard)" in text
    assert "placeholder" not in text
