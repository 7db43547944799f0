from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from corscheck.browser import Probe, Verdict, needs_preflight
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList
from corscheck.plan import (
    ALLOWED,
    FIRST_PARTY,
    CacheTrial,
    PlannedProbe,
    answer_shape,
    chain_of,
    concrete_allowed_origins,
    deferred_twins,
    discovered_trusted,
    distinct_chains,
    estimated_requests,
    follow_up_round,
    front_end_methods,
    path_variants,
    plan_target,
    stand_in_holds,
    twin_groups,
    twin_needed,
)
from corscheck.policy import Policy, build_policy
from corscheck.visitor import visitor_of

URL = "https://api.example.com/v1/users"
POLICY = build_policy(
    origins=["https://app.example.com"],
    methods=["GET", "POST", "PUT"],
    headers=["Content-Type", "Authorization"],
    credentials=True,
)


def test_every_probe_has_both_credentials_modes_on_one_chain() -> None:
    planned = [p for p in plan_target(URL, POLICY, "standard") if p.aspect != "error-path"]
    modes = Counter(p.probe.credentials for p in planned)
    assert modes["omit"] == modes["include"]
    assert len(distinct_chains(planned)) == len(planned) // 2


@pytest.mark.parametrize("depth", ["quick", "standard", "thorough"])
def test_request_budget_per_depth(depth: str) -> None:
    chains = distinct_chains(plan_target(URL, POLICY, depth))  # type: ignore[arg-type]
    requests = estimated_requests(chains, send_unsafe=False)
    limits = {"quick": 16, "standard": 44, "thorough": 124}
    assert requests <= limits[depth]


def test_depths_grow() -> None:
    sizes = [
        len(distinct_chains(plan_target(URL, POLICY, d))) for d in ("quick", "standard", "thorough")
    ]
    assert sizes[0] < sizes[1] <= sizes[2]


def test_allowed_origin_probes_cover_policy_methods_headers_and_outside() -> None:
    planned = [p for p in plan_target(URL, POLICY, "standard") if p.origin_class == ALLOWED]
    subjects = {(p.aspect, p.subject) for p in planned}
    assert ("method", "PUT") in subjects
    assert ("method", "DELETE") in subjects  # outside the policy
    assert ("header", "Content-Type") in subjects
    assert ("header", "Authorization") in subjects
    assert ("header", "X-Corscheck-Probe") in subjects


def test_unspecified_headers_are_not_probed_beyond() -> None:
    policy = build_policy(origins=["https://app.example.com"], methods=["GET"])
    subjects = {p.subject for p in plan_target(URL, policy, "standard") if p.aspect == "header"}
    assert subjects == set()


def test_attackers_never_include_allowed_origins() -> None:
    planned = plan_target(URL, POLICY, "thorough")
    attackers = {p.probe.origin for p in planned if p.origin_class != ALLOWED}
    assert "https://app.example.com" not in attackers
    assert "null" in attackers


def test_pattern_origin_is_probed_by_a_subdomain() -> None:
    policy = build_policy(origins=["https://*.example.com"])
    allowed = {
        p.probe.origin for p in plan_target(URL, policy, "quick") if p.origin_class == ALLOWED
    }
    assert allowed == {"https://corscheck-probe.example.com"}


def test_no_policy_only_attackers() -> None:
    planned = plan_target(URL, None, "standard")
    assert planned
    assert all(p.origin_class != ALLOWED for p in planned)


def test_extra_headers_on_every_probe() -> None:
    extra = (("Authorization", "Bearer x"),)
    planned = plan_target(URL, POLICY, "quick", extra_headers=extra)
    assert all(p.probe.extra_headers[: len(extra)] == extra for p in planned)


# --- plans written out -----------------------------------------------------------------------------

APP = "https://app.example.com"
UNRELATED = "https://corscheck-attacker.example"
PNA = (("Access-Control-Request-Private-Network", "true"),)
TOKEN = "corscheck-probe-token"
EVERY_HEADER = (
    ("Accept", "application/json"),
    ("Content-Language", "en-US"),
    ("Accept-Language", "en-US"),
    ("X-Api", TOKEN),
    ("X-Corscheck-Any", TOKEN),
)
# Rows: (origin class, aspect, origin, method, request headers, extra headers, subject), the omit
# probe of each pair; the probes of the allowed origins and the private-network ones (standard).
WRITTEN_OUT = [
    pytest.param(
        build_policy(
            origins=[APP],
            methods=["GET", "PUT", "patch"],
            headers=["Accept", "Content-Language", "Accept-Language", "X-Api", "*"],
            private_network=True,
        ),
        [
            # the allowed origin alone, then the requests the front-end really sends
            (ALLOWED, "origin", APP, "GET", (), (), ""),
            (ALLOWED, "request", APP, "GET", EVERY_HEADER, (), "GET"),
            (ALLOWED, "request", APP, "PUT", EVERY_HEADER, (), "PUT"),
            (ALLOWED, "request", APP, "patch", EVERY_HEADER, (), "patch"),
            # each non-safelisted method and each header alone, with sample values that are not
            # safelisted (application/json), "*" as a header of corscheck's own
            (ALLOWED, "method", APP, "PUT", (), (), "PUT"),
            (ALLOWED, "method", APP, "patch", (), (), "patch"),
            (ALLOWED, "header", APP, "GET", (("Accept", "application/json"),), (), "Accept"),
            (
                ALLOWED,
                "header",
                APP,
                "GET",
                (("Content-Language", "en-US"),),
                (),
                "Content-Language",
            ),
            (ALLOWED, "header", APP, "GET", (("Accept-Language", "en-US"),), (), "Accept-Language"),
            (ALLOWED, "header", APP, "GET", (("X-Api", TOKEN),), (), "X-Api"),
            (ALLOWED, "header", APP, "GET", (("X-Corscheck-Any", TOKEN),), (), "X-Corscheck-Any"),
            # beyond the policy: methods it does not list; "*" does not cover Authorization
            (ALLOWED, "method", APP, "DELETE", (), (), "DELETE"),
            (ALLOWED, "method", APP, "PATCH", (), (), "PATCH"),
            (
                ALLOWED,
                "header",
                APP,
                "GET",
                (("Authorization", "Bearer corscheck-probe-token"),),
                (),
                "Authorization",
            ),
            (ALLOWED, "private-network", APP, "PUT", (), PNA, ""),
            # the preflight path, from the unrelated origin
            (
                "unrelated",
                "private-network",
                UNRELATED,
                "PUT",
                (("Content-Type", "application/json"),),
                PNA,
                "",
            ),
        ],
        id="methods-headers-star-private-network",
    ),
    pytest.param(
        build_policy(origins=[APP], methods=["*"], headers=["Authorization"]),
        [
            (ALLOWED, "origin", APP, "GET", (), (), ""),
            # "*" methods: the front-end's method is GET; nothing beyond a "*"
            (
                ALLOWED,
                "request",
                APP,
                "GET",
                (("Authorization", "Bearer corscheck-probe-token"),),
                (),
                "GET",
            ),
            (
                ALLOWED,
                "header",
                APP,
                "GET",
                (("X-Corscheck-Probe", TOKEN),),
                (),
                "X-Corscheck-Probe",
            ),
            (
                "unrelated",
                "private-network",
                UNRELATED,
                "PUT",
                (("Content-Type", "application/json"),),
                PNA,
                "",
            ),
        ],
        id="any-method-one-header",
    ),
    pytest.param(
        # An OpenAPI route: what its calls send is probed; what the policy allows bounds the beyond.
        Policy(origins=(APP,), methods=("PUT",), sends_methods=(), sends_headers=("X-Sent",)),
        [
            (ALLOWED, "origin", APP, "GET", (), (), ""),
            (ALLOWED, "request", APP, "GET", (("X-Sent", TOKEN),), (), "GET"),
            (ALLOWED, "method", APP, "DELETE", (), (), "DELETE"),
            (ALLOWED, "method", APP, "PATCH", (), (), "PATCH"),
            (
                "unrelated",
                "private-network",
                UNRELATED,
                "PUT",
                (("Content-Type", "application/json"),),
                PNA,
                "",
            ),
        ],
        id="sends-no-method",
    ),
    pytest.param(
        # GET with no header is the origin probe itself: no second request for it.
        build_policy(origins=[APP], methods=["GET"], headers=[]),
        [
            (ALLOWED, "origin", APP, "GET", (), (), ""),
            (ALLOWED, "method", APP, "DELETE", (), (), "DELETE"),
            (ALLOWED, "method", APP, "PATCH", (), (), "PATCH"),
            (ALLOWED, "method", APP, "PUT", (), (), "PUT"),
            (
                ALLOWED,
                "header",
                APP,
                "GET",
                (("X-Corscheck-Probe", TOKEN),),
                (),
                "X-Corscheck-Probe",
            ),
            (
                ALLOWED,
                "header",
                APP,
                "GET",
                (("Authorization", "Bearer corscheck-probe-token"),),
                (),
                "Authorization",
            ),
            (
                "unrelated",
                "private-network",
                UNRELATED,
                "PUT",
                (("Content-Type", "application/json"),),
                PNA,
                "",
            ),
        ],
        id="get-only",
    ),
    pytest.param(
        # A method or header named twice is one request.
        Policy(origins=(APP,), sends_methods=("PUT", "PUT"), sends_headers=("X-A", "X-A")),
        [
            (ALLOWED, "origin", APP, "GET", (), (), ""),
            (ALLOWED, "request", APP, "PUT", (("X-A", TOKEN), ("X-A", TOKEN)), (), "PUT"),
            (ALLOWED, "method", APP, "PUT", (), (), "PUT"),
            (ALLOWED, "header", APP, "GET", (("X-A", TOKEN),), (), "X-A"),
            (
                "unrelated",
                "private-network",
                UNRELATED,
                "PUT",
                (("Content-Type", "application/json"),),
                PNA,
                "",
            ),
        ],
        id="named-twice",
    ),
]


@pytest.mark.parametrize(("policy", "rows"), WRITTEN_OUT)
def test_plan_written_out(policy: Policy, rows: list[tuple[object, ...]]) -> None:
    planned = plan_target(URL, policy, "standard")
    assert [
        (
            p.origin_class,
            p.aspect,
            p.probe.origin,
            p.probe.method,
            p.probe.headers,
            p.probe.extra_headers,
            p.subject,
        )
        for p in planned
        if p.probe.credentials == "omit"
        and p.aspect != "error-path"
        and (p.origin_class == ALLOWED or p.aspect == "private-network")
    ] == rows


def test_error_paths_are_safe_requests_of_the_first_allowed_origin_without_cookies() -> None:
    policy = replace(POLICY, sends_methods=("PUT",))
    headers = (("Authorization", "Bearer s3cret"), ("Accept", "application/json"))
    planned = [
        p
        for p in plan_target(URL, policy, "standard", extra_headers=headers, visitor=visitor_of())
        if p.aspect == "error-path"
    ]
    assert [(p.probe.url, p.probe.method, p.probe.extra_headers) for p in planned] == [
        ("https://api.example.com/v1/corscheck-no-such-path", "GET", headers),
        (URL, "GET", headers),  # the route takes only PUT
        (URL, "GET", (("Accept", "application/json"),)),  # without the credentials
    ]
    # What each went without, for a replay in a browser (prove/).
    assert [p.withheld for p in planned] == [(), (), ("Authorization",)]
    assert {(p.probe.origin, p.probe.credentials, p.probe.cookie) for p in planned} == {
        (policy.origins[0], "omit", "")
    }


def test_error_paths_only_where_they_differ_and_not_at_quick_depth() -> None:
    planned = plan_target(URL, POLICY, "standard")
    assert [p.subject for p in planned if p.aspect == "error-path"] == [
        "to a path that does not exist (https://api.example.com/v1/corscheck-no-such-path)"
    ]
    assert not [p for p in plan_target(URL, POLICY, "quick") if p.aspect == "error-path"]
    assert not [p for p in plan_target(URL, None, "standard") if p.aspect == "error-path"]


def test_attackers_probe_the_origin_and_one_preflight_path() -> None:
    planned = [p for p in plan_target(URL, POLICY, "standard") if p.origin_class != ALLOWED]
    aspects = Counter(p.aspect for p in planned if p.probe.credentials == "omit")
    assert aspects["private-network"] == 1
    assert set(aspects) == {"origin", "private-network"}


@pytest.mark.parametrize(
    ("depth", "trusted", "preflight_path"),
    [
        ("quick", (), False),
        ("standard", (), True),
        ("thorough", (), True),
        ("standard", ("https://partner.example.net",), False),
    ],
    ids=["quick", "standard", "thorough", "second-round"],
)
def test_preflight_path_probe_per_depth(
    depth: str, trusted: tuple[str, ...], preflight_path: bool
) -> None:
    planned = plan_target(URL, POLICY, depth, trusted=trusted)  # type: ignore[arg-type]
    assert (
        any(p.aspect == "private-network" and p.origin_class != ALLOWED for p in planned)
        is preflight_path
    )


def test_preflight_path_falls_back_to_the_first_attacker() -> None:
    # The unrelated origin is allowed here, so it is no attacker: the first attacker (null) asks.
    policy = build_policy(origins=[APP, UNRELATED])
    [probe] = [
        p
        for p in plan_target(URL, policy, "standard")
        if p.aspect == "private-network" and p.probe.credentials == "omit"
    ]
    assert (probe.origin_class, probe.probe.origin) == ("null", "null")


def test_public_policy_still_has_attackers() -> None:
    """With "*" credentialed reads must stay refused: attackers are probed, a made-up origin reads."""
    planned = plan_target(URL, build_policy(origins=["*"]), "standard")
    assert {p.probe.origin for p in planned if p.origin_class == ALLOWED} == {
        "https://corscheck-public.example"
    }
    assert UNRELATED in {p.probe.origin for p in planned if p.origin_class == "unrelated"}


def test_quick_plans_the_requests_of_every_allowed_origin() -> None:
    policy = build_policy(origins=[APP, "https://admin.example.com"], methods=["PUT"])
    planned = plan_target(URL, policy, "quick")
    requests = {(p.probe.origin, p.probe.method) for p in planned if p.aspect == "request"}
    assert requests == {(APP, "PUT"), ("https://admin.example.com", "PUT")}
    assert not [p for p in planned if p.aspect in ("method", "header", "private-network")]


def test_concrete_allowed_origins() -> None:
    policy = build_policy(
        origins=["*", "https://*.example.com", "https://a.example", "https://*.example.com"]
    )
    assert concrete_allowed_origins(policy) == [
        "https://corscheck-public.example",
        "https://corscheck-probe.example.com",
        "https://a.example",
    ]


def test_front_end_methods() -> None:
    assert front_end_methods(build_policy(methods=["*", "PUT"])) == ["PUT"]
    assert front_end_methods(build_policy(methods=["*"])) == ["GET"]
    assert front_end_methods(build_policy()) == ["GET"]
    assert front_end_methods(Policy(methods=("PUT",), sends_methods=("POST",))) == ["POST"]
    assert front_end_methods(Policy(methods=("PUT",), sends_methods=())) == ["GET"]


def chain(method: str, headers: tuple[tuple[str, str], ...] = ()) -> Probe:
    return Probe(URL, APP, method, headers, "omit")


@pytest.mark.parametrize(
    ("chains", "send_unsafe", "requests"),
    [
        ([chain("GET")], False, 1),
        ([chain("HEAD")], False, 1),
        ([chain("get")], False, 1),  # normalized as fetch() does
        ([chain("POST")], False, 0),  # simple, but it changes state: not sent
        ([chain("POST")], True, 1),
        ([chain("PUT")], False, 1),  # the preflight only
        ([chain("PUT")], True, 2),
        ([chain("GET", (("X-Api", TOKEN),))], False, 2),
        ([chain("GET"), chain("PUT"), chain("DELETE")], False, 3),
        # A credentialed chain and its cookie-less twin ask the very same preflight once.
        ([chain("PUT"), replace(chain("PUT"), credentials="include", cookie="s=1")], False, 1),
        ([chain("PUT"), replace(chain("PUT"), credentials="include", cookie="s=1")], True, 3),
        ([chain("PUT"), chain("PATCH")], False, 2),  # two preflights: they ask different things
    ],
)
def test_estimated_requests(chains: list[Probe], send_unsafe: bool, requests: int) -> None:
    assert estimated_requests(chains, send_unsafe) == requests


@pytest.mark.parametrize(
    ("url", "variants"),
    [
        ("https://a.test/api/items", ["https://a.test/api/items/", "https://a.test/API/items"]),
        ("https://a.test/api/items/", ["https://a.test/api/items", "https://a.test/API/items/"]),
        ("https://a.test/API/x?q=1", ["https://a.test/API/x/?q=1"]),  # already upper case
        ("https://a.test/", []),
    ],
)
def test_path_variants(url: str, variants: list[str]) -> None:
    assert path_variants(url) == variants


def test_path_variants_only_at_thorough_depth() -> None:
    def variants(depth: str) -> list[str]:
        planned = plan_target(URL, POLICY, depth)  # type: ignore[arg-type]
        return [p.probe.url for p in planned if p.aspect == "path-variant"]

    assert variants("standard") == []
    assert variants("thorough") == [URL + "/", "https://api.example.com/V1/users"]


# --- the follow-up round (plan.follow_up_round) -------------------------------------------------------


def _answered(
    planned: list[PlannedProbe], granted: str | None
) -> list[tuple[PlannedProbe, Exchange, Verdict]]:
    """The first round as if the server granted `granted` to every request (None: no grant)."""
    lines = [("Access-Control-Allow-Origin", granted)] if granted is not None else []
    judged = []
    for p in planned:
        hop = Hop("actual", Request("GET", p.probe.url, ()), Response(200, HeaderList(lines)))
        judged.append((p, Exchange((hop,)), Verdict(allowed=False, preflight=False)))
    return judged


PARTNER = "https://partner.example.net"


def test_a_fixed_grant_plans_its_mutations_in_a_second_round() -> None:
    first = plan_target(URL, None, "standard")
    second = follow_up_round(URL, None, "standard", first, _answered(first, PARTNER))
    assert second, "the partner's mutations are probed"
    known = {chain_of(p.probe) for p in first}
    assert all(chain_of(p.probe) not in known for p in second)
    assert any(PARTNER.removeprefix("https://") in p.probe.origin for p in second)


@pytest.mark.parametrize(
    ("granted", "depth", "policy"),
    [
        (None, "standard", None),  # no grant at all
        ("*", "standard", None),  # a wildcard names no origin
        ("null", "standard", None),
        ("not an origin", "standard", None),
        (PARTNER, "quick", None),  # quick sends one round
        (PARTNER, "standard", build_policy(origins=[PARTNER])),  # the policy allows it already
    ],
)
def test_no_second_round_without_a_new_trusted_origin(
    granted: str | None, depth: str, policy: Policy | None
) -> None:
    first = plan_target(URL, policy, depth)  # type: ignore[arg-type]
    assert follow_up_round(URL, policy, depth, first, _answered(first, granted)) == []  # type: ignore[arg-type]


def test_the_reflected_origin_is_not_a_discovery() -> None:
    first = plan_target(URL, None, "standard")
    judged = [
        (
            p,
            Exchange(
                (
                    Hop(
                        "actual",
                        Request("GET", URL, ()),
                        Response(
                            200, HeaderList([("Access-Control-Allow-Origin", p.probe.origin)])
                        ),
                    ),
                )
            ),
            Verdict(True, False),
        )
        for p in first
    ]
    assert discovered_trusted(judged, None) == []


def test_at_most_five_trusted_origins_are_followed() -> None:
    first = plan_target(URL, None, "standard")[:1]
    many = [
        (
            first[0],
            Exchange(
                tuple(
                    Hop(
                        "actual",
                        Request("GET", URL, ()),
                        Response(
                            200,
                            HeaderList(
                                [("Access-Control-Allow-Origin", f"https://p{i}.example.net")]
                            ),
                        ),
                    )
                    for i in range(7)
                )
            ),
            Verdict(False, False),
        )
    ]
    assert discovered_trusted(many, None) == [f"https://p{i}.example.net" for i in range(5)]


def test_a_cache_trial_primes_without_cookies_then_follows_on_the_same_url() -> None:
    probe = Probe(URL + "?c=alone", "https://app.example.com", extra_headers=(("X-Key", "k"),))
    trial = CacheTrial("https://api.example.com", probe, URL + "?c=1")
    assert trial.primer_probe == Probe(
        URL + "?c=1", "https://api.example.com", "GET", (), "omit", (("X-Key", "k"),), ""
    )
    assert trial.primed_probe == replace(probe, url=URL + "?c=1")


# --- the cookie-less twin (plan.deferred_twins, plan.twin_needed) -------------------------------------


def _answer(status: int, *lines: tuple[str, str]) -> Exchange:
    return Exchange((Hop("actual", Request("GET", URL, ()), Response(status, HeaderList(lines))),))


def test_an_attacker_origins_cookie_less_chain_waits_for_its_credentialed_twin() -> None:
    planned = plan_target(
        URL,
        build_policy(origins=["https://app.example.com"]),
        "standard",
        visitor=visitor_of((), ()),
    )
    twins = deferred_twins(planned)
    assert twins, "attacker origins wait"
    for chain, twin in twins.items():
        assert chain.credentials == "omit" and not chain.cookie
        assert twin.credentials == "include" and twin.cookie
        assert (chain.url, chain.origin, chain.method, chain.headers) == (
            twin.url, twin.origin, twin.method, twin.headers,
        )  # fmt: skip
    waiting = {chain.origin for chain in twins}
    assert "https://app.example.com" not in waiting, "an allowed origin's two answers both count"
    assert all(not needs_preflight(chain) for chain in twins), "a preflighted pair shares it"
    attackers = {p.probe.origin for p in planned if p.origin_class not in (ALLOWED, FIRST_PARTY)}
    simple = {p.probe.origin for p in planned if p.aspect == "origin"}
    assert waiting == attackers & simple


def test_no_twin_waits_where_the_browser_sends_no_cookie() -> None:
    # Outside the visitor model (a library caller): no cookie, one chain per origin already.
    assert deferred_twins(plan_target(URL, None, "standard")) == {}


@pytest.mark.parametrize(
    ("answer", "needed"),
    [
        (Exchange(), True),  # nothing came back
        (_answer(200, ("Vary", "Origin")), False),  # a plain refusal that varies by Origin
        (_answer(204, ("Vary", "Accept-Encoding, origin")), False),
        (_answer(299, ("Vary", "*")), False),
        (_answer(200), True),  # no Vary: this refusal is a missing Vary's evidence
        (_answer(200, ("Vary", "Accept-Encoding")), True),
        (_answer(300, ("Vary", "Origin")), True),  # a redirect: the other request may go elsewhere
        (_answer(199, ("Vary", "Origin")), True),
        (_answer(401, ("Vary", "Origin")), True),  # an auth layer refusing the session cookie
        (
            _answer(200, ("Vary", "Origin"), ("Access-Control-Allow-Origin", "https://x.example")),
            True,
        ),
        (_answer(200, ("Vary", "Origin"), ("Access-Control-Expose-Headers", "X-Id")), True),
        (_answer(200, ("Access-Control-Allow-Origin", "*")), True),  # its twin is evidence
    ],
)
def test_the_twin_is_needed_only_where_the_credentialed_answer_leaves_it_open(
    answer: Exchange, needed: bool
) -> None:
    assert twin_needed(answer) is needed


# --- twins in groups (plan.twin_groups, plan.stand_in_holds, plan.answer_shape) -----------------


def _reflected(origin: str, *extra: tuple[str, str], status: int = 200) -> Exchange:
    return _answer(status, ("Access-Control-Allow-Origin", origin), *extra)


def _twin(origin: str, url: str = URL, method: str = "GET") -> Probe:
    return Probe(url, origin, method, (), "omit", (), "")


CLASSES = {"https://a.example": "null", "https://evil.example": "unrelated", "null": "null"}


def test_an_echoed_origin_is_the_same_answer_and_another_is_not() -> None:
    one = answer_shape(_reflected("https://a.example"), "https://a.example")
    assert one == answer_shape(_reflected("https://evil.example"), "https://evil.example")
    assert one != answer_shape(_reflected("https://a.example"), "https://evil.example")
    assert answer_shape(_answer(200, ("X-Other", "1")), "o") == answer_shape(_answer(200), "o")
    for differs in (
        _reflected("https://a.example", status=201),
        _reflected("https://a.example", ("Vary", "Origin")),
        _reflected("https://a.example", ("Access-Control-Allow-Credentials", "true")),
        _reflected("https://a.example", ("Location", "/elsewhere")),
    ):
        assert answer_shape(differs, "https://a.example") != one


def test_twins_answered_alike_share_a_group_led_by_the_unrelated_origin() -> None:
    twins = [_twin("https://a.example"), _twin("https://evil.example"), _twin("null")]
    answers = {t: _reflected(t.origin) for t in twins}
    answers[twins[2]] = _answer(200, ("Vary", "Origin"))  # null: refused
    groups = twin_groups(twins, answers, CLASSES)
    assert groups == [[twins[1], twins[0]], [twins[2]]]


def test_twins_of_other_requests_never_share_a_group() -> None:
    twins = [_twin("https://evil.example"), _twin("https://a.example", url=URL + "/x")]
    twins.append(_twin("https://a.example", method="HEAD"))
    groups = twin_groups(twins, {t: _reflected(t.origin) for t in twins}, CLASSES)
    assert len(groups) == 3


def test_the_leader_stands_in_only_where_the_cookie_changed_nothing() -> None:
    origin = "https://evil.example"
    with_cookie = _reflected(origin, ("Access-Control-Allow-Credentials", "true"))
    assert stand_in_holds(with_cookie, with_cookie, origin)
    assert not stand_in_holds(with_cookie, _answer(200, ("Vary", "Origin")), origin)
    assert not stand_in_holds(with_cookie, _reflected(origin), origin)
    assert not stand_in_holds(with_cookie, Exchange(), origin)  # nothing came back
