"""`corscheck init --from-url`: the policy that describes what a live API allows today."""

from __future__ import annotations

from collections.abc import Sequence

from corscheck.browser import Probe, judge
from corscheck.exchange import Exchange
from corscheck.headers import split_header_list
from corscheck.policy import MaxAge, Policy, build_policy
from corscheck.runner import Runner
from corscheck.transport.options import RunOptions

# Request headers asked for in the learning preflight: a server that echoes all of them back (or
# answers *) allows any header.
_ASKED_HEADERS = ("Authorization", "Content-Type", "X-Corscheck-Learn")
_ASKED_METHOD = "PUT"


# What a preflight's Access-Control-Allow-Methods may list that no front-end sends: the preflight's
# own OPTIONS, and methods a framework's "*" expands to (Starlette lists QUERY) or that browsers
# forbid (TRACE, CONNECT).
_NOT_LEARNED = frozenset({"OPTIONS", "QUERY", "TRACE", "CONNECT"})


async def learn_policy(
    url: str,
    origins: Sequence[str],
    options: RunOptions,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> tuple[Policy, list[str]]:
    """The policy the API at `url` follows for `origins` (`extra_headers` sent with every request,
    as audit's -H), and notes: origins it refuses, and what else the server trusts that the learned
    policy leaves out (a quick audit against it)."""
    notes: list[str] = []
    readable: list[str] = []
    credentials = False
    methods: set[str] = set()
    headers: set[str] = set()
    expose: list[str] = []
    max_age: int | None = None
    async with Runner(options) as runner:
        for origin in origins:
            read = Probe(url, origin, "GET", credentials="include", extra_headers=extra_headers)
            exchange = await runner.exchange(read)
            omit_verdict = judge(Probe(url, origin, "GET", extra_headers=extra_headers), exchange)
            if not omit_verdict.allowed:
                notes.append(f"{origin} cannot read {url} today ({omit_verdict.reason}); left out")
                continue
            readable.append(origin)
            credentials = credentials or judge(read, exchange).allowed
            expose += [
                h
                for h in _header_values(exchange, "Access-Control-Expose-Headers")
                if h not in expose
            ]
            preflight_probe = Probe(
                url,
                origin,
                _ASKED_METHOD,
                tuple((h, "corscheck") for h in _ASKED_HEADERS),
                extra_headers=extra_headers,
            )
            preflight = (await runner.exchange(preflight_probe)).hops[:1]
            if preflight and preflight[0].kind == "preflight":
                response = preflight[0].response
                methods |= set(
                    split_header_list(
                        response.headers.combined("Access-Control-Allow-Methods") or ""
                    )
                )
                allowed_headers = split_header_list(
                    response.headers.combined("Access-Control-Allow-Headers") or ""
                )
                echoed = {h.lower() for h in allowed_headers} >= {h.lower() for h in _ASKED_HEADERS}
                headers |= {"*"} if echoed or "*" in allowed_headers else set(allowed_headers)
                age = (response.headers.combined("Access-Control-Max-Age") or "").strip()
                if age.isdigit():
                    max_age = int(age) if max_age is None else max(max_age, int(age))
    if not readable:
        raise_from = "; ".join(notes)
        from corscheck.errors import UsageError

        raise UsageError(f"no given origin can read {url}: {raise_from}")
    methods = {m for m in methods if m.upper() not in _NOT_LEARNED}
    policy = build_policy(
        origins=readable,
        methods=sorted(m for m in methods if m != "*") if "*" not in methods else ["*"],
        headers=["*"] if "*" in headers else sorted(headers, key=str.lower),
        expose=[h for h in expose if h != "*"],
        credentials=credentials,
        max_age=MaxAge(min=max_age, max=max_age) if max_age is not None else None,
    )
    return policy, notes + await _trusted_beyond(url, policy, options, extra_headers)


async def _trusted_beyond(
    url: str, policy: Policy, options: RunOptions, extra_headers: tuple[tuple[str, str], ...]
) -> list[str]:
    """What the next `corscheck audit` against the learned policy would fail on, said before the
    file is trusted: a quick audit against it (every request with the -H given: quick sends no
    error path, which would withhold them), and each finding at or above the default --fail-on
    (what the server grants beyond the policy, and its other mistakes, such as a missing
    Vary: Origin)."""
    from corscheck.audit import audit_targets
    from corscheck.config import DEFAULTS, AuditConfig
    from corscheck.rules import SEVERITIES
    from corscheck.target import Target

    config = AuditConfig(
        (Target(url, policy),),
        depth="quick",
        options=options,
        extra_headers=extra_headers,
    )
    report = await audit_targets(config)
    fails = SEVERITIES[: SEVERITIES.index(DEFAULTS["fail-on"]) + 1]
    return [
        f"the server also grants what this policy leaves out: {f.message} [{f.rule.id}]; "
        "fix the server, or widen the policy if that is meant"
        if f.rule.direction == "over-permissive"
        else f"the next audit reports this too ({f.severity}, which fails at the default "
        f"--fail-on): {f.message} [{f.rule.id}]"
        for f in report.findings()
        if f.severity in fails
    ]


def _header_values(exchange: Exchange, name: str) -> list[str]:
    hops = [h for h in exchange.hops if h.kind == "actual"]
    if not hops:
        return []
    return split_header_list(hops[-1].response.headers.combined(name) or "")
