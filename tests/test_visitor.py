"""visitor.py: Fetch Metadata, the Referer, which of the visitor's cookies each profile sends, and
the address space of a target, on plain data (issue 23)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from corscheck.errors import UsageError
from corscheck.visitor import (
    ACCEPT_LANGUAGE,
    CHROME_USER_AGENT,
    PLACEHOLDER_COOKIE,
    PROFILE_NAMES,
    PROFILES,
    Cookie,
    address_space,
    cookie_header,
    cookies_sent,
    fetch_metadata,
    fetch_site,
    parse_cookie,
    parse_profile,
    referer,
    site_of,
    user_agent_of,
    visitor_of,
)

API = "https://api.example.com/v1/items"

SITES = [
    ("same-origin", "https://api.example.com", API, "same-origin"),
    ("same-origin-default-port", "https://api.example.com:443", API, "same-origin"),
    ("sibling-subdomain", "https://app.example.com", API, "same-site"),
    ("apex", "https://example.com", API, "same-site"),
    ("other-port-same-site", "https://api.example.com:8443", API, "same-site"),
    ("scheme-downgrade-is-cross-site", "http://app.example.com", API, "cross-site"),
    ("other-site", "https://evil.example", API, "cross-site"),
    ("suffix-lookalike", "https://attackerexample.com", API, "cross-site"),
    ("null", "null", API, "cross-site"),
    ("public-suffix-siblings", "https://a.github.io", "https://b.github.io/x", "cross-site"),
    ("ip-other-port", "http://127.0.0.1:9", "http://127.0.0.1:8000/x", "same-site"),
    ("ip-vs-localhost", "http://localhost:8000", "http://127.0.0.1:8000/x", "cross-site"),
]


@pytest.mark.parametrize(
    ("page", "url", "expected"), [s[1:] for s in SITES], ids=[s[0] for s in SITES]
)
def test_sec_fetch_site_is_schemeful_and_by_registrable_domain(
    page: str, url: str, expected: str
) -> None:
    assert fetch_site(page, url) == expected
    assert dict(fetch_metadata(page, url)) == {
        "Sec-Fetch-Site": expected,
        "Sec-Fetch-Mode": "cors",
        "Sec-Fetch-Dest": "empty",
    }


def test_site_of() -> None:
    assert site_of("https://a.b.example.co.uk") == ("https", "example.co.uk")
    assert site_of("https://API.Example.com:8443/x") == ("https", "example.com")
    assert site_of("http://[::1]:80/") == ("http", "::1")
    assert site_of("null") is None


@pytest.mark.parametrize(
    ("page", "url", "expected"),
    [
        ("https://app.example.com", API, "https://app.example.com/"),
        ("http://app.example.com", API, "http://app.example.com/"),
        ("https://app.example.com", "http://api.example.com/x", None),  # a downgrade sends none
        ("null", API, None),
    ],
)
def test_referer_under_strict_origin_when_cross_origin(
    page: str, url: str, expected: str | None
) -> None:
    assert referer(page, url) == expected


NONE = Cookie("sid", "1", same_site="none", secure=True)
LAX = Cookie("sid", "1", same_site="lax")
STRICT = Cookie("sid", "1", same_site="strict", secure=True)
PARTITIONED = Cookie("sid", "1", same_site="none", secure=True, partitioned=True)
# (cookie, page, {profile: sent?}) — the table measured in Chromium 156 (visitor.py's docstring).
CASES = [
    ("none-cross-site", NONE, "https://evil.example", {"chrome": True, "chrome-no-3pc": False, "firefox": False, "safari": False}),
    ("none-same-site", NONE, "https://app.example.com", dict.fromkeys(PROFILES, True)),
    ("lax-cross-site", LAX, "https://evil.example", dict.fromkeys(PROFILES, False)),
    ("lax-same-site", LAX, "https://app.example.com", dict.fromkeys(PROFILES, True)),
    ("strict-cross-site", STRICT, "https://evil.example", dict.fromkeys(PROFILES, False)),
    ("strict-same-site", STRICT, "https://app.example.com", dict.fromkeys(PROFILES, True)),
    ("partitioned-cross-site", PARTITIONED, "https://evil.example", dict.fromkeys(PROFILES, False)),
    ("partitioned-same-site", PARTITIONED, "https://app.example.com", dict.fromkeys(PROFILES, True)),
    ("none-from-downgraded-scheme", NONE, "http://app.example.com", {"chrome": True, "chrome-no-3pc": False, "firefox": False, "safari": False}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cookie", "page", "sent"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_which_cookies_each_profile_sends(cookie: Cookie, page: str, sent: dict[str, bool]) -> None:
    for profile in PROFILES:
        assert bool(cookies_sent((cookie,), profile, page, API)) is sent[profile], profile  # type: ignore[arg-type]


def test_cookie_scope_path_domain_and_secure() -> None:
    scoped = Cookie("a", "1", same_site="lax", path="/v1")
    assert cookies_sent((scoped,), "chrome", "https://app.example.com", API) == (scoped,)
    assert (
        cookies_sent((scoped,), "chrome", "https://app.example.com", "https://api.example.com/v10")
        == ()
    )
    other_host = Cookie("a", "1", same_site="lax", domain="www.example.com")
    assert cookies_sent((other_host,), "chrome", "https://app.example.com", API) == ()
    parent = Cookie("a", "1", same_site="lax", domain="example.com")
    assert cookies_sent((parent,), "chrome", "https://app.example.com", API) == (parent,)
    # Secure cookies never go over plain http, except to loopback (potentially trustworthy).
    assert (
        cookies_sent((NONE,), "chrome", "http://app.example.com", "http://api.example.com/") == ()
    )
    assert cookies_sent((NONE,), "chrome", "http://localhost:1", "http://127.0.0.1:8000/") == (
        NONE,
    )


def test_cookie_header_keeps_the_order() -> None:
    assert cookie_header((Cookie("a", "1"), Cookie("b", "2"))) == "a=1; b=2"
    assert cookie_header(()) == ""


def test_the_placeholder_is_the_one_kind_that_flows_cross_site() -> None:
    assert (PLACEHOLDER_COOKIE.same_site, PLACEHOLDER_COOKIE.secure) == ("none", True)
    assert PLACEHOLDER_COOKIE.name.startswith("__corscheck")


def test_parse_cookie_reads_a_set_cookie_line() -> None:
    cookie = parse_cookie(
        "session=abc; Path=/api; Domain=.Example.com; SameSite=None; Secure; HttpOnly; Partitioned"
    )
    assert cookie == Cookie("session", "abc", "none", True, True, "/api", "example.com")
    assert parse_cookie("s=1").same_site == "lax"  # Chromium's default
    assert parse_cookie("s=1; samesite=STRICT").same_site == "strict"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("novalue", "NAME=VALUE"),
        ("s=1; SameSite=Sometimes", "Strict, Lax or None"),
        ("s=1; SameSite=None", "without Secure"),
        ("s=1; Partitioned", "without Secure"),
    ],
)
def test_parse_cookie_refuses_what_browsers_refuse(text: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_cookie(text)
    assert message in str(raised.value)


@pytest.mark.parametrize("text", ["bad name=s3cr3t-value", "s3cr3t-value", "=s3cr3t-value"])
def test_a_refused_cookie_never_shows_its_value(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_cookie(text)
    assert "s3cr3t-value" not in str(raised.value)


@pytest.mark.parametrize(
    ("host", "space"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.1", "loopback"),
        ("[::1]", "loopback"),
        ("localhost", "loopback"),
        ("api.localhost", "loopback"),
        ("10.1.2.3", "local"),
        ("172.16.0.1", "local"),
        ("192.168.1.1", "local"),
        ("169.254.0.1", "local"),
        ("100.64.0.1", "local"),
        ("fd00::1", "local"),
        ("printer.local", "local"),
        ("8.8.8.8", "public"),
        ("api.example.com", "public"),
        ("::ffff:192.168.0.1", "local"),
    ],
)
def test_address_space(host: str, space: str) -> None:
    assert address_space(host) == space


# --- the visitor of a run ----------------------------------------------------------------------------


def test_without_cookies_or_browsers_the_visitor_is_the_assumed_session_in_every_profile() -> None:
    visitor = visitor_of()
    assert visitor.profiles == PROFILES and visitor.profile == "chrome"
    assert visitor.cookies == (PLACEHOLDER_COOKIE,)
    assert not visitor.cookies_given and not visitor.profiles_given
    assert visitor.secrets() == ()  # the placeholder is no secret
    assert visitor.user_agent is None  # corscheck's own
    assert visitor.statement() == (
        "logged in, session cookie assumed SameSite=None; Secure (no --cookie) · verdicts as "
        "chrome (Chrome/Edge, third-party cookies allowed) · exposure also for chrome-no-3pc, "
        "firefox, safari"
    )


def test_given_cookies_and_browsers_are_the_visitor() -> None:
    lax = parse_cookie("sid=abc123; SameSite=Lax; Secure")
    visitor = visitor_of((lax,), ("chrome-no-3pc", "chrome-no-3pc", "firefox"))
    assert visitor.profiles == ("chrome-no-3pc", "firefox")  # repeats dropped, order kept
    assert visitor.cookies_given and visitor.profiles_given
    assert visitor.secrets() == ("abc123",)
    assert visitor.statement() == (
        "logged in with sid (SameSite=Lax; Secure) · verdicts as chrome-no-3pc (Chrome without "
        "third-party cookies: Incognito, Chromium) · exposure also for firefox"
    )
    kept = visitor.without_secrets()
    assert [c.value for c in kept.cookies] == ["****"] and kept.statement() == visitor.statement()
    assert visitor_of().without_secrets() == visitor_of()


def test_a_cookie_given_with_h_is_said_to_bypass_the_model() -> None:
    visitor = replace(visitor_of(profiles=("safari",)), bypassed=True)
    assert visitor.statement().startswith("the Cookie of -H on every request")
    assert visitor.statement().endswith("verdicts as safari (Safari, third-party cookies blocked)")


def test_describe_names_the_attributes_never_the_value() -> None:
    cookie = parse_cookie("__Host-s=v4lue; Secure; Partitioned; SameSite=None; Path=/")
    assert cookie.describe() == "__Host-s (SameSite=None; Secure; Partitioned)"
    assert parse_cookie("s=v").describe() == "s (SameSite=Lax)"


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("chrome", CHROME_USER_AGENT),
        ("Chrome", CHROME_USER_AGENT),
        ("  MyScanner/2.0 ", "MyScanner/2.0"),
    ],
)
def test_user_agent_of(given: str, sent: str) -> None:
    assert user_agent_of(given) == sent


@pytest.mark.parametrize("given", ["", "   ", "a\r\nX-Injected: 1", "a\nb", "a\0b"])
def test_user_agent_of_refuses_what_is_not_one_line(given: str) -> None:
    with pytest.raises(UsageError, match="--user-agent"):
        user_agent_of(given)


def test_chrome_user_agent_is_the_reduced_one_of_the_measured_version() -> None:
    assert "Chrome/156.0.0.0 " in CHROME_USER_AGENT  # Chromium 156, as measured (issue 23)


@pytest.mark.parametrize(
    ("cookie", "sends", "line"),
    [
        ("sid=1", True, "Chrome/Edge, third-party cookies allowed, sending its cookies sid"),
        ("", True, "sending none of its cookies (this browser does not attach them"),
        (None, True, "sending the Cookie given with -H (the visitor model is bypassed)"),
        ("sid=1", False, "sending no cookies (this credentials mode sends none to this URL)"),
    ],
)
def test_probe_statement(cookie: str | None, sends: bool, line: str) -> None:
    given = visitor_of((parse_cookie("sid=1"),))
    assert line in given.probe_statement(cookie, sends)


def test_probe_statement_of_the_placeholder() -> None:
    assert (
        visitor_of()
        .probe_statement("__corscheck_session=1", True)
        .endswith("sending the placeholder session cookie __corscheck_session")
    )


# --- boundaries the mutation run asked for ------------------------------------------------------------


def test_site_of_refuses_what_has_no_scheme_or_no_host() -> None:
    assert site_of("http:///path") is None  # a scheme, no host
    assert site_of("//api.example.com/x") is None  # a host, no scheme
    assert site_of("http://[::1/") is None  # does not parse
    assert site_of("https://127.0.0.1:8443") == ("https", "127.0.0.1")  # an IP is its own site


def test_each_of_several_cookies_is_decided_on_its_own() -> None:
    """A cookie that does not go never stops the ones after it."""
    session = Cookie("s", "1", same_site="none", secure=True)
    skipped = [
        Cookie("d", "1", domain="other.example"),  # another domain
        Cookie("p", "1", path="/elsewhere"),  # another path
        Cookie("l", "1", same_site="lax"),  # Lax, cross-site
    ]
    page = "https://corscheck-attacker.example"
    assert cookies_sent((*skipped, session), "chrome", page, API) == (session,)
    secure_first = Cookie("x", "1", same_site="none", secure=True)
    plain = "http://api.example.com/v1/items"
    lax = Cookie("y", "2", same_site="lax")
    assert cookies_sent((secure_first, lax), "chrome", "http://app.example.com", plain) == (lax,)


def test_a_url_without_a_path_is_the_root_and_a_bad_url_gets_no_cookie() -> None:
    root = Cookie("r", "1", same_site="lax")
    assert cookies_sent(
        (root,), "chrome", "https://app.example.com", "https://api.example.com"
    ) == (root,)
    assert cookies_sent((root,), "chrome", "https://app.example.com", "http://[::1/") == ()


def test_path_match_outside_the_cookie_path() -> None:
    api = Cookie("a", "1", same_site="lax", path="/api")
    page = "https://app.example.com"
    for path, sent in [("/api", True), ("/api/x", True), ("/apix", False), ("/other", False)]:
        got = cookies_sent((api,), "chrome", page, f"https://api.example.com{path}")
        assert bool(got) is sent, path


def test_parse_cookie_path_and_domain_rules() -> None:
    assert parse_cookie("s=1; Path=relative").path == "/"  # not a path: the default
    assert parse_cookie("s=1; Path=/api").path == "/api"
    assert parse_cookie("s=1; Domain=").domain is None  # empty: host-only
    assert parse_cookie("s=1; Domain=.Example.COM").domain == "example.com"


def test_errors_show_a_cookie_by_name_only() -> None:
    with pytest.raises(UsageError, match=r"--cookie 'bad name=\*\*\*\*'"):
        parse_cookie("bad name=s3cr3t")
    with pytest.raises(UsageError, match=r"--cookie '\*\*\*\*'"):
        parse_cookie("s3cr3t")


def test_parse_profile() -> None:
    assert [parse_profile(p) for p in PROFILES] == list(PROFILES)
    with pytest.raises(UsageError, match="--browser 'edge' is not one of chrome, chrome-no-3pc"):
        parse_profile("edge")


def test_every_profile_has_a_name_in_reports() -> None:
    assert set(PROFILE_NAMES) == set(PROFILES)
    assert (
        visitor_of(profiles=("firefox",))
        .statement()
        .endswith("verdicts as firefox (Firefox, Total Cookie Protection)")
    )


def test_the_browser_adds_chromiums_accept_language_and_the_placeholder_is_a_bare_one() -> None:
    assert ACCEPT_LANGUAGE == "en-US,en;q=0.9"  # Chromium 156's default for an en-US profile
    assert PLACEHOLDER_COOKIE.pair == "__corscheck_session=1"


@pytest.mark.parametrize(
    ("host", "space"),
    [("[::1]", "loopback"), ("localhost.", "loopback"), ("printer.local.", "local")],
)
def test_address_space_of_written_forms(host: str, space: str) -> None:
    assert address_space(host) == space
