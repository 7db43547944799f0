from __future__ import annotations

import pytest

from corscheck.errors import PolicyError
from corscheck.policy import (
    MaxAge,
    Policy,
    build_policy,
    normalize_origin_entry,
    origin_matches,
    validate_method,
)

MATCHES = [
    ("exact", "https://app.example.com", ["https://app.example.com"], True),
    ("exact-other-port", "https://app.example.com:8443", ["https://app.example.com"], False),
    ("exact-other-scheme", "http://app.example.com", ["https://app.example.com"], False),
    ("wildcard", "https://anything.example", ["*"], True),
    ("null-listed", "null", ["null"], True),
    ("null-not-listed", "null", ["https://app.example.com"], False),
    ("pattern-subdomain", "https://a.example.com", ["https://*.example.com"], True),
    ("pattern-deep-subdomain", "https://a.b.example.com", ["https://*.example.com"], True),
    ("pattern-apex", "https://example.com", ["https://*.example.com"], False),
    ("pattern-suffix-trick", "https://evilexample.com", ["https://*.example.com"], False),
    (
        "pattern-prefix-trick",
        "https://a.example.com.evil.example",
        ["https://*.example.com"],
        False,
    ),
    ("pattern-scheme", "http://a.example.com", ["https://*.example.com"], False),
    ("pattern-port", "https://a.example.com:8443", ["https://*.example.com"], False),
    ("pattern-with-port", "https://a.example.com:8443", ["https://*.example.com:8443"], True),
]


@pytest.mark.parametrize(
    ("origin", "allowed", "expected"), [m[1:] for m in MATCHES], ids=[m[0] for m in MATCHES]
)
def test_origin_matches(origin: str, allowed: list[str], expected: bool) -> None:
    assert origin_matches(origin, allowed) is expected


NORMALIZE = [
    ("kept", "https://app.example.com", "https://app.example.com", False),
    ("case", "HTTPS://App.Example.COM", "https://app.example.com", True),
    ("default-port", "https://app.example.com:443", "https://app.example.com", True),
    ("http-default-port", "http://localhost:80", "http://localhost", True),
    ("other-port", "http://localhost:3000", "http://localhost:3000", False),
    ("ipv6", "http://[::1]:8080", "http://[::1]:8080", False),
    ("whitespace", "  https://a.example  ", "https://a.example", True),
    ("star", "*", "*", False),
    ("pattern", "https://*.Example.com", "https://*.example.com", True),
]


@pytest.mark.parametrize(
    ("entry", "canonical", "warns"), [n[1:] for n in NORMALIZE], ids=[n[0] for n in NORMALIZE]
)
def test_normalize_origin_entry(entry: str, canonical: str, warns: bool) -> None:
    result, warning = normalize_origin_entry(entry)
    assert result == canonical
    assert (warning is not None) is warns


BAD_ORIGINS = [
    ("path", "https://app.example.com/", "no path"),
    ("no-scheme", "app.example.com", "no scheme"),
    ("ftp", "ftp://app.example.com", "not http or https"),
    ("userinfo", "https://user:pw@app.example.com", "no user name"),
    ("query", "https://app.example.com?x=1", "no path, query"),
    ("bad-pattern", "https://app.*.example.com", "subdomain wildcard"),
    ("port-range", "https://app.example.com:99999", "out of range"),
    ("empty", "", "no scheme"),
]


@pytest.mark.parametrize(
    ("entry", "message"), [b[1:] for b in BAD_ORIGINS], ids=[b[0] for b in BAD_ORIGINS]
)
def test_bad_origin_entries(entry: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        build_policy(origins=[entry])


def test_wildcard_with_credentials_is_refused() -> None:
    with pytest.raises(PolicyError, match="refused by every browser"):
        build_policy(origins=["*"], credentials=True)


def test_methods_kept_as_written_normalized_and_deduplicated() -> None:
    policy = build_policy(
        origins=["https://a.example"], methods=["get", "put", "PATCH", "patch", "PUT", "POST"]
    )
    # As written (safelisted ones too: the front-end sends them), normalized as fetch() does.
    assert policy.methods == ("GET", "PUT", "PATCH", "patch", "POST")
    assert policy.to_dict()["methods"] == ["GET", "PUT", "PATCH", "patch", "POST"]
    assert policy.allows_method("GET") and policy.allows_method("PUT")
    assert not policy.allows_method("DELETE")


@pytest.mark.parametrize("method", ["GE T", "", "PUT\n", "Ü"])
def test_bad_method(method: str) -> None:
    with pytest.raises(PolicyError, match="not a valid HTTP method"):
        build_policy(origins=["https://a.example"], methods=[method])


@pytest.mark.parametrize("name", ["X Api", "", "X-Api:", "Ä"])
def test_bad_header(name: str) -> None:
    with pytest.raises(PolicyError, match="not a valid HTTP header name"):
        build_policy(origins=["https://a.example"], headers=[name])


def test_headers_case_insensitive_and_deduplicated() -> None:
    policy = build_policy(
        origins=["https://a.example"], headers=["Content-Type", "content-type", "X-Api"]
    )
    assert policy.headers == ("Content-Type", "X-Api")
    assert policy.allows_header("CONTENT-TYPE")
    assert not policy.allows_header("Authorization")


def test_max_age_bounds_checked() -> None:
    with pytest.raises(PolicyError, match="greater than max"):
        build_policy(origins=["https://a.example"], max_age=MaxAge(min=10, max=5))


def test_notes_say_which_values_need_no_cors_permission() -> None:
    policy = build_policy(
        origins=["https://a.example"],
        methods=["GET", "POST", "PUT"],
        headers=["Content-Type", "X-Token"],
    )
    notes = policy.to_dict()["notes"]
    assert isinstance(notes, list) and len(notes) == 2
    assert notes[0].startswith("GET, POST are CORS-safelisted methods")
    assert "Content-Type" in notes[1] and "application/json" in notes[1]


def test_no_notes_when_every_value_needs_permission() -> None:
    policy = build_policy(origins=["https://a.example"], methods=["PUT"], headers=["X-Token"])
    assert "notes" not in policy.to_dict()


# --- what a policy allows -------------------------------------------------------------------------

ALLOWS = [
    # (method or header, methods, headers, the name asked, allowed)
    ("method", None, None, "DELETE", True),  # the policy does not say: nothing is beyond it
    ("method", ["*"], None, "DELETE", True),
    ("method", ["PUT"], None, "PUT", True),
    ("method", ["PUT"], None, "GET", True),  # safelisted methods need no permission
    ("method", ["PUT"], None, "HEAD", True),
    ("method", ["PUT"], None, "POST", True),
    ("method", ["PUT"], None, "DELETE", False),
    ("header", None, None, "X-Anything", True),
    ("header", None, ["*"], "X-Anything", True),
    ("header", None, ["X-Api"], "x-api", True),
    ("header", None, ["X-Api"], "X-Other", False),
    ("header", None, [], "X-Api", False),
]


@pytest.mark.parametrize(("kind", "methods", "headers", "asked", "allowed"), ALLOWS)
def test_policy_allows(
    kind: str, methods: list[str] | None, headers: list[str] | None, asked: str, allowed: bool
) -> None:
    policy = build_policy(origins=["https://a.example"], methods=methods, headers=headers)
    check = policy.allows_method if kind == "method" else policy.allows_header
    assert check(asked) is allowed


def test_is_public_only_with_star() -> None:
    assert build_policy(origins=["*"]).is_public is True
    assert build_policy(origins=["https://a.example", "null"]).is_public is False


def test_methods_fetch_normalizes_are_upper_cased() -> None:
    policy = build_policy(methods=["delete", "head", "options", "post", "put", "get", "patch"])
    assert policy.methods == ("DELETE", "HEAD", "OPTIONS", "POST", "PUT", "GET", "patch")


def test_defaults_and_to_dict_written_out() -> None:
    assert build_policy().to_dict() == {
        "origins": [],
        "methods": None,
        "headers": None,
        "expose": [],
        "credentials": False,
        "private-network": False,
    }
    policy = build_policy(
        origins=["HTTPS://App.example.com", "https://*.example.org", "null"],
        methods=["PUT"],
        headers=["X-Api", "*"],
        expose=["X-Id"],
        credentials=True,
        max_age=MaxAge(min=60, max=60),  # equal bounds are a fixed value, not an error
        private_network=True,
    )
    assert policy.to_dict() == {
        "origins": ["https://app.example.com", "https://*.example.org", "null"],
        "methods": ["PUT"],
        "headers": ["X-Api", "*"],
        "expose": ["X-Id"],
        "credentials": True,
        "private-network": True,
        "max-age": {"min": 60, "max": 60},
    }
    assert policy.warnings == (
        "'HTTPS://App.example.com' normalized to 'https://app.example.com', as browsers send it",
    )


@pytest.mark.parametrize(
    ("sends_methods", "sends_headers", "sends"),
    [
        (None, None, None),
        (("PUT",), None, {"methods": ["PUT"], "headers": []}),
        (None, ("X-Api",), {"methods": [], "headers": ["X-Api"]}),
        ((), (), {"methods": [], "headers": []}),  # known to send nothing is still known
    ],
)
def test_to_dict_says_what_the_front_end_sends(
    sends_methods: tuple[str, ...] | None,
    sends_headers: tuple[str, ...] | None,
    sends: dict[str, list[str]] | None,
) -> None:
    data = Policy(sends_methods=sends_methods, sends_headers=sends_headers).to_dict()
    assert data.get("sends") == sends


@pytest.mark.parametrize(
    ("methods", "headers", "notes"),
    [
        (["HEAD"], None, ["HEAD is a CORS-safelisted method"]),
        (None, ["Accept"], ["Accept is CORS-safelisted for common values; other values need"]),
        (None, ["accept-language"], ["accept-language is CORS-safelisted for common values"]),
        (None, ["Content-Language"], ["Content-Language is CORS-safelisted for common values"]),
        (None, ["Content-Type"], ["Content-Type is CORS-safelisted for common values (only"]),
    ],
)
def test_notes_per_value(
    methods: list[str] | None, headers: list[str] | None, notes: list[str]
) -> None:
    written = build_policy(methods=methods, headers=headers).notes()
    assert len(written) == len(notes)
    assert all(w.startswith(n) for w, n in zip(written, notes, strict=True))


@pytest.mark.parametrize(
    ("entry", "canonical"),
    [
        ("null", "null"),
        ("https://a.example:65535", "https://a.example:65535"),
    ],
)
def test_normalize_origin_entry_edges(entry: str, canonical: str) -> None:
    assert normalize_origin_entry(entry) == (canonical, None)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("https://a.example:65536", "port 65536 is out of range"),
        ("https://a.example:abc", r"is not an origin: expected scheme://host\[:port\]$"),
        ("https://EXAMPLE.com:abc", r"is not an origin: expected scheme://host\[:port\]$"),
        ("https://a.example#f", "no path, query or fragment"),
    ],
)
def test_bad_origin_entry_hints(entry: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        normalize_origin_entry(entry)


@pytest.mark.parametrize("method", ["*", "patch", "PUT", "X-Custom"])
def test_valid_methods_are_kept_as_written(method: str) -> None:
    assert validate_method(method) == method
    assert build_policy(methods=[method]).methods == (method,)


def test_star_is_a_valid_header_entry() -> None:
    assert build_policy(headers=["*"], expose=["*"]).to_dict()["headers"] == ["*"]


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"origins": ["nope"]}, "origins"),
        ({"origins": ["*"], "credentials": True}, "credentials"),
        ({"origins": ["https://a.example"], "methods": ["GET IT"]}, "methods"),
        ({"origins": ["https://a.example"], "headers": ["X Api"]}, "headers"),
        ({"origins": ["https://a.example"], "expose": ["X Id"]}, "expose"),
        ({"origins": ["https://a.example"], "max_age": MaxAge(min=9, max=1)}, "max-age"),
    ],
    ids=["origins", "credentials", "methods", "headers", "expose", "max-age"],
)
def test_a_policy_error_names_its_field(fields: dict[str, object], key: str) -> None:
    with pytest.raises(PolicyError) as raised:
        build_policy(**fields)  # type: ignore[arg-type]
    assert raised.value.key == key
