"""The pure part of --prove (corscheck/prove/): which findings a browser can replay and how, what the
page's observation proves, how a proof reads, the pages and the PoC instructions. The browser itself
is in tests/e2e/test_prove.py."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from corscheck import rules
from corscheck.evaluate import Evidence, Finding, Suppression
from corscheck.evaluate.proof import Proof, ProofCounts, proof_counts, short_browser
from corscheck.prove.chromium import host_rules
from corscheck.prove.pages import page
from corscheck.prove.poc import instructions, poc_pages
from corscheck.prove.replay import (
    BODY_LIMIT,
    PREVIEW_CHARS,
    Observation,
    PageStep,
    Replay,
    cookie_names,
    fresh,
    host_port,
    mask_preview,
    proof_of,
    replay_of,
    unmappable_origin,
)
from corscheck.report.codec import decode_proof, proof_to_dict
from corscheck.report.model import Report, TargetReport

TARGET = "https://api.example.com/v1/items"
ATTACKER = "https://corscheck-attacker.example"
BROWSER = "Chromium 156.0.8078.114"


def evidence(**changes: object) -> Evidence:
    base = Evidence(
        origin=ATTACKER,
        method="GET",
        request_headers=(),
        credentials="include",
        step="actual",
        status=200,
        response_lines=(("Access-Control-Allow-Origin", ATTACKER),),
        sent_method="GET",
        sent_lines=(("Origin", ATTACKER), ("Cookie", "session=v; theme=dark")),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def finding(rule: rules.Rule = rules.ANY_ORIGIN_WITH_CREDENTIALS, **changes: object) -> Finding:
    message = str(changes.pop("message", "m"))
    return Finding(rule, rule.severity, TARGET, message, evidence(**changes))


def replayed(f: Finding, send_unsafe: bool = False) -> Replay:
    result = replay_of(f, "chrome", send_unsafe, "tok")
    assert isinstance(result, Replay), result
    return result


# --- which findings replay, and how --------------------------------------------------------------


@pytest.mark.parametrize("profile", ["firefox", "safari"])
def test_firefox_and_safari_are_not_playable_by_chromium(profile: str) -> None:
    reason = replay_of(finding(), profile, False, "tok")  # type: ignore[arg-type]
    assert reason == replay_of(finding(), profile, True, "tok")
    assert isinstance(reason, str) and f"cannot play the {profile} profile" in reason


@pytest.mark.parametrize("profile", ["chrome", "chrome-no-3pc"])
def test_the_chromium_profiles_play(profile: str) -> None:
    result = replay_of(finding(), profile, False, "tok")  # type: ignore[arg-type]
    assert isinstance(result, Replay) and result.profile == profile


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (rules.MAX_AGE_TOO_LONG, "preflight cache lifetime"),
        (rules.MAX_AGE_TOO_SHORT, "preflight cache lifetime"),
        (rules.PRIVATE_NETWORK_UNTRUSTED, "no Private Network Access preflight"),
        (rules.PRIVATE_NETWORK_REFUSED, "no Private Network Access preflight"),
    ],
)
def test_findings_that_claim_no_read_are_unprovable(rule: rules.Rule, words: str) -> None:
    reason = replay_of(finding(rule), "chrome", True, "tok")
    assert isinstance(reason, str) and words in reason


def test_a_finding_without_a_response_is_unprovable() -> None:
    for changes in ({"step": "none"}, {"status": None}):
        reason = replay_of(finding(**changes), "chrome", True, "tok")
        assert isinstance(reason, str) and "no response" in reason


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_an_unsafe_request_replays_only_with_send_unsafe(method: str) -> None:
    unsafe = finding(method=method.lower())
    reason = replay_of(unsafe, "chrome", False, "tok")
    assert reason == (
        f"the proof sends an unsafe {method} request, which the audit did not send; "
        "rerun with --send-unsafe to prove it"
    )
    assert replayed(unsafe, send_unsafe=True).evidence.method == method


@pytest.mark.parametrize("method", ["GET", "HEAD", "get"])
def test_safe_requests_replay_without_send_unsafe(method: str) -> None:
    assert replayed(finding(method=method)).evidence.method == method.upper()


def test_the_evidence_url_is_replayed_where_it_is_not_the_target() -> None:
    assert replayed(finding()).evidence.url == TARGET
    other = "https://api.example.com/v1/missing"
    assert replayed(finding(url=other)).evidence.url == other


def test_h_headers_a_page_cannot_send_unasked_go_through_the_header_relay() -> None:
    key = (("X-Api-Key", "k"), ("Accept-Language", "de"))
    relayed = replay_of(finding(), "chrome", False, "tok", key)
    assert isinstance(relayed, Replay) and relayed.relayed
    # Safelisted ones the browser adds itself; a request that went without the others
    # (withheld) goes without them, directly.
    plain = replay_of(finding(), "chrome", False, "t", key[1:])
    assert isinstance(plain, Replay) and not plain.relayed
    without = replay_of(finding(withheld=("X-Api-Key",)), "chrome", False, "t", key)
    assert isinstance(without, Replay) and not without.relayed
    assert without.evidence.withheld == ("X-Api-Key",)
    # The relay cannot withhold some and add others, nor chain to the user's proxy.
    partly = replay_of(finding(withheld=("Accept-Language",)), "chrome", False, "t", key)
    assert partly == (
        "the audit sent -H headers a page cannot send unasked, but not all of them: the header "
        "relay that adds them cannot replay that"
    )
    proxied = replay_of(finding(), "chrome", False, "t", key, proxied=True)
    assert proxied == (
        "the audit sent -H headers a page cannot send unasked and went through a proxy: the "
        "header relay that adds them cannot replay that"
    )
    assert isinstance(replay_of(finding(), "chrome", False, "t", key[1:], proxied=True), Replay)


def test_a_url_with_userinfo_is_unprovable() -> None:
    reason = replay_of(finding(url="https://u:p@api.example.com/"), "chrome", False, "tok")
    assert isinstance(reason, str) and "userinfo" in reason


def test_an_in_process_target_is_unprovable() -> None:
    reason = replay_of(finding(url="http://testserver/items"), "chrome", False, "tok")
    assert isinstance(reason, str) and "in-process" in reason
    other = replay_of(finding(url="http://testserver.example/"), "chrome", False, "t")
    assert isinstance(other, Replay)


@pytest.mark.parametrize(
    ("origin", "words"),
    [
        ("null", ""),
        ("http://127.0.0.1:3000", ""),
        ("https://[::1]:8443", ""),
        ("https://sub_domain.example", ""),
        ("https://a.example:99999", "does not parse"),
        ("ftp://files.example", "not an http(s) origin"),
        ("https://", "not an http(s) origin"),
        ("https://evil.example%60.com", "not a name DNS can carry"),
        ("https://-bad.example", "not a name DNS can carry"),
        ("https://api.example.com", "the target's own host and port"),
        ("https://api.example.com:443", "the target's own host and port"),
    ],
)
def test_which_origins_can_be_mapped(origin: str, words: str) -> None:
    reason = unmappable_origin(origin, TARGET)
    assert (words in reason and reason != "") if words else reason == ""
    if words:
        assert replay_of(finding(origin=origin), "chrome", False, "tok") == reason


def test_the_same_host_on_another_port_is_mappable() -> None:
    assert unmappable_origin("https://api.example.com:8443", TARGET) == ""
    assert unmappable_origin("http://api.example.com", TARGET) == ""


def test_a_refusal_claims_blocked_and_a_grant_claims_read() -> None:
    assert replayed(finding()).claim == "read"
    refused = finding(rules.ALLOWED_ORIGIN_REFUSED, reason="no Access-Control-Allow-Origin")
    assert replayed(refused).claim == "blocked"


def test_a_missing_exposure_reads_the_named_headers_and_claims_them_hidden() -> None:
    hidden = finding(
        rules.EXPOSED_HEADER_MISSING,
        message="the page cannot read X-Total-Count, X-Request-Id (credentials omit)",
    )
    replay = replayed(hidden)
    assert replay.evidence.read_headers == ("X-Total-Count", "X-Request-Id")
    assert replay.claim == "blocked" and replay.cookies is None
    unnamed = finding(rules.EXPOSED_HEADER_MISSING, message="something else")
    assert (
        replay_of(unnamed, "chrome", False, "tok") == "the finding does not name the header to read"
    )


def test_a_credentialed_read_claims_the_cookies_of_its_request() -> None:
    assert replayed(finding()).cookies == ("session", "theme")
    assert replayed(finding(sent_lines=(("Origin", ATTACKER),))).cookies == ()
    # Nothing is claimed about cookies for a preflight, a request without credentials or a refusal.
    assert replayed(finding(step="preflight")).cookies is None
    assert replayed(finding(credentials="omit")).cookies is None
    assert replayed(finding(rules.CREDENTIALS_REFUSED, reason="no ACAC")).cookies is None


def test_a_sequence_replays_its_primer_first_on_a_fresh_url() -> None:
    url = TARGET + "?corscheck-cache=audit-1"
    without_origin = replayed(finding(url=url, primer=""))
    primer, step = without_origin.steps
    assert primer == PageStep(ATTACKER, TARGET + "?corscheck-cache=tok", mode="no-cors")
    assert step.url == primer.url and step.mode == "cors"
    other = "https://admin.example.com"
    from_other = replayed(finding(url=url, primer=other))
    assert from_other.steps[0] == PageStep(other, TARGET + "?corscheck-cache=tok")
    reason = replay_of(finding(url=url, primer="ftp://x"), "chrome", False, "tok")
    assert reason == "the primer's origin ftp://x cannot be mapped"
    assert len(replayed(finding()).steps) == 1


def test_fresh_replaces_the_cache_buster_and_keeps_the_rest() -> None:
    assert fresh("https://a.example/p?x=1&corscheck-cache=old", "new") == (
        "https://a.example/p?x=1&corscheck-cache=new"
    )
    assert fresh("https://a.example/p", "new") == "https://a.example/p?corscheck-cache=new"
    assert fresh("https://a.example/p?a=", "new") == "https://a.example/p?a=&corscheck-cache=new"


def test_the_bounds_are_the_documented_ones() -> None:
    # The README and `audit --help` promise at most 64 KiB of a body, and a short preview.
    assert BODY_LIMIT == 65536 and PREVIEW_CHARS == 120


def test_host_port_spells_the_port_out() -> None:
    assert host_port("https://a.example") == "a.example:443"
    assert host_port("http://a.example") == "a.example:80"
    assert host_port("http://A.example:8080/x") == "a.example:8080"
    assert host_port("http://[::1]:9/") == "[::1]:9"
    assert host_port("http:///no-host") == ":80"


# --- what the browser's answer proves --------------------------------------------------------------

CORS_MESSAGE = (
    "Access to fetch at 'https://api.example.com/v1/items' from origin 'https://app.example.com' "
    "has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present."
)


def read(**changes: object) -> Observation:
    base = Observation(True, 200, 17, '{"items":[1,2,3]}', cookie="session=v; theme=dark")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_read_proves_a_claimed_read() -> None:
    proof = proof_of(replayed(finding()), read(), BROWSER)
    assert proof == Proof(
        "read",
        agrees=True,
        browser=BROWSER,
        profile="chrome",
        status=200,
        bytes_read=17,
        preview='{"items":[1,2,3]}',
        cookies=("session", "theme"),
        claim="readable, sent with cookies session, theme",
    )
    assert proof.summary() == (
        "proved in Chromium 156: read 17 bytes (status 200), sent with cookies session, theme"
    )


def test_a_read_without_the_claimed_cookies_disproves_the_credentialed_read() -> None:
    proof = proof_of(replayed(finding()), read(cookie=""), BROWSER)
    assert proof.agrees is False and proof.outcome == "read"
    assert proof.summary() == (
        "disproved: corscheck: readable, sent with cookies session, theme; Chromium 156: read "
        "17 bytes (status 200), sent without cookies"
    )
    partly = proof_of(replayed(finding()), read(cookie="session=v"), BROWSER)
    assert partly.agrees is False
    extra = proof_of(replayed(finding(sent_lines=())), read(cookie="session=v"), BROWSER)
    assert extra.agrees is False
    # A request the browser did not report: its cookies are not judged.
    unseen = proof_of(replayed(finding()), read(cookie=None), BROWSER)
    assert unseen.agrees is True and unseen.cookies == ()


def test_a_block_disproves_a_claimed_read_with_chromiums_message() -> None:
    seen = Observation(False, error="TypeError: Failed to fetch", console=("noise", CORS_MESSAGE))
    proof = proof_of(replayed(finding()), seen, BROWSER)
    assert proof.outcome == "blocked" and proof.agrees is False
    assert proof.message == CORS_MESSAGE and proof.status is None
    assert proof.bytes_read == 0 and proof.preview == "" and proof.cookies == ()
    assert proof.summary() == (
        "disproved: corscheck: readable, sent with cookies session, theme; Chromium 156: "
        "blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present."
    )


@pytest.mark.parametrize(
    "line",
    [
        CORS_MESSAGE,
        "Mixed Content: The page at 'https://a' was loaded over HTTPS, but requested http://b.",
        "Failed to load resource: net::ERR_NAME_NOT_RESOLVED",
        "Local Network Access: blocked",
    ],
)
def test_a_block_names_the_browsers_reason(line: str) -> None:
    refused = finding(rules.ALLOWED_ORIGIN_REFUSED, reason="x")
    seen = Observation(False, error="TypeError: Failed to fetch", console=("unrelated", line))
    proof = proof_of(replayed(refused), seen, BROWSER)
    assert proof.agrees is True and proof.message == line
    quoted = (
        "blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present."
        if line == CORS_MESSAGE
        else f"blocked: {line}"
    )
    assert proof.summary() == f"proved in Chromium 156: {quoted}"


def test_a_block_without_a_console_line_keeps_the_pages_error() -> None:
    refused = finding(rules.ALLOWED_ORIGIN_REFUSED, reason="x")
    proof = proof_of(replayed(refused), Observation(False, error="TypeError: x"), BROWSER)
    assert proof.message == "TypeError: x" and proof.agrees is True


def test_a_read_disproves_a_claimed_block() -> None:
    refused = finding(rules.ALLOWED_ORIGIN_REFUSED, reason="x")
    proof = proof_of(replayed(refused), read(), BROWSER)
    assert proof.outcome == "read" and proof.agrees is False
    assert proof.summary().startswith("disproved: corscheck: blocked; Chromium 156: read 17 bytes")


def test_hidden_headers_prove_a_missing_exposure_and_a_readable_one_disproves_it() -> None:
    hidden = finding(
        rules.EXPOSED_HEADER_MISSING,
        message="the page cannot read X-Total-Count (credentials omit)",
    )
    replay = replayed(hidden)
    proof = proof_of(replay, read(headers=(("X-Total-Count", None),)), BROWSER)
    assert proof.outcome == "blocked" and proof.agrees is True
    assert proof.message == "X-Total-Count read as null: not exposed to the page"
    assert proof.bytes_read == 17 and proof.status == 200  # the body was readable
    shown = proof_of(replay, read(headers=(("X-Total-Count", "3"),)), BROWSER)
    assert shown.outcome == "read" and shown.agrees is False


def test_a_replay_that_does_not_finish_is_unprovable() -> None:
    proof = proof_of(replayed(finding()), Observation(False, timed_out=True), BROWSER)
    assert proof.outcome == "unprovable" and proof.agrees is None
    assert proof.reason == "the browser did not finish the replay in time"
    assert proof.summary() == "unprovable: the browser did not finish the replay in time"


def test_the_preview_masks_the_runs_secrets() -> None:
    proof = proof_of(replayed(finding()), read(text='{"me": "tok-123"}'), BROWSER, ["tok-123"])
    assert proof.preview == '{"me": "****"}'


def test_mask_preview() -> None:
    assert mask_preview('{"access_token": "abc", "name": "x"}') == (
        '{"access_token": "****", "name": "x"}'
    )
    assert mask_preview('{"API-KEY":"k1","Session":"s"}') == '{"API-KEY":"****","Session":"****"}'
    assert mask_preview("a=1&password=hunter2&b=2") == "a=1&password=****&b=2"
    assert mask_preview("line one\n\t line   two") == "line one line two"
    assert mask_preview("abcdef abc", ["abc", "abcdef"]) == "**** ****"
    long = "x" * (PREVIEW_CHARS + 5)
    assert mask_preview(long) == "x" * (PREVIEW_CHARS - 1) + "…"
    assert mask_preview("x" * PREVIEW_CHARS) == "x" * PREVIEW_CHARS
    assert mask_preview("", [""]) == ""


def test_cookie_names() -> None:
    assert cookie_names(None) == () and cookie_names("") == ()
    assert cookie_names("a=1; b=2=3;  c ; ") == ("a", "b", "c")


def test_replay_claimed_in_words() -> None:
    step = (PageStep(ATTACKER, TARGET),)
    assert Replay("chrome", step, "blocked", ("a",)).claimed() == "blocked"
    assert Replay("chrome", step, "read").claimed() == "readable"
    assert Replay("chrome", step, "read", ()).claimed() == "readable, sent without cookies"
    assert Replay("chrome", step, "read", ("a",)).claimed() == "readable, sent with cookie a"


# --- how a proof reads -----------------------------------------------------------------------------


def test_proof_summaries() -> None:
    one_byte = Proof("read", agrees=True, browser=BROWSER, bytes_read=1, status=None)
    assert one_byte.summary() == "proved in Chromium 156: read 1 byte"
    many = Proof("read", agrees=True, browser=BROWSER, bytes_read=1234, status=200)
    assert many.summary() == "proved in Chromium 156: read 1,234 bytes (status 200)"
    blocked = Proof("blocked", agrees=True, browser=BROWSER)
    assert blocked.summary() == "proved in Chromium 156: blocked"
    contrary = Proof("blocked", agrees=False, browser=BROWSER)
    assert contrary.summary() == "disproved: corscheck: readable; Chromium 156: blocked"
    contrary_read = Proof("read", agrees=False, browser=BROWSER, bytes_read=2)
    assert contrary_read.summary() == "disproved: corscheck: blocked; Chromium 156: read 2 bytes"
    assert one_byte.proved and not one_byte.disproved
    assert contrary.disproved and not contrary.proved
    unprovable = Proof("unprovable", reason="why")
    assert not unprovable.proved and not unprovable.disproved


def test_short_browser() -> None:
    assert short_browser("Chromium 156.0.8078.114") == "Chromium 156"
    assert short_browser("Chrome 157.0.1.2") == "Chrome 157"
    assert short_browser("Chromium") == "Chromium"
    assert short_browser("") == "the browser"


def test_proof_counts() -> None:
    assert proof_counts([]) is None
    proofs = [
        Proof("read", agrees=True),
        Proof("blocked", agrees=True),
        Proof("read", agrees=False),
        Proof("unprovable", reason="r"),
    ]
    counts = proof_counts(proofs)
    assert counts == ProofCounts(proved=2, disproved=1, unprovable=1)
    assert counts.line() == "2 proved in a real browser, 1 disproved, 1 unprovable"


def test_a_reports_proof_counts_leave_suppressed_findings_out() -> None:
    proved = replace(finding(), proof=Proof("read", agrees=True))
    suppressed = replace(
        finding(), proof=Proof("read", agrees=False), suppressed=Suppression("r", None, "--ignore")
    )
    unproved = finding()
    target = TargetReport(TARGET, None, findings=(proved, suppressed, unproved), requests_sent=1)
    report = Report("1", "now", "standard", "medium", targets=(target,))
    assert report.proof_counts() == ProofCounts(proved=1)
    bare = Report("1", "now", "standard", "medium", targets=(replace(target, findings=()),))
    assert bare.proof_counts() is None


def test_a_proof_round_trips_through_json() -> None:
    proof = Proof(
        "read",
        agrees=False,
        browser=BROWSER,
        profile="chrome-no-3pc",
        message="m",
        status=200,
        bytes_read=3,
        preview="abc",
        cookies=("a",),
        claim="readable",
    )
    data = json.loads(json.dumps(proof_to_dict(proof)))
    assert data["summary"] == proof.summary()
    assert decode_proof(data) == proof
    for outcome in ("read", "blocked", "unprovable"):
        assert decode_proof({**data, "outcome": outcome}).outcome == outcome
    with pytest.raises(ValueError, match="unknown proof outcome"):
        decode_proof({**data, "outcome": "maybe"})


# --- the browser's fence ---------------------------------------------------------------------------


def test_host_rules_map_pages_and_targets_and_nothing_else() -> None:
    rules_text = host_rules(
        {"evil.example:443": 4443, "localhost:3000": 8080}, ["127.0.0.1:8000", "127.0.0.1:8000"]
    )
    assert rules_text == (
        "MAP evil.example:443 127.0.0.1:4443, MAP localhost:3000 127.0.0.1:8080, "
        "MAP 127.0.0.1:8000 127.0.0.1:8000, MAP * ~NOTFOUND"
    )
    # A target that is also a page's host:port is the page's.
    assert host_rules({"a.example:80": 1}, ["a.example:80"]) == (
        "MAP a.example:80 127.0.0.1:1, MAP * ~NOTFOUND"
    )


# --- the pages -------------------------------------------------------------------------------------


def spec_of(html_text: str) -> dict[str, object]:
    match = re.search(r"corscheckReplay\((\{.*?\}), ", html_text)
    assert match, html_text
    return dict(json.loads(match[1]))


def test_a_page_carries_its_fetch_and_cannot_be_broken_out_of() -> None:
    url = "https://api.example.com/x?</script><b>&"
    text = page(PageStep(ATTACKER, url, "PUT", (("X-A", "1"),), "include", read_headers=("X-B",)))
    assert text.count("</script") == 1 and "<b>" not in text  # the page's own script only
    assert "<body><p>PUT " in text and "running…</pre><script>" in text
    assert page(PageStep(ATTACKER, "https://a.example/</script x")).count("</script") == 1
    spec = spec_of(text)
    assert spec == {
        "url": url,
        "method": "PUT",
        "headers": [["X-A", "1"]],
        "credentials": "include",
        "mode": "cors",
        "read": ["X-B"],
        "limit": BODY_LIMIT,
        "timeout": 15000,
    }
    assert "<iframe" not in text and 'rel="icon"' in text


def test_a_null_page_fetches_from_a_sandboxed_iframe() -> None:
    text = page(PageStep("null", TARGET, credentials="include"))
    (frame,) = re.findall(r"<iframe[^>]*>", text)
    assert 'sandbox="allow-scripts"' in frame and "allow-same-origin" not in frame
    assert "parent.postMessage" in frame and "corscheckReplay(" not in text.split("<iframe")[0]
    assert 'addEventListener("message"' in text


# --- proof-of-concept pages ------------------------------------------------------------------------


def report_of(*findings: Finding) -> Report:
    target = TargetReport(TARGET, None, findings=findings, requests_sent=1)
    return Report("1", "now", "standard", "medium", targets=(target,))


def test_a_poc_page_per_over_permissive_finding_not_suppressed() -> None:
    over = finding()
    under = finding(rules.ALLOWED_ORIGIN_REFUSED, reason="x")
    hygiene = finding(rules.PUBLIC_WILDCARD)
    null = finding(rules.NULL_ORIGIN, origin="null")
    accepted = replace(finding(rules.UNTRUSTED_ORIGIN), suppressed=Suppression("r", None, "x"))
    pocs = poc_pages(report_of(over, under, hygiene, null, accepted))
    assert [(p.name, p.origin) for p in pocs] == [
        ("01-any-origin-with-credentials.html", ATTACKER),
        ("02-null-origin.html", "null"),
    ]
    assert spec_of(pocs[0].html)["url"] == TARGET
    assert "<iframe" in pocs[1].html


def test_poc_instructions() -> None:
    cross = instructions(finding(), TARGET)
    assert cross == (
        "<h1>Any origin is granted credentialed reads</h1><p>m.</p><p>This page makes the request "
        "corscheck's evidence shows from <code>https://corscheck-attacker.example</code> and "
        "prints what the browser lets it read.</p><ol><li>Log in to the API in this browser "
        "first: the page's request carries your own cookies (none of the audit's are in this "
        "file).</li><li>Serve this file from <code>https://corscheck-attacker.example</code>: for "
        "a test, map <code>corscheck-attacker.example</code> to 127.0.0.1 in /etc/hosts and serve "
        "the folder on port 443 over https (a certificate the browser accepts); then open it.</li>"
        "<li>READ with a status and the body means the attacker's page reads it; BLOCKED means "
        "the browser refused (its console says why).</li></ol>"
    )
    assert f"Serve this file from <code>{ATTACKER}</code>" in cross
    assert "port 443 over https" in cross and "Log in to the API" in cross
    assert "Same site" not in cross and "****" not in cross
    sibling = "https://app.example.com:8080"
    same_site = instructions(finding(origin=sibling, credentials="omit"), TARGET)
    assert "Same site" in same_site and "subdomain takeover" in same_site
    assert "port 8080 over https" in same_site and "<ol><li>Serve" in same_site
    assert "http://a.example:8080" not in same_site
    plain = instructions(finding(origin="http://a.example:8080"), TARGET)
    assert "port 8080; then open it" in plain
    null = instructions(finding(origin="null"), TARGET)
    assert "sandboxed iframe" in null and "Same site" not in null
    masked = instructions(finding(), TARGET + "?token=****")
    assert "masked a secret in the URL" in masked


def test_the_replay_gets_the_real_secret_values_back_and_nothing_else_changes() -> None:
    from corscheck.prove.run import Unmasker

    unmask = Unmasker(
        [
            "https://api.example.com/v1/items?access_token=t0k&x=a%2Fb",
            "https://api.example.com/v2/other?access_token=other",
        ]
    )
    assert unmask("https://api.example.com/v1/items?access_token=****&x=a%2Fb") == (
        "https://api.example.com/v1/items?access_token=t0k&x=a%2Fb"
    )
    # A URL the audit derived from a target (an error path): its host's target lends the value.
    assert unmask("https://api.example.com/v1/missing?access_token=****&flag") == (
        "https://api.example.com/v1/missing?access_token=t0k&flag"
    )
    assert unmask("https://api.example.com/v2/other?access_token=****") == (
        "https://api.example.com/v2/other?access_token=other"
    )
    assert unmask("https://other.example/?access_token=****") == (
        "https://other.example/?access_token=****"
    )
    assert unmask("https://api.example.com/v1/items?q=1") == "https://api.example.com/v1/items?q=1"
    assert unmask("https://api.example.com/v1/items?unknown=****") == (
        "https://api.example.com/v1/items?unknown=****"
    )
