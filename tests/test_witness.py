"""The allow-list's regexes and entries, pure (witness.py, written.py, nginxconf.py): witnesses
under each framework's match rule, the owner's origins, the mended regex, nginx's conditions and the
policy the code declares. Fast, for the mutation score; the readers and whole audits are in
test_written.py."""

from __future__ import annotations

import re

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
