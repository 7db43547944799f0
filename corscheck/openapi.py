"""An OpenAPI document (3.0, 3.1, or Swagger 2.0) → one route per path, each with what the front-end's
calls to it need: the methods, the request headers (header parameters, a JSON body's Content-Type,
the security schemes' headers) and whether they carry credentials (cookie authentication). Pure,
except `load_document`, which reads the document from a file, a URL or an in-process app.

One route per path, not per operation: CORS is decided per URL, and a browser's preflight for a PUT
and for a DELETE of one path reach the same handler. The route's headers are those of all its
operations, so each of its methods is probed with all of them at once (plan.py "request") and alone
("method"/"header"), and a refused header names the header whichever method carried it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from corscheck.browser import is_forbidden_request_header
from corscheck.errors import TargetError, UsageError
from corscheck.target import Route, validate_url
from corscheck.transport.options import DEFAULT_BASE_URL, RunOptions

if TYPE_CHECKING:
    from corscheck.transport.app import LoadedApp

_METHODS = ("get", "put", "post", "delete", "patch", "head")
_SAFELISTED_CONTENT_TYPES = {
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
}
_PLACEHOLDERS = {
    "integer": "1",
    "number": "1",
    "boolean": "true",
}
_FORMAT_PLACEHOLDERS = {
    "uuid": "00000000-0000-4000-8000-000000000000",
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "email": "corscheck@example.com",
}
_MAX_REF_DEPTH = 32


_MAX_DOCUMENT_BYTES = 32 * 1024 * 1024  # hundreds of routes are a few megabytes


def load_document(
    source: str,
    *,
    options: RunOptions | None = None,
    app: LoadedApp | None = None,
    app_base_url: str = DEFAULT_BASE_URL,
) -> tuple[dict[str, Any], str | None]:
    """The document at `source` (a URL, a file, or with `app` a path the app serves) and the URL it
    was fetched from (None for a file). A URL is fetched through the run's transport, built from
    `options` (its proxy, TLS and timeout settings). Raises UsageError."""
    if "://" not in source and app is None:
        return _read_file(source), None
    from corscheck.runner import run_async
    from corscheck.transport import fetch_document, open_transport

    in_app = app is not None and "://" not in source
    url = app_base_url.rstrip("/") + "/" + source.lstrip("/") if in_app else validate_url(source)

    async def fetch() -> tuple[str, int, bytes]:
        async with open_transport(
            options or RunOptions(), app if in_app else None, app_base_url
        ) as transport:
            return await fetch_document(transport, url, _MAX_DOCUMENT_BYTES)

    try:
        fetched_from, status, body = run_async(fetch())
    except TargetError as error:
        if error.kind == "too-large":
            raise UsageError(f"OpenAPI document {source} is over 32 MiB") from None
        raise UsageError(f"cannot fetch the OpenAPI document {source}: {error}") from None
    if status != 200:
        raise UsageError(f"cannot fetch the OpenAPI document {source}: HTTP {status}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"OpenAPI document {source!r} is not UTF-8 text") from None
    return parse_document(text, source), url if in_app else fetched_from


def _read_file(source: str) -> dict[str, Any]:
    try:
        with open(source, "rb") as handle:
            data = handle.read(_MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise UsageError(f"cannot read the OpenAPI document {source!r}: {error.strerror}") from None
    if len(data) > _MAX_DOCUMENT_BYTES:
        raise UsageError(f"OpenAPI document {source!r} is over 32 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"OpenAPI document {source!r} is not UTF-8 text") from None
    return parse_document(text, source)


def parse_document(text: str, name: str) -> dict[str, Any]:
    """The document as a mapping, from JSON or YAML. Raises UsageError.

    YAML needs PyYAML, an optional extra (`pip install 'corscheck[yaml]'`): JSON covers FastAPI and
    most generated documents, and the parser is not worth a dependency for every install.
    """
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise UsageError(f"OpenAPI document {name}: not valid JSON: {error}") from None
    else:
        try:
            import yaml
        except ImportError:
            raise UsageError(
                f"OpenAPI document {name} is YAML, which needs PyYAML: "
                "pip install 'corscheck[yaml]' (or give the JSON document)"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise UsageError(f"OpenAPI document {name}: not valid YAML: {error}") from None
    if not isinstance(data, dict) or not ("openapi" in data or "swagger" in data):
        raise UsageError(f"{name} is not an OpenAPI document (no 'openapi' or 'swagger' field)")
    if not isinstance(data.get("paths", {}), dict):
        raise UsageError(f"OpenAPI document {name}: 'paths' must be an object")
    return data


def document_base(doc: Mapping[str, Any], fetched_from: str | None) -> str | None:
    """Where the document says the API is served: its first server (3.x; variables at their
    defaults, a relative URL against the document's own URL) or host and basePath (2.0)."""
    if "swagger" in doc:
        host = doc.get("host")
        base_path = str(doc.get("basePath") or "")
        if isinstance(host, str) and host:
            schemes = doc.get("schemes") or ["https"]
            scheme = "https" if "https" in schemes else str(schemes[0])
            return f"{scheme}://{host}{base_path}"
        if fetched_from:
            parts = urlsplit(fetched_from)
            return urlunsplit((parts.scheme, parts.netloc, base_path, "", ""))
        return base_path or None
    servers = doc.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        server = servers[0]
        url = str(server.get("url") or "/")
        for name, variable in (server.get("variables") or {}).items():
            if isinstance(variable, dict) and "default" in variable:
                url = url.replace("{" + str(name) + "}", str(variable["default"]))
        if "://" in url:
            return url
        return urljoin(fetched_from, url) if fetched_from else url
    if fetched_from:
        parts = urlsplit(fetched_from)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return None


def document_routes(doc: Mapping[str, Any], base: str) -> list[Route]:
    """Every path of the document under `base`, in the document's order."""
    swagger = "swagger" in doc
    schemes = _security_schemes(doc, swagger)
    routes: dict[str, Route] = {}
    for path, item in (doc.get("paths") or {}).items():
        item = _resolve(doc, item)
        if not isinstance(item, dict) or not isinstance(path, str):
            continue
        shared = [_resolve(doc, p) for p in item.get("parameters") or []]
        methods: list[str] = []
        headers: dict[str, str] = {}
        cookie_auth = False
        path_params: dict[str, dict[str, Any]] = {}
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            methods.append(method.upper())
            params = _merged_parameters(
                shared, [_resolve(doc, p) for p in operation.get("parameters") or []]
            )
            for param in params:
                where, name = param.get("in"), param.get("name")
                if not isinstance(name, str):
                    continue
                if where == "header" and not is_forbidden_request_header(name):
                    headers.setdefault(name.lower(), name)
                elif where == "path":
                    path_params.setdefault(name, param)
            if _needs_content_type(doc, operation, params, swagger):
                headers.setdefault("content-type", "Content-Type")
            needed, cookie = _security_headers(doc, operation, schemes)
            for name in needed:
                headers.setdefault(name.lower(), name)
            cookie_auth = cookie_auth or cookie
        if not methods:
            continue
        filled_path, notes = _fill_path(doc, path, path_params)
        url = base.rstrip("/") + "/" + filled_path.lstrip("/")
        route = Route(path, url, tuple(methods), tuple(headers.values()), cookie_auth, notes)
        earlier = routes.get(url)
        if earlier is not None:
            # Two templates filled to one URL: one target, with what both need.
            route = Route(
                f"{earlier.path} | {path}",
                url,
                tuple(dict.fromkeys(earlier.methods + route.methods)),
                tuple(dict.fromkeys(earlier.headers + route.headers)),
                earlier.cookie_auth or route.cookie_auth,
                earlier.filled + route.filled,
            )
        routes[url] = route
    return list(routes.values())


# --- the document's parts ----------------------------------------------------------------------------


def _resolve(doc: Mapping[str, Any], node: Any) -> Any:
    """`node` with local `$ref`s followed ("#/components/parameters/Tenant"); others left as they are."""
    for _ in range(_MAX_REF_DEPTH):
        if not isinstance(node, dict) or not isinstance(node.get("$ref"), str):
            return node
        ref: str = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return {}
            target = target[part]
        node = target
    return {}


def _merged_parameters(shared: list[Any], own: list[Any]) -> list[dict[str, Any]]:
    """The operation's parameters over the path's (an operation's parameter replaces the path's
    parameter of the same name and location)."""
    merged: dict[tuple[Any, Any], dict[str, Any]] = {}
    for param in [*shared, *own]:
        if isinstance(param, dict):
            merged[(param.get("in"), param.get("name"))] = param
    return list(merged.values())


def _needs_content_type(
    doc: Mapping[str, Any],
    operation: Mapping[str, Any],
    params: list[dict[str, Any]],
    swagger: bool,
) -> bool:
    """Whether the call sends a body whose Content-Type is not CORS-safelisted (JSON, say)."""
    if swagger:
        if not any(p.get("in") in ("body", "formData") for p in params):
            return False
        types = operation.get("consumes") or doc.get("consumes") or ["application/json"]
    else:
        body = _resolve(doc, operation.get("requestBody"))
        if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
            return False
        types = list(body["content"])
    # The front-end can pick a safelisted type when the operation takes one; else it needs a preflight.
    return bool(types) and not any(
        str(t).split(";")[0].strip().lower() in _SAFELISTED_CONTENT_TYPES for t in types
    )


def _security_schemes(doc: Mapping[str, Any], swagger: bool) -> dict[str, Any]:
    if swagger:
        schemes = doc.get("securityDefinitions") or {}
    else:
        schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    return (
        {name: _resolve(doc, s) for name, s in schemes.items()} if isinstance(schemes, dict) else {}
    )


def _security_headers(
    doc: Mapping[str, Any], operation: Mapping[str, Any], schemes: Mapping[str, Any]
) -> tuple[list[str], bool]:
    """The request headers the operation's security needs, and whether it authenticates by cookie.

    `security` lists alternatives; the front-end uses one, so the first is taken. An empty
    alternative (`{}`) means the call may go without, and then nothing is needed.
    """
    requirements = operation.get("security", doc.get("security"))
    if not isinstance(requirements, list) or not requirements:
        return [], False
    if any(r == {} for r in requirements):
        return [], False
    first = requirements[0]
    if not isinstance(first, dict):
        return [], False
    headers: list[str] = []
    cookie = False
    for name in first:
        scheme = schemes.get(name)
        if not isinstance(scheme, dict):
            continue
        kind = scheme.get("type")
        if kind in ("http", "basic", "oauth2", "openIdConnect"):
            headers.append("Authorization")
        elif kind == "apiKey":
            where = scheme.get("in")
            if where == "header" and isinstance(scheme.get("name"), str):
                headers.append(scheme["name"])
            elif where == "cookie":
                cookie = True
        elif kind == "mutualTLS":
            cookie = True  # client certificates are credentials too (fetch's credentials mode)
    return headers, cookie


_TEMPLATE = re.compile(r"\{([^{}/]+)\}")


def _fill_path(
    doc: Mapping[str, Any], path: str, params: Mapping[str, dict[str, Any]]
) -> tuple[str, tuple[str, ...]]:
    """The path with each `{name}` filled from the parameter's example, default or first enum value,
    else a placeholder of its type; and a note for each."""
    notes: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        value, source = _sample(doc, params.get(name, {}))
        notes.append(f"{name} = {value} ({source})")
        return quote(value, safe="")

    return _TEMPLATE.sub(fill, path), tuple(notes)


def _sample(doc: Mapping[str, Any], param: Mapping[str, Any]) -> tuple[str, str]:
    schema = _resolve(doc, param.get("schema")) if "schema" in param else dict(param)
    if not isinstance(schema, dict):
        schema = {}
    examples = param.get("examples")
    candidates: list[tuple[Any, str]] = [(param.get("example"), "example")]
    if isinstance(examples, dict) and examples:
        first = _resolve(doc, next(iter(examples.values())))
        candidates.append((first.get("value") if isinstance(first, dict) else None, "example"))
    candidates.append((schema.get("example"), "example"))
    schema_examples = schema.get("examples")
    if isinstance(schema_examples, list) and schema_examples:
        candidates.append((schema_examples[0], "example"))
    candidates.append((schema.get("default"), "default"))
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        candidates.append((enum[0], "enum"))
    for value, source in candidates:
        if value is not None and not isinstance(value, (dict, list)):
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if text:
                return text, f"from the document's {source}"
    kind = schema.get("type")
    if isinstance(kind, list):  # 3.1: ["integer", "null"]
        kind = next((k for k in kind if k != "null"), None)
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMAT_PLACEHOLDERS:
        return _FORMAT_PLACEHOLDERS[fmt], f"placeholder for a {fmt} string"
    if isinstance(kind, str) and kind in _PLACEHOLDERS:
        return _PLACEHOLDERS[kind], f"placeholder for {'an' if kind == 'integer' else 'a'} {kind}"
    return "corscheck", "placeholder for a string"
