"""A URL's userinfo is masked by its position in every output, never by matching its value (issue 13
point 8): the pure masking functions, without servers (the end-to-end cases are in
tests/test_userinfo.py)."""

from __future__ import annotations

import pytest

from corscheck.masking import mask_url, mask_userinfo, masked, secrets_in

# --- masking by position -------------------------------------------------------------------------

MASK_URL = [
    ("http://alice:s3cr3t@127.0.0.1:9/", "http://****@127.0.0.1:9/"),
    ("http://a:pw@127.0.0.1", "http://****@127.0.0.1"),
    ("http://http:127@127.0.0.1/x@y", "http://****@127.0.0.1/x@y"),  # a path's @ is not userinfo
    ("http://%61:%40@127.0.0.1/", "http://****@127.0.0.1/"),
    ("http://a@b@127.0.0.1/p", "http://****@127.0.0.1/p"),
    ("https://u:p@[::1]:8443/", "https://****@[::1]:8443/"),
    ("http://a b:pw@127.0.0.1/", "http://****@127.0.0.1/"),  # invalid, still masked whole
    ("alice:pw@127.0.0.1:9/", "****@127.0.0.1:9/"),  # no scheme: all of it could be userinfo
    ("//u:p@127.0.0.1/", "//****@127.0.0.1/"),
    # an empty userinfo is masked like any other: the output does not tell it from a real one
    ("@127.0.0.1:9/", "****@127.0.0.1:9/"),
    ("http://@127.0.0.1/", "http://****@127.0.0.1/"),
    ("http:\\\\u:p@127.0.0.1", "http:\\\\****@127.0.0.1"),
    # unchanged: no userinfo
    ("http://127.0.0.1:9/", "http://127.0.0.1:9/"),
    ("http://127.0.0.1/p@q?e=a@b#c@d", "http://127.0.0.1/p@q?e=a@b#c@d"),
    ("", ""),
]


@pytest.mark.parametrize(("url", "expected"), MASK_URL)
def test_mask_url_masks_the_userinfo_by_position(url: str, expected: str) -> None:
    assert mask_url(url) == expected


MASK_TEXT = [
    ("URL 'http://a:pw@127.0.0.1/' is bad", "URL 'http://****@127.0.0.1/' is bad"),
    ("Redirect location 'http://u:p@h' contains", "Redirect location 'http://****@h' contains"),
    ("Location: //u:p@127.0.0.1/x", "Location: //****@127.0.0.1/x"),
    (
        "http://http:http@127.0.0.1/ and http://127:a@127.0.0.1/",
        "http://****@127.0.0.1/ and http://****@127.0.0.1/",
    ),
    ('"http://a\'b:pw@127.0.0.1/"', '"http://****@127.0.0.1/"'),
    ("(http://u:p@h)", "(http://****@h)"),
    ("http:/u:p@h/", "http:/****@h/"),
    ("user:pw@127.0.0.1", "****@127.0.0.1"),
    # unchanged
    ("http://127.0.0.1/path@x", "http://127.0.0.1/path@x"),
    ("no url here", "no url here"),
    ("http://127.0.0.1/?q=1", "http://127.0.0.1/?q=1"),
]


@pytest.mark.parametrize(("text", "expected"), MASK_TEXT)
def test_mask_userinfo_in_text(text: str, expected: str) -> None:
    assert mask_userinfo(text) == expected


def test_userinfo_is_not_a_secret_value_so_common_words_are_not_mangled() -> None:
    url = "http://http:pw@127.0.0.1/?token=tok-123"
    assert secrets_in([url], ()) == ("tok-123",)  # the query secret, not the userinfo
    text = masked(f"GET {url} over http from 127.0.0.1 (pw)", secrets_in([url], ()))
    assert text == "GET http://****@127.0.0.1/?token=**** over http from 127.0.0.1 (pw)"
