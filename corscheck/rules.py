"""The rule catalog: every finding corscheck can report, as data. Pure.

Evaluation refers to rules by their constants; `corscheck rules` renders this catalog. Rule ids are stable:
CI configurations and suppressions refer to them, so an id is never renamed or reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
Direction = Literal["over-permissive", "under-permissive", "hygiene"]


def severity_rank(severity: Severity) -> int:
    """0 for critical … 3 for low: sorts findings most severe first."""
    return SEVERITIES.index(severity)


def lower_severity(severity: Severity) -> Severity:
    """One step less severe (low stays low)."""
    return SEVERITIES[min(severity_rank(severity) + 1, len(SEVERITIES) - 1)]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: (
        Severity  # the severity with credentials where credentials matter; see evaluate/build.py
    )
    direction: Direction
    title: str
    explanation: str
    fix: str


def _rule(
    id: str, severity: Severity, direction: Direction, title: str, explanation: str, fix: str
) -> Rule:
    return Rule(
        id, severity, direction, title, " ".join(explanation.split()), " ".join(fix.split())
    )


ANY_ORIGIN_WITH_CREDENTIALS = _rule(
    "any-origin-with-credentials",
    "critical",
    "over-permissive",
    "Any origin is granted credentialed reads",
    """The server echoes whatever Origin it receives into Access-Control-Allow-Origin and sends
    Access-Control-Allow-Credentials: true. Any website the user visits can call this API with the
    user's cookies or HTTP authentication and read the answer, wherever the browser attaches them:
    cross-site with a SameSite=None session in Chrome (critical), only from the API's own site with a
    SameSite=Lax session or where third-party cookies are blocked (high: a page there is reached
    through a subdomain takeover or an XSS). This is what Starlette/FastAPI's CORSMiddleware does
    with allow_origins=["*"] and allow_credentials=True.""",
    """List the front-end origins explicitly instead of reflecting the request's Origin. If the API is
    public, answer Access-Control-Allow-Origin: * and drop Access-Control-Allow-Credentials.""",
)
ANY_ORIGIN = _rule(
    "any-origin",
    "medium",
    "over-permissive",
    "Any origin can read responses without credentials",
    """The server echoes any Origin into Access-Control-Allow-Origin. Without credentials this exposes
    only what an anonymous request can see, but it usually means the allow-list check is missing,
    and the same code path often grants credentials elsewhere.""",
    """Check the Origin against an explicit allow-list. If the data is public, answer
    Access-Control-Allow-Origin: * instead of reflecting, and state it in the policy (origins = ["*"]).""",
)
PUBLIC_WILDCARD = _rule(
    "public-wildcard",
    "low",
    "hygiene",
    "Any origin can read responses (Access-Control-Allow-Origin: *)",
    """The response carries Access-Control-Allow-Origin: *, so every website can read it without
    credentials. That is right for public data and wrong for anything behind a network boundary
    (an intranet API reachable from the user's browser).""",
    """If the API is meant to be public, say so in the policy (origins = ["*"]) and this finding goes
    away. Otherwise answer only the front-end origins you serve.""",
)
NULL_ORIGIN = _rule(
    "null-origin",
    "high",
    "over-permissive",
    "The 'null' origin is trusted",
    """The server allows Origin: null. Any page can send a null origin from a sandboxed iframe or a
    data: URL, so trusting null is trusting everyone.""",
    """Remove "null" from the allowed origins; never map a missing or opaque origin to null in the
    allow-list.""",
)
UNTRUSTED_ORIGIN = _rule(
    "untrusted-origin",
    "high",
    "over-permissive",
    "An origin outside the policy is trusted (allow-list check bypassed)",
    """An attacker-crafted origin derived from a trusted one (a prefix, suffix, subdomain, unescaped
    regex dot, special character, or shared-hosting domain) passes the server's origin check. Whoever
    registers that domain can read the API from their page.""",
    """Compare the Origin with the allowed origins exactly (scheme, host and port), or with an anchored
    pattern that escapes dots (^https://([a-z0-9-]+\\.)*example\\.com$). Avoid substring, prefix or
    suffix checks.""",
)
REGEX_ORIGIN = _rule(
    "regex-origin",
    "high",
    "over-permissive",
    "The allow-list's regex grants an origin its owner does not hold",
    """A regex in the CORS configuration (--config-from, --app) accepts, under its framework's own
    match rule, an origin anyone can obtain: an unescaped dot, a missing anchor, an alternation whose
    anchors bind to one branch, a wildcard that crosses into other domains, a foreign domain or
    top-level domain, http:. corscheck built that origin from the regex and the server granted it
    live; whoever registers it reads the API from their page.""",
    r"""Anchor the regex at both ends around one group, escape every dot, and let wildcards take
    labels only (^https://([a-z0-9-]+\.)?example\.com$), or list the exact origins.""",
)
GRANT_BEYOND_CODE = _rule(
    "grant-beyond-code",
    "medium",
    "over-permissive",
    "The deployment grants an origin the code's CORS settings do not",
    """With --config-from, corscheck reads the allow-list the code writes and compares it with what
    the deployed URL answers. An origin that reads there but that no entry of the code grants means
    another layer (a reverse proxy, an API gateway, a CDN rule, a second middleware) adds CORS
    headers: the code review and the tests see one policy, the browser another.""",
    """Find the layer that adds Access-Control-Allow-Origin (the finding's response shows what it
    sends) and remove it, or move its origins into the code's settings so there is one allow-list.""",
)
INSECURE_ORIGIN = _rule(
    "insecure-origin",
    "high",
    "over-permissive",
    "An http:// origin is trusted by an https API",
    """A page served over plain HTTP can be injected by anyone on the network path (public Wi-Fi), so
    trusting http://app.example.com from an HTTPS API lets a network attacker read it.""",
    """Allow only https:// origins in production.""",
)
DEVELOPMENT_ORIGIN = _rule(
    "development-origin",
    "medium",
    "over-permissive",
    "A development origin (localhost) is trusted",
    """The server trusts a localhost or loopback origin such as http://localhost:3000. Any program on the
    user's machine serving that port, or any local dev server, can read the API.""",
    """Keep development origins out of the production allow-list; add them through configuration only
    in development.""",
)
WILDCARD_WITH_CREDENTIALS = _rule(
    "wildcard-with-credentials",
    "low",
    "hygiene",
    "Access-Control-Allow-Origin: * combined with Access-Control-Allow-Credentials: true",
    """Browsers refuse credentialed requests when the allowed origin is the wildcard, so this
    combination is not exploitable but broken: a front-end that sends cookies fails.""",
    """Either drop Access-Control-Allow-Credentials (public data), or answer the specific allowed origin
    with Vary: Origin.""",
)
MISSING_VARY = _rule(
    "missing-vary-origin",
    "medium",
    "hygiene",
    "Origin-dependent CORS headers without Vary: Origin",
    """Access-Control-Allow-Origin changes with the request's Origin, but the response does not carry
    Vary: Origin. A shared cache (CDN, proxy) can serve one origin's grant to another, breaking
    legitimate front-ends or poisoning the cache.""",
    """Add Vary: Origin to every response whose CORS headers depend on the Origin, including the ones
    that deny it.""",
)
METHOD_BEYOND_POLICY = _rule(
    "method-beyond-policy",
    "medium",
    "over-permissive",
    "The preflight allows a method outside the policy",
    """The preflight response lets an allowed origin send a method that the policy does not list, so a
    front-end bug or a compromised allowed origin can do more than intended.""",
    """Restrict Access-Control-Allow-Methods to the methods the policy lists.""",
)
HEADER_BEYOND_POLICY = _rule(
    "header-beyond-policy",
    "low",
    "over-permissive",
    "The preflight allows request headers outside the policy",
    """The preflight response allows request headers that the policy does not list (often through
    Access-Control-Allow-Headers: * or by echoing Access-Control-Request-Headers).""",
    """List only the request headers the front-end sends in Access-Control-Allow-Headers.""",
)
AUTHORIZATION_BY_WILDCARD = _rule(
    "authorization-by-wildcard",
    "low",
    "hygiene",
    "Authorization is allowed only through Access-Control-Allow-Headers: *",
    """The Fetch standard says the wildcard never covers Authorization; Chromium does not enforce that
    yet, so the request works in Chromium today but fails in browsers that follow the standard.""",
    """Name Authorization explicitly: Access-Control-Allow-Headers: *, Authorization.""",
)
PRIVATE_NETWORK_UNTRUSTED = _rule(
    "private-network-untrusted",
    "low",
    "over-permissive",
    "A legacy private-network grant is given to an untrusted origin",
    """The preflight answers Access-Control-Allow-Private-Network: true to an origin outside the
    policy. Only Chromium 104-141 asked for and honoured this grant (Private Network Access). Chromium
    142+ sends no such preflight and ignores the header: Local Network Access asks the visitor for a
    permission instead, from secure pages only, and Firefox does the same; Safari never used it. The
    grant still states a trust the policy does not, and browsers built on an older Chromium (pinned
    enterprise builds, embedded WebViews) still act on it.""",
    """Send Access-Control-Allow-Private-Network: true only to the trusted origins that need it, or
    drop it: current browsers ask the visitor instead.""",
)
MAX_AGE_TOO_LONG = _rule(
    "preflight-cache-too-long",
    "low",
    "hygiene",
    "Preflight results are cached longer than intended",
    """Access-Control-Max-Age is above the policy's maximum (Chromium caps it at 7200 s, Firefox at
    86400 s): a tightened policy takes that long to reach browsers.""",
    """Lower Access-Control-Max-Age to the policy's bound.""",
)
MAX_AGE_TOO_SHORT = _rule(
    "preflight-cache-too-short",
    "low",
    "hygiene",
    "Preflight results are not cached, or cached shorter than intended",
    """Without Access-Control-Max-Age (default 5 s), or with a small, negative or unparsable value,
    browsers repeat the preflight before almost every request, doubling latency.""",
    """Set Access-Control-Max-Age within the policy's bounds, for example 600 to 7200 seconds.""",
)
MALFORMED_HEADER = _rule(
    "malformed-cors-header",
    "medium",
    "hygiene",
    "A CORS response header is malformed or duplicated",
    """A CORS header has a value browsers cannot use: several Access-Control-Allow-Origin lines or
    origins, a value that is not an origin, Access-Control-Allow-Credentials other than exactly
    "true", or an unparsable Access-Control-Allow-Methods/-Headers list. Browsers block the request.""",
    """Send each CORS header once, with a single valid value; make sure a proxy or framework does not
    add a second copy.""",
)
CREDENTIALS_BEYOND_POLICY = _rule(
    "credentials-beyond-policy",
    "medium",
    "over-permissive",
    "Credentialed reads are allowed although the policy says no credentials",
    """An allowed origin can read responses to requests that carry the user's cookies or HTTP
    authentication (Access-Control-Allow-Credentials: true), which the policy does not intend.""",
    """Stop sending Access-Control-Allow-Credentials: true, or set credentials = true in the policy if
    the front-end really needs it.""",
)
ALLOWED_ORIGIN_REFUSED = _rule(
    "allowed-origin-refused",
    "high",
    "under-permissive",
    "An origin the policy allows is refused",
    """A front-end origin that the policy allows cannot read the response: the page breaks.""",
    """Add the origin to the server's allow-list (exact scheme, host and port).""",
)
ALLOWED_METHOD_REFUSED = _rule(
    "allowed-method-refused",
    "high",
    "under-permissive",
    "A method the policy allows is refused",
    """A request with a method the policy allows fails its preflight for an allowed origin.""",
    """Add the method to Access-Control-Allow-Methods (methods are case-sensitive).""",
)
ALLOWED_HEADER_REFUSED = _rule(
    "allowed-header-refused",
    "high",
    "under-permissive",
    "A request header the policy allows is refused",
    """A request carrying a header the policy allows fails its preflight for an allowed origin.""",
    """Add the header to Access-Control-Allow-Headers.""",
)
CREDENTIALS_REFUSED = _rule(
    "credentials-refused",
    "high",
    "under-permissive",
    "Credentialed requests from an allowed origin are refused",
    """The policy expects the front-end to send cookies or HTTP authentication, but credentialed
    requests from an allowed origin fail (Access-Control-Allow-Credentials missing, not exactly
    "true", or a wildcard origin).""",
    """Answer the specific origin (not *) and send Access-Control-Allow-Credentials: true.""",
)
EXPOSED_HEADER_MISSING = _rule(
    "exposed-header-missing",
    "medium",
    "under-permissive",
    "A response header the policy exposes cannot be read",
    """The policy says the front-end reads a response header, but Access-Control-Expose-Headers does not
    list it, so the page sees null.""",
    """Add the header to Access-Control-Expose-Headers.""",
)
PRIVATE_NETWORK_REFUSED = _rule(
    "private-network-refused",
    "low",
    "under-permissive",
    "A legacy private-network grant is refused to an allowed origin",
    """The policy allows private network access, but the preflight does not answer
    Access-Control-Allow-Private-Network: true to an allowed origin. Only Chromium 104-141 sent this
    preflight and needed the grant; Chromium 142+ and Firefox ask the visitor for a Local Network
    Access permission instead and ignore the header, so today's browsers are not affected.""",
    """Answer Access-Control-Allow-Private-Network: true to preflights from allowed origins that carry
    Access-Control-Request-Private-Network: true.""",
)

# Deployment causes (evaluate/causes.py): why an allowed front-end is refused, where the allow-list
# is not the reason and its fix would miss.
MIXED_CONTENT = _rule(
    "mixed-content",
    "high",
    "under-permissive",
    "An https front-end cannot fetch the API at all: mixed content",
    """Browsers block an https page's request to an http URL (unless the host is loopback or
    localhost) before any CORS check, and block a redirect to one the same way. The CORS headers
    never come into play.""",
    """Serve the API over https and have the front-end call its https URL.""",
)
REDIRECTED_REQUEST = _rule(
    "redirected-request",
    "high",
    "under-permissive",
    "An allowed front-end's request is redirected, and the browser refuses",
    """The server answers a redirect where the front-end's request needs its CORS answer:
    browsers never follow a redirect of a preflight, and a redirect of the actual request must
    carry the CORS headers itself. Trailing-slash rules, http→https upgrades and authentication
    layers that redirect to a login page are the usual sources.""",
    """Have the front-end call the final URL, or answer at this URL without redirecting.""",
)
ERROR_WITHOUT_CORS = _rule(
    "error-without-cors",
    "medium",
    "under-permissive",
    "An error response carries no CORS headers",
    """A layer in front of the CORS layer (an error handler, an authentication middleware, the
    proxy itself) answers without the CORS headers. The front-end then sees a CORS error
    ("TypeError: Failed to fetch") instead of the status, and cannot tell an expired session, a
    missing resource or an outage from a network failure. High when it is the preflight that
    fails: then every such request breaks.""",
    """Add the CORS headers to every response, errors included: put the CORS layer outermost.""",
)
PREFLIGHT_NOT_RECOGNISED = _rule(
    "preflight-not-recognised",
    "high",
    "under-permissive",
    "The server does not recognise some preflights",
    """The server treats OPTIONS as a CORS preflight only when Access-Control-Request-Headers is
    present. Browsers leave that header out when the request sets only safelisted headers, so a
    PUT, PATCH or DELETE without custom headers fails its preflight although the method is
    allowed.""",
    """Detect a preflight by an OPTIONS request with Origin and Access-Control-Request-Method;
    Access-Control-Request-Headers is optional.""",
)
PATH_OUTSIDE_CORS_SCOPE = _rule(
    "path-outside-cors-scope",
    "medium",
    "under-permissive",
    "A spelling of the path is served without CORS headers",
    """The target grants the allowed front-end, but the same path with a trailing slash or in
    another case is served without CORS headers: the CORS configuration is scoped by a path
    pattern (Flask-CORS resources, an nginx location with its own add_header, a route outside the
    CORS middleware) that does not cover it. A front-end that builds the URL that way is
    refused.""",
    """Scope the CORS configuration by a pattern that covers every path the server answers (match
    case-insensitively where routing does, allow the optional trailing slash), or answer CORS in
    one layer in front of every route.""",
)
CACHED_CORS_ANSWER = _rule(
    "cached-cors-answer",
    "high",
    "under-permissive",
    "A shared cache serves one origin's CORS answer to another",
    """The server's CORS answer depends on the request's Origin, but a cache between it and the
    browser stores one answer per URL: after one front-end's request (or a request without
    Origin) is cached, the other front-ends get an Access-Control-Allow-Origin that names someone
    else, or none, and are refused until the entry expires.""",
    """Send Vary: Origin on every response whose CORS headers depend on Origin, errors included,
    and let the cache key on it.""",
)


WEBSOCKET_HIJACK = _rule(
    "websocket-origin-with-cookies",
    "critical",
    "over-permissive",
    "A crafted origin opens the WebSocket with the visitor's cookies",
    """A page on an origin the policy does not allow opens this WebSocket, and the visitor's browser
    sends the session cookies with the handshake. CORS does not apply to WebSockets: the browser
    never asks the server, and hands the open socket to the page, which reads and sends on it as
    the logged-in user (Cross-Site WebSocket Hijacking). Critical where a cross-site page can do it
    with a SameSite=None session; high where only same-site pages can (a subdomain takeover or an
    XSS there). Framework CORS settings do not cover it: Starlette's and FastAPI's CORSMiddleware
    passes websocket connections through untouched.""",
    """Check the handshake's Origin against the allow-list before accepting the socket, and refuse
    (403, or close with 1008) any other: in Starlette/FastAPI compare websocket.headers.get("origin")
    before websocket.accept(); Django Channels: AllowedHostsOriginValidator or OriginValidator;
    python-socketio / Socket.IO: cors_allowed_origins (cors.origin); websockets: origins=[...];
    Node ws: verifyClient; gorilla: CheckOrigin.""",
)
WEBSOCKET_PUBLIC = _rule(
    "websocket-any-origin",
    "low",
    "over-permissive",
    "Any origin opens the WebSocket (no cookie goes with it)",
    """Pages on origins the policy does not allow open this WebSocket, but the visitor's browser
    sends them no cookie of the API: such a page gets what any anonymous client gets. Harmless
    for a public feed; not if the socket trusts something else a page's handshake carries (the
    visitor's network position, an IP allow-list).""",
    """If the socket is public, say so in the policy; otherwise check the handshake's Origin
    against the allow-list before accepting it.""",
)
WEBSOCKET_ORIGIN_REFUSED = _rule(
    "websocket-allowed-origin-refused",
    "high",
    "under-permissive",
    "The front-end's WebSocket is refused",
    """A page on an origin the policy allows cannot open this WebSocket: the handshake is answered
    with another status than 101, or the socket is closed at once with a refusing code (1008,
    4000-4999), or the browser refuses to make it (an https page and a ws:// URL).""",
    """Add the front-end's origin to the socket's own Origin check (it is not the CORS
    configuration), and serve the socket over wss:// to https pages.""",
)


CATALOG: tuple[Rule, ...] = (
    ANY_ORIGIN_WITH_CREDENTIALS,
    ANY_ORIGIN,
    NULL_ORIGIN,
    UNTRUSTED_ORIGIN,
    REGEX_ORIGIN,
    GRANT_BEYOND_CODE,
    INSECURE_ORIGIN,
    DEVELOPMENT_ORIGIN,
    PRIVATE_NETWORK_UNTRUSTED,
    METHOD_BEYOND_POLICY,
    HEADER_BEYOND_POLICY,
    CREDENTIALS_BEYOND_POLICY,
    ALLOWED_ORIGIN_REFUSED,
    ALLOWED_METHOD_REFUSED,
    ALLOWED_HEADER_REFUSED,
    CREDENTIALS_REFUSED,
    EXPOSED_HEADER_MISSING,
    PRIVATE_NETWORK_REFUSED,
    MIXED_CONTENT,
    REDIRECTED_REQUEST,
    PREFLIGHT_NOT_RECOGNISED,
    CACHED_CORS_ANSWER,
    ERROR_WITHOUT_CORS,
    PATH_OUTSIDE_CORS_SCOPE,
    MISSING_VARY,
    MALFORMED_HEADER,
    WILDCARD_WITH_CREDENTIALS,
    AUTHORIZATION_BY_WILDCARD,
    PUBLIC_WILDCARD,
    MAX_AGE_TOO_LONG,
    MAX_AGE_TOO_SHORT,
    WEBSOCKET_HIJACK,
    WEBSOCKET_PUBLIC,
    WEBSOCKET_ORIGIN_REFUSED,
)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in CATALOG}


def unknown_rule_hint(text: str) -> str:
    """The hint for a rule id the catalog does not have: the closest ids, or where the list is."""
    from difflib import get_close_matches

    close = get_close_matches(text.strip().lower(), list(RULES_BY_ID), n=2, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(rule) for rule in close) + "?"
    return "'corscheck rules' lists them"
