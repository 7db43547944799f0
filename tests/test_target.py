"""target.as_browsers_send: a URL's path as a browser sends it, by the URL standard's path parsing
(dot segments, percent-encoded dots, backslashes in special schemes). Cases from the standard and
from the web-platform-tests URL data (url/resources/urltestdata.json)."""

from __future__ import annotations

import pytest

from corscheck.target import as_browsers_send, validate_url

CASES = [
    ("http://a.example/api/%2e%2e/admin/stats", "http://a.example/admin/stats"),
    ("http://a.example/api/%2E%2E/admin", "http://a.example/admin"),
    ("http://a.example/api/.%2e/admin", "http://a.example/admin"),
    ("http://a.example/api/%2e./admin", "http://a.example/admin"),
    ("http://a.example/a/%2e/b", "http://a.example/a/b"),
    ("http://a.example/a/b/..", "http://a.example/a/"),
    ("http://a.example/a/b/.", "http://a.example/a/b/"),
    ("http://a.example/../../x", "http://a.example/x"),
    ("http://a.example/a\\..\\b", "http://a.example/b"),
    ("http://a.example/x/%2e%2e%2fy", "http://a.example/x/%2e%2e%2fy"),  # %2f is no separator
    ("http://a.example/a/..b/c", "http://a.example/a/..b/c"),  # not a dot segment
    ("http://a.example/a/./b?q=../x#..", "http://a.example/a/b?q=../x#.."),  # the query stays
    ("http://a.example", "http://a.example"),
    ("https://a.example/v1/users", "https://a.example/v1/users"),
]


@pytest.mark.parametrize(("given", "sent"), CASES)
def test_paths_as_browsers_send_them(given: str, sent: str) -> None:
    assert as_browsers_send(given) == sent
    assert validate_url(given) == sent
