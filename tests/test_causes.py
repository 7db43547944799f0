"""Deployment causes in detail (evaluate/causes.py, evaluate/cache.py): which layer an error
response comes from, which fix a redirect gets, how a cache is named and when one is suspected.
The firing and quiet case of each rule is in test_evaluate.py's table."""

from __future__ import annotations

import pytest

from corscheck.browser import Probe, Verdict
from corscheck.evaluate.cache import cache_name, cache_suspected, has_cache_evidence
from corscheck.evaluate.causes import _redirect_fix, error_layer
from corscheck.evaluate.model import ProbeResult
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import parse_header_lines
from corscheck.plan import ALLOWED, FIRST_PARTY, PlannedProbe, busted
from corscheck.stack import Stack

URL = "https://api.example.com/v1/users"
APP = "https://app.example.com"


def response(status: int, *lines: str) -> Response:
    return Response(status, parse_header_lines(lines))


@pytest.mark.parametrize(
    ("status", "lines", "stack", "layer", "fix"),
    [
        (401, ("WWW-Authenticate: Bearer",), None, "authentication layer", "in front of auth"),
        (403, (), None, "authentication layer", "in front of auth"),
        (400, ("WWW-Authenticate: Basic",), None, "(WWW-Authenticate: Basic)", "in front of auth"),
        (502, ("Server: nginx/1.22.1",), None, "nginx itself (its own 502 page)", "always"),
        (429, ("Server: nginx",), None, "nginx itself (its own 429 page)", "always"),
        (404, ("Server: nginx",), None, "a layer in front of the CORS layer", "outermost"),
        (503, ("Server: Apache/2.4",), None, "Apache itself (its own 503 page)", "Header always"),
        (500, ("Server: Caddy",), None, "Caddy itself", "Header always"),
        (499, ("Server: Caddy",), None, "a layer in front", "outermost"),
        (500, (), "fastapi", "Starlette's ServerErrorMiddleware", "inside CORSMiddleware"),
        (500, (), "starlette", "Starlette's ServerErrorMiddleware", "inside CORSMiddleware"),
        (502, (), "fastapi", "a layer in front of the CORS layer", "outermost"),
        (500, (), "flask", "a layer in front of the CORS layer", "outermost"),
    ],
)
def test_error_layer(
    status: int, lines: tuple[str, ...], stack: str | None, layer: str, fix: str
) -> None:
    named, fixed = error_layer(response(status, *lines), Stack(stack, "certain", "test"))
    assert layer in named
    expected_fix = {"in front of auth": "CORS layer in front of authentication"}.get(fix, fix)
    assert expected_fix in fixed


@pytest.mark.parametrize(
    ("url", "location", "preflight", "starts"),
    [
        ("http://a.test/x", "https://a.test/x", True, "The server upgrades http to https"),
        ("http://a.test/x", "https://b.test/x", False, "The server upgrades http to https"),
        ("https://a.test/x", "/x/", True, "The redirect only changes the trailing slash"),
        ("https://a.test/x/", "https://a.test/x", False, "The redirect only changes"),
        ("https://a.test/x", "https://b.test/x/", True, "Preflights are redirected to"),
        ("https://a.test/x", "/login", True, "Preflights are redirected to /login"),
        ("https://a.test/x", "/login", False, "The request is redirected to /login"),
        ("https://a.test/x", "http://[::1", False, "Have the front-end call the final URL"),
    ],
)
def test_redirect_fix(url: str, location: str, preflight: bool, starts: str) -> None:
    assert _redirect_fix(url, location, preflight).startswith(starts)


@pytest.mark.parametrize(
    ("lines", "name"),
    [
        (("X-Varnish: 32770 3",), "Varnish"),
        (("Via: 1.1 varnish (Varnish/7.1)",), "Varnish"),
        (("CF-Cache-Status: HIT",), "Cloudflare's cache"),
        (("X-Cache: Hit from cloudfront",), "CloudFront"),
        (("Via: 1.1 abc.cloudfront.net (CloudFront)",), "CloudFront"),
        (("Server: nginx", "X-Cache-Status: HIT"), "nginx's proxy_cache"),
        (("Age: 3",), "A shared cache"),
    ],
)
def test_cache_name(lines: tuple[str, ...], name: str) -> None:
    assert cache_name(response(200, *lines)) == name


@pytest.mark.parametrize(
    ("line", "evidence"),
    [
        ("Age: 0", True),
        ("X-Cache: MISS", True),
        ("X-Proxy-Cache: HIT", True),
        ("Via: 1.1 x", False),
    ],
)
def test_cache_evidence(line: str, evidence: bool) -> None:
    assert has_cache_evidence(response(200, line)) is evidence


def test_busted_keeps_the_query() -> None:
    assert busted(URL, "t1") == URL + "?corscheck-cache=t1"
    assert busted(URL + "?page=2", "t1") == URL + "?page=2&corscheck-cache=t1"


def result(
    origin: str,
    answer: Response,
    *,
    origin_class: str = ALLOWED,
    outcome: str = "as-expected",
    reason: str | None = None,
    kind: str = "actual",
) -> ProbeResult:
    probe = Probe(URL, origin, "GET", (), "omit")
    hop = Hop(kind, Request("GET", URL, (("Origin", origin),)), answer)  # type: ignore[arg-type]
    verdict = Verdict(allowed=outcome == "as-expected", preflight=False, reason_id=reason)  # type: ignore[arg-type]
    planned = PlannedProbe(probe, origin_class, origin, "origin")
    return ProbeResult(planned, Exchange((hop,)), verdict, True, outcome)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("made", "suspected"),
    [
        (result(APP, response(200, f"Access-Control-Allow-Origin: {APP}")), False),
        (result(APP, response(200, "Age: 4")), True),
        (result(APP, response(200, "Access-Control-Allow-Origin: https://other.test")), True),
        (result(APP, response(200, "Access-Control-Allow-Origin: *")), False),
        (result(APP, response(200, "Access-Control-Allow-Origin: null")), False),
        (
            result(
                APP,
                response(200, "Access-Control-Allow-Origin: https://other.test"),
                kind="preflight",
            ),
            False,
        ),
        (result(APP, response(200), outcome="under-permissive", reason="CHECK-ACAO-MISSING"), True),
        (result(APP, response(200), outcome="under-permissive", reason="CHECK-ACAO-MATCH"), True),
        (result(APP, response(200), outcome="under-permissive", reason="PRE-METHOD"), False),
        (
            result(
                APP,
                response(200),
                origin_class=FIRST_PARTY,
                outcome="under-permissive",
                reason="CHECK-ACAO-MISSING",
            ),
            False,
        ),
    ],
)
def test_cache_suspected(made: ProbeResult, suspected: bool) -> None:
    assert cache_suspected([made]) is suspected


# --- whole evaluations: severities, witnesses, redirects (tests/test_evaluate.py's harness) -------

from corscheck.browser import judge  # noqa: E402
from corscheck.evaluate import Finding  # noqa: E402
from corscheck.evaluate.cache import CacheTrialRun, cache_findings, explained_by_cache  # noqa: E402
from corscheck.evaluate.causes import cause_of  # noqa: E402
from corscheck.plan import CacheTrial, cache_trials  # noqa: E402
from corscheck.policy import build_policy  # noqa: E402
from corscheck.rules import RULES_BY_ID  # noqa: E402
from tests.test_evaluate import Server, audit, by_rule, headers  # noqa: E402

PUT_POLICY = build_policy(origins=[APP], methods=["PUT"], headers=["X-Token"])


def test_an_auth_layer_refusing_every_preflight_is_high() -> None:
    def answer(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(401, headers("WWW-Authenticate: Bearer"))
        return Server().answer(request)

    finding = by_rule(audit(PUT_POLICY, answer))["error-without-cors"]
    assert finding.severity == "high" and finding.evidence.step == "preflight"
    assert finding.message.startswith(f"the preflight of the PUT with X-Token from {APP} was")


def test_a_refused_preflight_beside_passing_ones_is_the_cors_layers_own_answer() -> None:
    """Litestar refuses a method with a 400 and no CORS headers: an allow-list matter."""

    def answer(request: Request) -> Response:
        asked = dict((n.lower(), v) for n, v in request.headers)
        if request.method == "OPTIONS" and asked.get("access-control-request-method") == "PUT":
            return Response(400, headers("Content-Type: text/plain"))
        return Server(methods="GET", allow_headers="X-Token").answer(request)

    found = by_rule(audit(PUT_POLICY, answer))
    assert "allowed-method-refused" in found
    assert "error-without-cors" not in found and "preflight-not-recognised" not in found


@pytest.mark.parametrize(
    ("subject", "severity"),
    [
        ("to a path that does not exist (x)", "low"),
        ("where the route takes only other methods", "low"),
        ("without its -H credentials", "medium"),
    ],
)
def test_error_path_severity(subject: str, severity: str) -> None:
    probe = Probe(URL, APP, "GET", (), "omit")
    planned = PlannedProbe(probe, ALLOWED, APP, "error-path", subject)
    answer = response(404)
    hop = Hop("actual", Request("GET", URL, (("Origin", APP),)), answer)
    exchange = Exchange((hop,))
    failing = ProbeResult(planned, exchange, judge(probe, exchange), True, "under-permissive")
    granted = result(APP, response(200, f"Access-Control-Allow-Origin: {APP}"))
    cause = cause_of(URL, failing, [failing, granted], Stack())
    assert cause is not None and cause.severity == severity
    assert cause.message.startswith(f"a GET from {APP} {subject} was answered 404")
    assert cause_of(URL, granted, [failing, granted], Stack()) is None  # allowed: no cause


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 399])
def test_every_redirect_status_of_a_preflight_is_named(status: int) -> None:
    server = Server(methods="PUT", preflight_status=status, extra_preflight=("Location: /login",))
    found = by_rule(audit(build_policy(origins=[APP], methods=["PUT"]), server))
    if status == 399:
        assert "redirected-request" not in found
        return
    finding = found["redirected-request"]
    assert finding.message == (
        f"its preflight from {APP} is redirected ({status}) to /login: Redirect is not allowed "
        "for a preflight request."
    )
    assert finding.evidence.step == "preflight"
    assert finding.fix.startswith("Preflights are redirected to /login")


@pytest.mark.parametrize(("status", "ok"), [(199, False), (200, True), (299, True), (300, False)])
def test_preflight_detection_needs_an_ok_preflight_with_the_header(status: int, ok: bool) -> None:
    def answer(request: Request) -> Response:
        asked = {n.lower() for n, _ in request.headers}
        if request.method == "OPTIONS" and "access-control-request-headers" not in asked:
            return Response(405, headers("Allow: GET"))
        if request.method == "OPTIONS":
            reply = Server(methods="PUT", allow_headers="X-Token").answer(request)
            return Response(status, reply.headers)
        return Server().answer(request)

    assert ("preflight-not-recognised" in by_rule(audit(PUT_POLICY, answer))) is ok


def test_nginx_own_503_and_504_name_nginx() -> None:
    for status in (503, 504):
        named, _ = error_layer(response(status, "Server: nginx"), Stack())
        assert named == f"nginx itself (its own {status} page)"


def finding_of(rule: str, step: str, reason: str | None) -> Finding:
    from corscheck.evaluate.model import Evidence

    evidence = Evidence(APP, "GET", (), "omit", step, 200, (), reason)
    return Finding(RULES_BY_ID[rule], "high", URL, "m", evidence, (), "fix")


@pytest.mark.parametrize(
    ("rule", "step", "reason", "explained"),
    [
        ("missing-vary-origin", "preflight", None, True),
        ("allowed-origin-refused", "actual", "No 'Access-Control-Allow-Origin' header", True),
        ("credentials-refused", "actual", "The 'Access-Control-Allow-Origin' header has", True),
        ("allowed-origin-refused", "preflight", "No 'Access-Control-Allow-Origin' header", False),
        ("allowed-origin-refused", "actual", "duplicate Location", False),
        ("allowed-origin-refused", "actual", None, False),
        ("allowed-method-refused", "actual", "No 'Access-Control-Allow-Origin' header", False),
    ],
)
def test_what_a_confirmed_cache_explains(
    rule: str, step: str, reason: str | None, explained: bool
) -> None:
    assert explained_by_cache(finding_of(rule, step, reason)) is explained


def test_cache_trials_are_cookie_less_gets_of_the_first_granted_front_end() -> None:
    granted = result(APP, response(200, f"Access-Control-Allow-Origin: {APP}"))
    other = result("https://evil.test", response(200), origin_class="unrelated")
    preflighted = replace_aspect(result("https://x.test", response(200)), "method")
    trials = cache_trials(URL, [preflighted, other, granted], "t", (("X-Key", "k"),))
    assert [(t.primer, t.primed_url) for t in trials] == [
        ("https://api.example.com", URL + "?corscheck-cache=t-0"),
        ("https://x.test", URL + "?corscheck-cache=t-1"),  # the first other origin tried
    ]
    assert {
        (t.probe.origin, t.probe.method, t.probe.credentials, t.probe.cookie) for t in trials
    } == {(APP, "GET", "omit", "")}
    assert trials[0].probe.url == URL + "?corscheck-cache=t-0-alone"
    assert trials[0].probe.extra_headers == (("X-Key", "k"),)
    assert cache_trials(URL, [other, preflighted], "t", ()) == []


def replace_aspect(made: ProbeResult, aspect: str) -> ProbeResult:
    from dataclasses import replace

    return replace(made, planned=replace(made.planned, aspect=aspect))


def run_of(primer: str, primed: Response, alone: Response) -> CacheTrialRun:
    probe = Probe(URL + "?c=alone", APP, "GET", (), "omit", (), "")
    trial = CacheTrial(primer, probe, URL + "?c=1")
    hop = lambda answer: Exchange((Hop("actual", Request("GET", URL, ()), answer),))  # noqa: E731
    return CacheTrialRun(trial, hop(primed), hop(alone), 3)


GRANT = f"Access-Control-Allow-Origin: {APP}"


@pytest.mark.parametrize(
    ("primer", "primed", "alone", "message"),
    [
        (
            "https://api.example.com",
            response(200, "Server: nginx", "X-Cache-Status: HIT"),
            response(200, GRANT),
            "nginx's proxy_cache serves one origin's CORS answer to another: after a request "
            f"without Origin to a fresh URL, {APP}'s request to the same URL got no "
            "Access-Control-Allow-Origin (X-Cache-Status: HIT), and was refused",
        ),
        (
            "https://admin.test",
            response(200, "Access-Control-Allow-Origin: https://admin.test", "X-Varnish: 1 2"),
            response(200, GRANT),
            "Varnish serves one origin's CORS answer to another: after a request from "
            f"https://admin.test to a fresh URL, {APP}'s request to the same URL got "
            "Access-Control-Allow-Origin: https://admin.test (X-Varnish: 1 2), and was refused",
        ),
        ("https://admin.test", response(200, GRANT), response(200, GRANT), None),
        ("https://admin.test", response(200), response(200), None),
    ],
)
def test_cache_findings(
    primer: str, primed: Response, alone: Response, message: str | None
) -> None:
    findings = cache_findings(URL, [run_of(primer, primed, alone)])
    if message is None:
        assert findings == []
        return
    (finding,) = findings
    assert finding.rule.id == "cached-cors-answer" and finding.severity == "high"
    assert finding.message.startswith(message)
    assert finding.evidence.origin == APP and finding.evidence.credentials == "omit"
    assert finding.fix.startswith("Send Vary: Origin on every response")
    # The evidence is a sequence --prove replays: the primer ("" without Origin), then this URL.
    assert finding.evidence.primer == ("" if primer == "https://api.example.com" else primer)
    assert finding.evidence.url == URL + "?c=1"


def test_the_first_trial_that_shows_the_cache_is_the_finding() -> None:
    quiet = run_of("https://a.test", response(200, GRANT), response(200, GRANT))
    shows = run_of("https://b.test", response(200, "Age: 1"), response(200, GRANT))
    (finding,) = cache_findings(URL, [quiet, shows, shows])
    assert "after a request from https://b.test" in finding.message


@pytest.mark.parametrize(
    ("lines", "own"),
    [
        (("X-Varnish: 1",), "Varnish honours Vary by itself"),
        (("CF-Cache-Status: HIT",), "Cloudflare caches one answer per URL"),
        (("X-Cache: Hit from cloudfront",), "CloudFront: forward Origin"),
        (("Server: nginx", "Age: 1"), "nginx's proxy_cache honours"),
        (("Age: 1",), "Check that the cache honours Vary"),
    ],
)
def test_the_cache_fix_names_the_cache_setting(lines: tuple[str, ...], own: str) -> None:
    (finding,) = cache_findings(
        URL, [run_of("https://a.test", response(200, *lines), response(200, GRANT))]
    )
    assert own in finding.fix


@pytest.mark.parametrize("name", ["X-Cache-Status", "CF-Cache-Status", "X-Varnish"])
def test_each_cache_header_is_evidence(name: str) -> None:
    assert has_cache_evidence(response(200, f"{name}: HIT"))


def test_a_preflight_hop_does_not_hide_the_actual_response_after_it() -> None:
    preflight = Hop("preflight", Request("OPTIONS", URL, ()), response(204, GRANT))
    actual = Hop("actual", Request("GET", URL, ()), response(200, "Age: 3"))
    made = result(APP, response(200))
    made = ProbeResult(
        made.planned, Exchange((preflight, actual)), made.verdict, True, "as-expected"
    )
    assert cache_suspected([made])


def variant_result(url: str, answer: Response, aspect: str = "path-variant") -> ProbeResult:
    probe = Probe(url, APP, "GET", (), "omit")
    planned = PlannedProbe(probe, ALLOWED, APP, aspect, url)  # type: ignore[arg-type]
    exchange = Exchange((Hop("actual", Request("GET", url, (("Origin", APP),)), answer),))
    verdict = judge(probe, exchange)
    outcome = "as-expected" if verdict.allowed else "under-permissive"
    return ProbeResult(planned, exchange, verdict, True, outcome)  # type: ignore[arg-type]


GRANTED = result(APP, response(200, GRANT))
OTHER_FIRST = result("https://x.test", response(200, "Access-Control-Allow-Origin: https://x.test"))


@pytest.mark.parametrize(
    ("variant", "rule", "severity"),
    [
        (response(200), "path-outside-cors-scope", None),
        (response(299), "path-outside-cors-scope", None),
        (response(300), None, None),  # no Location: neither served nor redirected
        (response(301, f"Location: {URL}"), None, None),  # a redirect: not a spelling kept
        (response(399), None, None),
        (response(400), "error-without-cors", "low"),
        (response(404), "error-without-cors", "low"),
    ],
)
def test_a_path_variant_cause(variant: Response, rule: str | None, severity: str | None) -> None:
    refused = variant_result(URL + "/", variant)
    cause = cause_of(URL, refused, [OTHER_FIRST, refused, GRANTED], Stack())
    if rule is None:
        assert cause is None
        return
    assert cause is not None and cause.rule.id == rule and cause.severity == severity
    if rule == "error-without-cors":
        assert cause.message.startswith(f"a GET from {APP} to {URL}/ was answered")


def test_a_variant_is_out_of_scope_only_where_the_target_grants() -> None:
    refused = variant_result(URL + "/", response(200))
    not_granted = result(APP, response(200), outcome="under-permissive")
    elsewhere = variant_result(URL + "/other", response(200, GRANT), aspect="origin")
    for results in ([refused], [refused, not_granted], [refused, elsewhere]):
        assert cause_of(URL, refused, results, Stack()) is None


def test_an_unjudged_refusal_has_no_cause() -> None:
    made = variant_result(URL, response(500), aspect="origin")
    from dataclasses import replace

    unjudged = replace(made, verdict=replace(made.verdict, judged=False))
    assert cause_of(URL, unjudged, [unjudged, GRANTED], Stack()) is None
    assert cause_of(URL, made, [OTHER_FIRST, made, GRANTED], Stack()) is not None


def test_one_finding_per_cause_its_witness_the_front_ends_plain_read() -> None:
    from corscheck.evaluate.causes import cause_findings

    missing = variant_result(URL + "/a", response(404), aspect="error-path")
    plain = variant_result(URL, response(404), aspect="origin")
    findings, explained = cause_findings(URL, [missing, plain], [missing, plain, GRANTED], Stack())
    (finding,) = findings
    assert finding.evidence.status == 404 and finding.message.startswith("the GET from")
    assert finding.evidence.related == (f"GET from {APP} to {URL}/a",)
    assert explained == {id(missing), id(plain)}


@pytest.mark.parametrize(
    ("lines", "layer", "fix"),
    [
        (("Server: nginx",), "nginx itself", "nginx adds headers with add_header only to 2xx"),
        (("Server: Varnish",), "Varnish itself", "Have Varnish add the CORS headers"),
        (("Via: 1.1 varnish",), "a layer in front", "outermost"),
    ],
)
@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_proxy_own_error(lines: tuple[str, ...], layer: str, fix: str, status: int) -> None:
    named, fixed = error_layer(response(status, *lines), Stack())
    assert named.startswith(layer) and fix in fixed


def test_the_evidence_names_its_url_only_where_it_is_not_the_target() -> None:
    from corscheck import rules
    from corscheck.evaluate.build import make_finding

    def result_at(url: str) -> ProbeResult:
        probe = Probe(url, APP, "GET", (), "omit", (), "")
        exchange = Exchange((Hop("actual", Request("GET", url, ()), response(404)),))
        verdict = Verdict(False, False, "CHECK-ACAO-MISSING", "no grant", "actual")
        return ProbeResult(
            PlannedProbe(probe, ALLOWED, APP, "error-path"),
            exchange,
            verdict,
            True,
            "under-permissive",
        )

    missing = URL + "-corscheck-missing"
    rule = rules.ERROR_WITHOUT_CORS
    assert make_finding(rule, URL, result_at(URL), "m").evidence.url == ""
    assert make_finding(rule, URL, result_at(missing), "m").evidence.url == missing
