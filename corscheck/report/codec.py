"""The JSON contract of reports (`corscheck.report/1`, schema in corscheck/data/report.schema.json),
both directions in one place: `encode_report` writes it, `decode_report` reads it back (merge,
baselines, `prove REPORT.json`), and `decode_report(encode_report(r)) == r` for every report
(tests/test_codec.py).

The probes of every credentials mode share one exchange (plan.py): it is written once, in a target's
"exchanges", and each probe names it by index.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal, cast

from corscheck.browser import Credentials, Probe, Verdict, needs_preflight
from corscheck.evaluate import Evidence, Exposure, Finding, ProbeResult, Suppression
from corscheck.evaluate.proof import PROOF_OUTCOMES, Proof
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList
from corscheck.masking import MASK
from corscheck.plan import PlannedProbe
from corscheck.policy import MaxAge, Policy, build_policy
from corscheck.report.model import (
    SCHEMA,
    BaselineRecord,
    IgnoreRecord,
    ProbeReport,
    Report,
    TargetErrorRecord,
    TargetReport,
)
from corscheck.rules import RULES_BY_ID, SEVERITIES
from corscheck.stack import Stack
from corscheck.target import Route, SourceLocation
from corscheck.visitor import PLACEHOLDER_COOKIE, Cookie, Visitor

# How much of each probe a JSON report keeps: its request shape and verdict, or every header line.
Detail = Literal["compact", "full"]
DETAILS: tuple[Detail, ...] = ("compact", "full")

# --- encoding ------------------------------------------------------------------------------------


def encode_report(report: Report, detail: Detail = "full") -> dict[str, Any]:
    """The whole report as JSON data; `summary` is the last key (DESIGN.md)."""
    return {
        **head_to_dict(report),
        "targets": [target_to_dict(t, detail) for t in report.targets],
        **tail_to_dict(report),
        "summary": summary_to_dict(report),
    }


def encode_probe_report(report: ProbeReport) -> dict[str, Any]:
    """The `corscheck probe --format json` contract: `browser` is the verdict (DESIGN.md)."""
    return {
        "schema": "corscheck.probe/1",
        "browser": verdict_to_dict(report.verdict),
        "request": request_to_dict(report.probe),
        "exchange": exchange_to_dict(report.exchange),
        "visitor": report.visitor,
    }


def head_to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tool": {"name": "corscheck", "version": report.version},
        "generated_at": report.generated_at,
        "settings": {
            "depth": report.depth,
            "fail_on": report.fail_on,
            **({"visitor": visitor_to_dict(report.visitor)} if report.visitor else {}),
            **({"policy": report.policy_statement} if report.policy_statement else {}),
            **({"shard": f"{report.shard[0]}/{report.shard[1]}"} if report.shard else {}),
            **({"deployment": report.deployment} if report.deployment else {}),
        },
        "warnings": list(report.warnings),
    }


def tail_to_dict(report: Report) -> dict[str, Any]:
    """What only the finished run can tell: the ignores and what they matched, and the baseline's
    findings that are gone. Written after the targets."""
    return {
        "ignores": [
            {
                "rule": i.rule,
                "target": i.target,
                "origin": i.origin,
                "reason": i.reason,
                "expires": i.expires,
                "source": i.source,
                "matched": i.matched,
                "state": i.state,
                "warning": i.warning(),
            }
            for i in report.ignores
        ],
        "baseline": None
        if report.baseline is None
        else {
            "file": report.baseline.path,
            "fixed": [finding_to_dict(f) for f in report.baseline.fixed],
        },
    }


def summary_to_dict(report: Report) -> dict[str, Any]:
    summary = {
        "targets": len(report.targets),
        "findings": report.counts(),
        "suppressed": sum(1 for t in report.targets for f in t.findings if f.suppressed),
        "errors": report.error_count,
        "requests": sum(t.requests_sent for t in report.targets),
        "passed": report.passed,
        **({"partial": True} if report.partial else {}),
    }
    baseline = report.baseline_counts()
    if baseline is not None:
        summary["baseline"] = baseline
    proofs = report.proof_counts()
    if proofs is not None:
        summary["proofs"] = {
            "proved": proofs.proved,
            "disproved": proofs.disproved,
            "unprovable": proofs.unprovable,
        }
    return summary


def target_to_dict(target: TargetReport, detail: Detail = "full") -> dict[str, Any]:
    """A target as JSON data. `compact` keeps each probe's request shape and verdict in "checks" and
    leaves "probes" and "exchanges" empty (a finding keeps its whole evidence either way); `full`
    writes every probe and every header line of every exchange."""
    # The probes of every credentials mode share one exchange (plan.py): it is written once, in
    # "exchanges", and each probe names it by index.
    exchanges: dict[int, int] = {}
    exchange_list: list[dict[str, Any]] = []
    probes = []
    for result in target.probes if detail == "full" else ():
        index = exchanges.get(id(result.exchange))
        if index is None:
            index = exchanges[id(result.exchange)] = len(exchange_list)
            exchange_list.append(exchange_to_dict(result.exchange))
        probes.append(probe_to_dict(result, index))
    return {
        "url": target.url,
        **({"given_url": target.given_url} if target.given_url else {}),
        "policy": target.policy.to_dict() if target.policy else None,
        "passed": target.passed,
        "requests": target.requests_sent,
        "probes": probes,
        "exchanges": exchange_list,
        **({"checks": checks} if detail == "compact" and (checks := _checks(target)) else {}),
        "findings": [finding_to_dict(f) for f in target.findings],
        "errors": [{"kind": e.kind, "message": e.message} for e in target.errors],
        "source": None
        if target.source is None
        else {"file": target.source.file, "line": target.source.line},
        "route": None if target.route is None else target.route.to_dict(),
        "stack": None
        if target.stack is None
        else {
            "layer": target.stack.layer,
            "certainty": target.stack.certainty,
            "evidence": target.stack.evidence,
            "caveat": target.stack.caveat,
        },
        "notes": list(target.notes),
    }


def _checks(target: TargetReport) -> dict[str, Any] | None:
    """The probes' compact form: as a worker process wrote it (audit.Slim), else from the probes;
    None without probes."""
    if target.checks is not None:
        return target.checks
    return checks_to_dict(target) if target.probes else None


def checks_to_dict(target: TargetReport) -> dict[str, Any]:
    """Each probe's request shape and verdict, compact. Tables first: "derived_from", the "origins"
    ([origin, class, derived_from index]) and the "sendings" ([credentials, whether the visitor's
    cookie goes along, the browser profiles that send it; none: every profile]); then the probes
    grouped by outcome and verdict, each a row [origin index, sending index, method, header names,
    aspect, subject, {"url"}] whose trailing elements are left out where they are the defaults
    ([], "origin", "", {})."""
    grouped: dict[tuple[str, str], list[ProbeResult]] = {}
    for result in target.probes:
        grouped.setdefault((result.outcome, _verdict_word(result.verdict)), []).append(result)
    # The tables are numbered in the order the groups list the probes, so that a compact report
    # read back and written again is the same text.
    derived: dict[str, int] = {}
    origins: dict[tuple[str, str, int], int] = {}
    sendings: dict[tuple[str, bool, tuple[str, ...]], int] = {}
    by_verdict = []
    for (outcome, verdict), results in grouped.items():
        rows = []
        for result in results:
            planned, probe = result.planned, result.planned.probe
            source = derived.setdefault(planned.derived_from, len(derived))
            origin = origins.setdefault((probe.origin, planned.origin_class, source), len(origins))
            sending = (probe.credentials, bool(probe.cookie), tuple(planned.profiles))
            row: list[Any] = [
                origin,
                sendings.setdefault(sending, len(sendings)),
                probe.method,
                [name for name, _ in probe.headers],
                planned.aspect,
                planned.subject,
                {"url": probe.url} if probe.url != target.url else {},
            ]
            while len(row) > 3 and row[-1] == _ROW_DEFAULTS[len(row) - 1]:
                row.pop()
            rows.append(row)
        by_verdict.append({"outcome": outcome, "verdict": verdict, "probes": rows})
    return {
        "derived_from": list(derived),
        "origins": [list(key) for key in origins],
        "sendings": [
            [credentials, cookie, list(profiles)] for credentials, cookie, profiles in sendings
        ],
        "by_verdict": by_verdict,
    }


# The values a compact row leaves out at its end, by position.
_ROW_DEFAULTS: tuple[Any, ...] = (None, None, None, [], "origin", "", {})


def _verdict_word(verdict: Verdict) -> str:
    """A verdict in one word: "allowed", the reason id of a block, or "unsent" (not judged)."""
    if not verdict.judged:
        return "unsent"
    if verdict.allowed:
        return "allowed"
    return verdict.reason_id or "blocked"


def probe_to_dict(result: ProbeResult, exchange_index: int) -> dict[str, Any]:
    planned = result.planned
    return {
        "request": request_to_dict(planned.probe),
        "origin_class": planned.origin_class,
        "derived_from": planned.derived_from,
        "aspect": planned.aspect,
        "subject": planned.subject,
        # The browser profiles that send exactly this request; absent: every profile.
        **({"profiles": list(planned.profiles)} if planned.profiles else {}),
        "exchange": exchange_index,
        "verdict": verdict_to_dict(result.verdict),
        "expected": None
        if result.expected is None
        else ("allowed" if result.expected else "blocked"),
        "outcome": result.outcome,
    }


def request_to_dict(probe: Probe) -> dict[str, Any]:
    return {
        "url": probe.url,
        "origin": probe.origin,
        "method": probe.method,
        "headers": [list(line) for line in probe.headers],
        "credentials": probe.credentials,
        # The user's -H headers (masked), in the reports of runs that gave some.
        **(
            {"extra_headers": [list(x) for x in probe.extra_headers]} if probe.extra_headers else {}
        ),
        # The Cookie line the visitor's browser attaches ("" none; masked like every secret);
        # absent outside the visitor model.
        **({"cookie": probe.cookie} if probe.cookie is not None else {}),
    }


def hop_to_dict(hop: Hop) -> dict[str, Any]:
    return {
        "kind": hop.kind,
        "request": {
            "method": hop.request.method,
            "url": hop.request.url,
            "headers": [list(line) for line in hop.request.headers],
        },
        "response": {
            "status": hop.response.status,
            "reason": hop.response.reason,
            "headers": [list(line) for line in hop.response.headers.lines],
        },
    }


def exchange_to_dict(exchange: Exchange) -> dict[str, Any]:
    unsent = exchange.unsent
    return {
        "hops": [hop_to_dict(h) for h in exchange.hops],
        "unsent": None
        if unsent is None
        else {
            "method": unsent.method,
            "url": unsent.url,
            "headers": [list(x) for x in unsent.headers],
        },
    }


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "allowed": verdict.allowed,
        "preflight": verdict.preflight,
        "reason_id": verdict.reason_id,
        "reason": verdict.reason,
        "failed_step": verdict.failed_step,
        "readable_headers": list(verdict.readable_headers),
        "actual_checked": verdict.actual_checked,
        "notes": list(verdict.notes),
        "judged": verdict.judged,
        "refused_method": verdict.refused_method,
        "refused_header": verdict.refused_header,
    }


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    evidence = finding.evidence
    suppressed = finding.suppressed
    return {
        "rule": finding.rule.id,
        "fingerprint": finding.fingerprint,
        "severity": finding.severity,
        "direction": finding.rule.direction,
        "title": finding.title,
        "target": finding.target,
        "message": finding.message,
        "evidence": {
            "origin": evidence.origin,
            "method": evidence.method,
            "request_headers": [list(line) for line in evidence.request_headers],
            "credentials": evidence.credentials,
            "step": evidence.step,
            "status": evidence.status,
            "response_lines": [list(line) for line in evidence.response_lines],
            "reason": evidence.reason,
            "related": list(evidence.related),
            "sent_method": evidence.sent_method,
            "sent_lines": [list(line) for line in evidence.sent_lines],
            "origin_class": evidence.origin_class,
            **({"url": evidence.url} if evidence.url else {}),
            **({"primer": evidence.primer} if evidence.primer is not None else {}),
            **({"withheld": list(evidence.withheld)} if evidence.withheld else {}),
        },
        "notes": list(finding.notes),
        "explanation": finding.rule.explanation,
        "fix": finding.fix,
        "suppressed": None
        if suppressed is None
        else {
            "reason": suppressed.reason,
            "expires": suppressed.expires,
            "source": suppressed.source,
        },
        "baseline": finding.baseline,
        "exposure": [
            {
                "profile": e.profile,
                "with_cookies": list(e.with_cookies),
                "without_cookies": list(e.without_cookies),
                "status": e.status,
                "cross_site": e.cross_site,
                "summary": e.summary(),
            }
            for e in finding.exposure
        ],
        **({"proof": proof_to_dict(finding.proof)} if finding.proof else {}),
    }


def proof_to_dict(proof: Proof) -> dict[str, Any]:
    return {
        "outcome": proof.outcome,
        "agrees": proof.agrees,
        "browser": proof.browser,
        "profile": proof.profile,
        "reason": proof.reason,
        "message": proof.message,
        "status": proof.status,
        "bytes_read": proof.bytes_read,
        "preview": proof.preview,
        "cookies": list(proof.cookies),
        "claim": proof.claim,
        "summary": proof.summary(),
    }


def decode_proof(data: dict[str, Any]) -> Proof:
    if data["outcome"] not in PROOF_OUTCOMES:
        raise ValueError(f"unknown proof outcome {data['outcome']!r}")
    return Proof(
        outcome=data["outcome"],
        agrees=data["agrees"],
        browser=data["browser"],
        profile=data["profile"],
        reason=data["reason"],
        message=data["message"],
        status=data["status"],
        bytes_read=data["bytes_read"],
        preview=data["preview"],
        cookies=tuple(data.get("cookies", ())),
        claim=data.get("claim", ""),
    )


# --- decoding ------------------------------------------------------------------------------------


def visitor_to_dict(visitor: Visitor) -> dict[str, Any]:
    """Whose browser the verdicts are about; cookies by name and attributes, never by value."""
    return {
        "browsers": list(visitor.profiles),
        "browsers_given": visitor.profiles_given,
        "cookies": [
            {
                "name": c.name,
                "same_site": c.same_site,
                "secure": c.secure,
                "partitioned": c.partitioned,
                "path": c.path,
                "domain": c.domain,
            }
            for c in visitor.cookies
        ],
        "cookies_assumed": not visitor.cookies_given,
        "cookie_header_given": visitor.bypassed,
        "user_agent": visitor.user_agent,
        "statement": visitor.statement(),
    }


def decode_visitor(data: dict[str, Any]) -> Visitor:
    cookies = tuple(
        Cookie(
            c["name"],
            PLACEHOLDER_COOKIE.value if data["cookies_assumed"] else MASK,
            c["same_site"],
            c["secure"],
            c["partitioned"],
            c["path"],
            c["domain"],
        )
        for c in data["cookies"]
    )
    return Visitor(
        profiles=tuple(data["browsers"]),
        cookies=cookies,
        user_agent=data["user_agent"],
        cookies_given=not data["cookies_assumed"],
        profiles_given=data["browsers_given"],
        bypassed=data["cookie_header_given"],
    )


def decode_report(data: dict[str, Any]) -> Report:
    """The report model back from its JSON form: `decode_report(encode_report(r)) == r`."""
    return Report(
        version=data["tool"]["version"],
        generated_at=data["generated_at"],
        depth=data["settings"]["depth"],
        fail_on=data["settings"]["fail_on"],
        visitor=decode_visitor(data["settings"]["visitor"])
        if "visitor" in data["settings"]
        else None,
        policy_statement=data["settings"].get("policy", ""),
        shard=_shard(data["settings"].get("shard")),
        deployment=data["settings"].get("deployment", ""),
        targets=tuple(decode_target(t) for t in data["targets"]),
        warnings=tuple(data.get("warnings", ())),
        ignores=tuple(
            IgnoreRecord(
                i["rule"],
                i["target"],
                i["origin"],
                i["reason"],
                i["expires"],
                i["source"],
                i["matched"],
                i["state"],
            )
            for i in data.get("ignores", ())
        ),
        baseline=BaselineRecord(
            baseline["file"], tuple(decode_finding(f) for f in baseline.get("fixed", ()))
        )
        if (baseline := data.get("baseline"))
        else None,
        partial=bool(data["summary"].get("partial", False)),
    )


def _shard(spec: str | None) -> tuple[int, int] | None:
    if spec is None:
        return None
    share, _, count = spec.partition("/")
    return int(share), int(count)


def _lines(pairs: list[list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, value in pairs)


def decode_policy(data: dict[str, Any] | None) -> Policy | None:
    if data is None:
        return None
    bounds = data.get("max-age")
    sends = data.get("sends")
    policy = build_policy(
        origins=data["origins"],
        methods=data["methods"],
        headers=data["headers"],
        expose=data["expose"],
        credentials=data["credentials"],
        max_age=MaxAge(bounds.get("min"), bounds.get("max")) if bounds else None,
        private_network=data["private-network"],
    )
    if sends is None:
        return policy
    return replace(
        policy, sends_methods=tuple(sends["methods"]), sends_headers=tuple(sends["headers"])
    )


def decode_exchange(data: dict[str, Any]) -> Exchange:
    hops = tuple(
        Hop(
            hop["kind"],
            Request(
                hop["request"]["method"], hop["request"]["url"], _lines(hop["request"]["headers"])
            ),
            Response(
                hop["response"]["status"],
                HeaderList(_lines(hop["response"]["headers"])),
                hop["response"]["reason"],
            ),
        )
        for hop in data["hops"]
    )
    unsent = data["unsent"]
    request = (
        Request(unsent["method"], unsent["url"], _lines(unsent["headers"])) if unsent else None
    )
    return Exchange(hops, request)


def decode_verdict(data: dict[str, Any]) -> Verdict:
    return Verdict(
        allowed=data["allowed"],
        preflight=data["preflight"],
        reason_id=data["reason_id"],
        reason=data["reason"],
        failed_step=data["failed_step"],
        readable_headers=tuple(data["readable_headers"]),
        actual_checked=data["actual_checked"],
        notes=tuple(data["notes"]),
        # Reports written before the codec had one owner lack it.
        judged=data.get("judged", True),
        refused_method=data.get("refused_method"),
        refused_header=data.get("refused_header"),
    )


def decode_target(data: dict[str, Any]) -> TargetReport:
    exchanges = [decode_exchange(e) for e in data.get("exchanges", [])]
    probes = decode_checks(data["url"], data["checks"]) if data.get("checks") else []
    for item in data["probes"]:
        request = item["request"]
        probe = Probe(
            url=request["url"],
            origin=request["origin"],
            method=request["method"],
            headers=_lines(request["headers"]),
            credentials=request["credentials"],
            extra_headers=_lines(request.get("extra_headers", [])),
            cookie=request.get("cookie"),
        )
        planned = PlannedProbe(
            probe,
            item["origin_class"],
            item["derived_from"],
            item["aspect"],
            item["subject"],
            tuple(item.get("profiles", ())),
        )
        expected = {"allowed": True, "blocked": False, None: None}[item["expected"]]
        probes.append(
            ProbeResult(
                planned,
                exchanges[item["exchange"]],
                decode_verdict(item["verdict"]),
                expected,
                item["outcome"],
            )
        )
    findings = [decode_finding(item) for item in data["findings"]]
    return TargetReport(
        url=data["url"],
        policy=decode_policy(data["policy"]),
        probes=tuple(probes),
        findings=tuple(findings),
        errors=tuple(TargetErrorRecord(e["kind"], e["message"]) for e in data["errors"]),
        requests_sent=data["requests"],
        source=SourceLocation(source["file"], source["line"])
        if (source := data.get("source"))
        else None,
        route=Route(
            route["path"],
            data["url"],
            tuple(route["methods"]),
            tuple(route["headers"]),
            route["cookie_auth"],
            tuple(route["filled"]),
        )
        if (route := data.get("route"))
        else None,
        stack=Stack(stack["layer"], stack["certainty"], stack["evidence"])
        if (stack := data.get("stack"))
        else None,
        notes=tuple(data.get("notes", ())),
        given_url=data.get("given_url", ""),
    )


def decode_checks(url: str, checks: dict[str, Any]) -> list[ProbeResult]:
    """The probes of a compact report: their request shape and verdict, with no exchange."""
    derived = checks["derived_from"]
    origins = [(origin, kind, derived[source]) for origin, kind, source in checks["origins"]]
    sendings = checks["sendings"]
    results = []
    for group in checks["by_verdict"]:
        outcome, word = group["outcome"], group["verdict"]
        for given in group["probes"]:
            row = [*given, *_ROW_DEFAULTS[len(given) :]]
            origin, origin_class, derived_from = origins[row[0]]
            credentials, cookie, profiles = sendings[row[1]]
            probe = Probe(
                url=row[6].get("url", url),
                origin=origin,
                method=row[2],
                headers=tuple((name, "") for name in row[3]),
                credentials=cast(Credentials, credentials),
                cookie=MASK if cookie else "",
            )
            planned = PlannedProbe(
                probe, origin_class, derived_from, row[4], row[5], tuple(profiles)
            )
            allowed = word == "allowed"
            verdict = Verdict(
                allowed=allowed,
                preflight=needs_preflight(probe),
                reason_id=None if allowed or word in ("blocked", "unsent") else word,
                judged=word != "unsent",
            )
            results.append(
                ProbeResult(planned, Exchange(), verdict, _expected(allowed, outcome), outcome)
            )
    return results


def _expected(allowed: bool, outcome: str) -> bool | None:
    """What was expected of a probe, from its verdict and outcome (a compact report leaves it out)."""
    if outcome in ("not-checked", "same-origin"):
        return None
    return allowed if outcome == "as-expected" else not allowed


def decode_finding(item: dict[str, Any]) -> Finding:
    ev = item["evidence"]
    evidence = Evidence(
        origin=ev["origin"],
        method=ev["method"],
        request_headers=_lines(ev["request_headers"]),
        credentials=ev["credentials"],
        step=ev["step"],
        status=ev["status"],
        response_lines=_lines(ev["response_lines"]),
        reason=ev["reason"],
        related=tuple(ev["related"]),
        # Reports written before the evidence carried its request lack these two, and the origin
        # class came later still.
        sent_method=ev.get("sent_method", ""),
        sent_lines=_lines(ev.get("sent_lines", [])),
        origin_class=ev.get("origin_class", ""),
        url=ev.get("url", ""),
        primer=ev.get("primer"),
        withheld=tuple(ev.get("withheld", ())),
    )
    if item["severity"] not in SEVERITIES:
        raise ValueError(f"unknown severity {item['severity']!r}")
    suppressed = item.get("suppressed")
    baseline = item.get("baseline")
    if baseline not in (None, "new", "unchanged"):
        raise ValueError(f"unknown baseline state {baseline!r}")
    return Finding(
        RULES_BY_ID[item["rule"]],
        item["severity"],
        item["target"],
        item["message"],
        evidence,
        tuple(item["notes"]),
        item["fix"],
        suppressed=Suppression(suppressed["reason"], suppressed["expires"], suppressed["source"])
        if suppressed
        else None,
        baseline=baseline,
        exposure=tuple(
            Exposure(
                e["profile"],
                tuple(e["with_cookies"]),
                tuple(e["without_cookies"]),
                e["status"],
                e.get("cross_site", 0),
                "open" if item["evidence"].get("step") == "handshake" else "read",
            )
            for e in item.get("exposure", ())
        ),
        proof=decode_proof(item["proof"]) if item.get("proof") else None,
    )
