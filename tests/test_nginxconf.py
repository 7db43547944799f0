"""nginxconf.py: the allow-list an nginx file writes, read as nginx reads it. Pure and fast: the
mutation run's list for the module (scripts/mutation.py)."""

from __future__ import annotations

import pytest

from corscheck.errors import UsageError
from corscheck.nginxconf import read_nginx

ACAO = "add_header Access-Control-Allow-Origin"


def entries(conf: str) -> list[tuple[str, str, str, str, bool]]:
    read = read_nginx(conf, "c.conf")
    return [(e.kind, e.value, e.where, e.rule, e.ignore_case) for e in read.entries]


def test_map_keys_of_every_form_and_the_lines_it_skips() -> None:
    conf = f"""http {{
  map $http_origin $cors {{
    hostnames;
    volatile;
    include more.conf;
    default "";
    ~*^https://a\\.example\\.com$ $http_origin;
    "~^https://b\\.example\\.com$" $http_origin;
    "https://c.example.com" $http_origin;
    "https://off.example.com" 0;
    "https://none.example.com" "";
  }}
  server {{ location / {{ {ACAO} $cors; }} }}
}}"""
    assert entries(conf) == [
        ("regex", r"^https://a\.example\.com$", "c.conf:7", "search", True),
        ("regex", r"^https://b\.example\.com$", "c.conf:8", "search", False),
        ("exact", "https://c.example.com", "c.conf:9", "fullmatch", True),
    ]


def test_an_if_on_the_origin_by_each_operator() -> None:
    conf = f"""server {{
  if ($http_origin = "https://exact.example.com") {{ {ACAO} $http_origin; }}
  if ($http_origin ~ ^https://x\\.example\\.com$) {{ {ACAO} $http_origin; }}
}}"""
    assert entries(conf) == [
        ("exact", "https://exact.example.com", "c.conf:2", "fullmatch", True),
        ("regex", r"^https://x\.example\.com$", "c.conf:3", "search", False),
    ]


@pytest.mark.parametrize("operator", ["!~", "!~*", "!="])
def test_every_negative_guard_is_refused(operator: str) -> None:
    conf = f'server {{ if ($http_origin {operator} "x") {{ return 403; }} {ACAO} $http_origin; }}'
    with pytest.raises(UsageError) as raised:
        read_nginx(conf, "c.conf")
    assert str(raised.value).startswith(f"c.conf:1: if ($http_origin {operator} …) is a guard")


def test_a_variable_set_inside_an_if_carries_its_condition() -> None:
    conf = f"""server {{
  if ($http_origin ~* "^https://(a|b)\\.example\\.com$") {{
    set $cors $http_origin;
  }}
  {ACAO} $cors;
}}"""
    assert entries(conf) == [
        ("regex", r"^https://(a|b)\.example\.com$", "c.conf:2", "search", True),
    ]


@pytest.mark.parametrize("value", ["*", '"*"', "$http_origin"])
def test_every_origin_outside_any_condition(value: str) -> None:
    assert entries(f"server {{ {ACAO} {value}; }}") == [
        ("any", "*", "c.conf:1", "fullmatch", False)
    ]


def test_nesting_comments_and_quotes() -> None:
    conf = f"""# {{ a comment with braces and ; is nothing }}
http {{
  server {{
    location /a/ {{
      if ($http_origin ~ "^https://q\\"x\\.example\\.com$") {{ {ACAO} $http_origin; }}
    }}
  }}
}}"""
    (entry,) = entries(conf)
    assert entry[1] == r"^https://q\"x\.example\.com$" and entry[2] == "c.conf:5"


def test_a_line_after_a_quoted_string_over_lines_keeps_its_number() -> None:
    conf = 'server {\n  set $x "a\nb";\n  if ($http_origin ~ "^https://z\\.example\\.com$") {\n' + (
        f"    {ACAO} $http_origin;\n  }}\n}}"
    )
    assert entries(conf)[0][2] == "c.conf:4"


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ('server { set $x "open; }', "c.conf:1: a quoted string is not closed"),
        (f"server {{ {ACAO} $unknown; }}", "nothing to read"),
        ("server { listen 80; }", "nothing to read"),
    ],
)
def test_what_cannot_be_read_is_one_line(conf: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        read_nginx(conf, "c.conf")


@pytest.mark.parametrize(("value", "credentials"), [("true", True), ("false", False)])
def test_credentials_are_read(value: str, credentials: bool) -> None:
    conf = f"server {{ {ACAO} $http_origin; add_header Access-Control-Allow-Credentials {value}; }}"
    assert read_nginx(conf, "c.conf").credentials is credentials


def test_the_last_block_may_end_the_file_unclosed() -> None:
    assert entries(f"server {{ {ACAO} *;") == [("any", "*", "c.conf:1", "fullmatch", False)]


@pytest.mark.parametrize("value", ["off", "false", "null", "OFF"])
def test_a_map_value_that_grants_nothing(value: str) -> None:
    conf = (
        f'map $http_origin $c {{ "https://a.example.com" {value}; "https://b.example.com" 1; }}'
        f" server {{ {ACAO} $c; }}"
    )
    assert [e[1] for e in entries(conf)] == ["https://b.example.com"]


def test_a_granting_default_and_a_quoted_default_key() -> None:
    conf = f'map $http_origin $c {{ default $http_origin; "default" 1; }}\nserver {{ {ACAO} $c; }}'
    assert entries(conf) == [
        ("any", "*", "c.conf:1", "fullmatch", False),
        ("exact", "default", "c.conf:1", "fullmatch", True),
    ]


def test_a_directive_at_the_top_and_after_blocks() -> None:
    conf = (
        f"{ACAO} https://top.example.com;\n"
        'map $http_origin $c { "https://m.example.com" 1; }\n'
        'if ($host ~ "x") { set $y 1; }\n'
        f"{ACAO} $c;"
    )
    read = read_nginx(conf, "c.conf")
    assert read.framework == "nginx"
    assert [(e.kind, e.value) for e in read.entries] == [
        ("exact", "https://top.example.com"),
        ("exact", "https://m.example.com"),
    ]


def test_only_a_condition_on_the_origin_counts() -> None:
    conf = f'server {{ if ($host ~* "^api\\.") {{ {ACAO} $http_origin; }} }}'
    assert entries(conf) == [("any", "*", "c.conf:1", "fullmatch", False)]


def test_quoted_braces_semicolons_and_single_quotes_are_text() -> None:
    conf = f"""server {{
  set $brace "}}";
  set $semi ';';
  # {ACAO} *;
  if ($http_origin ~ '^https://s\\.example\\.com$') {{ {ACAO} $http_origin; }}
}}"""
    assert entries(conf) == [("regex", r"^https://s\.example\.com$", "c.conf:5", "search", False)]
