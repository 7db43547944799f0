"""Header lines, header-list values and origins (corscheck/headers.py), plus hostile-input
properties of the parsers the browser model relies on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corscheck.browser import (
    Probe,
    cors_check,
    cors_unsafe_request_header_names,
    is_cors_safelisted_request_header,
    judge,
    next_request,
    readable_response_headers,
)
from corscheck.errors import UsageError
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import (
    HeaderList,
    is_token,
    parse_header_lines,
    parse_origin,
    serialize_origin,
    split_header_list,
)


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ("GET, POST", ["GET", "POST"]),
        (" GET ,\tPOST\t", ["GET", "POST"]),
        (",,GET,,", ["GET"]),
        ("", []),
        (" , ", []),
        ("x-a x-b", ["x-a x-b"]),
        ("*", ["*"]),
    ],
    ids=["plain", "whitespace", "empties", "empty", "only-commas", "inner-space", "star"],
)
def test_split_header_list(value: str, items: list[str]) -> None:
    assert split_header_list(value) == items


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("GET", True),
        ("x-api-key", True),
        ("*", True),
        ("", False),
        ("a b", False),
        ("a(b", False),
        ("é", False),
        ("a,b", False),
        ('"a"', False),
    ],
    ids=["GET", "dash", "star", "empty", "space", "paren", "non-ascii", "comma", "quoted"],
)
def test_is_token(text: str, token: bool) -> None:
    assert is_token(text) is token


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("HTTPS://App.Example.COM/path?q#f", "https://app.example.com"),
        ("https://app.example.com:443/", "https://app.example.com"),
        ("http://app.example.com:80", "http://app.example.com"),
        ("http://app.example.com:8080", "http://app.example.com:8080"),
        ("https://user:pw@app.example.com", "https://app.example.com"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("http://[::1]:8000/x", "http://[::1]:8000"),
        ("http://[0:0:0:0:0:0:0:1]", "http://[::1]"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("  https://app.example.com  ", "https://app.example.com"),
        # WHATWG URL default ports: dropped for every special scheme, kept when not the default.
        ("ws://app.example.com:80/socket", "ws://app.example.com"),
        ("wss://app.example.com:443", "wss://app.example.com"),
        ("ftp://files.example.com:21", "ftp://files.example.com"),
        ("ws://app.example.com:81", "ws://app.example.com:81"),
        ("wss://app.example.com:444", "wss://app.example.com:444"),
        ("ftp://files.example.com:22", "ftp://files.example.com:22"),
        ("http://app.example.com:443", "http://app.example.com:443"),
        # UTS #46 maps upper case, full-width letters and soft hyphens before punycode, as
        # browsers do.
        ("https://BÜCHER.example", "https://xn--bcher-kva.example"),
        ("https://\uff42ücher.example", "https://xn--bcher-kva.example"),
        ("https://a\u00adb.example", "https://ab.example"),
        # Printable characters (space, !) in the path are not control characters.
        ("https://app.example.com/a b!", "https://app.example.com"),
    ],
    ids=[
        "plain",
        "case-path",
        "default-https",
        "default-http",
        "port",
        "userinfo",
        "idn",
        "ipv6",
        "ipv6-long",
        "ipv4",
        "padded",
        "ws-default",
        "wss-default",
        "ftp-default",
        "ws-port",
        "wss-port",
        "ftp-port",
        "http-on-443",
        "idn-upper",
        "idn-full-width",
        "idn-soft-hyphen",
        "printable-path",
    ],
)
def test_serialize_origin(url: str, origin: str) -> None:
    assert serialize_origin(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "app.example.com",
        "null",
        "",
        "https://",
        "http://a b.example",
        "http://x:99999",
        "http://[zz::1]",
        "https://a\x00.example",
        "//app.example.com",
        "http://exa<mple.com",
        "https://app.example.com/a\x01b",
        "https://app.example.com/a\x1fb",
        "https://app.example.com/a\x7fb",
        "//app.example.com/?next=http://x",
    ],
    ids=[
        "no-scheme",
        "null",
        "empty",
        "no-host",
        "space",
        "bad-port",
        "bad-ipv6",
        "nul",
        "scheme-relative",
        "forbidden-char",
        "control-in-path",
        "unit-separator-in-path",
        "del-in-path",
        "scheme-relative-with-url-in-query",
    ],
)
def test_serialize_origin_rejects(url: str) -> None:
    with pytest.raises(UsageError) as error:
        serialize_origin(url)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("https://app.example.com", ("https", "app.example.com", None)),
        ("http://app.example.com:8080", ("http", "app.example.com", 8080)),
        ("http://[::1]:8080", ("http", "[::1]", 8080)),
        ("https://app.example.com/", None),
        ("https://App.example.com", None),
        ("https://app.example.com:443", None),
        ("null", None),
        ("*", None),
        (" https://app.example.com", None),
        ("https://app.example.com, https://b.example", None),
    ],
    ids=[
        "plain",
        "port",
        "ipv6",
        "slash",
        "upper",
        "default-port",
        "null",
        "star",
        "padded",
        "list",
    ],
)
def test_parse_origin(text: str, parsed: tuple[str, str, int | None] | None) -> None:
    assert parse_origin(text) == parsed


def test_parse_header_lines_obs_fold_and_junk() -> None:
    parsed = parse_header_lines(
        ["Access-Control-Allow-Origin: a", "  , b", "junk without colon", "X: 1", "\tmore"]
    )
    assert parsed.lines == (("Access-Control-Allow-Origin", "a , b"), ("X", "1 more"))
    assert parse_header_lines([" orphan continuation"]).lines == ()


def test_header_list_basics() -> None:
    headers = HeaderList.of([("A", "1"), ("a", "2"), ("B", "3")])
    assert "A" in headers and "b" in headers and "c" not in headers
    assert headers.get_all("a") == ["1", "2"]
    assert headers.combined("A") == "1, 2"
    assert headers.combined("missing") is None
    assert HeaderList.from_raw([(b"X", b"\xff")]).lines == (("X", "\xff"),)
    assert len(headers) == 3 and len(HeaderList()) == 0
    assert 1 not in headers and None not in headers  # only a string names a header


def test_header_list_matching_keeps_the_lines_as_received() -> None:
    """The report's evidence: every line of one header, its name spelt as the server sent it."""
    headers = HeaderList.of(
        [
            ("Access-Control-Allow-Origin", "a"),
            ("Vary", "Origin"),
            ("access-control-allow-origin", "b"),
        ]
    )
    assert headers.matching("ACCESS-CONTROL-ALLOW-ORIGIN") == [
        ("Access-Control-Allow-Origin", "a"),
        ("access-control-allow-origin", "b"),
    ]
    assert headers.matching("vary") == [("Vary", "Origin")]
    assert headers.matching("X-Missing") == []


# --- Properties: hostile input never raises anything but documented errors -----------------------

# Text with the characters that break naive parsers: controls, separators, non-ASCII.
nasty = st.text(
    alphabet=st.sampled_from(
        [*"aAzZ09-_.*,;:/ \t\r\n\x00\x7f\"'()<>@[]{}?=\\é\u0130\u212aß", "\u00ff", "\u2028"]
    ),
    max_size=40,
)
names = st.one_of(
    nasty,
    st.sampled_from(
        [
            "Accept",
            "ACCEPT",
            "content-type",
            "Content-Language",
            "Range",
            "DPR",
            "Width",
            "Authorization",
            "X-Api-Key",
            "Cookie",
            "Sec-X",
            "X-HTTP-Method-Override",
            "",
        ]
    ),
)
response_names = st.sampled_from(
    [
        "Access-Control-Allow-Origin",
        "access-control-allow-origin ",
        "ACCESS-CONTROL-ALLOW-METHODS",
        "Access-Control-Allow-Headers",
        "Access-Control-Allow-Credentials",
        "Location",
        "Content-Length",
        "Access-Control-Expose-Headers",
        "X",
    ]
)
lines = st.lists(st.tuples(st.one_of(response_names, nasty), nasty), max_size=8)


@given(nasty)
def test_split_header_list_items_are_clean(value: str) -> None:
    for item in split_header_list(value):
        assert item and "," not in item
        assert item == item.strip(" \t")


@given(nasty)
def test_serialize_origin_raises_only_usage_error(text: str) -> None:
    try:
        origin = serialize_origin(text)
    except UsageError as error:
        assert "\n" not in str(error)
    else:
        assert origin == origin.lower() and origin.isascii()


@given(st.one_of(nasty, st.builds(lambda a, b: f"{a}://{b}", nasty, nasty)))
def test_parse_origin_never_raises_and_round_trips(text: str) -> None:
    parsed = parse_origin(text)
    if parsed is not None:
        assert serialize_origin(text) == text


@given(st.lists(st.tuples(names, nasty), max_size=10))
def test_unsafe_names_never_raise(headers: list[tuple[str, str]]) -> None:
    result = cors_unsafe_request_header_names(headers)
    assert result == sorted(set(result), key=lambda n: n.encode("utf-8"))
    assert all(n == n.lower() for n in result)
    for name, value in headers:
        assert isinstance(is_cors_safelisted_request_header(name, value), bool)


@settings(max_examples=200)
@given(
    lines,
    lines,
    st.integers(100, 599),
    st.integers(100, 599),
    st.sampled_from(["omit", "same-origin", "include"]),
    st.one_of(nasty, st.sampled_from(["GET", "PUT", "patch", "TRACE"])),
    st.lists(st.tuples(names, nasty), max_size=4),
)
def test_judge_never_raises_on_hostile_responses(
    pre_lines: list[tuple[str, str]],
    act_lines: list[tuple[str, str]],
    pre_status: int,
    act_status: int,
    credentials: str,
    method: str,
    headers: list[tuple[str, str]],
) -> None:
    probe = Probe(
        "https://api.example.com/x",
        "https://app.example.com",
        method,
        tuple(headers),
        credentials,  # type: ignore[arg-type]
    )
    preflight = Response(pre_status, HeaderList.of(pre_lines))
    actual = Response(act_status, HeaderList.of(act_lines))
    hops: list[Hop] = []
    for _ in range(25):
        step = next_request(probe, hops)
        if step is None:
            break
        kind, request = step
        assert isinstance(request, Request)
        hops.append(Hop(kind, request, preflight if kind == "preflight" else actual))
    verdict = judge(probe, Exchange(tuple(hops)))
    assert isinstance(verdict.allowed, bool)
    assert verdict.allowed or verdict.reason
    if verdict.allowed and hops and hops[-1].kind == "actual":
        # an allowed verdict always rests on a final response that passes the CORS check
        sent_origin = dict((n.lower(), v) for n, v in hops[-1].request.headers).get("origin")
        if sent_origin is not None:
            assert cors_check(hops[-1].response, sent_origin, probe.credentials) is None
    readable_response_headers(actual, probe.credentials)


@pytest.mark.parametrize(
    ("lines", "cors"),
    [
        ([("Access-Control-Allow-Origin", "*")], True),
        ([("access-control-expose-headers", "X-Id")], True),
        ([("Vary", "Origin"), ("Content-Type", "text/plain")], False),
        ([("X-Access-Control", "no")], False),  # only a name that starts so
        ([], False),
    ],
)
def test_has_cors_headers(lines: list[tuple[str, str]], cors: bool) -> None:
    from corscheck.headers import has_cors_headers

    assert has_cors_headers(lines) is cors
