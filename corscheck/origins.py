"""Attacker origins derived from a target and the origins its policy allows. Pure.

Each attacker origin stands for one real misconfiguration: a `startswith` or `endswith` check, a
regex with an unescaped dot or no end anchor, a substring test, a trusted plain-HTTP or other-port
variant, a forgotten development front-end, or an allow-list entry for a platform anyone can publish
on.

Order of `attacker_origins` (stable, so that reports and request plans do not churn):
1. by class, in the order of `ORIGIN_CLASSES`;
2. within a class derived from origins, by base: the policy's entries as given, then the origins
   the server was seen to trust, then the target's own origin; within a base, the order of its
   candidates (the most telling first, which is the one `quick` and `standard` keep);
3. an origin already produced by an earlier class is not repeated (the first class wins).

Registrable domains come from the bundled Public Suffix List (ICANN and private sections, so that
`someone.github.io` is a site of its own), read once on first use.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from corscheck.addresses import blocked_as_mixed_content
from corscheck.errors import UsageError
from corscheck.headers import DEFAULT_PORTS, parse_origin, serialize_origin

# The one definition of audit depths (config.DEPTHS lists them in order).
Depth = Literal["quick", "standard", "thorough"]

# RFC 2606 reserves .example: these names can never belong to anyone, so a leaked origin in a report
# is unmistakably one corscheck made up. Probes only put them in an Origin header; nothing resolves
# them.
ATTACKER_LABEL = "corscheck-attacker"
ATTACKER_DOMAIN = f"{ATTACKER_LABEL}.example"
UNRELATED_ORIGIN = f"https://{ATTACKER_DOMAIN}"


@dataclass(frozen=True, slots=True)
class AttackerOrigin:
    """An origin to probe with, the misconfiguration it tests, and where it came from."""

    origin: str  # serialized, exactly what goes in the Origin header ("null" allowed)
    origin_class: str  # one of ORIGIN_CLASSES
    # The allowed origin, policy pattern, trusted origin or target origin it was derived from; ""
    # for the classes that do not depend on the target (null, unrelated, localhost, developer, ...).
    derived_from: str


# Class id -> the phrase a finding puts after the origin: "<origin> (<description>) can read ...".
# The order here is the order of `attacker_origins`. Ids are stable: findings and reports use them.
ORIGIN_CLASSES: dict[str, str] = {
    "null": "the opaque origin null, which any page can send from a sandboxed iframe",
    "unrelated": "an unrelated attacker site",
    "prefix": "an attacker domain that starts with a trusted origin",
    "suffix": "an attacker domain that ends with a trusted domain name",
    "unescaped-dot": "a domain that a regex with an unescaped dot takes for a trusted one",
    "subdomain": "an unlisted subdomain of a trusted origin",
    "scheme-downgrade": "the plain-HTTP twin of a trusted HTTPS origin, forgeable on the network",
    "port": "a trusted host on another port",
    "special-chars": "an attacker domain that lax origin parsers cut short at a special character",
    "substring": "an attacker domain that is a substring of a trusted domain name",
    "pattern-edge": "an origin just outside a subdomain pattern of the policy",
    "localhost": "an attacker domain that passes a loose localhost check",
    "developer": "a local development front-end",
    "third-party-hosting": "a site on a hosting platform where anyone can publish",
}

# --- candidates that do not depend on the target --------------------------------------------------

# Front-ends developers run locally (React/Next, Vite, Angular, Django, Flask ...): trusting them in
# production lets any program on a user's machine, or a page served from it, read the API.
_DEVELOPER_ORIGINS = (
    "http://localhost:3000",
    "http://127.0.0.1:8080",
    "http://localhost:5173",
    "http://localhost:8080",
    "http://localhost:4200",
    "http://localhost:8000",
    "http://localhost:5000",
    "http://localhost",
    "http://127.0.0.1:3000",
    "http://127.0.0.1",
    "http://[::1]:3000",
    "https://localhost:3000",
)
# Checks such as `origin.startswith("http://localhost")` or `/localhost/.test(origin)`.
_LOCALHOST_EDGES = (
    f"http://localhost.{ATTACKER_DOMAIN}",
    f"https://localhost.{ATTACKER_DOMAIN}",
    f"http://127.0.0.1.{ATTACKER_DOMAIN}",
    f"https://{ATTACKER_LABEL}-localhost.example",
)
# Platforms where anyone gets an origin for free. Allow-lists name them (`*.github.io`,
# `*.vercel.app`) for previews and demos, and then every other user of the platform can read.
_HOSTING_ORIGINS = (
    f"https://{ATTACKER_LABEL}.github.io",
    f"https://{ATTACKER_LABEL}.s3.amazonaws.com",
    f"https://{ATTACKER_LABEL}.vercel.app",
    f"https://{ATTACKER_LABEL}.netlify.app",
    f"https://{ATTACKER_LABEL}.herokuapp.com",
    f"https://{ATTACKER_LABEL}.pages.dev",
    "https://codepen.io",
    "https://cdpn.io",  # where CodePen runs pens
    "https://jsfiddle.net",
    "https://fiddle.jshell.net",  # where JSFiddle runs fiddles
    f"https://{ATTACKER_LABEL}.gitlab.io",
    f"https://{ATTACKER_LABEL}.web.app",
    f"https://{ATTACKER_LABEL}.firebaseapp.com",
    f"https://{ATTACKER_LABEL}.azurewebsites.net",
    f"https://{ATTACKER_LABEL}.blob.core.windows.net",
    "https://storage.googleapis.com",
    f"https://{ATTACKER_LABEL}.appspot.com",
    f"https://{ATTACKER_LABEL}.workers.dev",
    f"https://{ATTACKER_LABEL}.onrender.com",
    f"https://{ATTACKER_LABEL}.glitch.me",
    f"https://{ATTACKER_LABEL}.surge.sh",
    f"https://{ATTACKER_LABEL}.ngrok-free.app",
)
# Characters that some URL parsers (Safari's historically, and many server-side regexes and split()
# calls) accept in a host and then treat as the end of it. Percent-encoded forms are left out: `%`
# is a forbidden domain code point, so no browser ever sends one and no valid origin contains it.
_SPECIAL_CHARS = tuple("_`}{!$&'()*+,;=~-")

_GENERIC: dict[str, tuple[str, ...]] = {
    "null": ("null",),
    "unrelated": (UNRELATED_ORIGIN,),
    "localhost": _LOCALHOST_EDGES,
    "developer": _DEVELOPER_ORIGINS,
    "third-party-hosting": _HOSTING_ORIGINS,
}

# --- depth ----------------------------------------------------------------------------------------

# `quick` keeps one origin of each of these classes; the others are left out.
_QUICK_CLASSES = frozenset(
    {
        "null",
        "unrelated",
        "prefix",
        "suffix",
        "unescaped-dot",
        "subdomain",
        "scheme-downgrade",
        "developer",
        "third-party-hosting",
    }
)
# `standard` keeps the first few of a generic list, the first candidate of each base for a derived
# class, except as listed here. Special characters are probed on the first base only: a parser that
# stops at `_` stops there whatever the host.
_STANDARD_GENERIC_COUNT = {"localhost": 1, "developer": 2, "third-party-hosting": 3}
_STANDARD_PER_BASE = {"pattern-edge": 2, "substring": 2}
_STANDARD_SPECIAL_CHARS = 3

_ALTERNATE_PORTS = {"https": (8443, 8444), "http": (8080, 8081)}
_PATTERN = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://\*\.(?P<rest>[^*/?#@\s]+)")
_SUBDOMAIN_LABELS = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


# --- public API -----------------------------------------------------------------------------------


def attacker_origins(
    target_url: str,
    allowed: Sequence[str],
    trusted: Sequence[str] = (),
    depth: Depth = "standard",
) -> list[AttackerOrigin]:
    """The attacker origins to probe `target_url` with, in the documented order.

    `allowed` are the policy's origin entries (exact, `scheme://*.domain`, "null" or "*");
    `trusted` are origins the server answered with on its own. None of the result is allowed by
    `allowed`, is the target's own origin or is a `trusted` origin (the server already named that
    one: only its mutations are news). With "*" in `allowed` every origin is allowed, so the result
    is empty. Raises UsageError when `target_url` has no origin.
    """
    return list(_attackers(serialize_origin(target_url), tuple(allowed), tuple(trusted), depth))


# A sweep audits many paths of one origin: the attacker origins depend on the origin alone.
@lru_cache(maxsize=1024)
def _attackers(
    target: str, allowed: tuple[str, ...], trusted: tuple[str, ...], depth: Depth
) -> tuple[AttackerOrigin, ...]:
    bases: list[_Base] = []
    for entry in (*allowed, *trusted):
        base = _base_of_entry(entry)
        if base is not None and base not in bases:
            bases.append(base)
    target_base = _base_of_entry(target)
    if target_base is not None and target_base not in bases:
        bases.append(target_base)
    excluded = {target, *(_canonical(o) for o in trusted)}

    result: list[AttackerOrigin] = []
    seen: set[str] = set()

    def admissible(origin: str) -> bool:
        if origin in seen or origin in excluded:
            return False
        if origin != "null" and parse_origin(origin) is None:
            return False
        return not origin_matches_policy(origin, allowed)

    for origin_class in ORIGIN_CLASSES:
        if depth == "quick" and origin_class not in _QUICK_CLASSES:
            continue
        generic = _GENERIC.get(origin_class)
        if origin_class == "unrelated" and blocked_as_mixed_content(UNRELATED_ORIGIN, target):
            # An attacker serves the page over http when an https one could not fetch the API.
            generic = (UNRELATED_ORIGIN.replace("https://", "http://", 1),)
        if generic is not None:
            groups = [[(o, "") for o in generic if admissible(o)]]
        else:
            derive = _DERIVATIONS[origin_class]
            groups = [[(o, b.source) for o in derive(b) if admissible(o)] for b in bases]
        for origin, source in _select(origin_class, groups, depth, generic is not None):
            if origin not in seen:
                seen.add(origin)
                result.append(AttackerOrigin(origin, origin_class, source))
    return tuple(result)


def origin_matches_policy(origin: str, allowed: Sequence[str]) -> bool:
    """Whether `origin` (serialized, or "null") is allowed by the policy's origin entries.

    An entry matches exactly, as `*`, or as `scheme://*.domain[:port]`: any subdomain at any depth,
    not the domain itself, with the same scheme and port.
    """
    parsed = parse_origin(origin) if origin != "null" else None
    for entry in allowed:
        if entry == "*" or entry == origin:
            return True
        if parsed is None:
            continue
        spec = _policy_entry(entry)
        if spec is None:
            continue
        scheme, host, port, is_pattern = spec
        if (scheme, port) != (parsed[0], parsed[2]):
            continue
        if not is_pattern:
            if host == parsed[1]:
                return True
            continue
        suffix = "." + host
        if parsed[1].endswith(suffix):
            labels = parsed[1][: -len(suffix)]
            if _SUBDOMAIN_LABELS.fullmatch(labels):
                return True
    return False


def registrable_domain(host: str) -> str | None:
    """The registrable domain (eTLD+1) of `host` by the Public Suffix List, or None if it has none.

    None for IP addresses, for a public suffix itself (`co.uk`, `github.io`), for a single label and
    for a malformed name (an empty label). The answer is lowercased and keeps the form of the input:
    Unicode labels in, Unicode labels out; punycode in, punycode out.
    """
    site = _site(host)
    return site[0] if site else None


def listed_site(host: str) -> str | None:
    """`host`'s registrable domain where a listed Public Suffix List rule gives it: a name someone
    can register (`x.github.io`, `example.net`), not one under an unlisted top-level domain."""
    site = _site(host)
    return site[0] if site and site[1] else None


# --- bases and derivations ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Base:
    """An origin, or a subdomain pattern, that attacker origins are derived from."""

    source: str  # canonical form, reported as `derived_from`
    scheme: str
    host: str  # ASCII; IPv6 in brackets; for a pattern, the domain after "*."
    port: int | None  # None for the scheme's default port
    pattern: bool

    @property
    def is_ipv6(self) -> bool:
        return self.host.startswith("[")

    @property
    def is_ip(self) -> bool:
        return self.is_ipv6 or _is_ipv4(self.host)

    @property
    def concrete_host(self) -> str:
        """The host itself, or for a pattern one of the subdomains it allows."""
        return f"{ATTACKER_LABEL}.{self.host}" if self.pattern else self.host


def _base_of_entry(entry: str) -> _Base | None:
    spec = _policy_entry(entry)
    if spec is None:
        return None
    scheme, host, port, is_pattern = spec
    source = _origin(scheme, f"*.{host}" if is_pattern else host, port)
    return _Base(source, scheme, host, port, is_pattern)


@functools.lru_cache(maxsize=1024)
def _policy_entry(entry: str) -> tuple[str, str, int | None, bool] | None:
    """(scheme, ASCII host, port, is a pattern) of a policy entry, or None when it is no origin."""
    text = entry.strip()
    match = _PATTERN.fullmatch(text)
    is_pattern = match is not None
    if match is not None:
        text = f"{match['scheme']}://{match['rest']}"
    if "://" not in text or any(c in text.partition("://")[2] for c in "/?#@"):
        return None
    parsed = parse_origin(_canonical(text))
    if parsed is None:
        return None
    scheme, host, port = parsed
    return scheme, host, port, is_pattern


def _canonical(origin: str) -> str:
    try:
        return serialize_origin(origin)
    except UsageError:
        return origin


def _origin(scheme: str, host: str, port: int | None) -> str:
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _prefix(base: _Base) -> list[str]:
    # `origin.startswith(trusted)` and `host.startswith(trusted_host)`; nothing can follow "]" in an
    # IPv6 host, but its port can still grow.
    found = (
        [] if base.is_ipv6 else [_origin(base.scheme, f"{base.host}.{ATTACKER_DOMAIN}", base.port)]
    )
    if base.port is not None:
        # With a port in the trusted origin, `startswith` passes one more digit: ":80" -> ":800".
        longer = int(f"{base.port}0")
        if longer <= 65535 and longer != DEFAULT_PORTS.get(base.scheme):
            found.append(_origin(base.scheme, base.host, longer))
    return found


def _suffix(base: _Base) -> list[str]:
    if base.is_ip:
        return []
    # `origin.endswith("example.com")` meant "example.com and its subdomains" and forgot the dot.
    # Glued to the registrable domain (not the full host): the result is a name anyone can register.
    victim = registrable_domain(base.host)
    host = ATTACKER_LABEL + (victim or base.host)
    return [_origin(base.scheme, host, base.port)] if _registrable_by_others(host, victim) else []


def _unescaped_dot(base: _Base) -> list[str]:
    if base.is_ip:
        return []
    # In `^https://app.example.com$` each "." matches any character. Only the dots whose replacement
    # yields a domain under a listed public suffix, and outside the trusted site, are a bypass; the
    # one nearest the registrable domain comes first.
    victim = registrable_domain(base.host)
    found = []
    for i in reversed([i for i, c in enumerate(base.host) if c == "."]):
        host = f"{base.host[:i]}x{base.host[i + 1 :]}"
        if _registrable_by_others(host, victim):
            found.append(_origin(base.scheme, host, base.port))
    return found


def _subdomain(base: _Base) -> list[str]:
    # A pattern allows its subdomains by design; an IP address or a single label has none.
    if base.pattern or base.is_ip or "." not in base.host:
        return []
    return [_origin(base.scheme, f"{ATTACKER_LABEL}.{base.host}", base.port)]


def _scheme_downgrade(base: _Base) -> list[str]:
    if base.scheme != "https":
        return []
    return [_origin("http", base.concrete_host, base.port)]


def _port(base: _Base) -> list[str]:
    alternates = _ALTERNATE_PORTS.get(base.scheme, (8443, 8444))
    host = base.concrete_host
    if base.port is None:
        return [_origin(base.scheme, host, alternates[0])]
    other = next(p for p in alternates if p != base.port)
    return [_origin(base.scheme, host, None), _origin(base.scheme, host, other)]


def _special_chars(base: _Base) -> list[str]:
    if base.is_ipv6:
        return []
    return [
        _origin(base.scheme, f"{base.host}{char}.{ATTACKER_DOMAIN}", base.port)
        for char in _SPECIAL_CHARS
    ]


def _substring(base: _Base) -> list[str]:
    # `origin in "https://a.example.com https://app.example.com"`, `allowed.includes(origin)`, an
    # unanchored nginx `~` match: any substring of the list passes. The one an attacker can register
    # is a trusted host cut short at its end (app.example.com -> app.example.co), port kept for
    # host-level checks, and without the port, which a whole-origin substring check also takes.
    victim = None if base.is_ip else registrable_domain(base.host)
    if victim is None or base.pattern:
        cut_hosts: list[str] = []
    else:
        cut_hosts = [
            base.host[:end]
            for end in range(len(base.host) - 1, len(base.host) - len(victim), -1)
            if base.host[end - 1] not in ".-" and _registrable_by_others(base.host[:end], victim)
        ][:1]
    found = [_origin(base.scheme, host, base.port) for host in cut_hosts]
    if base.port is not None:
        found += [_origin(base.scheme, host, None) for host in cut_hosts]
    # `trusted_host.find(host) >= 0`: the registrable domain cut at either end.
    if victim is not None:
        cut = (victim[:-1], victim[1:])
        found += [
            _origin(base.scheme, h, base.port) for h in cut if _registrable_by_others(h, victim)
        ]
    return list(dict.fromkeys(found))


def _pattern_edge(base: _Base) -> list[str]:
    if not base.pattern:
        return []
    found = [
        # `*.example.com` does not cover example.com itself.
        _origin(base.scheme, base.host, base.port),
        # `/^https:\/\/.*\.example\.com/` without the end anchor.
        _origin(base.scheme, f"{base.concrete_host}.{ATTACKER_DOMAIN}", base.port),
    ]
    # `/[\w-]*example\.com$/`: a hyphenated name next to the trusted registrable domain.
    victim = registrable_domain(base.host)
    glued = f"{ATTACKER_LABEL}-{victim or base.host}"
    if _registrable_by_others(glued, victim):
        found.append(_origin(base.scheme, glued, base.port))
    return found


_DERIVATIONS: dict[str, Callable[[_Base], list[str]]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "unescaped-dot": _unescaped_dot,
    "subdomain": _subdomain,
    "scheme-downgrade": _scheme_downgrade,
    "port": _port,
    "special-chars": _special_chars,
    "substring": _substring,
    "pattern-edge": _pattern_edge,
}


def _select(
    origin_class: str, groups: list[list[tuple[str, str]]], depth: Depth, generic: bool
) -> list[tuple[str, str]]:
    """The candidates `depth` keeps, from one group per base (one group for a generic class)."""
    if depth == "thorough":
        return [candidate for group in groups for candidate in group]
    if depth == "quick":
        return next(([group[0]] for group in groups if group), [])
    if generic:
        return groups[0][: _STANDARD_GENERIC_COUNT.get(origin_class, 1)]
    if origin_class == "special-chars":
        return next((group[:_STANDARD_SPECIAL_CHARS] for group in groups if group), [])
    count = _STANDARD_PER_BASE.get(origin_class, 1)
    return [candidate for group in groups for candidate in group[:count]]


# --- the Public Suffix List -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SuffixRules:
    exact: frozenset[str]  # "co.uk"
    wildcard: frozenset[str]  # "*.ck" stored as "ck"
    exception: frozenset[str]  # "!www.ck" stored as "www.ck"


@functools.cache
def _suffix_rules() -> _SuffixRules:
    text = (
        resources.files("corscheck")
        .joinpath("data/public_suffix_list.dat")
        .read_text(encoding="utf-8")
    )
    exact: set[str] = set()
    wildcard: set[str] = set()
    exception: set[str] = set()
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("//"):
            continue
        # Rules are compared in ASCII: the list writes IDN rules in Unicode, hosts come in punycode.
        rule = ".".join(_to_ascii_label(label) for label in fields[0].lower().split("."))
        if rule.startswith("!"):
            exception.add(rule[1:])
        elif rule.startswith("*."):
            wildcard.add(rule[2:])
        else:
            exact.add(rule)
    return _SuffixRules(frozenset(exact), frozenset(wildcard), frozenset(exception))


def _public_suffix_length(labels: list[str]) -> tuple[int, bool]:
    """How many trailing labels form the public suffix, and whether a listed rule said so.

    The PSL algorithm: an exception rule wins and stands for its parent; otherwise the matching rule
    with the most labels; otherwise the implicit rule "*" (the last label, not listed).
    """
    rules = _suffix_rules()
    best = 0
    for length in range(1, len(labels) + 1):
        name = ".".join(labels[-length:])
        if name in rules.exception:
            return length - 1, True
        # A wildcard rule "*.ck" matches any one label in front of "ck".
        parent = ".".join(labels[-(length - 1) :]) if length >= 2 else None
        if name in rules.exact or parent in rules.wildcard:
            best = length
    if best == 0:
        return 1, False
    return best, True


def _registrable_by_others(host: str, victim: str | None) -> bool:
    """Whether anyone could register `host`'s site: under a listed public suffix, not `victim`."""
    site = _site(host)
    return site is not None and site[1] and site[0] != victim


def _site(host: str) -> tuple[str, bool] | None:
    """`host`'s registrable domain, and whether a listed rule (not the implicit "*") gave it."""
    # A fully qualified name ("example.com.") is its own host to a browser; its site keeps the dot.
    root = "." if host.endswith(".") and not host.endswith("..") else ""
    labels = _host_labels(host.removesuffix(root) if root else host)
    if labels is None:
        return None
    length, listed = _public_suffix_length([_to_ascii_label(label) for label in labels])
    if len(labels) <= length:
        return None
    return ".".join(labels[-(length + 1) :]) + root, listed


def _host_labels(host: str) -> list[str] | None:
    """The lowercased labels of a domain name, or None for an IP address or a malformed name."""
    name = unicodedata.normalize("NFC", host.strip().lower())
    # The ideographic and full-width full stops separate labels too (UTS #46 maps them to ".").
    for stop in ("\u3002", "\uff0e", "\uff61"):
        name = name.replace(stop, ".")
    if not name or name.startswith("[") or _is_ipv4(name):
        return None
    try:
        ipaddress.IPv6Address(name)
        return None
    except ValueError:
        pass
    labels = name.split(".")
    if any(not label for label in labels):
        return None
    return labels


def _to_ascii_label(label: str) -> str:
    """The punycode form of one label; rules and hosts are already lowercased and NFC."""
    if label.isascii():
        return label
    return "xn--" + label.encode("punycode").decode("ascii")


def _is_ipv4(host: str) -> bool:
    # The WHATWG URL parser reads a host whose last label is a number as IPv4 ("1.2.3", "0x7f.1").
    last = host.rstrip(".").rpartition(".")[2]
    if not last:
        return False
    return last.isdigit() or (last[:2] == "0x" and all(c in "0123456789abcdef" for c in last[2:]))
