"""The allow-list where it is written (witness.py, written.py, nginxconf.py, appconfig.py): regex
witnesses under each framework's match rule, the mended regex, the readers, and the two rules
(regex-origin, grant-beyond-code) firing and quiet through whole in-process audits."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.written import Entry, WrittenAllowList

WRITTEN_RULES = {"regex-origin", "grant-beyond-code"}

# --- a regex Python cannot try in time --------------------------------------------------------


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


# --- init --from-app ----------------------------------------------------------------------------


def test_init_from_app_writes_a_policy_that_loads_back(project: Path) -> None:
    spec = _write(project, "written_init", LITESTAR_APP)
    result = CliRunner().invoke(app, ["init", "--from-app", spec])
    assert result.exit_code == 0, result.output
    text = (project / "corscheck.toml").read_text()
    assert 'origins = ["https://app.example.com"]' in text
    assert "https://corscheckexample-partner.com (wildcard)" in text
    assert "placeholder" not in text
