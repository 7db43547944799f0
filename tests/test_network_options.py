"""The network options `audit` and `probe` share are one definition: same names, same help."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from corscheck.cli import app

# --app and --base-url mean the same, but probe's texts are its own: it has no -i and no --openapi.
SHARED = ["--proxy", "--no-proxy", "--insecure", "--timeout", "--header"]


def _options(command: str) -> dict[str, Any]:
    group: Any = typer.main.get_command(app)  # typer's own click: compared by shape, not class
    found = {}
    for param in group.commands[command].params:
        if param.param_type_name == "option":
            for name in param.opts:
                found[name] = param
    return found


@pytest.mark.parametrize("name", SHARED)
def test_audit_and_probe_share_the_network_options(name: str) -> None:
    audit, probe = _options("audit")[name], _options("probe")[name]
    assert (audit.opts, audit.help, audit.default) == (probe.opts, probe.help, probe.default)


def test_probe_says_its_in_process_options_in_its_own_terms() -> None:
    for name in ("--app", "--base-url"):
        audit, probe = _options("audit")[name], _options("probe")[name]
        assert (audit.opts, audit.default) == (probe.opts, probe.default)
        assert "-i" not in probe.help and "--openapi" not in probe.help


@pytest.fixture
def echo_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "probe_target.py").write_text(
        textwrap.dedent(
            """
            from starlette.applications import Starlette
            from starlette.middleware import Middleware
            from starlette.middleware.cors import CORSMiddleware
            from starlette.responses import PlainTextResponse
            from starlette.routing import Route

            async def items(request):
                return PlainTextResponse("ok")

            app = Starlette(
                routes=[Route("/api/items", items)],
                middleware=[Middleware(CORSMiddleware, allow_origins=["https://app.example.com"])],
            )
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "probe_target:app"
    sys.modules.pop("probe_target", None)


def test_probe_app(echo_app: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            *("probe", "/api/items", "--origin", "https://app.example.com"),
            *("--app", echo_app, "--format", "json"),
        ],
    )
    assert result.exit_code == 0, result.output
    probe = json.loads(result.stdout)
    assert probe["browser"]["allowed"] is True
    # In-process, the app stands for its https deployment; the note names the URL given.
    assert probe["request"]["url"] == "https://testserver/api/items"
    assert any("the URL audited is http://testserver" in n for n in probe["browser"]["notes"])


def test_as_is_judges_the_in_process_url_as_given(echo_app: str) -> None:
    """--as-is: the http URL as it is, for probe and audit alike; an https page is then mixed
    content for it, and the report's head says how it judged."""
    args = ["--origin", "https://app.example.com", "--app", echo_app, "--format", "json"]
    result = CliRunner().invoke(app, ["probe", "/api/items", *args, "--as-is"])
    assert result.exit_code == 0, result.output
    probe = json.loads(result.stdout)
    assert probe["request"]["url"] == "http://testserver/api/items"
    assert probe["browser"]["allowed"] is False  # mixed content, before any CORS check
    audit_args = ["audit", "/api/items", "--app", echo_app, "-f", "json", "--fail-on", "never"]
    report = json.loads(CliRunner().invoke(app, [*audit_args, "--as-is"]).stdout)
    assert report["targets"][0]["url"] == "http://testserver/api/items"
    assert "--as-is" in report["settings"]["deployment"]
    report = json.loads(CliRunner().invoke(app, audit_args).stdout)
    assert report["targets"][0]["url"] == "https://testserver/api/items"
    assert "served over https" in report["settings"]["deployment"]
