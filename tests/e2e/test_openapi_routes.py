"""`audit --openapi`: every route of a FastAPI app's document is audited with the methods and headers
its calls need, over a real loopback server and in-process; and `assert_cors(routes="openapi")`."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.testing import assert_cors

from .servers import serve_asgi

ITEMS_API = """
    from typing import Annotated

    from fastapi import Depends, FastAPI, Header
    from fastapi.middleware.cors import CORSMiddleware
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import BaseModel

    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["https://app.example.com"],
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Content-Type", "Authorization"],
    )
    bearer = HTTPBearer()


    class Item(BaseModel):
        name: str


    @app.get("/items")
    def list_items() -> list[Item]:
        return []


    @app.post("/items")
    def create_item(item: Item) -> Item:
        return item


    @app.put("/items/{item_id}")
    def replace_item(item_id: int, item: Item, x_tenant: Annotated[str, Header()]) -> Item:
        return item


    @app.delete("/admin/users/{user_id}")
    def delete_user(
        user_id: int, credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]
    ) -> None:
        return None
"""
POLICY = ["--allow-origin", "https://app.example.com", "--credentials"]


@pytest.fixture
def items_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    (tmp_path / "openapi_items_api.py").write_text(textwrap.dedent(ITEMS_API), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("openapi_items_api")
    sys.modules.pop("openapi_items_api", None)


def findings_by_route(report: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {
        t["route"]["path"]: [(f["rule"], f["severity"]) for f in t["findings"]]
        for t in report["targets"]
    }


EXPECTED = {
    "/items": [],
    "/items/{item_id}": [("allowed-header-refused", "high")],
    "/admin/users/{user_id}": [],
}


def check(report: dict[str, Any]) -> None:
    assert findings_by_route(report) == EXPECTED
    routes = {t["route"]["path"]: t for t in report["targets"]}
    assert routes["/items"]["route"]["methods"] == ["GET", "POST"]
    assert routes["/items/{item_id}"]["policy"]["sends"] == {
        "methods": ["PUT"],
        "headers": ["x-tenant", "Content-Type"],
    }
    assert routes["/admin/users/{user_id}"]["policy"]["sends"]["headers"] == ["Authorization"]
    (refused,) = routes["/items/{item_id}"]["findings"]
    assert "x-tenant" in refused["message"]
    assert routes["/items/{item_id}"]["route"]["filled"] == [
        "item_id = 1 (placeholder for an integer)"
    ]


def test_openapi_over_the_network(items_api: ModuleType) -> None:
    with serve_asgi(items_api.app) as base:
        result = CliRunner().invoke(
            app, ["audit", "--openapi", f"{base}/openapi.json", *POLICY, "-f", "json"]
        )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    check(report)
    assert {t["url"] for t in report["targets"]} == {
        f"{base}/items",
        f"{base}/items/1",
        f"{base}/admin/users/1",
    }


def test_openapi_in_process(items_api: ModuleType) -> None:
    args = ["audit", "--app", "openapi_items_api:app", "--openapi", "/openapi.json", *POLICY]
    result = CliRunner().invoke(app, [*args, "-f", "json"])
    assert result.exit_code == 1, result.output
    check(json.loads(result.stdout))
    console = CliRunner().invoke(app, [*args, "-v"])
    assert "PUT /items/{item_id}" in console.output
    assert "3 targets" in console.output
    # Nothing high elsewhere: with --fail-on high and the one refused header ignored, it passes.
    gated = CliRunner().invoke(
        app, [*args, "--fail-on", "high", "--ignore", "allowed-header-refused"]
    )
    assert gated.exit_code == 0, gated.output


def test_openapi_from_a_file_under_base_url(items_api: ModuleType, tmp_path: Path) -> None:
    document = items_api.app.openapi()
    (tmp_path / "api.json").write_text(json.dumps(document), encoding="utf-8")
    with serve_asgi(items_api.app) as base:
        result = CliRunner().invoke(
            app, ["audit", "--openapi", "api.json", "--base-url", base, *POLICY, "-f", "json"]
        )
        no_base = CliRunner().invoke(app, ["audit", "--openapi", "api.json", *POLICY])
    assert result.exit_code == 1, result.output
    check(json.loads(result.stdout))
    assert no_base.exit_code == 2 and "give the API's --base-url" in no_base.output


def test_openapi_with_urls_is_a_usage_error(items_api: ModuleType) -> None:
    result = CliRunner().invoke(
        app, ["audit", "http://127.0.0.1:9/x", "--openapi", "api.json", *POLICY]
    )
    assert result.exit_code == 2 and "--openapi takes the place of URLs" in result.output


def test_assert_cors_every_route(items_api: ModuleType) -> None:
    policy = {"origins": ["https://app.example.com"], "credentials": True}
    with pytest.raises(AssertionError) as raised:
        assert_cors(items_api.app, policy, routes="openapi", fail_on="high")
    message = str(raised.value)
    assert "1 CORS finding(s) at or above 'high'" in message
    assert "allowed-header-refused" in message and "(PUT /items/{item_id})" in message
