"""Fixes that name the setting to change in the framework that produced a finding. Data; pure.

The generic fix of each rule lives in rules.py; this table adds, per framework, the exact knob. A
framework is known when the user says `--framework`, when an in-process app is audited (its class
tells), or when a response header gives it away (Server: uvicorn, X-Powered-By: Express, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corscheck.headers import HeaderLine

FRAMEWORKS = ("fastapi", "starlette", "flask", "django", "express", "spring", "nginx", "generic")

_STARLETTE = {
    "any-origin-with-credentials": "CORSMiddleware(allow_origins=['*'], allow_credentials=True) reflects every origin: list the front-ends in allow_origins=[...] (or use allow_origin_regex anchored with ^…$).",
    "any-origin": "Replace allow_origins=['*'] (or a permissive allow_origin_regex) with the list of front-end origins.",
    "null-origin": "Remove 'null' from CORSMiddleware(allow_origins=[...]).",
    "untrusted-origin": "Anchor and escape allow_origin_regex, e.g. r'https://([a-z0-9-]+\\.)*example\\.com' (Starlette matches it in full); or list the origins in allow_origins.",
    "insecure-origin": "Drop http:// origins from allow_origins / allow_origin_regex.",
    "development-origin": "Build allow_origins from settings so that http://localhost:* is only present in development.",
    "method-beyond-policy": "Set CORSMiddleware(allow_methods=[...]) to the policy's methods instead of ['*'].",
    "header-beyond-policy": "Set CORSMiddleware(allow_headers=[...]) to the policy's headers instead of ['*'].",
    "credentials-refused": "Set CORSMiddleware(allow_credentials=True) and list origins explicitly (not '*').",
    "credentials-beyond-policy": "Set CORSMiddleware(allow_credentials=False).",
    "allowed-origin-refused": "Add the origin to CORSMiddleware(allow_origins=[...]), exactly as the browser sends it (no trailing slash).",
    "allowed-method-refused": "Add the method to CORSMiddleware(allow_methods=[...]).",
    "allowed-header-refused": "Add the header to CORSMiddleware(allow_headers=[...]); with allow_credentials=True a '*' does not cover it in browsers.",
    "exposed-header-missing": "Add the header to CORSMiddleware(expose_headers=[...]).",
    "preflight-cache-too-long": "Lower CORSMiddleware(max_age=...) (default 600).",
    "preflight-cache-too-short": "Raise CORSMiddleware(max_age=...) (default 600).",
}
FIXES: dict[str, dict[str, str]] = {
    "fastapi": _STARLETTE,
    "starlette": _STARLETTE,
    "flask": {
        "any-origin-with-credentials": "CORS(app, origins='*', supports_credentials=True) reflects every origin: pass origins=[...] with the front-ends.",
        "any-origin": "Pass CORS(app, origins=[...]) instead of the default '*'.",
        "null-origin": "Remove 'null' from CORS(app, origins=[...]).",
        "untrusted-origin": "Flask-CORS treats strings with regex characters as patterns: escape dots and anchor them (r'^https://([a-z0-9-]+\\.)*example\\.com$'), or list exact origins.",
        "insecure-origin": "Drop http:// origins from CORS(app, origins=[...]).",
        "development-origin": "Add http://localhost:* to CORS(app, origins=[...]) only in development configuration.",
        "method-beyond-policy": "Pass CORS(app, methods=[...]) with the policy's methods.",
        "header-beyond-policy": "Pass CORS(app, allow_headers=[...]) instead of the default '*'.",
        "credentials-refused": "Pass CORS(app, supports_credentials=True) with explicit origins.",
        "credentials-beyond-policy": "Drop supports_credentials=True from CORS(...).",
        "allowed-origin-refused": "Add the origin to CORS(app, origins=[...]).",
        "allowed-method-refused": "Add the method to CORS(app, methods=[...]).",
        "allowed-header-refused": "Add the header to CORS(app, allow_headers=[...]).",
        "exposed-header-missing": "Add the header to CORS(app, expose_headers=[...]).",
        "preflight-cache-too-long": "Lower CORS(app, max_age=...).",
        "preflight-cache-too-short": "Set CORS(app, max_age=600) or more.",
    },
    "django": {
        "any-origin-with-credentials": "CORS_ALLOW_ALL_ORIGINS = True with CORS_ALLOW_CREDENTIALS = True reflects every origin: set CORS_ALLOWED_ORIGINS = [...] instead.",
        "any-origin": "Replace CORS_ALLOW_ALL_ORIGINS = True with CORS_ALLOWED_ORIGINS = [...].",
        "null-origin": "Remove 'null' from CORS_ALLOWED_ORIGINS.",
        "untrusted-origin": "Anchor and escape CORS_ALLOWED_ORIGIN_REGEXES (r'^https://([a-z0-9-]+\\.)*example\\.com$'), or use CORS_ALLOWED_ORIGINS.",
        "insecure-origin": "Drop http:// origins from CORS_ALLOWED_ORIGINS.",
        "development-origin": "Add localhost origins to CORS_ALLOWED_ORIGINS only in development settings.",
        "method-beyond-policy": "Set CORS_ALLOW_METHODS to the policy's methods.",
        "header-beyond-policy": "Set CORS_ALLOW_HEADERS to the policy's headers.",
        "credentials-refused": "Set CORS_ALLOW_CREDENTIALS = True.",
        "credentials-beyond-policy": "Set CORS_ALLOW_CREDENTIALS = False.",
        "allowed-origin-refused": "Add the origin to CORS_ALLOWED_ORIGINS.",
        "allowed-method-refused": "Add the method to CORS_ALLOW_METHODS.",
        "allowed-header-refused": "Add the header to CORS_ALLOW_HEADERS.",
        "exposed-header-missing": "Add the header to CORS_EXPOSE_HEADERS.",
        "preflight-cache-too-long": "Lower CORS_PREFLIGHT_MAX_AGE.",
        "preflight-cache-too-short": "Raise CORS_PREFLIGHT_MAX_AGE (default 86400).",
    },
    "express": {
        "any-origin-with-credentials": "cors({ origin: true, credentials: true }) reflects every origin: pass origin: ['https://app.example.com'].",
        "any-origin": "Pass cors({ origin: [...] }) instead of the default '*' or origin: true.",
        "null-origin": "Remove 'null' from cors({ origin: [...] }).",
        "untrusted-origin": "Use exact strings in cors({ origin: [...] }), or an anchored, escaped RegExp (/^https:\\/\\/([a-z0-9-]+\\.)*example\\.com$/).",
        "method-beyond-policy": "Pass cors({ methods: [...] }) with the policy's methods.",
        "header-beyond-policy": "Pass cors({ allowedHeaders: [...] }) instead of echoing the request.",
        "credentials-refused": "Pass cors({ credentials: true, origin: [...] }).",
        "allowed-origin-refused": "Add the origin to cors({ origin: [...] }).",
        "allowed-method-refused": "Add the method to cors({ methods: [...] }).",
        "allowed-header-refused": "Add the header to cors({ allowedHeaders: [...] }).",
        "exposed-header-missing": "Add the header to cors({ exposedHeaders: [...] }).",
        "preflight-cache-too-long": "Lower cors({ maxAge: ... }).",
        "preflight-cache-too-short": "Set cors({ maxAge: 600 }).",
    },
    "spring": {
        "any-origin-with-credentials": 'allowedOriginPatterns("*") with allowCredentials(true) reflects every origin: list origins with allowedOrigins(...).',
        "any-origin": 'Replace @CrossOrigin(origins = "*") / allowedOrigins("*") with the front-end origins.',
        "untrusted-origin": 'Use exact allowedOrigins(...), or allowedOriginPatterns("https://*.example.com") (which matches subdomains only).',
        "method-beyond-policy": "Set CorsConfiguration.setAllowedMethods(...) to the policy's methods.",
        "header-beyond-policy": 'Set CorsConfiguration.setAllowedHeaders(...) instead of "*".',
        "credentials-refused": "Set CorsConfiguration.setAllowCredentials(true) with explicit origins.",
        "allowed-origin-refused": "Add the origin to @CrossOrigin(origins = ...) / CorsConfiguration.setAllowedOrigins(...).",
        "allowed-method-refused": "Add the method to CorsConfiguration.setAllowedMethods(...).",
        "allowed-header-refused": "Add the header to CorsConfiguration.setAllowedHeaders(...).",
        "exposed-header-missing": "Add the header to CorsConfiguration.setExposedHeaders(...).",
        "preflight-cache-too-long": "Lower CorsConfiguration.setMaxAge(...).",
        "preflight-cache-too-short": "Raise CorsConfiguration.setMaxAge(...) (default 1800).",
    },
    "nginx": {
        "any-origin-with-credentials": 'add_header Access-Control-Allow-Origin $http_origin reflects every origin: map $http_origin to an allow-list (map $http_origin $cors { "https://app.example.com" $http_origin; default ""; }).',
        "any-origin": "Replace add_header Access-Control-Allow-Origin $http_origin / * with a map of allowed origins.",
        "untrusted-origin": "Anchor and escape the origin regex in your map or if: ~^https://([a-z0-9-]+\\.)*example\\.com$.",
        "missing-vary-origin": "add_header Vary Origin always; next to the Access-Control-Allow-Origin header.",
        "malformed-cors-header": "The app and nginx both add the header: use proxy_hide_header Access-Control-Allow-Origin; or drop one add_header.",
        "method-beyond-policy": "Narrow add_header Access-Control-Allow-Methods ... always; to the policy's methods.",
        "header-beyond-policy": "Narrow add_header Access-Control-Allow-Headers ... always; instead of echoing $http_access_control_request_headers.",
        "allowed-origin-refused": "Add the origin to the map of allowed origins; use add_header ... always; so error responses carry it too.",
        "exposed-header-missing": 'add_header Access-Control-Expose-Headers "X-Request-Id" always;',
    },
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


def fix_for(rule_id: str, generic: str, framework: str | None) -> str:
    """The fix in the framework's own terms when the table has it, else the generic fix."""
    return FIXES.get(framework or "", {}).get(rule_id, generic)


def detect_framework(headers: Iterable[HeaderLine]) -> str | None:
    """A framework a response gives away in Server or X-Powered-By, if any."""
    for name, value in headers:
        lowered, text = name.strip().lower(), value.strip().lower()
        if lowered == "x-powered-by" and "express" in text:
            return "express"
        if lowered == "server":
            if "uvicorn" in text or "hypercorn" in text:
                return "starlette"
            if "werkzeug" in text:
                return "flask"
            if "nginx" in text:
                return "nginx"
    return None
