"""The Fetch standard's CORS rules as Chromium applies them. Pure: plain data in, plain data out.

Rule ids in comments refer to ../shared/CORS-RULES.md (REQ-*, CHECK-*, PRE-*, RESP-*). Three reason
ids are not CORS rules: REQ-URL-CREDENTIALS (fetch() refuses a URL with userinfo),
NET-DUPLICATE-HEADER (Chromium's network stack refuses conflicting duplicate header lines) and
MIXED-CONTENT (an https page may not fetch an http URL that is not potentially trustworthy, nor
follow a redirect to one).

Where Chromium 156 differs from the standard, this module follows Chromium. Every difference was
checked against real headless Chromium (tests/e2e/test_chromium.py) and is marked "Chromium
difference" where it is implemented:
- PRE-AUTHORIZATION: `Access-Control-Allow-Headers: *` covers Authorization (without credentials).
- REQ-SAFE-HEADER: DPR, Device-Memory (1*DIGIT ["." 1*DIGIT]), Width, Viewport-Width (1*DIGIT),
  Save-Data (`on`) and Intervention (any value) are safelisted too; this is also what makes
  REQ-SAFE-TOTAL reachable at all (the standard's five names cannot exceed 5 x 128 bytes).
- Conflicting duplicate Content-Length, Content-Disposition or Location lines fail the fetch
  (identical duplicates are fine).
- A redirect to a URL with userinfo fails even when it stays same-origin.
- Response header lines are read as Chromium's parser reads them: obs-fold continuation lines join
  the previous value (see corscheck.headers.parse_header_lines), lines without a colon are ignored,
  whitespace before the colon is ignored.
Checked and *not* different in Chromium 156: `patch` is not matched by `PATCH`
(REQ-METHOD-NORMALIZE), Content-Type `text /plain` needs a preflight, Range must be one
`bytes=N-[M]` range, `Lang` is not safelisted, a preflight 3xx without Location fails as a
non-ok status.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, get_args
from urllib.parse import urljoin, urlsplit

from corscheck.addresses import blocked_as_mixed_content
from corscheck.errors import UsageError
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import (
    HeaderLine,
    is_token,
    serialize_origin,
    split_header_list,
    trim_http_whitespace,
)
from corscheck.safelist import (
    cors_unsafe_request_header_names,
    is_cors_safelisted_method,
    is_cors_safelisted_request_header,
    is_forbidden_method,
    is_forbidden_request_header,
    is_valid_header_value,
    normalize_method,
    page_header_list,
)
from corscheck.visitor import ACCEPT_LANGUAGE, fetch_metadata, referer

# Every public name, the request rules from safelist.py among them: the Fetch model is read here.
__all__ = [
    "REASON_IDS",
    "REDIRECT_STATUSES",
    "Credentials",
    "NextRequest",
    "Outcome",
    "Probe",
    "ReasonId",
    "Refusal",
    "Step",
    "Verdict",
    "advance",
    "cors_check",
    "cors_unsafe_request_header_names",
    "is_cors_safelisted_method",
    "is_cors_safelisted_request_header",
    "is_forbidden_method",
    "is_forbidden_request_header",
    "is_same_origin",
    "judge",
    "needs_preflight",
    "next_request",
    "normalize_method",
    "readable_response_headers",
]

Credentials = Literal["omit", "same-origin", "include"]
Step = Literal["request", "preflight", "actual", "redirect"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One simulated `fetch(url, {method, headers, credentials, mode: "cors"})` from a page.

    `origin` is the page's serialized origin ("null" for an opaque one). `method` is as the page
    wrote it (normalization is the browser's job). `headers` are the page's request headers.
    `extra_headers` are the user's own `-H` headers: sent with every request as given, never judged.
    """

    url: str
    origin: str
    method: str = "GET"
    headers: tuple[HeaderLine, ...] = ()
    credentials: Credentials = "omit"
    extra_headers: tuple[HeaderLine, ...] = ()
    # The Cookie line the visitor's browser attaches when the credentials mode sends credentials
    # (visitor.py): "" when it holds no cookie for this request, None outside the visitor model
    # (a probe built by hand: credentials are assumed to flow, as before the model).
    cookie: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a browser does with an exchange."""

    allowed: bool
    preflight: bool
    reason_id: ReasonId | None = None
    reason: str | None = None  # in words close to Chromium's console message
    failed_step: Step | None = None
    readable_headers: tuple[str, ...] = ()
    actual_checked: bool = True
    notes: tuple[str, ...] = field(default=())
    # False when nothing the server sent decides the verdict (an unsafe actual request left unsent
    # with no preflight, an exchange cut short): such a probe is never evidence for a finding.
    judged: bool = True
    # What a refused preflight names, as data: the method (PRE-METHOD) or the request header
    # (PRE-HEADERS; Chromium names the first one not allowed) the server did not allow.
    refused_method: str | None = None
    refused_header: str | None = None


# The reason ids of blocked verdicts: the rule ids of ../shared/CORS-RULES.md they come from.
ReasonId = Literal[
    "REQ-METHOD-NORMALIZE",
    "REQ-URL-CREDENTIALS",
    "REQ-FORBIDDEN-HEADER",
    "CHECK-ACAO-MISSING",
    "CHECK-ACAO-WILDCARD-CREDENTIALS",
    "CHECK-ACAO-MULTIPLE",
    "CHECK-ACAO-MATCH",
    "CHECK-ACAC",
    "NET-DUPLICATE-HEADER",
    "PRE-REDIRECT",
    "PRE-OK-STATUS",
    "PRE-PARSE",
    "PRE-METHOD",
    "PRE-HEADERS",
    "RESP-REDIRECT",
    "MIXED-CONTENT",
]
REASON_IDS: tuple[ReasonId, ...] = get_args(ReasonId)


class Refusal(NamedTuple):
    """Why the browser blocks: a reason id, its message, and what it names (a method or header)."""

    reason_id: ReasonId
    message: str
    method: str | None = None
    header: str | None = None


# --------------------------------------------------------------------------------------------------
# A. The page's request (the method and header rules are in safelist.py)
# --------------------------------------------------------------------------------------------------


def _origin_of(url: str) -> str | None:
    """The serialized origin of `url`, or None when it has none we can compare."""
    try:
        return serialize_origin(url)
    except UsageError:
        return None


def is_same_origin(probe: Probe, url: str) -> bool:
    """True when `url` is same-origin with the page; an opaque ("null") page is never."""
    if probe.origin == "null":
        return False
    target = _origin_of(url)
    return target is not None and target == _origin_of(probe.origin)


@functools.lru_cache(maxsize=4096)
def _has_userinfo(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.username is not None or parts.password is not None
    except ValueError:
        return False


def _request_error(probe: Probe) -> Refusal | None:
    """Why fetch() throws before sending anything, as (reason_id, message), or None."""
    if not is_token(probe.method):
        return Refusal("REQ-METHOD-NORMALIZE", f"'{probe.method}' is not a valid HTTP method.")
    if is_forbidden_method(probe.method):
        return Refusal("REQ-METHOD-NORMALIZE", f"'{probe.method}' HTTP method is unsupported.")
    if _has_userinfo(probe.url):
        # Fetch: new Request() throws for a URL that includes credentials.
        return Refusal(
            "REQ-URL-CREDENTIALS",
            f"Request cannot be constructed from a URL that includes credentials: {probe.url}",
        )
    if blocked_as_mixed_content(probe.origin, probe.url):
        return _mixed_content(probe.origin, probe.url)
    for name, value in probe.headers:
        if not is_token(name):
            return Refusal(
                "REQ-FORBIDDEN-HEADER",
                f"Invalid name: '{name}' is not a valid header name.",
            )
        if not is_valid_header_value(value.strip(" \t\r\n")):
            return Refusal(
                "REQ-FORBIDDEN-HEADER", f"Invalid value: the value of '{name}' is not valid."
            )
    return None


def _mixed_content(page_origin: str, url: str) -> Refusal:
    """MIXED-CONTENT, in Chromium's console words."""
    return Refusal(
        "MIXED-CONTENT",
        f"Mixed Content: The page at '{page_origin}/' was loaded over HTTPS, but requested an "
        f"insecure resource '{url}'. This request has been blocked; the content must be served "
        "over HTTPS.",
    )


def needs_preflight(probe: Probe) -> bool:
    """True when fetching probe.url from the page sends a CORS preflight (REQ-PREFLIGHT-NEEDED)."""
    if _request_error(probe) is not None or is_same_origin(probe, probe.url):
        return False
    return _needs_preflight(normalize_method(probe.method), probe.headers)


def _needs_preflight(method: str, headers: Sequence[HeaderLine]) -> bool:
    return not is_cors_safelisted_method(method) or bool(cors_unsafe_request_header_names(headers))


# --------------------------------------------------------------------------------------------------
# B. The CORS check
# --------------------------------------------------------------------------------------------------


def _values(response: Response, name: str) -> list[str]:
    """The values of header `name`, each line's name and value trimmed of spaces and tabs."""
    return response.headers.trimmed_values(name)


def _combined(response: Response, name: str) -> str | None:
    """A response header as Chromium reads it: each line's name and value trimmed of spaces and
    tabs, the values of every line with that name joined with ", ".

    CHECK-ACAO-MULTIPLE, PRE-PARSE.
    """
    values = _values(response, name)
    return ", ".join(values) if values else None


def _looks_like_url(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or ":" in value))


def cors_check(response: Response, origin: str, credentials: Credentials) -> Refusal | None:
    """None when `response` passes the CORS check for `origin`, else (reason_id, message)."""
    acao = _combined(response, "Access-Control-Allow-Origin")
    if acao is None:
        return Refusal(
            "CHECK-ACAO-MISSING",
            "No 'Access-Control-Allow-Origin' header is present on the requested resource.",
        )
    if acao == "*":
        # CHECK-ACAO-WILDCARD / CHECK-ACAO-WILDCARD-CREDENTIALS: ACAC does not rescue `*`.
        if credentials != "include":
            return None
        return Refusal(
            "CHECK-ACAO-WILDCARD-CREDENTIALS",
            "The value of the 'Access-Control-Allow-Origin' header in the response must not be the "
            "wildcard '*' when the request's credentials mode is 'include'.",
        )
    if acao != origin:
        # CHECK-ACAO-MATCH: byte-exact after trimming; "null" matches an opaque origin because the
        # origin string is then "null" too. The finer messages follow Chromium's order.
        if " " in acao or "," in acao:
            return Refusal(
                "CHECK-ACAO-MULTIPLE",
                f"The 'Access-Control-Allow-Origin' header contains multiple values '{acao}', but "
                "only one is allowed.",
            )
        if acao != "null" and not _looks_like_url(acao):
            return Refusal(
                "CHECK-ACAO-MATCH",
                f"The 'Access-Control-Allow-Origin' header contains the invalid value '{acao}'.",
            )
        return Refusal(
            "CHECK-ACAO-MATCH",
            f"The 'Access-Control-Allow-Origin' header has a value '{acao}' that is not equal to "
            "the supplied origin.",
        )
    if credentials == "include":
        # CHECK-ACAC: exactly `true`, case-sensitive; two `true` lines combine to "true, true".
        acac = _combined(response, "Access-Control-Allow-Credentials")
        if acac != "true":
            return Refusal(
                "CHECK-ACAC",
                f"The value of the 'Access-Control-Allow-Credentials' header in the response is "
                f"'{acac or ''}' which must be 'true' when the request's credentials mode is "
                "'include'.",
            )
    return None


# --------------------------------------------------------------------------------------------------
# C. The preflight
# --------------------------------------------------------------------------------------------------

_PREFLIGHT_PREFIX = "Response to preflight request doesn't pass access control check: "
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Request-body headers, dropped when a redirect turns the method into GET.
_BODY_HEADERS = frozenset(
    {"content-type", "content-encoding", "content-language", "content-location"}
)
_MAX_REDIRECTS = 20


def _parse_allow_list(value: str | None) -> list[str] | None:
    """PRE-PARSE: the items of ACAM/ACAH, or None when an item is not a token (unparsable)."""
    if value is None:
        return []
    items = split_header_list(value)
    return items if all(is_token(item) for item in items) else None


def _network_error(response: Response) -> Refusal | None:
    """Chromium's network stack fails a response whose Content-Length, Content-Disposition or
    Location lines disagree (whatever the status), before any CORS check.

    Not a CORS rule and not in the Fetch standard's CORS algorithms; verified in e2e.
    """
    index = response.headers.trimmed_index()
    for name in ("content-length", "content-disposition", "location"):
        values = index.get(name)
        if values is not None and len(values) > 1 and len(set(values)) > 1:
            code = name.upper().replace("-", "_")
            return Refusal("NET-DUPLICATE-HEADER", f"net::ERR_RESPONSE_HEADERS_MULTIPLE_{code}")
    return None


def _preflight_check(
    response: Response,
    origin: str,
    credentials: Credentials,
    method: str,
    unsafe_names: Sequence[str],
) -> Refusal | None:
    """None when the preflight response lets the actual request go, else (reason_id, message).

    Order as in Chromium: redirect, CORS check, ok status, parse ACAM, parse ACAH, method, headers.
    """
    if response.status in REDIRECT_STATUSES and _values(response, "Location"):
        return Refusal("PRE-REDIRECT", "Redirect is not allowed for a preflight request.")
    failure = cors_check(response, origin, credentials)
    if failure is not None:
        return failure._replace(message=_PREFLIGHT_PREFIX + failure.message)
    if not 200 <= response.status <= 299:
        return Refusal("PRE-OK-STATUS", _PREFLIGHT_PREFIX + "It does not have HTTP ok status.")
    methods = _parse_allow_list(_combined(response, "Access-Control-Allow-Methods"))
    if methods is None:
        return Refusal(
            "PRE-PARSE",
            "Cannot parse Access-Control-Allow-Methods response header field in preflight "
            "response.",
        )
    headers = _parse_allow_list(_combined(response, "Access-Control-Allow-Headers"))
    if headers is None:
        return Refusal(
            "PRE-PARSE",
            "Cannot parse Access-Control-Allow-Headers response header field in preflight "
            "response.",
        )
    wildcard_ok = credentials != "include"
    # PRE-METHOD: byte-exact (so `patch` needs `patch`), a safelisted method always passes.
    if not (
        method in methods or is_cors_safelisted_method(method) or (wildcard_ok and "*" in methods)
    ):
        return Refusal(
            "PRE-METHOD",
            f"Method {method} is not allowed by Access-Control-Allow-Methods in preflight "
            "response.",
            method=method,
        )
    allowed = {h.lower() for h in headers}
    # PRE-HEADERS / PRE-AUTHORIZATION. Chromium difference: `*` (without credentials) covers every
    # header, Authorization included; the standard requires Authorization to be listed by name.
    if wildcard_ok and "*" in allowed:
        return None
    for name in unsafe_names:
        if name not in allowed:
            return Refusal(
                "PRE-HEADERS",
                f"Request header field {name} is not allowed by Access-Control-Allow-Headers in "
                "preflight response.",
                header=name,
            )
    return None


# --------------------------------------------------------------------------------------------------
# The fetch, step by step
# --------------------------------------------------------------------------------------------------

NextRequest = tuple[Literal["preflight", "actual"], Request]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where walking a chain of hops ends: a request still to send, or a verdict."""

    next: NextRequest | None
    verdict: Verdict


def _preflight_request(
    url: str, origin: str, method: str, unsafe_names: Sequence[str], probe: Probe
) -> Request:
    # REQ-PREFLIGHT-SHAPE: no cookies or authentication whatever the credentials mode.
    headers: list[HeaderLine] = [
        ("Accept", "*/*"),
        ("Origin", origin),
        ("Access-Control-Request-Method", method),
    ]
    if unsafe_names:
        headers.append(("Access-Control-Request-Headers", ",".join(unsafe_names)))
    headers += _added_by_browser(probe, url, headers)
    return Request("OPTIONS", url, (*headers, *probe.extra_headers))


def _actual_request(
    url: str,
    origin: str | None,
    method: str,
    headers: Sequence[HeaderLine],
    probe: Probe,
    credentials: Credentials,
) -> Request:
    lines = list(headers)
    if not any(n.lower() == "accept" for n, _ in lines):
        lines.insert(0, ("Accept", "*/*"))  # fetch()'s default Accept
    if origin is not None:
        lines.append(("Origin", origin))
    lines += _added_by_browser(probe, url, lines)
    # -H Cookie bypasses the model: sent as given, and the model's cookie is not added to it.
    bypassed = any(n.lower() == "cookie" for n, _ in probe.extra_headers)
    if probe.cookie and not bypassed and _sends_credentials(probe, url, credentials):
        lines.append(("Cookie", probe.cookie))
    return Request(method, url, (*lines, *probe.extra_headers))


def _added_by_browser(probe: Probe, url: str, lines: Sequence[HeaderLine]) -> list[HeaderLine]:
    """What Chromium adds to every request of a fetch(), preflights included: Fetch Metadata, the
    Referer of its default policy and Accept-Language (unless the page set it)."""
    added = list(fetch_metadata(probe.origin, url))
    sent_from = referer(probe.origin, url)
    if sent_from is not None:
        added.append(("Referer", sent_from))
    if not any(n.lower() == "accept-language" for n, _ in lines):
        added.append(("Accept-Language", ACCEPT_LANGUAGE))
    return added


def _sends_credentials(probe: Probe, url: str, credentials: Credentials) -> bool:
    """Fetch: `include` always sends credentials, `same-origin` only to the page's own origin."""
    return credentials == "include" or (credentials == "same-origin" and is_same_origin(probe, url))


def _blocked(reason: Refusal, step: Step, preflight: bool, notes: tuple[str, ...] = ()) -> Outcome:
    verdict = Verdict(
        allowed=False,
        preflight=preflight,
        reason_id=reason.reason_id,
        reason=reason.message,
        failed_step=step,
        refused_method=reason.method,
        refused_header=reason.header,
        notes=notes,
    )
    return Outcome(None, verdict)


def _redirect_target(current: str, location: str) -> str | None:
    """The absolute URL a Location value points to, or None when it does not parse."""
    try:
        target = urljoin(current, trim_http_whitespace(location))
        parts = urlsplit(target)
        _ = parts.port  # raises on a bad port
    except ValueError:
        return None
    return target.split("#", 1)[0]


class _Prelude(NamedTuple):
    page_origin: str
    method: str  # normalized
    headers: list[HeaderLine]  # as fetch() builds the list
    unsafe_names: list[str]


@functools.lru_cache(maxsize=4096)
def _prelude(
    url: str, origin: str, method: str, headers: tuple[HeaderLine, ...]
) -> Refusal | _Prelude:
    """What fetch() works out before sending anything: the reason it throws, as (reason_id,
    message), or the page origin, normalized method, header list and its CORS-unsafe names.

    Cached: every probe is walked once per request of its chain and once per credentials mode.
    The lists are shared between calls and must not be changed.
    """
    error = _request_error(Probe(url, origin, method, headers))
    if error is not None:
        return error
    page_origin = "null" if origin == "null" else _origin_of(origin) or origin
    page_headers = page_header_list(headers)
    return _Prelude(
        page_origin,
        normalize_method(method),
        page_headers,
        cors_unsafe_request_header_names(page_headers),
    )


def _walk(probe: Probe, hops: Sequence[Hop], credentials: Credentials) -> Outcome:
    """Replays the browser's fetch over `hops` and says what happens next."""
    prelude = _prelude(probe.url, probe.origin, probe.method, probe.headers)
    if not isinstance(prelude, _Prelude):
        return _blocked(prelude, "request", preflight=False)

    url = probe.url
    page_origin, method, headers, first_unsafe_names = prelude
    unsafe_names: Sequence[str] = first_unsafe_names
    tainted = False  # RESP-REDIRECT-TAINT
    # The CORS flag stays set once the request has gone cross-origin (Fetch "response tainting").
    cors_flag = False
    preflighted = False
    redirects = 0
    index = 0

    def hop(kind: Literal["preflight", "actual"]) -> Hop | None:
        """The recorded hop for the request the browser sends now, if the exchange has it."""
        nonlocal index
        if index >= len(hops):
            return None
        recorded = hops[index]
        index += 1
        return recorded if recorded.kind == kind else None

    while True:
        request_origin = "null" if tainted else page_origin
        cors_flag = cors_flag or not is_same_origin(probe, url)
        if redirects:
            unsafe_names = cors_unsafe_request_header_names(headers)
        if cors_flag and (not is_cors_safelisted_method(method) or unsafe_names):
            # REQ-PREFLIGHT-NEEDED. Chromium sends a new preflight after every redirect that needs
            # one (its preflight cache is keyed by URL, and our URLs differ).
            preflighted = True
            answered = hop("preflight")
            if answered is None:
                preflight = _preflight_request(url, request_origin, method, unsafe_names, probe)
                return Outcome(("preflight", preflight), Verdict(allowed=False, preflight=True))
            failure = _network_error(answered.response) or _preflight_check(
                answered.response, request_origin, credentials, method, unsafe_names
            )
            if failure is not None:
                return _blocked(failure, "preflight", preflight=True)

        # The Origin header: always on a CORS request; on a same-origin one only when the method
        # is neither GET nor HEAD (Fetch "append a request Origin header").
        answered = hop("actual")
        if answered is None:
            send_origin = cors_flag or method not in ("GET", "HEAD")
            actual = _actual_request(
                url, request_origin if send_origin else None, method, headers, probe, credentials
            )
            return Outcome(("actual", actual), Verdict(allowed=False, preflight=preflighted))
        response = answered.response
        failure = _network_error(response)
        if failure is not None:
            return _blocked(failure, "actual", preflighted)
        locations = _values(response, "Location")
        location = locations[0] if locations else None
        is_redirect = response.status in REDIRECT_STATUSES and location is not None

        if cors_flag:
            # CHECK-*: every response of a CORS request, redirects included (RESP-REDIRECT);
            # CHECK-STATUS-IGNORED: the status does not matter.
            failure = cors_check(response, request_origin, credentials)
            if failure is not None:
                return _blocked(failure, "redirect" if is_redirect else "actual", preflighted)
        if not is_redirect or location is None:
            verdict = Verdict(
                allowed=True,
                preflight=preflighted,
                readable_headers=readable_response_headers(response, credentials)
                if cors_flag
                else _all_names(response),
            )
            return Outcome(None, verdict)

        # RESP-REDIRECT
        if redirects >= _MAX_REDIRECTS:
            return _blocked(
                Refusal("RESP-REDIRECT", "net::ERR_TOO_MANY_REDIRECTS"), "redirect", preflighted
            )
        redirects += 1
        target = _followed(url, location)
        if isinstance(target, Refusal):
            return _blocked(target, "redirect", preflighted)
        if blocked_as_mixed_content(page_origin, target):
            return _blocked(_mixed_content(page_origin, target), "redirect", preflighted)
        # RESP-REDIRECT-TAINT: a hop to another origin, from a URL that is not the page's origin.
        if _origin_of(target) != _origin_of(url) and not is_same_origin(probe, url):
            tainted = True
        # 301/302 turn POST into GET, 303 turns everything but GET/HEAD into GET; request-body
        # headers go with the body (Fetch HTTP-redirect fetch; Chromium's RedirectUtil).
        if (response.status in (301, 302) and method == "POST") or (
            response.status == 303 and method not in ("GET", "HEAD")
        ):
            method = "GET"
            headers = [(n, v) for n, v in headers if n.lower() not in _BODY_HEADERS]
        url = target


def _followed(url: str, location: str) -> str | Refusal:
    """RESP-REDIRECT: the URL a redirect from `url` to `location` leads to, or why the browser will
    not follow it (a reason id and message)."""
    target = _redirect_target(url, location)
    if target is None:
        return Refusal("RESP-REDIRECT", f"Redirect location '{location}' is not a valid URL.")
    parts = urlsplit(target)
    if parts.scheme.lower() not in ("http", "https"):
        return Refusal(
            "RESP-REDIRECT",
            f"Redirect location '{target}' has a disallowed scheme for cross-origin requests.",
        )
    # Fetch fails a CORS request redirected to a URL with userinfo when the request is
    # cross-origin or tainted. Chromium difference: it fails every such redirect, same-origin
    # ones included (it blocks subresource URLs with embedded credentials; verified in e2e).
    if parts.username is not None or parts.password is not None:
        return Refusal(
            "RESP-REDIRECT",
            f"Redirect location '{target}' contains a username and password, which is "
            "disallowed for cross-origin requests.",
        )
    return target


def _all_names(response: Response) -> tuple[str, ...]:
    return tuple(sorted({trim_http_whitespace(n).lower() for n, _ in response.headers}))


def next_request(probe: Probe, hops: Sequence[Hop]) -> NextRequest | None:
    """The next request the browser sends after `hops`, or None when the fetch is over."""
    return _walk(probe, hops, probe.credentials).next


def advance(probe: Probe, hops: Sequence[Hop]) -> Outcome:
    """The next request after `hops`; when there is none, `verdict` is the fetch's verdict, the same
    as `judge` gives for an exchange of exactly these hops."""
    return _walk(probe, hops, probe.credentials)


def judge(probe: Probe, exchange: Exchange) -> Verdict:
    """The browser's verdict on `exchange` for probe.credentials."""
    outcome = _walk(probe, exchange.hops, probe.credentials)
    if outcome.next is None:
        return outcome.verdict
    kind, request = outcome.next
    if exchange.unsent is not None and kind == "actual":
        # DESIGN.md Safety: an unsafe actual request corscheck did not send; the preflight decides.
        if outcome.verdict.preflight:
            return Verdict(
                allowed=True,
                preflight=True,
                actual_checked=False,
                notes=(
                    f"the actual {request.method} request was not sent (--send-unsafe), so its "
                    "response was not checked; the verdict rests on the preflight",
                ),
            )
        if not exchange.hops and is_same_origin(probe, request.url):
            # Same-origin is not CORS: no preflight, no CORS check, the page reads the response.
            return Verdict(
                allowed=True,
                preflight=False,
                actual_checked=False,
                notes=(
                    f"same-origin request: no CORS check applies; the actual {request.method} "
                    "request was not sent (--send-unsafe)",
                ),
            )
        # No preflight vouches for it (a simple POST): nothing shows the page could read it.
        return Verdict(
            allowed=False,
            preflight=False,
            reason=f"the actual {request.method} request was not sent (--send-unsafe); "
            "no preflight either, so nothing was checked",
            failed_step="actual",
            actual_checked=False,
            notes=("not judged: the actual response was not checked",),
            judged=False,
        )
    return Verdict(
        allowed=False,
        preflight=outcome.verdict.preflight,
        reason_id=None,
        reason=f"the exchange ended before the browser's {kind} request to {request.url}",
        failed_step=kind,
        actual_checked=kind != "actual",
        notes=("incomplete exchange: not judged to its end",),
        judged=False,
    )


# --------------------------------------------------------------------------------------------------
# D. After the checks
# --------------------------------------------------------------------------------------------------

_SAFELISTED_RESPONSE_HEADERS = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)


def readable_response_headers(response: Response, credentials: Credentials) -> tuple[str, ...]:
    """The names (lowercased, sorted) of the response's headers the page can read (RESP-EXPOSE).

    Only headers present in the response are listed: a name in Access-Control-Expose-Headers
    that the response does not carry cannot be read either.
    """
    exposed = _parse_allow_list(_combined(response, "Access-Control-Expose-Headers")) or []
    names = {n.lower() for n in exposed}
    everything = "*" in names and credentials != "include"
    # The index's keys are the response's header names, trimmed and lowercased, each once.
    return tuple(
        sorted(
            name
            for name in response.headers.trimmed_index()
            if name not in ("set-cookie", "set-cookie2")
            and (everything or name in _SAFELISTED_RESPONSE_HEADERS or name in names)
        )
    )
