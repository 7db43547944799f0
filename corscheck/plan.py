"""(target, policy, depth) → the probes to judge, and the distinct HTTP request chains that serve them. Pure.

Key economy (DESIGN.md): a verdict is a function of the request chain and the responses; the credentials
mode only changes the checks. So the probes of every credentials mode share one chain, and each distinct
chain (URL, origin, method, request headers) is sent once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from corscheck.browser import (
    Credentials,
    Probe,
    Verdict,
    is_cors_safelisted_method,
    needs_preflight,
    normalize_method,
)
from corscheck.exchange import Exchange
from corscheck.headers import (
    HeaderLine,
    has_cors_headers,
    parse_origin,
    serialize_origin,
    split_header_list,
)
from corscheck.origins import Depth, attacker_origins, origin_matches_policy, registrable_domain
from corscheck.policy import Policy
from corscheck.visitor import Profile, Visitor, cookie_header, cookies_sent
from corscheck.websocket import constructor_error, http_twin
from corscheck.written import RegexWitness

# "request": the request the front-end really sends (a policy method with every policy header);
# "method" and "header": one of them alone, which isolates the culprit when "request" is refused;
# "error-path": a request of the allowed origin that the server answers with an error on purpose (a
# missing path, a method the route does not take, no -H credentials), whose answer must carry the
# CORS headers too.
# "path-variant": the target's path as a front-end may also write it (a trailing slash, another case),
# at thorough depth: a CORS configuration scoped by path may leave it out.
Aspect = Literal[
    "origin",
    "request",
    "method",
    "header",
    "private-network",
    "error-path",
    "path-variant",
    "websocket",
]

# Chromium's Private Network Access preflight header (PRE-PRIVATE-NETWORK).
PRIVATE_NETWORK_REQUEST: HeaderLine = ("Access-Control-Request-Private-Network", "true")
ALLOWED = "allowed"  # origin_class of the policy's own origins
# origin_class of a likely front-end of the target's own site, tried without a policy: neither
# allowed nor an attacker (nothing is expected of it), but an answer that names it shows the server
# keeps an allow-list, and makes the origin-dependent checks (Vary) work without a policy.
FIRST_PARTY = "first-party"
# origin_class of an origin the written allow-list's regex accepts (witness.py): its derived_from is
# the regex.
WITNESS_CLASS = "regex-witness"
OUTSIDE_HEADER = "X-Corscheck-Probe"
WILDCARD_HEADER = "X-Corscheck-Any"
_OUTSIDE_METHODS = ("DELETE", "PATCH", "PUT")
# Realistic values that are not CORS-safelisted, so that each header really asks the preflight for
# permission (`Accept: application/json` would be safelisted, so Accept keeps its own look).
_SAMPLE_VALUES = {
    "content-type": "application/json",
    "authorization": "Bearer corscheck-probe-token",
    "accept": "application/json",
    "content-language": "en-US",
    "accept-language": "en-US",
}
_CUSTOM_HEADER_VALUE = "corscheck-probe-token"
_PUBLIC_ORIGIN = "https://corscheck-public.example"


@dataclass(frozen=True, slots=True)
class PlannedProbe:
    """A probe and what it is there to test."""

    probe: Probe
    origin_class: str  # ALLOWED, or an attacker class of origins.ORIGIN_CLASSES
    derived_from: str
    aspect: Aspect
    subject: str = ""  # the method or header under test
    # The browser profiles that send exactly this request (visitor.py): a credentialed probe is
    # planned once per distinct set of cookies the profiles attach. Empty: every profile.
    profiles: tuple[Profile, ...] = ()
    # The names of the run's -H headers this request goes without (an error-path probe's).
    withheld: tuple[str, ...] = ()

    def seen_by(self, profile: Profile) -> bool:
        return not self.profiles or profile in self.profiles


def chain_of(probe: Probe) -> Probe:
    """The probe whose requests serve its verdict: `omit` (the fewest checks) for every credentials
    mode that sends no cookie; a credentialed probe that carries the visitor's cookie drives its own
    chain, since a server may answer a request with a cookie otherwise (Starlette up to 0.52)."""
    if probe.credentials == "omit" and not probe.cookie:
        return probe
    if probe.cookie and probe.credentials == "include":
        return probe
    # Not dataclasses.replace: this runs for every probe twice, and replace showed in profiles.
    # The cookie's kind stays ("" in the visitor model, None outside it): one omit chain each.
    no_cookie = None if probe.cookie is None else ""
    return Probe(
        probe.url, probe.origin, probe.method, probe.headers, "omit", probe.extra_headers, no_cookie
    )


def distinct_chains(planned: Iterable[PlannedProbe]) -> list[Probe]:
    """Each distinct request chain once, in first-seen order."""
    return list(dict.fromkeys(chain_of(p.probe) for p in planned))


def estimated_requests(chains: Sequence[Probe], send_unsafe: bool) -> int:
    """Requests a run sends, before redirects: a preflight where needed (once for the chains that
    send the very same one: a preflight carries no cookie, runner.Preflights), and the actual
    request if safe."""
    preflights = {_request_of(chain) for chain in chains if needs_preflight(chain)}
    safe = sum(
        1 for chain in chains if send_unsafe or normalize_method(chain.method) in ("GET", "HEAD")
    )
    return len(preflights) + safe


def concrete_allowed_origins(policy: Policy) -> list[str]:
    """Origins that stand for each policy entry: exact ones as they are, a pattern by one subdomain."""
    concrete: list[str] = []
    for entry in policy.origins:
        if entry == "*":
            concrete.append(_PUBLIC_ORIGIN)
        elif "://*." in entry:
            concrete.append(entry.replace("://*.", "://corscheck-probe.", 1))
        else:
            concrete.append(entry)
    return list(dict.fromkeys(concrete))


def plan_target(
    url: str,
    policy: Policy | None,
    depth: Depth = "standard",
    *,
    extra_headers: tuple[HeaderLine, ...] = (),
    trusted: Sequence[str] = (),
    visitor: Visitor | None = None,
    witnesses: Sequence[RegexWitness] = (),
) -> list[PlannedProbe]:
    """Every probe for one target. `witnesses` are origins the written allow-list's regexes accept
    (written.py), probed as the class WITNESS_CLASS unless the policy allows them. `trusted` are origins the server was seen to trust (a second round).
    With a `visitor`, credentialed probes carry the cookies its profiles attach, one probe per
    distinct Cookie line; without one, credentialed probes model no cookies (a library caller)."""
    probes: list[PlannedProbe] = []

    def add(
        origin: str,
        origin_class: str,
        derived_from: str,
        aspect: Aspect,
        method: str = "GET",
        headers: tuple[HeaderLine, ...] = (),
        subject: str = "",
        extra: tuple[HeaderLine, ...] = (),
    ) -> None:
        for credentials, cookie, profiles in _sendings(visitor, origin, url):
            probe = Probe(url, origin, method, headers, credentials, extra_headers + extra, cookie)
            probes.append(
                PlannedProbe(probe, origin_class, derived_from, aspect, subject, profiles)
            )

    allowed = concrete_allowed_origins(policy) if policy else []
    for origin in allowed if not trusted else []:
        add(origin, ALLOWED, origin, "origin")
        if policy is None:
            continue
        methods = front_end_methods(policy)
        headers = front_end_headers(policy)
        all_headers = _header_lines(headers)
        isolated: set[tuple[str, tuple[HeaderLine, ...]]] = {("GET", ())}
        # The requests the front-end sends: each method with every header at once. A refusal here
        # is what users meet; the probes below tell which method or header causes it.
        for method in methods:
            if (method, all_headers) not in isolated:
                isolated.add((method, all_headers))
                add(origin, ALLOWED, origin, "request", method, all_headers, method)
        if depth == "quick":
            continue
        for method in methods:
            if not is_cors_safelisted_method(normalize_method(method)) and (
                (method, ()) not in isolated
            ):
                isolated.add((method, ()))
                add(origin, ALLOWED, origin, "method", method, subject=method)
        for name in headers:
            lines = _header_lines([name])
            if ("GET", lines) not in isolated:
                isolated.add(("GET", lines))
                add(origin, ALLOWED, origin, "header", "GET", lines, name)
        # Probes just outside the policy find what the server allows beyond it; a policy that does not
        # list methods (or headers) has no "beyond".
        for outside_method in [m for m in _OUTSIDE_METHODS if not policy.allows_method(m)]:
            add(origin, ALLOWED, origin, "method", outside_method, subject=outside_method)
        if policy.headers is not None:
            for name in (OUTSIDE_HEADER, "Authorization"):
                if not policy.allows_header(name) or (
                    name == "Authorization" and "*" in policy.headers
                ):
                    add(origin, ALLOWED, origin, "header", "GET", _header_lines([name]), name)
        if policy.private_network:
            add(origin, ALLOWED, origin, "private-network", "PUT", extra=(PRIVATE_NETWORK_REQUEST,))
        if origin == allowed[0]:
            probes += _error_paths(url, origin, policy, extra_headers, visitor)
            if depth == "thorough":
                probes += [
                    PlannedProbe(
                        Probe(variant, origin, "GET", (), "omit", extra_headers, cookie),
                        ALLOWED,
                        origin,
                        "path-variant",
                        variant,
                    )
                    for variant in path_variants(url)
                    for cookie in [None if visitor is None else ""]
                ]

    if policy is None and depth != "quick" and not trusted:
        for origin in first_party_origins(url):
            add(origin, FIRST_PARTY, origin, "origin")

    # A public policy ("*") still has attackers: credentialed reads must stay refused.
    attacker_allowed = [o for o in policy.origins if o != "*"] if policy else []
    witnessed = {w.origin: w.entry.value for w in _unlisted(witnesses, attacker_allowed)}
    for origin, regex in witnessed.items():
        add(origin, WITNESS_CLASS, regex, "origin")
    attackers = attacker_origins(url, attacker_allowed, trusted, depth)
    for attacker in attackers:
        if attacker.origin not in witnessed:  # the regex's witness says more: where it is written
            add(attacker.origin, attacker.origin_class, attacker.derived_from, "origin")
    if depth != "quick" and attackers and not trusted:
        # The preflight path is often configured apart from simple requests (a separate OPTIONS
        # handler): probe it from the unrelated origin, and ask it for private network access.
        first = next((a for a in attackers if a.origin_class == "unrelated"), attackers[0])
        add(
            first.origin,
            first.origin_class,
            first.derived_from,
            "private-network",
            "PUT",
            _header_lines(["Content-Type"]),
            extra=(PRIVATE_NETWORK_REQUEST,),
        )
    return probes


def plan_websocket(
    url: str,
    policy: Policy | None,
    depth: Depth = "standard",
    *,
    extra_headers: tuple[HeaderLine, ...] = (),
    visitor: Visitor | None = None,
) -> list[PlannedProbe]:
    """Every handshake for a ws(s):// target (websocket.py): the policy's front-ends and the crafted
    origins of a fetch audit, each as the visitor's profiles send it (one handshake per distinct
    Cookie line) and once without cookies, which shows whether the socket depends on them. An
    https origin that may not open a ws:// socket (mixed content) is tried as its http twin: that
    is where an attacker serves the page."""
    page_url = http_twin(url)
    probes: list[PlannedProbe] = []
    seen: set[str] = set()

    def add(origin: str, origin_class: str, derived_from: str) -> None:
        if origin in seen:
            return
        seen.add(origin)
        for cookie, profiles in _handshake_sendings(visitor, origin, page_url):
            credentials: Credentials = "include" if cookie else "omit"
            probe = Probe(url, origin, "GET", (), credentials, extra_headers, cookie)
            probes.append(
                PlannedProbe(probe, origin_class, derived_from, "websocket", profiles=profiles)
            )

    for origin in concrete_allowed_origins(policy) if policy else []:
        add(origin, ALLOWED, origin)
    attacker_allowed = [o for o in policy.origins if o != "*"] if policy else []
    for attacker in attacker_origins(page_url, attacker_allowed, (), depth):
        origin = attacker.origin
        if constructor_error(origin, url) is not None:
            origin = "http://" + origin.removeprefix("https://")
        add(origin, attacker.origin_class, attacker.derived_from)
    return probes


def _handshake_sendings(
    visitor: Visitor | None, origin: str, page_url: str
) -> list[tuple[str, tuple[Profile, ...]]]:
    """The Cookie lines of a handshake from `origin`: none, then one per distinct line the
    visitor's profiles attach (with the profiles that attach it where they differ)."""
    if visitor is None:
        return [("", ())]
    by_cookie: dict[str, list[Profile]] = {}
    for profile in visitor.profiles:
        sent = cookies_sent(visitor.cookies, profile, origin, page_url)
        by_cookie.setdefault(cookie_header(sent), []).append(profile)
    single = len(by_cookie) == 1
    sendings: list[tuple[str, tuple[Profile, ...]]] = [("", ())]
    sendings += [(c, () if single else tuple(p)) for c, p in by_cookie.items() if c]
    return sendings


MISSING_PATH_SEGMENT = "corscheck-no-such-path"


def path_variants(url: str) -> list[str]:
    """`url` with its trailing slash toggled, and with its first path segment in upper case: the
    spellings a CORS rule scoped by path (a regex, a location) may not cover."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if path == "/":
        return []
    toggled = path.rstrip("/") if path.endswith("/") else path + "/"
    first, _, rest = path.lstrip("/").partition("/")
    cased = "/" + first.upper() + ("/" + rest if rest or path.endswith("/") else "")
    variants = [toggled] + ([cased] if cased != path else [])
    return [urlunsplit(parts._replace(path=p)) for p in dict.fromkeys(variants)]


def _error_paths(
    url: str,
    origin: str,
    policy: Policy,
    extra_headers: tuple[HeaderLine, ...],
    visitor: Visitor | None,
) -> list[PlannedProbe]:
    """Requests of an allowed origin the server answers with an error on purpose, all safe: a path
    beside the target that does not exist, GET where the route takes only other methods (an
    OpenAPI route says so), the request without its -H credentials. The front-end meets each
    error; their answers must carry the CORS headers too. Sent without cookies: the server's
    error layers are what is under test, not the visitor's session."""
    from corscheck.masking import PUBLIC_HEADERS

    parts = urlsplit(url)
    directory = parts.path.rsplit("/", 1)[0]
    missing = urlunsplit(parts._replace(path=f"{directory}/{MISSING_PATH_SEGMENT}", query=""))
    cookie = None if visitor is None else ""
    paths: list[tuple[str, str, tuple[HeaderLine, ...]]] = [
        (f"to a path that does not exist ({missing})", missing, extra_headers)
    ]
    if policy.sends_methods is not None and "GET" not in policy.sends_methods:
        paths.append(("where the route takes only other methods", url, extra_headers))
    public = tuple(line for line in extra_headers if line[0].strip().lower() in PUBLIC_HEADERS)
    if public != extra_headers:
        paths.append(("without its -H credentials", url, public))
    return [
        PlannedProbe(
            Probe(path_url, origin, "GET", (), "omit", extra, cookie),
            ALLOWED,
            origin,
            "error-path",
            subject,
            withheld=tuple(name for name, value in extra_headers if (name, value) not in extra),
        )
        for subject, path_url, extra in paths
    ]


def first_party_origins(url: str) -> list[str]:
    """The front-ends a site most often has, on the target's scheme: its apex, www. and app. (none
    for an IP address or a name without a registrable domain); the target's own origin is not one."""

    parts = urlsplit(url)
    site = registrable_domain(parts.hostname or "")
    if site is None:
        return []
    own = serialize_origin(url)
    candidates = [f"{parts.scheme}://{host}" for host in (site, f"www.{site}", f"app.{site}")]
    return [origin for origin in candidates if origin != own]


def _sendings(
    visitor: Visitor | None, origin: str, url: str
) -> tuple[tuple[Credentials, str | None, tuple[Profile, ...]], ...]:
    """The credentials modes a probe is planned in: `omit` once, and `include` once per distinct
    Cookie line the visitor's profiles attach to a request from `origin` to `url`."""
    if visitor is None:
        return (("omit", None, ()), ("include", None, ()))
    if all(cookie.path == "/" for cookie in visitor.cookies):
        # Which cookies go depends on the URL's path only through a cookie's Path: with none but
        # "/", every path of a host plans alike, and the answer is shared across its URLs.
        parts = urlsplit(url)
        url = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    return _visitor_sendings(visitor, origin, url)


@functools.lru_cache(maxsize=4096)
def _visitor_sendings(
    visitor: Visitor, origin: str, url: str
) -> tuple[tuple[Credentials, str | None, tuple[Profile, ...]], ...]:
    by_cookie: dict[str, list[Profile]] = {}
    for profile in visitor.profiles:
        sent = cookies_sent(visitor.cookies, profile, origin, url)
        by_cookie.setdefault(cookie_header(sent), []).append(profile)
    single = len(by_cookie) == 1
    sendings: list[tuple[Credentials, str | None, tuple[Profile, ...]]] = [("omit", "", ())]
    for cookie, profiles in by_cookie.items():
        sendings.append(("include", cookie, () if single else tuple(profiles)))
    return tuple(sendings)


def front_end_methods(policy: Policy) -> list[str]:
    """The methods the front-end uses: those its calls are known to send (an OpenAPI route), else
    as the policy lists them; GET when neither says."""
    if policy.sends_methods is not None:
        return list(policy.sends_methods) or ["GET"]
    listed = [m for m in policy.methods or () if m != "*"]
    return listed or ["GET"]


def front_end_headers(policy: Policy) -> list[str]:
    """The request headers the front-end sets: those its calls are known to send (an OpenAPI
    route), else the policy's, with a stand-in header for a `*`."""
    if policy.sends_headers is not None:
        return list(policy.sends_headers)
    headers = [h for h in policy.headers or () if h != "*"]
    if "*" in (policy.headers or ()):
        headers.append(WILDCARD_HEADER)
    return headers


def _header_lines(names: Iterable[str]) -> tuple[HeaderLine, ...]:
    return tuple((name, _SAMPLE_VALUES.get(name.lower(), _CUSTOM_HEADER_VALUE)) for name in names)


# --- the cookie-less twin: sent only where the credentialed answer leaves it open --------------------


def deferred_twins(planned: Sequence[PlannedProbe]) -> dict[Probe, Probe]:
    """The cookie-less chains that wait for their credentialed twin, each mapped to that twin.

    An attacker-crafted origin is probed twice: with the visitor's cookie (what a logged-in visitor's
    browser sends) and without (a browser that withholds it). Where the answer with the cookie is a
    plain refusal, the answer without it is taken to be the same refusal, and not asked for
    (`twin_needed`). Only simple requests of attacker origins wait: an allowed or first-party
    origin's two answers decide different findings (a refused credentialed request is its own
    rule), and a preflighted pair shares its preflight already."""
    keep_both = {chain_of(p.probe) for p in planned if p.origin_class in (ALLOWED, FIRST_PARTY)}
    credentialed: dict[tuple[object, ...], Probe] = {}
    for p in planned:
        probe = p.probe
        if probe.cookie and probe.credentials == "include" and not needs_preflight(probe):
            credentialed[_request_of(probe)] = probe
    twins: dict[Probe, Probe] = {}
    for p in planned:
        chain = chain_of(p.probe)
        twin = credentialed.get(_request_of(chain))
        if twin is not None and chain is not twin and not chain.cookie and chain not in keep_both:
            twins[chain] = twin
    return twins


def twin_needed(answer: Exchange) -> bool:
    """Whether the credentialed answer leaves the cookie-less one open. It does not only when it
    is a success that refuses plainly (no CORS header at all) and says it varies by Origin: then
    the twin's answer is that same refusal, and a twin judged on it is never a finding's evidence
    (a refusal without `Vary: Origin` is the evidence of a missing Vary, and an `*` answer's twin
    that of a public read, so those twins are sent). Open too when it failed or redirected (an auth
    layer refusing the session, say), or when there is none."""
    if not answer.hops:
        return True
    response = answer.hops[-1].response
    if not 200 <= response.status < 300:
        return True
    if has_cors_headers(response.headers):
        return True
    varies = {v.strip().lower() for v in split_header_list(response.headers.combined("Vary") or "")}
    return not varies & {"origin", "*"}


def _request_of(probe: Probe) -> tuple[object, ...]:
    """What goes on the wire for a probe, but for its cookie."""
    return (probe.url, probe.origin, probe.method, probe.headers, probe.extra_headers)


def twin_groups(
    open_twins: Sequence[Probe], answers: Mapping[Probe, Exchange], classes: Mapping[str, str]
) -> list[list[Probe]]:
    """The cookie-less twins still open, grouped by what their credentialed twins were answered:
    the same request but for its Origin, answered alike but for the echo of that Origin
    (`answer_shape`). Each group leads with the twin sent first (`stand_in_holds` decides about the
    rest): an unrelated origin's where the group has one, the likeliest witness of a finding and the
    least trusted, then the plan's order. `answers` maps a twin to its credentialed twin's exchange;
    `classes` an origin to its class."""
    groups: dict[tuple[object, ...], list[Probe]] = {}
    for twin in open_twins:
        shape = answer_shape(answers[twin], twin.origin)
        key = (twin.url, twin.method, twin.headers, twin.extra_headers, shape)
        groups.setdefault(key, []).append(twin)
    return [
        sorted(group, key=lambda twin: classes.get(twin.origin) != _LEAST_TRUSTED)
        for group in groups.values()
    ]


_LEAST_TRUSTED = "unrelated"  # origins.py's class of an origin with no tie to the target


def stand_in_holds(with_cookie: Exchange, without: Exchange, origin: str) -> bool:
    """Whether a group's first twin was answered without the cookie as with it: then the server's
    CORS answer does not depend on the cookie, and the group's other twins are taken to be answered
    as their credentialed twins were (evidence of a finding is sent all the same: audit.py)."""
    return bool(without.hops) and answer_shape(with_cookie, origin) == answer_shape(without, origin)


def answer_shape(exchange: Exchange, origin: str) -> tuple[object, ...]:
    """What the browser's checks read of an exchange, with `origin` where the server echoed it:
    each hop's kind and status, and its CORS, Vary and Location lines in order."""
    return tuple(
        (
            hop.kind,
            hop.response.status,
            tuple(
                (
                    name,
                    _ECHO if name == "access-control-allow-origin" and value == origin else value,
                )
                for name, value in (
                    (name.lower(), value.strip()) for name, value in hop.response.headers.lines
                )
                if name.startswith("access-control-") or name in ("vary", "location")
            ),
        )
        for hop in exchange.hops
    )


_ECHO = "\0echo"  # stands for the request's own Origin; no header value holds a NUL


# --- the follow-up round: designed from what the first round's answers showed -----------------------


class HasPlanned(Protocol):
    """A first-round result as the follow-up round reads it (evaluate's ProbeResult is one)."""

    @property
    def planned(self) -> PlannedProbe: ...


Judged = Sequence[tuple[PlannedProbe, Exchange, Verdict]]


def _unlisted(witnesses: Sequence[RegexWitness], allowed: Sequence[str]) -> list[RegexWitness]:
    """The witnesses the policy does not allow: an origin it lists is the owner's, not a flaw."""
    return [w for w in witnesses if not origin_matches_policy(w.origin, allowed)]


def follow_up_round(
    url: str,
    policy: Policy | None,
    depth: Depth,
    first: Sequence[PlannedProbe],
    judged: Judged,
    *,
    extra_headers: tuple[HeaderLine, ...] = (),
    visitor: Visitor | None = None,
) -> list[PlannedProbe]:
    """The second round of a target: a server that answers a fixed origin trusts it, and its
    mutations are the likeliest bypasses. The probes of the first round are not planned again;
    nothing at quick depth or when the server granted no origin of its own."""
    if depth == "quick":
        return []
    trusted = discovered_trusted(judged, policy)
    if not trusted:
        return []
    second = plan_target(
        url, policy, depth, extra_headers=extra_headers, trusted=trusted, visitor=visitor
    )
    known = {chain_of(p.probe) for p in first}
    return [p for p in second if chain_of(p.probe) not in known]


def discovered_trusted(judged: Judged, policy: Policy | None) -> list[str]:
    """The origins (at most five) the server granted that were neither asked for nor allowed."""
    trusted: list[str] = []
    for planned, exchange, _ in judged:
        for hop in exchange.hops:
            value = hop.response.headers.combined("Access-Control-Allow-Origin")
            if value is None:
                continue
            origin = value.strip()
            if origin in ("*", "null", planned.probe.origin) or origin in trusted:
                continue
            if parse_origin(origin) is None:
                continue
            if policy is not None and policy.allows_origin(origin):
                continue
            trusted.append(origin)
    return trusted[:5]


CACHE_BUSTER = "corscheck-cache"


@dataclass(frozen=True, slots=True)
class CacheTrial:
    """One trial: the front-end's `probe` after a `primer` (a page origin; the target's own origin
    sends no Origin) on one fresh URL, and alone on another."""

    primer: str
    probe: Probe  # its URL is the one `alone` was sent to
    primed_url: str

    @property
    def primer_probe(self) -> Probe:
        """The primer: a plain GET from `primer` to the primed URL, without cookies."""
        extra = self.probe.extra_headers
        return Probe(self.primed_url, self.primer, "GET", (), "omit", extra, "")

    @property
    def primed_probe(self) -> Probe:
        """The front-end's request after the primer, to the same URL."""
        return replace(self.probe, url=self.primed_url)


def cache_trials(
    url: str, results: Sequence[HasPlanned], token: str, extra_headers: tuple[HeaderLine, ...]
) -> list[CacheTrial]:
    """The trials for a target: its first origin the server grants (an allowed or first-party
    one), primed by a request without Origin and by a request from another origin."""
    granted = [
        r.planned.probe.origin
        for r in results
        if r.planned.origin_class in (ALLOWED, FIRST_PARTY) and r.planned.aspect == "origin"
    ]
    front_ends = list(dict.fromkeys(granted))
    if not front_ends:
        return []
    front_end = front_ends[0]
    others = [o for o in dict.fromkeys(r.planned.probe.origin for r in results) if o != front_end]
    own = serialize_origin(url)
    primers = [own, *others[:1]]
    trials = []
    for number, primer in enumerate(primers):
        probe = Probe(
            busted(url, f"{token}-{number}-alone"), front_end, "GET", (), "omit", extra_headers, ""
        )
        trials.append(CacheTrial(primer, probe, busted(url, f"{token}-{number}")))
    return trials


def busted(url: str, token: str) -> str:
    """`url` with a cache-busting query parameter: a URL no cache has seen."""
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{query}{CACHE_BUSTER}={token}"))
