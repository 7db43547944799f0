"""Fixes that name the settings to change in the CORS layer that produced a finding. Data; pure.

The generic fix of each rule lives in rules.py; this table adds, per layer, the exact settings,
filled with the policy's values (`allow_methods=["GET", "POST"]`). stack.py says which layer
answered and how sure that is; a fix is stated as fact only when the layer is certain or given,
as a condition when it is only likely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from corscheck import rules
from corscheck.stack import LAYER_NAMES, Stack


@dataclass(frozen=True, slots=True)
class Fix:
    """A fix in a layer's own terms: the settings to give (`changes`: a value, or one of the policy
    tokens of `_TOKENS` filled from the policy and the finding), and a note after them. The text
    is rendered from the changes, so it says exactly what the tests apply (test_fix_frameworks.py)."""

    changes: tuple[tuple[str, object], ...] = ()
    note: str = ""


# Tokens a change may hold, filled per finding: the policy's lists, else what the finding needs.
ORIGINS, METHODS, HEADERS, EXPOSE, MAX_AGE = (
    "$origins",
    "$methods",
    "$headers",
    "$expose",
    "$max_age",
)
_TOKENS = (ORIGINS, METHODS, HEADERS, EXPOSE, MAX_AGE)


def _fix(*changes: tuple[str, object], note: str = "") -> Fix:
    return Fix(tuple(changes), note)


def _keyword_layer(
    origins: str,
    credentials: str,
    methods: str,
    headers: str,
    expose: str,
    max_age: str,
    *,
    every_origin: tuple[tuple[str, object], ...] = (),
) -> dict[str, Fix]:
    """The fixes of a layer configured by keyword settings (Starlette, Litestar, Flask-CORS,
    django-cors-headers, Express's cors), by the names of its settings. `every_origin` are the
    settings that admit origins beside the list (a pattern, an allow-all switch): a fix for an
    origin the list does not explain turns them off."""
    exact = "the origins exactly as browsers send them (scheme, host, port; no slash)"
    return {
        rules.ANY_ORIGIN_WITH_CREDENTIALS.id: _fix(
            (origins, ORIGINS), *every_origin, (credentials, True)
        ),
        rules.ANY_ORIGIN.id: _fix((origins, ORIGINS), *every_origin),
        rules.NULL_ORIGIN.id: _fix((origins, ORIGINS), note="without 'null'"),
        rules.UNTRUSTED_ORIGIN.id: _fix(
            (origins, ORIGINS), *every_origin, note=f"{exact}, instead of a pattern"
        ),
        rules.INSECURE_ORIGIN.id: _fix((origins, ORIGINS), note="https:// origins only"),
        rules.DEVELOPMENT_ORIGIN.id: _fix(
            (origins, ORIGINS), note="adding localhost origins only in development configuration"
        ),
        rules.METHOD_BEYOND_POLICY.id: _fix((methods, METHODS)),
        rules.HEADER_BEYOND_POLICY.id: _fix((headers, HEADERS)),
        rules.CREDENTIALS_REFUSED.id: _fix((origins, ORIGINS), (credentials, True)),
        rules.CREDENTIALS_BEYOND_POLICY.id: _fix((credentials, False)),
        rules.ALLOWED_ORIGIN_REFUSED.id: _fix((origins, ORIGINS), note=exact),
        rules.ALLOWED_METHOD_REFUSED.id: _fix((methods, METHODS)),
        rules.ALLOWED_HEADER_REFUSED.id: _fix((headers, HEADERS)),
        rules.EXPOSED_HEADER_MISSING.id: _fix((expose, EXPOSE)),
        rules.MAX_AGE_TOO_LONG.id: _fix((max_age, MAX_AGE)),
        rules.MAX_AGE_TOO_SHORT.id: _fix((max_age, MAX_AGE)),
    }


# Starlette's CORSMiddleware and Litestar's CORSConfig take the same settings.
_STARLETTE = _keyword_layer(
    "allow_origins",
    "allow_credentials",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "max_age",
    every_origin=(("allow_origin_regex", None),),
)
FIXES: dict[str, dict[str, Fix]] = {
    "starlette": _STARLETTE,
    "fastapi": _STARLETTE,
    "litestar": _STARLETTE,
    "flask": {
        **_keyword_layer(
            "origins",
            "supports_credentials",
            "methods",
            "allow_headers",
            "expose_headers",
            "max_age",
        ),
        rules.MISSING_VARY.id: _fix(
            note="Flask-CORS adds Vary: Origin only when more than one origin could match: add it "
            "yourself, e.g. response.vary.add('Origin') in an @app.after_request function"
        ),
    },
    "django": _keyword_layer(
        "CORS_ALLOWED_ORIGINS",
        "CORS_ALLOW_CREDENTIALS",
        "CORS_ALLOW_METHODS",
        "CORS_ALLOW_HEADERS",
        "CORS_EXPOSE_HEADERS",
        "CORS_PREFLIGHT_MAX_AGE",
        every_origin=(("CORS_ALLOW_ALL_ORIGINS", False), ("CORS_ALLOWED_ORIGIN_REGEXES", [])),
    ),
    "express": _keyword_layer(
        "origin", "credentials", "methods", "allowedHeaders", "exposedHeaders", "maxAge"
    ),
    "spring": {
        rules.ANY_ORIGIN_WITH_CREDENTIALS.id: _fix(
            note='allowedOriginPatterns("*") with allowCredentials(true) reflects every origin: list origins with allowedOrigins(...)'
        ),
        rules.ANY_ORIGIN.id: _fix(
            note='Replace @CrossOrigin(origins = "*") / allowedOrigins("*") with the front-end origins'
        ),
        rules.UNTRUSTED_ORIGIN.id: _fix(
            note='Use exact allowedOrigins(...), or allowedOriginPatterns("https://*.example.com") (which matches subdomains only)'
        ),
        rules.METHOD_BEYOND_POLICY.id: _fix(
            note="Set CorsConfiguration.setAllowedMethods(...) to the policy's methods"
        ),
        rules.HEADER_BEYOND_POLICY.id: _fix(
            note='Set CorsConfiguration.setAllowedHeaders(...) instead of "*"'
        ),
        rules.CREDENTIALS_REFUSED.id: _fix(
            note="Set CorsConfiguration.setAllowCredentials(true) with explicit origins"
        ),
        rules.ALLOWED_ORIGIN_REFUSED.id: _fix(
            note="Add the origin to @CrossOrigin(origins = ...) / CorsConfiguration.setAllowedOrigins(...)"
        ),
        rules.ALLOWED_METHOD_REFUSED.id: _fix(
            note="Add the method to CorsConfiguration.setAllowedMethods(...)"
        ),
        rules.ALLOWED_HEADER_REFUSED.id: _fix(
            note="Add the header to CorsConfiguration.setAllowedHeaders(...)"
        ),
        rules.EXPOSED_HEADER_MISSING.id: _fix(
            note="Add the header to CorsConfiguration.setExposedHeaders(...)"
        ),
    },
    "nginx": {
        rules.ANY_ORIGIN_WITH_CREDENTIALS.id: _fix(
            note='add_header Access-Control-Allow-Origin $http_origin reflects every origin: map $http_origin to an allow-list (map $http_origin $cors { "https://app.example.com" $http_origin; default ""; })'
        ),
        rules.ANY_ORIGIN.id: _fix(
            note="Replace add_header Access-Control-Allow-Origin $http_origin / * with a map of allowed origins"
        ),
        rules.UNTRUSTED_ORIGIN.id: _fix(
            note="Anchor and escape the origin regex in your map or if: ~^https://([a-z0-9-]+\\.)*example\\.com$"
        ),
        rules.MISSING_VARY.id: _fix(
            note="add_header Vary Origin always; next to the Access-Control-Allow-Origin header"
        ),
        rules.MALFORMED_HEADER.id: _fix(
            note="The app and nginx both add the header: use proxy_hide_header Access-Control-Allow-Origin; or drop one add_header"
        ),
        rules.METHOD_BEYOND_POLICY.id: _fix(
            note="Narrow add_header Access-Control-Allow-Methods ... always; to the policy's methods"
        ),
        rules.HEADER_BEYOND_POLICY.id: _fix(
            note="Narrow add_header Access-Control-Allow-Headers ... always; instead of echoing $http_access_control_request_headers"
        ),
        rules.ALLOWED_ORIGIN_REFUSED.id: _fix(
            note="Add the origin to the map of allowed origins; use add_header ... always; so error responses carry it too"
        ),
        rules.EXPOSED_HEADER_MISSING.id: _fix(
            note='add_header Access-Control-Expose-Headers "X-Request-Id" always;'
        ),
    },
}
# How each layer is configured: the call (or file) its settings go in, and its literals.
_CALLS = {
    "starlette": ("app.add_middleware(CORSMiddleware, {})", "python"),
    "fastapi": ("app.add_middleware(CORSMiddleware, {})", "python"),
    "litestar": ("CORSConfig({})", "python"),
    "flask": ("CORS(app, {})", "python"),
    "django": ("{}", "settings"),
    "express": ("app.use(cors({{ {} }}))", "js"),
}


# Fixes for what the browser objected to, by reason id, where the rule's own fix (an allow-list) would
# miss it. The fields are filled from the evidence: {copies} of the grant, the response's {status},
# the origin the server {granted}, the page's {origin}.
REASON_FIXES: dict[str, str] = {
    "CHECK-ACAO-MULTIPLE": "The response carries {copies}, and browsers accept exactly one origin. "
    "Two layers usually add it (the framework's CORS middleware and a proxy's add_header, or two "
    "middlewares): keep CORS in one layer and remove it from the other.",
    "CHECK-ACAO-MISSING": "The preflight passes, but the actual response ({status}) carries no "
    "Access-Control-Allow-Origin: send the CORS headers on every response, errors included (an "
    "authentication or error handler that answers before the CORS middleware often drops them).",
    "CHECK-ACAO-MATCH": "The server answers Access-Control-Allow-Origin: {granted}, which is not "
    "the page's origin {origin}: answer with the request's Origin exactly as the browser sends it "
    "(scheme, host and port; no path or trailing slash) when it is allowed.",
    "PRE-REDIRECT": "Answer the preflight (OPTIONS) at this URL itself: browsers never follow a "
    "redirect of a preflight. Link to the final URL (often a trailing slash or http→https "
    "redirect).",
    "PRE-PARSE": "Send Access-Control-Allow-Methods and Access-Control-Allow-Headers as "
    "comma-separated tokens (no quotes, slashes or other separators).",
    "NET-DUPLICATE-HEADER": "Send Content-Length, Content-Disposition and Location once: two "
    "different values make Chromium drop the response before any CORS check.",
}


def fix_for_reason(reason_id: str, **evidence: object) -> str | None:
    """The fix for a browser's objection, its fields filled from `evidence`; None when the rule's
    own fix is the right one."""
    template = REASON_FIXES.get(reason_id)
    return None if template is None else template.format(**evidence)


@dataclass(frozen=True, slots=True)
class FixValues:
    """What fills a fix's tokens: the policy's lists, or what the finding needs where the policy
    does not say (the method or header refused, the origin that should be listed)."""

    origins: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    public: bool = False  # the policy allows every origin (origins = ["*"])


def fix_changes(rule_id: str, layer: str | None, values: FixValues) -> dict[str, object] | None:
    """The settings the layer's fix gives, tokens filled; None when the layer has no such fix or
    a token has no value to fill it with."""
    fix = FIXES.get(layer or "", {}).get(rule_id)
    if fix is None or not fix.changes:
        return None
    if values.public and rule_id == rules.ANY_ORIGIN_WITH_CREDENTIALS.id:
        # A public API: the fix that fits the policy keeps every origin and drops credentials.
        fix = FIXES[layer or ""][rules.CREDENTIALS_BEYOND_POLICY.id]
    filled: dict[str, object] = {}
    for setting, value in fix.changes:
        if value in _TOKENS:
            token = {
                ORIGINS: list(values.origins),
                METHODS: list(values.methods),
                HEADERS: list(values.headers),
                EXPOSE: list(values.expose),
                MAX_AGE: values.max_age,
            }[str(value)]
            if not token and token != 0:
                return None
            value = token
        filled[setting] = value
    return filled


def fix_for(rule_id: str, generic: str, stack: Stack, values: FixValues = FixValues()) -> str:
    """The fix in the layer's own terms when it is known, worded as a condition when the layer
    is only likely, else the generic fix."""
    if stack.layer is None or stack.certainty == "unknown":
        return generic
    fix = FIXES.get(stack.layer, {}).get(rule_id)
    if fix is None:
        return generic
    changes = fix_changes(rule_id, stack.layer, values)
    if fix.changes and changes is None:
        # Without a policy to fill the settings with, they are named with placeholders.
        changes = {k: _PLACEHOLDERS.get(str(v), v) for k, v in fix.changes}
        if values.public and rule_id == rules.ANY_ORIGIN_WITH_CREDENTIALS.id:
            changes = fix_changes(rule_id, stack.layer, FixValues(public=True)) or changes
    text = _render(stack.layer, changes, fix.note) if changes else fix.note + "."
    if stack.certainty == "likely":
        return (
            f"If this is {LAYER_NAMES[stack.layer]} ({stack.evidence}): {text} Otherwise: {generic}"
        )
    return text


def _render(layer: str, changes: dict[str, object], note: str) -> str:
    call, syntax = _CALLS[layer]
    separator = "; " if syntax == "settings" else ", "
    joiner = " = " if syntax == "settings" else (": " if syntax == "js" else "=")
    settings = separator.join(f"{k}{joiner}{_literal(v, syntax)}" for k, v in changes.items())
    said = f", {note}" if note else ""
    if syntax == "settings":
        return f"In settings.py, set {settings}{said}."
    return f"Use {call.format(settings)}{said}, its other settings as they are."


class _Placeholder(str):
    """A value the user fills in, shown as it is (not quoted)."""


_PLACEHOLDERS = {
    ORIGINS: _Placeholder("[<your front-end origins>]"),
    METHODS: _Placeholder("[<the methods your front-end sends>]"),
    HEADERS: _Placeholder("[<the headers your front-end sets>]"),
    EXPOSE: _Placeholder("[<the headers your front-end reads>]"),
    MAX_AGE: _Placeholder("<seconds>"),
}


def _literal(value: object, syntax: str) -> str:
    if isinstance(value, _Placeholder):
        return str(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value) if syntax == "js" else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)
