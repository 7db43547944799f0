"""`corscheck init --from-url`: the policy that describes what a live API allows today."""

from __future__ import annotations

from collections.abc import Sequence

from corscheck.browser import Exchange, Probe, judge
from corscheck.config import RunOptions
from corscheck.headers import split_header_list
from corscheck.policy import MaxAge, Policy, build_policy
from corscheck.runner import Runner

# Request headers asked for in the learning preflight: a server that echoes all of them back (or
# answers *) allows any header.
_ASKED_HEADERS = ("Authorization", "Content-Type", "X-Corscheck-Learn")
_ASKED_METHOD = "PUT"


async def learn_policy(
    url: str, origins: Sequence[str], options: RunOptions
) -> tuple[Policy, list[str]]:
    """The policy the API at `url` follows for `origins`, and notes on origins it refuses."""
    notes: list[str] = []
    readable: list[str] = []
    credentials = False
    methods: set[str] = set()
    headers: set[str] = set()
    expose: list[str] = []
    max_age: int | None = None
    async with Runner(options) as runner:
        for origin in origins:
            read = Probe(url, origin, "GET", credentials="include")
            exchange = await runner.exchange(read)
            omit_verdict = judge(Probe(url, origin, "GET"), exchange)
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
                url, origin, _ASKED_METHOD, tuple((h, "corscheck") for h in _ASKED_HEADERS)
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
    policy = build_policy(
        origins=readable,
        methods=sorted(m for m in methods if m != "*") if "*" not in methods else ["*"],
        headers=["*"] if "*" in headers else sorted(headers, key=str.lower),
        expose=[h for h in expose if h != "*"],
        credentials=credentials,
        max_age=MaxAge(min=max_age, max=max_age) if max_age is not None else None,
    )
    return policy, notes


def _header_values(exchange: Exchange, name: str) -> list[str]:
    hops = [h for h in exchange.hops if h.kind == "actual"]
    if not hops:
        return []
    return split_header_list(hops[-1].response.headers.combined(name) or "")
