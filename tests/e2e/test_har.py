"""HAR recordings (issue 33): Playwright records a real page on one origin calling an API on
another, a credentialed GET and a PUT with Content-Type: application/json and Authorization;
`init --from-har` writes the policy that recording implies, and `audit --har` audits the recorded
URLs with those requests. Nothing of the recorded header values comes back."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from typer.testing import CliRunner

from corscheck.cli import app as cli
from tests import required

from .headless import launch
from .servers import serve_asgi

pytestmark = [pytest.mark.chromium]
CHROMIUM = required.chromium(module_level=True)
SYNC_API = required.playwright_sync_api(module_level=True)

TOKEN = "Bearer har-s3cr3t-token"


def api(front_end: str) -> FastAPI:
    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[front_end],
        allow_credentials=True,
        allow_methods=["GET", "PUT"],
        allow_headers=["Content-Type", "Authorization"],
    )

    @app.get("/api/me")
    def me() -> dict[str, str]:
        return {"user": "alice"}

    @app.put("/api/items/1")
    def put_item() -> dict[str, bool]:
        return {"ok": True}

    return app


def front_end_page() -> Starlette:
    return Starlette(routes=[Route("/", lambda request: HTMLResponse("<h1>front-end</h1>"))])


CALLS = """async ([api, token]) => {
  const me = await fetch(api + "/api/me?session=1", {credentials: "include"});
  const put = await fetch(api + "/api/items/1", {method: "PUT", credentials: "include",
    headers: {"Content-Type": "application/json", "Authorization": token},
    body: JSON.stringify({name: "x"})});
  return [me.status, put.status];
}"""


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """The HAR, the API's base URL and the front-end's origin; the servers stay up for the test."""
    har = tmp_path / "front-end.har"
    with serve_asgi(front_end_page()) as page_base:
        front_end = page_base.replace("127.0.0.1", "localhost")
        with serve_asgi(api(front_end)) as api_base:
            playwright, browser = launch(SYNC_API)
            try:
                context = browser.new_context(record_har_path=str(har))
                page = context.new_page()
                page.goto(front_end + "/")
                assert page.evaluate(CALLS, [api_base, TOKEN]) == [200, 200]
                context.close()
            finally:
                browser.close()
                playwright.stop()
            yield har, api_base, front_end


def test_init_from_har_writes_the_policy_the_recording_implies(
    recording: tuple[Path, str, str], tmp_path: Path
) -> None:
    har, api_base, front_end = recording
    out = tmp_path / "corscheck.toml"
    result = CliRunner().invoke(cli, ["init", "--from-har", str(har), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "s3cr3t" not in text and "s3cr3t" not in result.output
    policy = tomllib.loads(text)
    assert policy["policy"]["origins"] == [front_end]
    assert policy["policy"]["methods"] == ["GET", "PUT"]
    assert policy["policy"]["headers"] == ["authorization", "content-type"]
    assert policy["policy"]["credentials"] is True
    targets = {t["url"]: t.get("policy") for t in policy["targets"]}
    assert targets == {
        f"{api_base}/api/me": {"methods": ["GET"], "headers": []},
        f"{api_base}/api/items/1": {"methods": ["PUT"]},
    }


def test_audit_har_audits_the_recorded_calls_as_the_front_end_sends_them(
    recording: tuple[Path, str, str],
) -> None:
    har, api_base, _ = recording
    result = CliRunner().invoke(cli, ["audit", "--har", str(har), "-f", "json", "--depth", "quick"])
    assert "s3cr3t" not in result.output
    report = json.loads(result.stdout)
    assert report["settings"]["policy"].endswith("narrowed per route by the HAR recording"), report[
        "settings"
    ]
    urls = {t["url"] for t in report["targets"]}
    assert urls == {f"{api_base}/api/me", f"{api_base}/api/items/1"}
    assert result.exit_code == 0, [f["rule"] for t in report["targets"] for f in t["findings"]]
