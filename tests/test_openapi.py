"""OpenAPI documents → routes (corscheck/openapi.py): servers, path filling, header parameters,
request bodies and security schemes, for 3.0/3.1 and Swagger 2.0, JSON and YAML. Pure."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from corscheck.config import route_policy
from corscheck.errors import UsageError
from corscheck.openapi import document_base, document_routes, load_document, parse_document
from corscheck.plan import plan_target
from corscheck.policy import build_policy
from corscheck.target import Route

OPENAPI_3: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "items", "version": "1"},
    "servers": [{"url": "/{version}", "variables": {"version": {"default": "v2"}}}],
    "components": {
        "parameters": {
            "Tenant": {"name": "X-Tenant", "in": "header", "required": True},
        },
        "schemas": {"Kind": {"type": "string", "enum": ["book", "film"]}},
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "key": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            "session": {"type": "apiKey", "in": "cookie", "name": "sid"},
        },
    },
    "security": [{"key": []}],
    "paths": {
        "/items": {
            "get": {"security": [{}, {"key": []}]},
            "post": {"requestBody": {"content": {"application/json": {}}}},
        },
        "/items/{item_id}": {
            "parameters": [{"name": "item_id", "in": "path", "schema": {"type": "integer"}}],
            "put": {
                "parameters": [{"$ref": "#/components/parameters/Tenant"}],
                "requestBody": {"content": {"application/json": {}}},
            },
        },
        "/kinds/{kind}/{day}": {
            "get": {
                "parameters": [
                    {"name": "kind", "in": "path", "schema": {"$ref": "#/components/schemas/Kind"}},
                    {"name": "day", "in": "path", "schema": {"type": "string", "format": "date"}},
                ],
                "security": [{"session": []}],
            }
        },
        "/users/{name}": {
            "delete": {
                "parameters": [
                    {"name": "name", "in": "path", "example": "ada lovelace"},
                    {"name": "Cookie", "in": "header"},
                ],
                "security": [{"bearer": []}],
            },
            "options": {},
        },
        "/upload": {"post": {"requestBody": {"content": {"multipart/form-data": {}}}}},
    },
}


def routes_of(doc: dict[str, Any], base: str = "http://127.0.0.1:8000/v2") -> dict[str, Route]:
    return {r.path: r for r in document_routes(doc, base)}


def test_openapi_3_routes() -> None:
    routes = routes_of(OPENAPI_3)
    assert list(routes) == [
        "/items",
        "/items/{item_id}",
        "/kinds/{kind}/{day}",
        "/users/{name}",
        "/upload",
    ]
    items = routes["/items"]
    # GET may go without the key ({}), POST inherits the document's security and sends JSON.
    assert (items.methods, items.headers) == (("GET", "POST"), ("Content-Type", "X-Api-Key"))
    item = routes["/items/{item_id}"]
    assert item.url == "http://127.0.0.1:8000/v2/items/1"
    assert item.headers == ("X-Tenant", "Content-Type", "X-Api-Key")
    assert item.filled == ("item_id = 1 (placeholder for an integer)",)
    kinds = routes["/kinds/{kind}/{day}"]
    assert kinds.url.endswith("/kinds/book/2024-01-01")
    assert kinds.filled == (
        "kind = book (from the document's enum)",
        "day = 2024-01-01 (placeholder for a date string)",
    )
    assert kinds.cookie_auth and kinds.headers == ()
    users = routes["/users/{name}"]
    # OPTIONS is not a call the front-end makes; Cookie is a header no page can set.
    assert (users.methods, users.headers) == (("DELETE",), ("Authorization",))
    assert users.url.endswith("/users/ada%20lovelace")
    # multipart/form-data is CORS-safelisted: no Content-Type permission needed.
    assert routes["/upload"].headers == ("X-Api-Key",)


def test_servers_and_base() -> None:
    assert (
        document_base(OPENAPI_3, "http://127.0.0.1:8000/openapi.json") == "http://127.0.0.1:8000/v2"
    )
    assert document_base({"openapi": "3.0.0"}, "http://127.0.0.1:9/docs/api.json") == (
        "http://127.0.0.1:9"
    )
    absolute = {"openapi": "3.0.0", "servers": [{"url": "https://api.example.com/v1"}]}
    assert document_base(absolute, None) == "https://api.example.com/v1"
    assert document_base({"openapi": "3.0.0"}, None) is None


SWAGGER: dict[str, Any] = {
    "swagger": "2.0",
    "host": "127.0.0.1:8080",
    "basePath": "/api",
    "schemes": ["http"],
    "consumes": ["application/json"],
    "securityDefinitions": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
    "paths": {
        "/pets/{petId}": {
            "put": {
                "parameters": [
                    {"name": "petId", "in": "path", "type": "integer", "default": 7},
                    {"name": "body", "in": "body", "schema": {}},
                    {"name": "X-Request-Id", "in": "header", "type": "string"},
                ],
                "security": [{"key": []}],
            }
        }
    },
}


def test_swagger_2() -> None:
    base = document_base(SWAGGER, None)
    assert base == "http://127.0.0.1:8080/api"
    (route,) = document_routes(SWAGGER, base)
    assert route.url == "http://127.0.0.1:8080/api/pets/7"
    assert route.headers == ("X-Request-Id", "Content-Type", "X-Key")
    assert route.filled == ("petId = 7 (from the document's default)",)


def test_route_policy() -> None:
    route = Route("/x", "http://127.0.0.1/x", ("PUT", "DELETE"), ("X-Tenant", "Authorization"))
    open_policy = build_policy(origins=["https://app.example.com"])
    policy = route_policy(open_policy, route)
    assert (policy.sends_methods, policy.sends_headers) == (
        ("PUT", "DELETE"),
        ("X-Tenant", "Authorization"),
    )
    # The policy's own lists stay what is allowed; nothing beyond them is probed when it has none.
    assert policy.methods is None and policy.headers is None
    planned = plan_target(route.url, policy)
    requests = {(p.probe.method, tuple(n for n, _ in p.probe.headers)) for p in planned}
    assert ("PUT", ("X-Tenant", "Authorization")) in requests
    assert ("DELETE", ("X-Tenant", "Authorization")) in requests
    assert all(p.subject != "PATCH" for p in planned)
    narrow = build_policy(
        origins=["https://app.example.com"], methods=["PUT"], headers=["X-Tenant"]
    )
    narrowed = route_policy(narrow, route)
    assert (narrowed.sends_methods, narrowed.sends_headers) == (("PUT",), ("X-Tenant",))
    cookie = Route("/c", "http://127.0.0.1/c", ("GET",), (), cookie_auth=True)
    assert route_policy(open_policy, cookie).credentials is True
    public = build_policy(origins=["*"])
    assert route_policy(public, cookie).credentials is False


YAML_DOC = """\
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /health:
    get: {}
"""


def test_yaml_documents(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(YAML_DOC, encoding="utf-8")
    document, fetched_from = load_document(str(path))
    assert fetched_from is None
    assert [r.path for r in document_routes(document, "http://127.0.0.1")] == ["/health"]


def test_yaml_without_pyyaml_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(UsageError, match=r"pip install 'corscheck\[yaml\]'"):
        parse_document(YAML_DOC, "api.yaml")
    # JSON needs nothing extra.
    assert parse_document(json.dumps(OPENAPI_3), "api.json")["openapi"] == "3.1.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"info": {}}', "not an OpenAPI document"),
        ('{"openapi": "3.0.0", "paths": []}', "'paths' must be an object"),
    ],
    ids=["bad-json", "not-openapi", "bad-paths"],
)
def test_bad_documents(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_document(text, "api.json")


def test_ref_cycles_end() -> None:
    doc = {
        "openapi": "3.0.0",
        "components": {"parameters": {"A": {"$ref": "#/components/parameters/A"}}},
        "paths": {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/A"}]}}},
    }
    (route,) = document_routes(doc, "http://127.0.0.1")
    assert route.headers == ()
