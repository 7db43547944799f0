"""The allow-list's regexes and entries, pure (witness.py, written.py, nginxconf.py): witnesses
under each framework's match rule, the owner's origins, the mended regex, nginx's conditions and the
policy the code declares. Fast, for the mutation score; the readers and whole audits are in
test_written.py."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corscheck.errors import UsageError
from corscheck.headers import parse_origin
from corscheck.nginxconf import read_nginx
from corscheck.origins import registrable_domain
from corscheck.witness import (
    MATCH_RULES,
    MatchRule,
    UnsupportedRegex,
    accepts,
    corrected_regex,
    intended_origins,
    regex_witnesses,
    spelled_out,
)
from corscheck.written import Entry, WrittenAllowList, unreadable_regexes, witnesses

# --- witnesses: the regexes, each under its framework's rule ----------------------------

KNOWN: list[tuple[str, MatchRule, bool, str, str]] = [
    # Starlette fullmatch: a foreign TLD through an alternation.
    (r"https://(app|admin)\.example\.(com|net)", "fullmatch", False, "foreign-domain",
     "https://app.example.net"),
    # django-cors-headers re.match: anchored at the start only.
    (r"^https://\w+\.partner\.io", "match", False, "no-end-anchor",
     "https://a.partner.io.corscheck-attacker.example"),
    # Flask-CORS: a glob read as a regex, re.match ignoring case.
    (r"https://*.example.com", "match", True, "unescaped-dot", "https://xexample.com"),
    (r"https://*.example.com", "match", True, "no-end-anchor",
     "https://xexample.com.corscheck-attacker.example"),
    (r"^https://static\.cdn\.io|https://www\.example\.com$", "match", True, "alternation",
     "https://static.cdn.io.corscheck-attacker.example"),
    # Litestar: "https://*example-partner.com" becomes .* under fullmatch.
    (r"https://.*example\-partner\.com", "fullmatch", False, "wildcard",
     "https://corscheckexample-partner.com"),
    # nginx: PCRE search, ~* ignoring case.
    (r"example-cdn\.net$", "search", False, "no-start-anchor", "https://corscheckexample-cdn.net"),
    (r"^https://(app\.example\.com|assets.examplecdn.net)$", "search", True, "unescaped-dot",
     "https://assetsxexamplecdn.net"),
    (r"https?://app\.example\.com", "fullmatch", False, "http", "http://app.example.com"),
    (r"https://[a-z]+\.github\.io", "fullmatch", False, "hosting-platform",
     "https://corscheck.github.io"),
    (r"http://localhost:\d+", "fullmatch", False, "port", "http://localhost:11"),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "rule", "ignore_case", "kind", "origin"), KNOWN)
def test_each_flaw_has_its_shortest_readable_witness(
    pattern: str, rule: MatchRule, ignore_case: bool, kind: str, origin: str
) -> None:
    found = {w.kind: w.origin for w in regex_witnesses(pattern, rule, ignore_case=ignore_case)}
    assert found.get(kind) == origin, found


@pytest.mark.parametrize(
    ("pattern", "rule"),
    [
        (r"^https://([a-z0-9-]+\.)?example\.com$", "fullmatch"),
        (r"^https://([a-z0-9-]+\.)?example\.com$", "match"),
        (r"^https://([a-z0-9-]+\.)?example\.com$", "search"),
        (r"https://(app|admin)\.example\.com", "fullmatch"),
        (r"^https://(app|admin)\.example\.com$", "search"),
        (r"^https://app\.example\.com$", "match"),
    ],
)
def test_a_correct_regex_has_no_witness(pattern: str, rule: MatchRule) -> None:
    assert regex_witnesses(pattern, rule) == []


def test_the_match_rule_decides_the_missing_end_anchor() -> None:
    """The same regex is exact under fullmatch (Starlette) and open at its end under re.match
    (django-cors-headers): the witness exists only where the framework's rule lets it in."""
    pattern = r"https://app\.example\.com"
    assert regex_witnesses(pattern, "fullmatch") == []
    (witness,) = regex_witnesses(pattern, "match")
    assert witness.kind == "no-end-anchor"
    assert not accepts(pattern, "fullmatch", witness.origin)


def test_the_policy_says_which_alternatives_are_the_owners() -> None:
    pattern = r"https://(app|admin)\.example\.(com|net)"
    assert regex_witnesses(pattern, "fullmatch", owner_origins=["https://app.example.net"]) == []


def test_a_backreference_is_one_clear_line_not_a_guess() -> None:
    with pytest.raises(UnsupportedRegex):
        regex_witnesses(r"https://(a)\1\.example\.com", "fullmatch")
    entry = Entry("regex", r"https://(a)\1\.example\.com", "allow_origin_regex", "app.py:3")
    (line,) = unreadable_regexes(WrittenAllowList("starlette", "app:app", (entry,)))
    assert line.startswith("app.py:3: allow_origin_regex") and "backreference" in line


# Regexes built from the pieces allow-lists are made of: schemes, hosts with escaped or unescaped
# dots, wildcards, alternations, optional anchors.
_SCHEMES = st.sampled_from(["https://", "https?://", "http://", "(http|https)://", ""])
_LABEL = st.sampled_from(["app", "api", "example", "partner", "cdn", "static", "www"])
_TLD = st.sampled_from(["com", "net", "io", "(com|net)", "co\\.uk"])
_DOT = st.sampled_from(["\\.", "."])
_WILD = st.sampled_from(
    ["", ".*", "\\w+\\.", "[a-z0-9-]+\\.", "([a-z0-9-]+\\.)?", "(app|admin)\\."]
)


@st.composite
def _regexes(draw: st.DrawFn) -> str:
    host = draw(_WILD) + draw(_LABEL) + draw(_DOT) + draw(_LABEL) + draw(_DOT) + draw(_TLD)
    core = draw(_SCHEMES) + host
    if draw(st.booleans()):
        core = f"{core}|https://{draw(_LABEL)}\\.example\\.org"
    return draw(st.sampled_from(["", "^"])) + core + draw(st.sampled_from(["", "$"]))


@settings(max_examples=300, deadline=None)
@given(pattern=_regexes(), rule=st.sampled_from(MATCH_RULES), ignore_case=st.booleans())
def test_every_witness_is_granted_valid_and_not_the_owners(
    pattern: str, rule: MatchRule, ignore_case: bool
) -> None:
    owner = ["https://app.example.com"]
    for witness in regex_witnesses(pattern, rule, ignore_case=ignore_case, owner_origins=owner):
        flags = re.IGNORECASE if ignore_case else 0
        assert getattr(re.compile(pattern, flags), rule)(witness.origin), witness
        assert parse_origin(witness.origin) is not None, witness
        assert witness.origin not in owner
        host = parse_origin(witness.origin)[1]  # type: ignore[index]
        if witness.kind not in ("http", "port"):
            assert registrable_domain(host) != "example.com", witness


@settings(max_examples=200, deadline=None)
@given(pattern=_regexes(), rule=st.sampled_from(MATCH_RULES))
def test_the_mended_regex_refuses_the_witnesses(pattern: str, rule: MatchRule) -> None:
    found = regex_witnesses(pattern, rule)
    mended = corrected_regex(pattern, rule, found)
    if mended is None:
        return
    for witness in found:
        assert not accepts(mended, rule, witness.origin), (mended, witness)


def test_the_mended_regex_keeps_what_the_regex_was_written_for() -> None:
    pattern = r"^https://(app\.example\.com|assets.examplecdn.net)$"
    found = regex_witnesses(pattern, "search", ignore_case=True)
    mended = corrected_regex(pattern, "search", found, ignore_case=True)
    assert mended == r"^(?:https://(app\.example\.com|assets\.examplecdn\.net))$"
    assert accepts(mended, "search", "https://assets.examplecdn.net")
    assert not accepts(mended, "search", "https://assetsxexamplecdn.net")


# --- nginx ----------------------------------------------------------------------------------------

NGINX = r"""
http {
  map $http_origin $cors {
    default "";
    "~example-cdn\.net$" $http_origin;   # searched: no start anchor
    "https://app.example.com" $http_origin;
    "~^https://off\.example\.com$" "";
  }
  server {
    location /a/ { add_header Access-Control-Allow-Origin $cors always; }
    location /b/ {
      if ($http_origin ~* "^https://(app\.example\.com|assets.examplecdn.net)$") {
        add_header Access-Control-Allow-Origin $http_origin always;
      }
    }
  }
}
"""


def test_nginx_map_and_if_entries_keep_their_lines_and_rules() -> None:
    read = read_nginx(NGINX, "site.conf")
    assert [(e.kind, e.value, e.where, e.rule, e.ignore_case) for e in read.entries] == [
        ("regex", r"example-cdn\.net$", "site.conf:5", "search", False),
        ("exact", "https://app.example.com", "site.conf:6", "fullmatch", True),
        ("regex", r"^https://(app\.example\.com|assets.examplecdn.net)$", "site.conf:12",
         "search", True),
    ]  # fmt: skip
    assert read.grants("https://corscheckexample-cdn.net") is read.entries[0]
    assert read.grants("https://off.example.com") is None


def test_an_nginx_file_without_a_cors_header_is_one_clear_line() -> None:
    with pytest.raises(UsageError, match="no add_header Access-Control-Allow-Origin"):
        read_nginx("server { listen 80; }", "plain.conf")


@pytest.mark.parametrize(
    ("conf", "entries"),
    [
        # nginx takes the if's parentheses off its first and last argument only.
        (r"server { if ($http_origin ~* (app|admin)\.example\.com) { add_header "
         r"Access-Control-Allow-Origin $http_origin; } }", [("regex", r"(app|admin)\.example\.com")]),
        (r'server { if ( $http_origin ~* "^https://a\.com$" ) { add_header '
         r"Access-Control-Allow-Origin $http_origin; } }", [("regex", r"^https://a\.com$")]),
        # A granting default grants every origin the other entries do not.
        (r'map $http_origin $c { default $http_origin; "~^https://a\.com$" $http_origin; } '
         r"server { add_header Access-Control-Allow-Origin $c; }", [("any", "*"), ("regex", r"^https://a\.com$")]),
        # A map feeding an if that reflects.
        (r'map $http_origin $ok { "~^https://(x|y)\.example\.com$" 1; } server { if ($ok) { '
         r"add_header Access-Control-Allow-Origin $http_origin; } }", [("regex", r"^https://(x|y)\.example\.com$")]),
    ],
)  # fmt: skip
def test_nginx_conditions_as_nginx_reads_them(conf: str, entries: list[tuple[str, str]]) -> None:
    assert [(e.kind, e.value) for e in read_nginx(conf, "c.conf").entries] == entries


def test_a_negative_nginx_guard_is_one_line_not_a_guess() -> None:
    conf = (
        r'server { if ($http_origin !~ "^https://app\.example\.com$") { return 403; } '
        r"add_header Access-Control-Allow-Origin $http_origin; }"
    )
    with pytest.raises(UsageError, match=r"c.conf:1: if \(\$http_origin !~ …\) is a guard"):
        read_nginx(conf, "c.conf")


def test_nginx_reflecting_every_origin_is_an_any_entry() -> None:
    read = read_nginx("server { add_header Access-Control-Allow-Origin $http_origin; }", "r.conf")
    assert [e.kind for e in read.entries] == ["any"]
    assert witnesses(read, ()) == []


# --- the policy the code declares (init --from-app) ----------------------------------------------


def test_declared_policy_lists_exact_and_spelled_out_origins_and_comments_the_rest() -> None:
    from corscheck.written import declared_policy

    allow_list = WrittenAllowList(
        "starlette",
        "app:app",
        (
            Entry("exact", "https://app.example.com", "allow_origins", "app.py:8"),
            Entry(
                "regex",
                r"https://(admin|ops)\.example\.(com|net)",
                "allow_origin_regex",
                "app.py:9",
            ),
            Entry("regex", r"https://.*example\-partner\.com", "allow_origin_regex", "app.py:10"),
        ),
        credentials=True,
        methods=("GET", "PUT"),
        headers=("*",),
    )
    declared = declared_policy(allow_list)
    assert declared.origins == (
        "https://app.example.com",
        "https://admin.example.com",
        "https://ops.example.com",
    )
    assert declared.methods == ("GET", "PUT") and declared.headers is None
    assert declared.credentials
    (comment,) = declared.comments
    assert "app.py:10" in comment and "https://corscheckexample-partner.com (wildcard)" in comment


# --- a table of regexes, each under one rule: every output pinned -------------------------------
# Witnesses, the mended regex, the intended origins and the owner's spelled-out origins, for regexes
# built from every construct the generator reads: negated characters and classes, each category
# (\d \D \w \W \s \S), ranges, case, classes holding a dot, counted, lazy and possessive
# repeats, atomic groups, lookarounds, alternations with uneven anchors, hosting platforms, ports,
# schemes. Reviewed by hand when written: each line is what the audit claims for that regex.

TABLE: list[tuple[str, MatchRule, bool, tuple[str, ...], list[tuple[str, str]], str | None, list[str], list[str]]] = [
    ('https://[^/]+\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://[^/]+\\.example\\.com)$', ['https://a.example.com'], []),
    ('https://a[^b]c\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://a[^b]c\\.example\\.com)$', ['https://aac.example.com'], []),
    ('https://\\d+\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://\\d+\\.example\\.com)$', ['https://1.example.com'], []),
    ('https://\\D+\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://\\D+\\.example\\.com)$', ['https://a.example.com'], []),
    ('https://\\w+\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://\\w+\\.example\\.com)$', ['https://a.example.com'], []),
    ('https://app\\W?\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://app\\W?\\.example\\.com)$', ['https://app.example.com'], []),
    ('https://\\S+\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://\\S+\\.example\\.com)$', ['https://a.example.com'], []),
    ('https://app\\s*\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://app\\s*\\.example\\.com)$', ['https://app.example.com'], []),
    ('https://[a-z0-9-]+\\.example\\.com', 'match', False, (),
      [('no-end-anchor', 'https://a.example.com.corscheck-attacker.example')],
      '^(?:https://[a-z0-9-]+\\.example\\.com)$', ['https://a.example.com'], []),
    ('https://[A-Z]+\\.example\\.com', 'fullmatch', True, (),
      [],
      '^(?:https://[A-Z]+\\.example\\.com)$', ['https://a.example.com'], []),
    ('https://[.a-z]+example\\.com', 'fullmatch', False, (),
      [('wildcard', 'https://corscheckexample.com')],
      None, ['https://aexample.com'], []),
    ('https://(app|api){1,2}\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://(app|api){1,2}\\.example\\.com)$', ['https://app.example.com', 'https://appapp.example.com'], []),
    ('https://(www\\.)?example\\.com', 'match', False, (),
      [('no-end-anchor', 'https://example.com.corscheck-attacker.example')],
      '^(?:https://(www\\.)?example\\.com)$', ['https://example.com', 'https://www.example.com'], []),
    ('https://a{2,3}\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://a{2,3}\\.example\\.com)$', ['https://aa.example.com', 'https://aaa.example.com'], []),
    ('https://.*?\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://.*?\\.example\\.com)$', ['https://example.com'], []),
    ('https://[a-z]++\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://[a-z]++\\.example\\.com)$', ['https://a.example.com'], []),
    ('https://(?>app)\\.example\\.com', 'search', False, (),
      [('no-end-anchor', 'https://app.example.com.corscheck-attacker.example')],
      '^(?:https://(?>app)\\.example\\.com)$', ['https://app.example.com'], []),
    ('https://(?!evil)\\w+\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://(?!evil)\\w+\\.example\\.com)$', ['https://a.example.com'], []),
    ('^https://a\\.example\\.com|https://b\\.example\\.com', 'search', False, (),
      [('alternation', 'https://a.example.com.corscheck-attacker.example')],
      '^(?:https://a\\.example\\.com|https://b\\.example\\.com)$', ['https://a.example.com', 'https://b.example.com'], ['https://a.example.com', 'https://b.example.com']),
    ('https://a\\.example\\.com$|^https://b\\.example\\.com', 'search', False, (),
      [('alternation', 'https://b.example.com.corscheck-attacker.example')],
      '^(?:https://a\\.example\\.com$|^https://b\\.example\\.com)$', ['https://a.example.com', 'https://b.example.com'], ['https://a.example.com', 'https://b.example.com']),
    ('https://\\w+\\.vercel\\.app', 'fullmatch', False, (),
      [('hosting-platform', 'https://corscheck.vercel.app')],
      None, ['https://a.vercel.app'], []),
    ('https://.*\\.herokuapp\\.com', 'fullmatch', False, (),
      [('hosting-platform', 'https://corscheck.herokuapp.com')],
      None, ['https://herokuapp.com'], []),
    ('http://localhost:\\d+', 'fullmatch', False, (),
      [('port', 'http://localhost:11')],
      None, ['http://localhost:1'], []),
    ('http://127\\.0\\.0\\.1:\\d{4}', 'fullmatch', False, (),
      [],
      '^(?:http://127\\.0\\.0\\.1:\\d{4})$', ['http://127.0.0.1:1111'], []),
    ('https://app\\.example\\.com(:\\d+)?', 'fullmatch', False, (),
      [],
      '^(?:https://app\\.example\\.com(:\\d+)?)$', ['https://app.example.com', 'https://app.example.com:1'], []),
    ('https?://app\\.example\\.com', 'match', False, (),
      [('no-end-anchor', 'https://app.example.com.corscheck-attacker.example'), ('http', 'http://app.example.com')],
      '^(?:https://app\\.example\\.com)$', ['http://app.example.com', 'https://app.example.com'], []),
    ('(http|https)://app\\.example\\.com', 'fullmatch', False, (),
      [('http', 'http://app.example.com')],
      '^(?:https://app\\.example\\.com)$', ['http://app.example.com', 'https://app.example.com'], ['https://app.example.com']),
    ('https://*.example.com', 'match', True, (),
      [('unescaped-dot', 'https://xexample.com'), ('no-end-anchor', 'https://xexample.com.corscheck-attacker.example')],
      '^(?:https://([a-z0-9-]+\\.)+example\\.com)$', ['https://example.com'], []),
    ('https://app.example.com', 'fullmatch', False, (),
      [('unescaped-dot', 'https://appxexample.com')],
      '^(?:https://app\\.example\\.com)$', ['https://app.example.com'], ['https://app.example.com']),
    ('https://(app|admin)\\.example\\.(com|net)', 'fullmatch', False, ('https://app.example.com',),
      [('foreign-domain', 'https://app.example.net')],
      '^(?:https://app\\.example\\.com|https://admin\\.example\\.com)$', ['https://app.example.com', 'https://app.example.net', 'https://admin.example.com', 'https://admin.example.net'], ['https://app.example.com', 'https://admin.example.com']),
    ('example\\.com$', 'search', False, (),
      [('no-start-anchor', 'https://corscheckexample.com'), ('http', 'http://example.com')],
      '^(?:https://example\\.com)$', ['https://example.com'], ['https://example.com']),
    ('https://app\\.example\\.com', 'match', False, (),
      [('no-end-anchor', 'https://app.example.com.corscheck-attacker.example')],
      '^(?:https://app\\.example\\.com)$', ['https://app.example.com'], ['https://app.example.com']),
    (r"https://.*\.example\.com", "match", False, (),
     [("no-end-anchor", "https://a.example.com.corscheck-attacker.example")],
     r"^(?:https://([a-z0-9-]+\.)+example\.com)$", ["https://example.com"], []),
    (r"https://.*example\.com", "fullmatch", False, (),
     [("wildcard", "https://corscheckexample.com")],
     r"^(?:https://([a-z0-9-]+\.)*example\.com)$", ["https://example.com"], []),
    (r"(http|https)://[a-z]+\.example\.com", "fullmatch", False, (),
     [("http", "http://corscheck.example.com")],
     r"^(?:https://[a-z]+\.example\.com)$", ["http://a.example.com", "https://a.example.com"], []),
    (r"https://app[.-]example\.com", "fullmatch", False, (),
     [("unescaped-dot", "https://app.example.com")],
     None, ["https://app-example.com"], []),
    ('https://app\\.example\\.com', 'fullmatch', False, (),
      [],
      '^(?:https://app\\.example\\.com)$', ['https://app.example.com'], ['https://app.example.com']),
]  # fmt: skip


@pytest.mark.parametrize(
    ("pattern", "rule", "ignore_case", "owners", "found", "mended", "intended", "spelled"), TABLE
)
def test_every_construct_gives_what_the_table_says(
    pattern: str,
    rule: MatchRule,
    ignore_case: bool,
    owners: tuple[str, ...],
    found: list[tuple[str, str]],
    mended: str | None,
    intended: list[str],
    spelled: list[str],
) -> None:
    built = regex_witnesses(pattern, rule, ignore_case=ignore_case, owner_origins=owners)
    assert [(w.kind, w.origin) for w in built] == found
    assert (
        corrected_regex(pattern, rule, built, ignore_case=ignore_case, owner_origins=owners)
        == mended
    )
    assert intended_origins(pattern, ignore_case=ignore_case) == intended
    assert spelled_out(pattern, ignore_case=ignore_case, owner_origins=owners) == spelled


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"(a)?(?(1)b|c)", "a conditional group"),
        (r"https://(a)\1", "a backreference"),
        ("(" * 22 + "a" + ")" * 22, "nests too deep"),
    ],
)
def test_what_no_witness_is_built_for_says_why(pattern: str, words: str) -> None:
    with pytest.raises(UnsupportedRegex, match=words):
        regex_witnesses(pattern, "fullmatch")


def test_twenty_nested_groups_are_read_and_twenty_one_are_too_deep() -> None:
    def nested(depth: int) -> str:
        return "https://" + "(" * depth + "app" + ")" * depth + r"\.example\.com"

    assert intended_origins(nested(20)) == ["https://app.example.com"]
    with pytest.raises(UnsupportedRegex, match="nests too deep"):
        intended_origins(nested(21))


# --- the pieces, each at its boundaries ------------------------------------------------------------
# Private helpers tested directly: each decides what a finding claims (an origin a browser sends, a
# site that is the owner's), and a whole regex rarely reaches every edge of them.

from corscheck import witness as w  # noqa: E402


@pytest.mark.parametrize(
    ("origin", "valid"),
    [
        ("https://app.example.com", True),
        ("http://app.example.com:8080", True),
        ("ftp://app.example.com", False),
        ("https://app.example.com/", False),  # not a serialized origin
        ("https://[::1]:8443", True),
        ("http://127.0.0.1", True),
        ("http://255.255.255.255", True),
        ("http://256.1.1.1", False),  # past a byte
        ("http://127.0.0.01", False),  # a leading zero: the browser reads it otherwise
        ("http://127.0.0x1", False),  # hex: the browser's 127.0.0.1
        ("http://1.2.3", False),  # ends in a number, not a dotted quad
        ("https://-app.example.com", False),
        ("https://app_.example.com", False),
        ("https://" + "a" * 63 + ".example.com", True),
        ("https://" + "a" * 64 + ".example.com", False),
        ("https://" + ".".join(["a" * 62] * 4) + ".io", False),  # 254: past 253
        ("https://" + ".".join(["a" * 62] * 4) + ".i", True),  # 253
    ],
)
def test_an_origin_is_valid_as_a_browser_sends_it(origin: str, valid: bool) -> None:
    assert w._valid(origin) is valid


@pytest.mark.parametrize(
    ("host", "number"),
    [("127.0.0.1", True), ("a.0x1", True), ("a.1b", False), ("example.com", False), ("", False)],
)
def test_a_host_ending_in_a_number_is_read_as_ipv4(host: str, number: bool) -> None:
    assert w._ends_in_a_number(host) is number


@pytest.mark.parametrize(
    ("char", "category", "inside"),
    [
        ("1", "CATEGORY_DIGIT", True), ("a", "CATEGORY_DIGIT", False),
        ("a", "CATEGORY_NOT_DIGIT", True), ("1", "CATEGORY_NOT_DIGIT", False),
        ("_", "CATEGORY_WORD", True), ("a", "CATEGORY_WORD", True), ("-", "CATEGORY_WORD", False),
        ("-", "CATEGORY_NOT_WORD", True), ("_", "CATEGORY_NOT_WORD", False),
        ("a", "CATEGORY_NOT_WORD", False),
        (" ", "CATEGORY_SPACE", True), ("a", "CATEGORY_SPACE", False),
        ("a", "CATEGORY_NOT_SPACE", True), (" ", "CATEGORY_NOT_SPACE", False),
        ("a", "CATEGORY_LINEBREAK", False),
    ],
)  # fmt: skip
def test_each_category_holds_its_characters(char: str, category: str, inside: bool) -> None:
    assert w._in_category(char, category) is inside


def _class(pattern: str, flags: int = 0) -> list[tuple[object, object]]:
    ((op, value),) = list(w.sre_parse.parse(pattern, flags))
    return list(value) if op is w.sre.IN else [(op, value)]


@pytest.mark.parametrize(
    ("pattern", "flags", "chars", "outside"),
    [
        ("[b-d]", 0, ["b"], ["a", "e"]),  # no tried character: its first member
        ("[a-z]", 0, ["a", "x", "z"], ["1", "A"]),
        ("[^a-z]", 0, ["1", "9", "-", "."], ["a", "z"]),
        ("[a-c]", re.IGNORECASE, ["a"], ["d"]),  # a range under IGNORECASE
        ("[0-9.]", 0, ["1", "9", "."], ["a"]),
        ("[\\w.]", 0, ["a", "x", "z", "1", "9", "."], ["-"]),
        ("[q]", 0, ["q"], ["a"]),
        ("[qw]", 0, ["q"], ["a"]),  # no tried character, no range: its first literal
    ],
)
def test_a_class_is_tried_with_what_it_holds(
    pattern: str, flags: int, chars: list[str], outside: list[str]
) -> None:
    items = _class(pattern, flags)
    assert w._class_chars(items) == chars
    assert all(w._in_class(c, items) for c in chars)
    assert not any(w._in_class(c, items) for c in outside)


def test_a_range_holds_both_its_ends() -> None:
    items = _class("[b-d]")
    assert w._in_class("b", items) and w._in_class("d", items)
    assert not w._in_class("e", items) and not w._in_class("a", items)
    folded = _class("[b-d]", re.IGNORECASE)
    assert w._in_class("b", folded) and w._in_class("d", folded) and not w._in_class("e", folded)


@pytest.mark.parametrize(
    ("pattern", "uneven"),
    [
        (r"^a|b$", True),
        (r"^a|^b", False),
        (r"a$|b$", False),
        (r"^a$|^b$", False),
        (r"^a$|b", True),
        (r"a|b", False),
        (r"^(a|b)$", False),  # not top-level
        (r"x(a|b)", False),
        (r"a$|b", True),  # the end alone
        (r"^a|", True),  # an empty alternative carries no anchor
        (r"a$|", True),
    ],
)
def test_uneven_anchors_are_those_of_a_top_level_alternation(pattern: str, uneven: bool) -> None:
    assert w._uneven_anchors(list(w.sre_parse.parse(pattern))) is uneven


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"^https://app\.example\.com$", True),
        (r"https://(app|admin)\.example\.com", True),
        (r"https://app.example.com", True),
        (r"https://(app|[a-z]+)\.example\.com", False),  # a class in an alternative
        (r"https://(a[0-9])\.example\.com", False),  # a class in a group
        (r"https://\w\.example\.com", False),
        (r"https://a+\.example\.com", False),
    ],
)
def test_a_literal_regex_is_literals_dots_anchors_groups_and_alternatives(
    pattern: str, literal: bool
) -> None:
    assert w._literal(pattern, False) is literal


def test_the_owner_holds_its_sites_but_only_the_exact_loopback_and_ip_origins() -> None:
    owner = w._Owner(["https://app.example.com", "http://localhost:3000", "not an origin"], [])
    assert owner.holds("https://app.example.com")
    assert owner.holds("https://other.example.com")  # the same site
    assert not owner.holds("http://app.example.com")  # the scheme is part of the site
    assert owner.holds("http://localhost:3000")
    assert not owner.holds("http://localhost:3001")
    assert not owner.holds("http://10.0.0.1")
    assert owner.holds_https("http://app.example.com")
    assert owner.obtainable("http://app.example.com")  # the http twin
    assert not owner.obtainable("https://other.example.com")
    assert owner.obtainable("https://evil.com")
    assert owner.obtainable("http://localhost:3001")
    assert owner.obtainable("https://app.example.com.corscheck-attacker.example")
    assert not owner.obtainable("https://intranet.invalid")  # no listed suffix


def test_the_owner_of_a_suffix_alternation_is_the_first_suffix_unless_given() -> None:
    intended = ["https://app.example.com", "https://app.example.net", "https://www.other.org"]
    guessed = w._Owner([], intended, suffix_alternation=True)
    assert guessed.holds("https://app.example.com") and not guessed.holds("https://app.example.net")
    assert guessed.holds("https://www.other.org")  # another name: its own site
    given = w._Owner(["https://app.example.net"], intended, suffix_alternation=True)
    assert given.holds("https://app.example.net") and given.holds("https://app.example.com")
    plain = w._Owner([], intended)
    assert plain.holds("https://app.example.net")


def test_an_http_alternative_with_its_https_twin_is_not_the_owners() -> None:
    owner = w._Owner([], ["http://app.example.com", "https://app.example.com"])
    assert owner.holds("https://app.example.com") and not owner.holds("http://app.example.com")
    alone = w._Owner([], ["http://app.example.com"])
    assert alone.holds("http://app.example.com")


@pytest.mark.parametrize(
    ("origin", "tags", "uneven", "kind"),
    [
        ("http://app.example.com", set(), False, "http"),
        ("https://a.example.com.x.corscheck-attacker.example", {"end"}, False, "no-end-anchor"),
        ("https://a.example.com.x.corscheck-attacker.example", {"end"}, True, "alternation"),
        ("https://corscheckexample.com", {"start"}, False, "no-start-anchor"),
        ("https://corscheckexample.com", {"start"}, True, "alternation"),
        ("https://appxexample.com", {"dot", "wild"}, False, "unescaped-dot"),
        ("https://x.github.io", {"wild"}, False, "hosting-platform"),
        ("https://github.io", set(), False, "foreign-domain"),  # the platform itself
        ("http://localhost:11", {"wild"}, False, "port"),
        ("https://corscheck.com", {"wild"}, False, "wildcard"),
        ("https://example.net", set(), False, "foreign-domain"),
    ],
)
def test_the_kind_of_flaw(origin: str, tags: set[str], uneven: bool, kind: str) -> None:
    owner = w._Owner(["https://app.example.com"], [])
    assert w._kind(origin, frozenset(tags), owner, uneven) == kind


def test_framing_by_rule() -> None:
    strings = [w._Text("https://a.example.com")]
    assert [t.text for t in w._framed(strings, "fullmatch")] == ["https://a.example.com"]
    assert [t.text for t in w._framed(strings, "match")] == [
        "https://a.example.com",
        "https://a.example.com.corscheck-attacker.example",
    ]
    searched = [(t.text, sorted(t.tags)) for t in w._framed(strings, "search")]
    assert ("https://https://a.example.com", []) in searched
    assert ("http://https://a.example.com", []) in searched
    assert ("https://corscheckhttps://a.example.com", ["start"]) in searched
    assert len(searched) == 8


def test_the_readable_witness_comes_first_then_https_then_the_shortest() -> None:
    assert w._rank("https://x.corscheck-attacker.example") < w._rank("https://a.io")
    assert w._rank("https://bb.io") < w._rank("http://a.io")
    assert w._rank("https://a.io") < w._rank("https://bb.io")
    assert w._rank("https://a.io") < w._rank("https://b.io")  # then in order


def test_a_repeat_takes_its_least_then_its_fillers_then_one_more() -> None:
    letters = list(w.sre_parse.parse("[a-z]"))
    texts = [t.text for t in w._repeat((1, w.sre.MAXREPEAT, letters), 0)]
    assert texts[0] == "a" and texts[-1] == "aa"
    assert "corscheck" in texts
    bounded = [t.text for t in w._repeat((2, 3, letters), 0)]
    assert bounded == ["aa", "aaa"]  # no filler fits in 2 to 3
    groups = [t.text for t in w._repeat((0, 2, list(w.sre_parse.parse("(ab)"))), 0)]
    assert groups == ["", "ab"]  # the least, and one more
    many = [t.text for t in w._repeat((1, w.sre.MAXREPEAT, list(w.sre_parse.parse("(ab)"))), 0)]
    assert many == ["ab", "abab"]
    assert w._filled(list(w.sre_parse.parse("[bc]")), 0, 0) == [w._Text("")]


def test_owners_granted_are_the_built_https_origins_of_the_owner_the_regex_grants() -> None:
    pattern = r"https?://(app|admin)\.example\.com"
    assert w._owners_granted(pattern, "fullmatch", False, ["https://app.example.com"]) == [
        "https://app.example.com",
        "https://admin.example.com",
    ]
    assert w._owners_granted(pattern, "fullmatch", False, ["https://other.org"]) == [
        "https://app.example.com",
        "https://admin.example.com",
    ]  # the regex's own intended origins are the owner's too


def test_mends_says_whether_a_regex_refuses_the_witnesses_and_keeps_the_origins() -> None:
    flaw = [w.Witness("https://appxexample.com", "unescaped-dot")]
    keep = ["https://app.example.com"]
    assert w._mends(r"https://app\.example\.com", "fullmatch", flaw, keep, False)
    assert not w._mends(r"https://app.example.com", "fullmatch", flaw, keep, False)
    assert not w._mends(r"https://api\.example\.com", "fullmatch", flaw, keep, False)
    assert not w._mends(r"https://(app", "fullmatch", flaw, keep, False)  # does not compile


# --- written.py: the allow-list as data ------------------------------------------------------------

from corscheck import written as wr  # noqa: E402

_EXACT = Entry("exact", "https://App.example.com", "origins", "app.py:2", ignore_case=True)
_REGEX = Entry("regex", r"https://app\.example\.(com|net)", "origins", "app.py:3", "match")
_BROKEN = Entry("regex", r"https://(app", "allow_origin_regex", "app.py:4")
_ANY = Entry("any", "*", "origins", "app.py:5")


def test_grants_applies_each_entry_as_its_framework_does() -> None:
    listed = WrittenAllowList("flask", "app:app", (_EXACT, _REGEX, _BROKEN))
    assert listed.exact_origins == ("https://App.example.com",)
    assert listed.regexes == (_REGEX, _BROKEN)
    assert listed.grants("https://App.example.com") == _EXACT
    assert listed.grants("https://app.example.com") == _EXACT  # ignoring case, as written
    assert listed.grants("https://app.example.net.evil.com") == _REGEX  # re.match
    assert listed.grants("https://evil.com") is None  # the broken regex grants nothing
    strict = WrittenAllowList("starlette", "app:app", (replace(_EXACT, ignore_case=False),))
    assert strict.grants("https://app.example.com") is None
    assert strict.grants("https://App.example.com") is not None
    every = WrittenAllowList("flask", "app:app", (_REGEX, _ANY))
    assert every.grants("https://evil.com") == _ANY
    assert every.grants("https://app.example.com") == _REGEX  # the first entry that grants


def test_witnesses_skip_an_unreadable_regex_and_an_origin_listed_exactly() -> None:
    listed = WrittenAllowList(
        "flask",
        "app:app",
        (_BROKEN, _REGEX, Entry("exact", "https://app.example.net", "origins", "app.py:6")),
    )
    found = witnesses(listed, ["https://app.example.com"])
    assert [(f.entry, f.witness.kind) for f in found] == [(_REGEX, "no-end-anchor")]
    assert found[0].mended == r"^(?:https://app\.example\.(com|net))$"  # both are the owner's
    assert wr.unreadable_regexes(listed) == [
        "app.py:4: allow_origin_regex 'https://(app' does not compile: "
        "missing ), unterminated subpattern at position 8"
    ]


def test_declared_policy_of_every_origin_has_no_credentials() -> None:
    allow_list = WrittenAllowList(
        "starlette", "app:app", (_ANY,), credentials=True, methods=("*",), headers=("*",)
    )
    declared = wr.declared_policy(allow_list)
    assert declared.origins == ("*",)
    assert not declared.credentials  # "*" with credentials is no policy a browser honours
    assert declared.methods is None and declared.headers is None
    listed = WrittenAllowList(
        "starlette", "app:app", (_EXACT,), credentials=True, methods=None, headers=("X-Token",)
    )
    kept = wr.declared_policy(listed)
    assert kept.origins == ("https://App.example.com",) and kept.credentials
    assert kept.methods is None and kept.headers == ("X-Token",)


def test_declared_policy_comments_an_unreadable_or_untried_regex() -> None:
    allow_list = WrittenAllowList("starlette", "app:app", (_BROKEN,), untried=(_REGEX,))
    declared = wr.declared_policy(allow_list)
    assert declared.origins == ()
    assert declared.comments == (
        'allow_origin_regex r"https://(app" (app.py:4, fullmatch) is not a list of origins: list '
        "the front-ends it is meant for; no attacker origin found",
        'origins r"https://app\\.example\\.(com|net)" (app.py:3) could not be tried in time: list '
        "the front-ends it is meant for",
    )


def test_flaw_words_name_each_kind() -> None:
    assert wr.flaw_words("no-end-anchor") == w.FLAWS["no-end-anchor"]
    assert wr.flaw_words("something-new") == "something-new"
    assert wr.RULE_WORDS["match"].endswith("(re.match)")


HOSTING_PLATFORMS = [
    "github.io", "gitlab.io", "vercel.app", "netlify.app", "herokuapp.com", "pages.dev", "web.app",
    "firebaseapp.com", "azurewebsites.net", "appspot.com", "workers.dev", "onrender.com",
    "glitch.me", "surge.sh", "ngrok-free.app", "s3.amazonaws.com", "blob.core.windows.net",
    "cloudfront.net", "fly.dev", "railway.app",
]  # fmt: skip


@pytest.mark.parametrize("platform", HOSTING_PLATFORMS)
def test_a_site_anyone_can_get_on_a_hosting_platform(platform: str) -> None:
    owner = w._Owner(["https://app.example.com"], [])
    assert w._kind(f"https://corscheck.{platform}", frozenset({"wild"}), owner, False) == (
        "hosting-platform"
    )


def test_the_match_rules_are_the_re_methods_frameworks_call() -> None:
    assert MATCH_RULES == ("fullmatch", "match", "search")
    assert all(callable(getattr(re.compile("a"), rule)) for rule in MATCH_RULES)


def test_case_matters_unless_the_framework_ignores_it() -> None:
    pattern = r"https://App\.example\.com"
    assert not accepts(pattern, "fullmatch", "https://app.example.com")
    assert accepts(pattern, "fullmatch", "https://app.example.com", ignore_case=True)
    assert intended_origins(pattern) == []  # "App" is no label a browser sends
    assert intended_origins(pattern, ignore_case=True) == ["https://app.example.com"]
    assert spelled_out(pattern) == []
    assert spelled_out(pattern, ignore_case=True) == ["https://app.example.com"]
    assert regex_witnesses(r"https://App.example\.com", "fullmatch") == []
    assert [
        x.origin
        for x in regex_witnesses(r"https://App.example\.com", "fullmatch", ignore_case=True)
    ] == ["https://appxexample.com"]


@pytest.mark.parametrize(
    "nest",
    [
        lambda inner: f"(?>{inner})",  # atomic groups
        lambda inner: f"(?:x|{inner})",  # alternations
        lambda inner: f"(?:{inner})+",  # repeats
        lambda inner: f"({inner})",  # groups
    ],
)
def test_nesting_is_bounded_whatever_nests(nest: object) -> None:
    regex = "app"
    for _ in range(30):
        regex = nest(regex)  # type: ignore[operator]
    with pytest.raises(UnsupportedRegex, match="nests too deep"):
        regex_witnesses(f"https://{regex}\\.example\\.com", "fullmatch")


def test_a_filler_as_long_as_the_repeat_allows_is_tried() -> None:
    nine = list(w.sre_parse.parse("[a-z]{9}"))
    assert "corscheck" in [t.text for t in w._repeat(nine[0][1], 0)]
    at_least_nine = list(w.sre_parse.parse("[a-z]{9,12}"))
    assert "corscheck" in [t.text for t in w._repeat(at_least_nine[0][1], 0)]
    eight = list(w.sre_parse.parse("[a-z]{1,8}"))
    assert "corscheck" not in [t.text for t in w._repeat(eight[0][1], 0)]


def test_an_ip_owner_holds_its_exact_origin_only() -> None:
    owner = w._Owner(["http://10.0.0.1:8080"], [])
    assert owner.holds("http://10.0.0.1:8080") is True
    assert owner.holds("http://10.0.0.1:9999") is False
    assert owner.holds("http://localhost:9999") is False
