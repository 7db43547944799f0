"""Attacker origins (origins.py): the Public Suffix List, policy matching, and the origins derived
for each kind of target and policy at each depth."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corscheck.errors import UsageError
from corscheck.headers import parse_origin, serialize_origin
from corscheck.origins import (
    ORIGIN_CLASSES,
    AttackerOrigin,
    _attackers,
    _registrable_by_others,
    attacker_origins,
    origin_matches_policy,
    registrable_domain,
)

APP = "https://app.example.com"
API = "https://api.example.com/v1/users"


def by_class(origins: list[AttackerOrigin]) -> dict[str, list[str]]:
    classes: dict[str, list[str]] = {}
    for attacker in origins:
        classes.setdefault(attacker.origin_class, []).append(attacker.origin)
    return classes


# --- the Public Suffix List -----------------------------------------------------------------------

# The list's own test data (publicsuffix.org's tests/test_psl.txt), input -> registrable domain.
PSL_TEST_DATA: list[tuple[str, str | None]] = [
    ("COM", None),
    ("example.COM", "example.com"),
    ("WwW.example.COM", "example.com"),
    (".com", None),
    (".example", None),
    (".example.com", None),
    (".example.example", None),
    ("example", None),
    ("example.example", "example.example"),
    ("b.example.example", "example.example"),
    ("a.b.example.example", "example.example"),
    ("biz", None),
    ("domain.biz", "domain.biz"),
    ("b.domain.biz", "domain.biz"),
    ("a.b.domain.biz", "domain.biz"),
    ("com", None),
    ("example.com", "example.com"),
    ("b.example.com", "example.com"),
    ("a.b.example.com", "example.com"),
    ("uk.com", None),
    ("example.uk.com", "example.uk.com"),
    ("b.example.uk.com", "example.uk.com"),
    ("a.b.example.uk.com", "example.uk.com"),
    ("test.ac", "test.ac"),
    ("mm", None),
    ("c.mm", None),
    ("b.c.mm", "b.c.mm"),
    ("a.b.c.mm", "b.c.mm"),
    ("jp", None),
    ("test.jp", "test.jp"),
    ("www.test.jp", "test.jp"),
    ("ac.jp", None),
    ("test.ac.jp", "test.ac.jp"),
    ("www.test.ac.jp", "test.ac.jp"),
    ("kyoto.jp", None),
    ("test.kyoto.jp", "test.kyoto.jp"),
    ("ide.kyoto.jp", None),
    ("b.ide.kyoto.jp", "b.ide.kyoto.jp"),
    ("a.b.ide.kyoto.jp", "b.ide.kyoto.jp"),
    ("c.kobe.jp", None),
    ("b.c.kobe.jp", "b.c.kobe.jp"),
    ("a.b.c.kobe.jp", "b.c.kobe.jp"),
    ("city.kobe.jp", "city.kobe.jp"),
    ("www.city.kobe.jp", "city.kobe.jp"),
    ("ck", None),
    ("test.ck", None),
    ("b.test.ck", "b.test.ck"),
    ("a.b.test.ck", "b.test.ck"),
    ("www.ck", "www.ck"),
    ("www.www.ck", "www.ck"),
    ("us", None),
    ("test.us", "test.us"),
    ("www.test.us", "test.us"),
    ("ak.us", None),
    ("test.ak.us", "test.ak.us"),
    ("www.test.ak.us", "test.ak.us"),
    ("k12.ak.us", None),
    ("test.k12.ak.us", "test.k12.ak.us"),
    ("www.test.k12.ak.us", "test.k12.ak.us"),
    ("食狮.com.cn", "食狮.com.cn"),
    ("食狮.公司.cn", "食狮.公司.cn"),
    ("www.食狮.公司.cn", "食狮.公司.cn"),
    ("shishi.公司.cn", "shishi.公司.cn"),
    ("公司.cn", None),
    ("食狮.中国", "食狮.中国"),
    ("www.食狮.中国", "食狮.中国"),
    ("shishi.中国", "shishi.中国"),
    ("中国", None),
    ("xn--85x722f.com.cn", "xn--85x722f.com.cn"),
    ("xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"),
    ("www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"),
    ("shishi.xn--55qx5d.cn", "shishi.xn--55qx5d.cn"),
    ("xn--55qx5d.cn", None),
    ("xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s"),
    ("www.xn--85x722f.xn--fiqs8s", "xn--85x722f.xn--fiqs8s"),
    ("shishi.xn--fiqs8s", "shishi.xn--fiqs8s"),
    ("xn--fiqs8s", None),
]


@pytest.mark.parametrize(("host", "expected"), PSL_TEST_DATA, ids=[c[0] for c in PSL_TEST_DATA])
def test_registrable_domain_matches_the_lists_own_test_data(
    host: str, expected: str | None
) -> None:
    assert registrable_domain(host) == expected


REGISTRABLE_CASES: list[tuple[str, str, str | None]] = [
    ("icann-two-level", "app.example.co.uk", "example.co.uk"),
    ("public-suffix-itself", "co.uk", None),
    ("private-section-github", "someone.github.io", "someone.github.io"),
    ("private-section-deeper", "a.b.someone.github.io", "someone.github.io"),
    ("private-suffix-itself", "github.io", None),
    ("private-s3", "bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com"),
    ("wildcard-rule", "a.b.c.kawasaki.jp", "b.c.kawasaki.jp"),
    ("wildcard-rule-only-suffix", "c.kawasaki.jp", None),
    ("exception-rule", "www.city.kawasaki.jp", "city.kawasaki.jp"),
    ("exception-rule-itself", "city.kawasaki.jp", "city.kawasaki.jp"),
    ("exception-under-wildcard-tld", "a.www.ck", "www.ck"),
    ("unlisted-tld", "a.b.internal", "b.internal"),
    ("single-label", "localhost", None),
    ("ipv4", "127.0.0.1", None),
    ("ipv4-short-form", "10.1", None),
    ("ipv6-bracketed", "[::1]", None),
    ("ipv6-bare", "2001:db8::1", None),
    ("punycode-in-punycode-out", "www.xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("unicode-in-unicode-out", "www.bücher.de", "bücher.de"),
    ("fully-qualified-keeps-dot", "www.example.com.", "example.com."),
    ("empty-label", "a..example.com", None),
    ("empty", "", None),
]


@pytest.mark.parametrize(
    ("host", "expected"), [c[1:] for c in REGISTRABLE_CASES], ids=[c[0] for c in REGISTRABLE_CASES]
)
def test_registrable_domain(host: str, expected: str | None) -> None:
    assert registrable_domain(host) == expected


# --- policy matching ------------------------------------------------------------------------------

MATCH_CASES: list[tuple[str, str, list[str], bool]] = [
    ("exact", APP, [APP], True),
    ("exact-other-host", "https://www.example.com", [APP], False),
    ("exact-entry-not-canonical", APP, ["https://APP.example.com:443"], True),
    ("any", "https://x.example", ["*"], True),
    ("any-includes-null", "null", ["*"], True),
    ("null-listed", "null", ["null"], True),
    ("null-not-listed", "null", [APP], False),
    ("pattern-subdomain", "https://a.example.com", ["https://*.example.com"], True),
    ("pattern-deep-subdomain", "https://a.b.example.com", ["https://*.example.com"], True),
    ("pattern-not-apex", "https://example.com", ["https://*.example.com"], False),
    ("pattern-other-scheme", "http://a.example.com", ["https://*.example.com"], False),
    ("pattern-other-port", "https://a.example.com:8443", ["https://*.example.com"], False),
    ("pattern-same-port", "https://a.example.com:8443", ["https://*.example.com:8443"], True),
    ("pattern-glued", "https://evilexample.com", ["https://*.example.com"], False),
    ("pattern-prefix", "https://example.com.evil.example", ["https://*.example.com"], False),
    ("pattern-special-char", "https://a}.example.com", ["https://*.example.com"], False),
    ("pattern-idn", "https://a.xn--bcher-kva.de", ["https://*.bücher.de"], True),
    ("port-differs", "https://app.example.com:8443", [APP], False),
    ("ipv6-exact", "http://[::1]:3000", ["http://[::1]:3000"], True),
    ("not-an-origin", "https://app.example.com/", [APP], False),
]


@pytest.mark.parametrize(
    ("origin", "allowed", "expected"), [c[1:] for c in MATCH_CASES], ids=[c[0] for c in MATCH_CASES]
)
def test_origin_matches_policy(origin: str, allowed: list[str], expected: bool) -> None:
    assert origin_matches_policy(origin, allowed) is expected


# --- derived origins per target -------------------------------------------------------------------

ATK = "corscheck-attacker"
UK = "https://app.example.co.uk/"
V4 = "http://127.0.0.1:8000/"
V6 = "https://[2001:db8::1]/"
IDN = "https://app.bücher.de/"
LOCAL = "http://localhost:8000/"
PATTERN = ["https://*.example.com"]
GITHUB = ["https://*.github.io"]
HTTP = "http://api.example.com/"


def derived(
    case_id: str, target: str, allowed: list[str], cls: str, origin: str, present: bool = True
) -> object:
    """A case: `origin` is (or, with present=False, is not) derived with class `cls` at thorough."""
    return pytest.param(target, allowed, cls, origin, present, id=case_id)


DERIVED_CASES = [
    derived("null", API, [APP], "null", "null"),
    derived("unrelated", API, [APP], "unrelated", f"https://{ATK}.example"),
    derived("prefix", API, [APP], "prefix", f"https://app.example.com.{ATK}.example"),
    derived("suffix-glued-to-site", API, [APP], "suffix", f"https://{ATK}example.com"),
    derived("unescaped-dot", API, [APP], "unescaped-dot", "https://appxexample.com"),
    # "app.examplexcom" has no listed public suffix: nobody can register it.
    derived("unescaped-dot-no-tld", API, [APP], "unescaped-dot", "https://app.examplexcom", False),
    derived("subdomain", API, [APP], "subdomain", f"https://{ATK}.app.example.com"),
    derived("scheme-downgrade", API, [APP], "scheme-downgrade", "http://app.example.com"),
    derived("port", API, [APP], "port", "https://app.example.com:8443"),
    derived("special-char", API, [APP], "special-chars", f"https://app.example.com_.{ATK}.example"),
    derived("substring", API, [APP], "substring", "https://example.co"),
    derived("localhost-edge", API, [APP], "localhost", f"http://localhost.{ATK}.example"),
    derived("developer", API, [APP], "developer", "http://localhost:3000"),
    derived("hosting", API, [APP], "third-party-hosting", f"https://{ATK}.github.io"),
    derived("target-prefix", API, [], "prefix", f"https://api.example.com.{ATK}.example"),
    derived("target-downgrade", API, [], "scheme-downgrade", "http://api.example.com"),
    # co.uk: the site is example.co.uk, so the glue and the dot go next to it.
    derived("co-uk-suffix", UK, [], "suffix", f"https://{ATK}example.co.uk"),
    derived("co-uk-unescaped-dot", UK, [], "unescaped-dot", "https://appxexample.co.uk"),
    derived("co-uk-substring", UK, [], "substring", "https://xample.co.uk"),
    derived("co-uk-no-glue-to-co", UK, [], "suffix", f"https://{ATK}co.uk", False),
    # An origin on a hosting platform is a site of its own (PSL private section).
    derived(
        "github-io-suffix", "https://me.github.io/", [], "suffix", f"https://{ATK}me.github.io"
    ),
    # IPv4: no subdomain, no registrable domain, but string checks still apply.
    derived("ipv4-prefix", V4, [], "prefix", f"http://127.0.0.1.{ATK}.example:8000"),
    derived("ipv4-port", V4, [], "port", "http://127.0.0.1"),
    derived("ipv4-no-subdomain", V4, [], "subdomain", f"http://{ATK}.127.0.0.1:8000", False),
    # IPv6: nothing can follow "]", so only the scheme and the port change.
    derived("ipv6-downgrade", V6, [], "scheme-downgrade", "http://[2001:db8::1]"),
    derived("ipv6-port", V6, [], "port", "https://[2001:db8::1]:8443"),
    # `startswith("http://[::1]:3000")` passes port 30000: the port grows though the host cannot.
    derived("ipv6-prefix-port", "http://[::1]:3000/", [], "prefix", "http://[::1]:30000"),
    derived("ipv6-no-subdomain", V6, [], "subdomain", f"https://{ATK}.[2001:db8::1]", False),
    # Ports: an origin with a port gets the default port and another one, and one more digit.
    derived("port-to-default", API, [f"{APP}:8443"], "port", APP),
    derived("port-to-another", API, [f"{APP}:8443"], "port", f"{APP}:8444"),
    derived("port-kept", API, [f"{APP}:8443"], "prefix", f"{APP}.{ATK}.example:8443"),
    derived(
        "port-one-more-digit", API, ["http://localhost:3000"], "prefix", "http://localhost:30000"
    ),
    derived("http-port", HTTP, [], "port", "http://api.example.com:8080"),
    derived("http-no-upgrade", HTTP, [], "scheme-downgrade", "https://api.example.com", False),
    # IDN: derived in punycode, as browsers send them.
    derived("idn-prefix", IDN, [], "prefix", f"https://app.xn--bcher-kva.de.{ATK}.example"),
    derived("idn-suffix", IDN, [], "suffix", f"https://{ATK}xn--bcher-kva.de"),
    derived("idn-unescaped-dot", IDN, [], "unescaped-dot", "https://appxxn--bcher-kva.de"),
    # localhost: a single label has no subdomain and no registrable domain.
    derived("localhost-prefix", LOCAL, [], "prefix", f"http://localhost.{ATK}.example:8000"),
    derived("localhost-no-suffix", LOCAL, [], "suffix", f"http://{ATK}localhost:8000", False),
    # Subdomain patterns: probed at their edges.
    derived("pattern-apex", API, PATTERN, "pattern-edge", "https://example.com"),
    derived(
        "pattern-unanchored",
        API,
        PATTERN,
        "pattern-edge",
        f"https://{ATK}.example.com.{ATK}.example",
    ),
    derived("pattern-hyphen", API, PATTERN, "pattern-edge", f"https://{ATK}-example.com"),
    derived("pattern-prefix", API, PATTERN, "prefix", f"https://example.com.{ATK}.example"),
    derived("pattern-suffix", API, PATTERN, "suffix", f"https://{ATK}example.com"),
    derived("pattern-downgrade", API, PATTERN, "scheme-downgrade", f"http://{ATK}.example.com"),
    derived(
        "pattern-allows-subdomain",
        API,
        PATTERN,
        "subdomain",
        f"https://{ATK}.api.example.com",
        False,
    ),
    derived("pattern-public-suffix", API, GITHUB, "suffix", f"https://{ATK}github.io"),
    derived(
        "pattern-allows-host",
        API,
        GITHUB,
        "third-party-hosting",
        f"https://{ATK}.github.io",
        False,
    ),
]


@pytest.mark.parametrize(
    ("target", "allowed", "origin_class", "origin", "present"),
    DERIVED_CASES,
)
def test_derived_origin(
    target: str, allowed: list[str], origin_class: str, origin: str, present: bool
) -> None:
    derived = by_class(attacker_origins(target, allowed, depth="thorough"))
    assert (origin in derived.get(origin_class, [])) is present


def test_trusted_origin_is_mutated_not_probed() -> None:
    trusted = "https://partner.example.net"
    derived = attacker_origins(API, [APP], [trusted], "standard")
    assert trusted not in {a.origin for a in derived}
    sources = {a.origin: a.derived_from for a in derived}
    assert sources["https://partner.example.net.corscheck-attacker.example"] == trusted
    assert sources["https://corscheck-attackerexample.net"] == trusted


def test_derived_from_names_the_base() -> None:
    derived = {
        a.origin: a for a in attacker_origins(API, ["https://*.example.com"], depth="thorough")
    }
    assert derived["https://example.com"].derived_from == "https://*.example.com"
    assert derived["http://api.example.com"].derived_from == "https://api.example.com"
    assert derived["null"].derived_from == ""
    assert derived["http://localhost:3000"].derived_from == ""


# --- what is never derived ------------------------------------------------------------------------


@pytest.mark.parametrize("depth", ["quick", "standard", "thorough"])
def test_never_the_target_allowed_or_duplicate(depth: str) -> None:
    allowed = [APP, "https://*.example.com", "http://localhost:3000", "null"]
    derived = attacker_origins(API, allowed, depth=depth)  # type: ignore[arg-type]
    origins = [a.origin for a in derived]
    assert len(origins) == len(set(origins))
    assert "https://api.example.com" not in origins
    assert not [o for o in origins if origin_matches_policy(o, allowed)]
    assert "null" not in origins and "http://localhost:3000" not in origins


def test_public_policy_leaves_nothing_to_probe() -> None:
    assert attacker_origins(API, ["*"]) == []


def test_bad_target_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        attacker_origins("not a url", [APP])


# --- depth and order ------------------------------------------------------------------------------


def test_quick_is_one_origin_of_each_main_class() -> None:
    derived = attacker_origins(API, [APP], depth="quick")
    assert [(a.origin_class, a.origin) for a in derived] == [
        ("null", "null"),
        ("unrelated", "https://corscheck-attacker.example"),
        ("prefix", "https://app.example.com.corscheck-attacker.example"),
        ("suffix", "https://corscheck-attackerexample.com"),
        ("unescaped-dot", "https://appxexample.com"),
        ("subdomain", "https://corscheck-attacker.app.example.com"),
        ("scheme-downgrade", "http://app.example.com"),
        ("developer", "http://localhost:3000"),
        ("third-party-hosting", "https://corscheck-attacker.github.io"),
    ]


def test_standard_covers_every_class_within_budget() -> None:
    derived = attacker_origins(API, [APP], depth="standard")
    assert len(derived) <= 25
    assert set(by_class(derived)) == set(ORIGIN_CLASSES) - {"pattern-edge"}
    assert len(by_class(derived)["special-chars"]) == 3
    assert len(by_class(derived)["third-party-hosting"]) == 3


def test_standard_probes_pattern_edges() -> None:
    derived = by_class(attacker_origins(API, ["https://*.example.com"], depth="standard"))
    assert derived["pattern-edge"] == [
        "https://example.com",
        "https://corscheck-attacker.example.com.corscheck-attacker.example",
    ]


def test_depths_nest() -> None:
    quick, standard, thorough = (
        {a.origin for a in attacker_origins(API, [APP], depth=d)}
        for d in ("quick", "standard", "thorough")
    )
    assert quick < standard < thorough
    assert len(quick) <= 10


def test_order_is_by_class_then_base_and_stable() -> None:
    first = attacker_origins(API, [APP], ["https://partner.example.net"], "thorough")
    # Stable means computed afresh, not answered from the cache (lru_cache would make a second
    # call trivially equal); test_standard_order_written_out pins the order itself.
    _attackers.cache_clear()
    assert first == attacker_origins(API, [APP], ["https://partner.example.net"], "thorough")
    order = list(ORIGIN_CLASSES)
    ranks = [order.index(a.origin_class) for a in first]
    assert ranks == sorted(ranks)
    prefixes = [a.derived_from for a in first if a.origin_class == "prefix"]
    assert prefixes[0] == APP and prefixes[-1] == "https://api.example.com"


def test_standard_order_written_out() -> None:
    """The documented order, written out by hand for one allowed origin (standard depth)."""
    a, t = "https://app.example.com", "https://api.example.com"
    assert [(x.origin_class, x.origin, x.derived_from) for x in attacker_origins(API, [APP])] == [
        ("null", "null", ""),
        ("unrelated", "https://corscheck-attacker.example", ""),
        ("prefix", "https://app.example.com.corscheck-attacker.example", a),
        ("prefix", "https://api.example.com.corscheck-attacker.example", t),
        ("suffix", "https://corscheck-attackerexample.com", a),  # one site: example.com
        ("unescaped-dot", "https://appxexample.com", a),
        ("unescaped-dot", "https://apixexample.com", t),
        ("subdomain", "https://corscheck-attacker.app.example.com", a),
        ("subdomain", "https://corscheck-attacker.api.example.com", t),
        ("scheme-downgrade", "http://app.example.com", a),
        ("scheme-downgrade", "http://api.example.com", t),
        ("port", "https://app.example.com:8443", a),
        ("port", "https://api.example.com:8443", t),
        ("special-chars", "https://app.example.com_.corscheck-attacker.example", a),
        ("special-chars", "https://app.example.com`.corscheck-attacker.example", a),
        ("special-chars", "https://app.example.com}.corscheck-attacker.example", a),
        ("substring", "https://app.example.co", a),
        ("substring", "https://example.co", a),
        ("substring", "https://api.example.co", t),
        ("localhost", "http://localhost.corscheck-attacker.example", ""),
        ("developer", "http://localhost:3000", ""),
        ("developer", "http://127.0.0.1:8080", ""),
        ("third-party-hosting", "https://corscheck-attacker.github.io", ""),
        ("third-party-hosting", "https://corscheck-attacker.s3.amazonaws.com", ""),
        ("third-party-hosting", "https://corscheck-attacker.vercel.app", ""),
    ]


def test_first_class_wins() -> None:
    # http://localhost is both a port variant of the allowed origin and a development front-end.
    derived = attacker_origins(API, ["http://localhost:3000"], depth="thorough")
    assert [a.origin_class for a in derived if a.origin == "http://localhost"] == ["port"]


def test_class_ids_are_kebab_case_with_descriptions() -> None:
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", c) for c in ORIGIN_CLASSES)
    assert all(d and "\n" not in d for d in ORIGIN_CLASSES.values())
    # evaluate.py maps these ids to rules.
    assert {"null", "unrelated", "scheme-downgrade", "developer"} <= set(ORIGIN_CLASSES)


# --- properties -----------------------------------------------------------------------------------

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
SUFFIX = st.sampled_from(["com", "co.uk", "github.io", "jp", "kawasaki.jp", "ck", "example", "de"])
DOMAIN = st.builds(
    lambda labels, s: ".".join([*labels, s]), st.lists(LABEL, min_size=1, max_size=3), SUFFIX
)
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(lambda a: f"[{a.compressed}]")
HOST = st.one_of(
    DOMAIN, DOMAIN, IPV4, IPV6, st.just("localhost"), st.sampled_from(["bücher.de", "app.例え.jp"])
)
PORT = st.one_of(st.none(), st.integers(1, 65535))
SCHEME = st.sampled_from(["http", "https"])


@st.composite
def origins(draw: st.DrawFn) -> str:
    port = draw(PORT)
    return f"{draw(SCHEME)}://{draw(HOST)}" + (f":{port}" if port is not None else "")


@st.composite
def entries(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["exact", "pattern", "null"]))
    if kind == "null":
        return "null"
    if kind == "pattern":
        return f"{draw(SCHEME)}://*.{draw(DOMAIN)}"
    return draw(origins())


@settings(max_examples=150, deadline=None)
@given(
    target=origins(),
    allowed=st.lists(entries(), max_size=3),
    trusted=st.lists(origins(), max_size=2),
    depth=st.sampled_from(["quick", "standard", "thorough"]),
)
def test_derived_origins_are_valid_and_never_allowed(
    target: str, allowed: list[str], trusted: list[str], depth: str
) -> None:
    derived = attacker_origins(target + "/path", allowed, trusted, depth)  # type: ignore[arg-type]
    origins_seen = [a.origin for a in derived]
    assert len(origins_seen) == len(set(origins_seen))
    for attacker in derived:
        assert attacker.origin == "null" or parse_origin(attacker.origin) is not None
        assert not origin_matches_policy(attacker.origin, allowed)
        assert attacker.origin_class in ORIGIN_CLASSES
        assert parse_origin(attacker.origin) != parse_origin(_canonical(target))


def _canonical(origin: str) -> str:
    from corscheck.headers import serialize_origin

    return serialize_origin(origin)


# --- the target-independent lists, written out (thorough) --------------------------------------


def test_thorough_generic_classes_written_out() -> None:
    """Every development front-end, loose-localhost edge and hosting platform corscheck probes."""
    derived = by_class(attacker_origins(API, [APP], depth="thorough"))
    assert derived["localhost"] == [
        "http://localhost.corscheck-attacker.example",
        "https://localhost.corscheck-attacker.example",
        "http://127.0.0.1.corscheck-attacker.example",
        "https://corscheck-attacker-localhost.example",
    ]
    assert derived["developer"] == [
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
    ]
    assert derived["third-party-hosting"] == [
        f"https://{ATK}.github.io",
        f"https://{ATK}.s3.amazonaws.com",
        f"https://{ATK}.vercel.app",
        f"https://{ATK}.netlify.app",
        f"https://{ATK}.herokuapp.com",
        f"https://{ATK}.pages.dev",
        "https://codepen.io",
        "https://cdpn.io",
        "https://jsfiddle.net",
        "https://fiddle.jshell.net",
        f"https://{ATK}.gitlab.io",
        f"https://{ATK}.web.app",
        f"https://{ATK}.firebaseapp.com",
        f"https://{ATK}.azurewebsites.net",
        f"https://{ATK}.blob.core.windows.net",
        "https://storage.googleapis.com",
        f"https://{ATK}.appspot.com",
        f"https://{ATK}.workers.dev",
        f"https://{ATK}.onrender.com",
        f"https://{ATK}.glitch.me",
        f"https://{ATK}.surge.sh",
        f"https://{ATK}.ngrok-free.app",
    ]
    assert [o for o in derived["special-chars"] if o.startswith(APP)] == [
        f"{APP}{c}.{ATK}.example" for c in "_`}{!$&'()*+,;=~-"
    ]


# --- ports, per scheme ----------------------------------------------------------------------------

PORT_CASES = [
    # (target, allowed, class, origins of that class derived from the allowed entry or target)
    (
        "http://api.example.io:8080/",
        [],
        "port",
        ["http://api.example.io", "http://api.example.io:8081"],
    ),
    (
        "https://api.example.io:8443/",
        [],
        "port",
        ["https://api.example.io", "https://api.example.io:8444"],
    ),
    # schemes without alternates of their own take 8443/8444
    (API, ["wss://socket.example.com"], "port", ["wss://socket.example.com:8443"]),
    (
        API,
        ["wss://socket.example.com:8443"],
        "port",
        ["wss://socket.example.com", "wss://socket.example.com:8444"],
    ),
    # `startswith("http://h.example.com:8")` passes :80, which is http://h.example.com itself: that
    # one is a port variant, not a longer prefix.
    (
        "http://h.example.com:8/",
        [],
        "prefix",
        ["http://h.example.com.corscheck-attacker.example:8"],
    ),
    ("http://h.example.com:8/", [], "port", ["http://h.example.com", "http://h.example.com:8080"]),
]


@pytest.mark.parametrize(("target", "allowed", "origin_class", "expected"), PORT_CASES)
def test_port_variants(
    target: str, allowed: list[str], origin_class: str, expected: list[str]
) -> None:
    derived = attacker_origins(target, allowed, depth="thorough")
    source = allowed[0] if allowed else serialize_origin(target)
    assert [
        a.origin for a in derived if a.origin_class == origin_class and a.derived_from == source
    ] == expected


def test_standard_keeps_one_candidate_per_base() -> None:
    """At standard depth a derived class keeps the most telling candidate of each base: here the
    longer host, not the longer port (:30000, :44430), which thorough adds."""
    allowed = ["https://app.example.io:3000"]
    standard = attacker_origins("https://api.example.io:4443", allowed)
    assert by_class(standard)["prefix"] == [
        "https://app.example.io.corscheck-attacker.example:3000",
        "https://api.example.io.corscheck-attacker.example:4443",
    ]
    thorough = attacker_origins("https://api.example.io:4443", allowed, depth="thorough")
    assert by_class(thorough)["prefix"] == [
        "https://app.example.io.corscheck-attacker.example:3000",
        "https://app.example.io:30000",
        "https://api.example.io.corscheck-attacker.example:4443",
        "https://api.example.io:44430",
    ]


def test_neither_the_target_nor_a_trusted_origin_is_derived_again() -> None:
    # The trusted origin's port variant :8443 is the target itself: it is not an attacker.
    target, trusted = "https://api.example.com:8443", "https://api.example.com"
    derived = [a.origin for a in attacker_origins(target, [], [trusted], "thorough")]
    assert target not in derived and trusted not in derived
    assert "https://api.example.com:8444" in derived


# --- substrings and unescaped dots: only names someone else could register -----------------------

SUBSTRING_CASES = [
    ("https://api.example.io", ["https://xample.io"]),  # api.example.i: no such suffix
    ("https://api.shop.example.info", ["https://api.shop.example.in", "https://xample.info"]),
    ("https://a.example.jobs", ["https://a.example.jo", "https://xample.jobs"]),
    ("https://x.example.travel", ["https://x.example.tr", "https://xample.travel"]),
    ("https://api.example.museum", ["https://api.example.mu", "https://xample.museum"]),
    ("https://shop.example.dk", ["https://xample.dk"]),
    # the first cut someone else could register, not every one (www.example.co is one too)
    ("https://www.example.com.au", ["https://www.example.com", "https://xample.com.au"]),
    # with a port: the cut host with it (host-level checks) and without it (whole-origin checks)
    (
        "https://www.example.com.au:8443",
        ["https://www.example.com:8443", "https://www.example.com", "https://xample.com.au:8443"],
    ),
]


@pytest.mark.parametrize(("target", "expected"), SUBSTRING_CASES)
def test_substring_cuts(target: str, expected: list[str]) -> None:
    derived = by_class(attacker_origins(target, [], depth="thorough"))
    assert derived.get("substring", []) == expected


def test_unescaped_dot_inside_the_trusted_site_is_no_bypass() -> None:
    # api.v1xexample.com is under example.com itself: only the dot before the site is a bypass.
    derived = by_class(attacker_origins("https://api.v1.example.com", [], depth="thorough"))
    assert derived["unescaped-dot"] == ["https://api.v1xexample.com"]


# --- policy entries -------------------------------------------------------------------------------

MATCH_CASES = [
    # an entry that is no origin is skipped, and the next entries still count
    ("https://a.example.com", ["junk", "https://*.example.com"], True),
    ("https://a.example.com", ["https://b.example.com", "https://*.example.com"], True),
    # host names are case-insensitive in an entry, as in any URL
    ("https://a.example.com", ["https://*.EXAMPLE.COM"], True),
    ("https://a.example.com", ["https://A.Example.com"], True),
    # an entry with a path, userinfo, query or fragment is no origin: it never matches
    ("https://a.example.com", ["https://a.example.com/"], False),
    ("https://a.example.com", ["https://a.example.com/app"], False),
    ("https://a.example.com", ["https://u@a.example.com"], False),
    ("https://a.example.com", ["https://a.example.com?x"], False),
    ("https://a.example.com", ["https://a.example.com#f"], False),
    ("https://a.example.com", ["https://*.example.com/app"], False),
]


@pytest.mark.parametrize(("origin", "allowed", "matches"), MATCH_CASES)
def test_policy_entries_match(origin: str, allowed: list[str], matches: bool) -> None:
    assert origin_matches_policy(origin, allowed) is matches


def test_entries_that_are_no_origin_derive_nothing() -> None:
    assert attacker_origins(API, ["https://", "http://a b.example"]) == attacker_origins(API, [])


REGISTRABLE_CASES = [
    ("a.example.com.", "example.com."),  # fully qualified: the root dot is kept
    ("a.example.com..", None),  # an empty label
    ("a\u3002example\u3002com", "example.com"),  # ideographic full stop
    ("a\uff0eexample\uff0ecom", "example.com"),  # full-width full stop
    ("a\uff61example\uff61com", "example.com"),  # halfwidth ideographic full stop
    ("[::ffff:1.2.3.4]", None),  # IPv6 literal with an IPv4 tail
    ("0x7f.1", None),  # the WHATWG parser reads this as IPv4
    ("a.0xab", None),
    ("a.0xg", "a.0xg"),  # not hexadecimal: a name
    ("kawasaki.jp", "kawasaki.jp"),  # *.kawasaki.jp needs a label in front of kawasaki.jp
    ("a.kawasaki.jp", None),
    ("www.city.kawasaki.jp", "city.kawasaki.jp"),  # !city.kawasaki.jp
]


@pytest.mark.parametrize(("host", "expected"), REGISTRABLE_CASES)
def test_registrable_domain_edges(host: str, expected: str | None) -> None:
    assert registrable_domain(host) == expected


@pytest.mark.parametrize(
    ("host", "victim", "others"),
    [
        ("evil.example.co", "example.com", True),
        ("www.example.com", "example.com", False),  # the trusted site itself
        ("www.city.kawasaki.jp", None, True),  # an exception rule is a listed rule
        ("a.b.internal", None, False),  # only the implicit "*" rule: no one can register it
        ("github.io", None, False),  # a public suffix has no site
    ],
)
def test_registrable_by_others(host: str, victim: str | None, others: bool) -> None:
    assert _registrable_by_others(host, victim) is others
