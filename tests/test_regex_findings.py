"""The written allow-list's findings, pure (evaluate/regex_findings.py): regex-origin from the probes
of a regex's witnesses, its words and fix per framework, and the deployment's drift from the code.
Fast, for the mutation score; whole audits of real apps are in test_written.py."""

from __future__ import annotations

import pytest

from corscheck import rules
from corscheck.browser import Probe, Verdict
from corscheck.evaluate.model import ProbeResult
from corscheck.evaluate.regex_findings import (
    FIX_SYNTAX,
    drift_findings,
    drift_notes,
    regex_findings,
)
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList
from corscheck.plan import ALLOWED, WITNESS_CLASS, PlannedProbe
from corscheck.witness import Witness
from corscheck.written import Entry, RegexWitness, WrittenAllowList

URL = "https://api.example.com/me"
REGEX = r"https://(app|admin)\.example\.(com|net)"
ENTRY = Entry("regex", REGEX, "allow_origin_regex", "app.py:9")
FOREIGN = "https://app.example.net"
MARKED = "https://app.example.com.corscheck-attacker.example"


def _result(
    origin: str,
    *,
    allowed: bool = True,
    credentials: bool = True,
    origin_class: str = WITNESS_CLASS,
    derived_from: str = REGEX,
    aspect: str = "origin",
) -> ProbeResult:
    probe = Probe(URL, origin, credentials="include" if credentials else "omit")
    lines = [("Access-Control-Allow-Origin", origin)] if allowed else []
    if allowed and credentials:
        lines.append(("Access-Control-Allow-Credentials", "true"))
    hop = Hop(
        "actual", Request("GET", URL, (("Origin", origin),)), Response(200, HeaderList(lines))
    )
    planned = PlannedProbe(probe, origin_class, derived_from, aspect)  # type: ignore[arg-type]
    verdict = Verdict(allowed=allowed, preflight=False, judged=True)
    outcome = "over-permissive" if allowed else "as-expected"
    return ProbeResult(planned, Exchange((hop,)), verdict, False, outcome)


def _witness(
    origin: str, kind: str, mended: str | None, framework: str = "starlette"
) -> RegexWitness:
    return RegexWitness(ENTRY, Witness(origin, kind), mended, framework)


MENDED = r"^(?:https://app\.example\.com|https://admin\.example\.com)$"
WITNESSES = [_witness(FOREIGN, "foreign-domain", MENDED), _witness(MARKED, "no-end-anchor", MENDED)]


def test_one_finding_per_regex_on_the_witness_that_reads_with_credentials() -> None:
    leaks = [_result(MARKED, credentials=False), _result(FOREIGN), _result("https://x.io")]
    (finding,) = regex_findings(URL, leaks, WITNESSES)
    assert finding.rule == rules.REGEX_ORIGIN
    assert finding.severity == rules.REGEX_ORIGIN.severity == "high"
    assert finding.evidence.origin == FOREIGN
    assert finding.evidence.related == (MARKED,)
    assert finding.message.startswith(f"{FOREIGN} can read {URL} with credentials: ")
    assert f'allow_origin_regex r"{REGEX}" at app.py:9 accepts it, ' in finding.message
    assert "ignoring case" not in finding.message
    assert finding.fix == (
        f'At app.py:9, in place of r"{REGEX}": CORSMiddleware(allow_origin_regex=r"{MENDED}"). '
        f"Checked: it refuses {FOREIGN} and still grants the origins the regex was written for."
    )


def rules_words(rule: str) -> str:
    from corscheck.written import RULE_WORDS

    return RULE_WORDS[rule]  # type: ignore[index]


def test_without_credentials_the_finding_is_a_step_lower_and_says_so() -> None:
    (finding,) = regex_findings(URL, [_result(MARKED, credentials=False)], WITNESSES)
    assert finding.severity == rules.lower_severity(rules.REGEX_ORIGIN.severity)
    assert finding.evidence.origin == MARKED and finding.evidence.related == ()
    assert f"{MARKED} can read {URL} without credentials: " in finding.message


def test_the_message_names_the_rule_the_case_and_the_flaw() -> None:
    entry = Entry("regex", REGEX, "origins", "app.py:3", "match", ignore_case=True)
    found = [RegexWitness(entry, Witness(MARKED, "no-end-anchor"), None, "flask")]
    (finding,) = regex_findings(URL, [_result(MARKED)], found)
    assert f"{rules_words('match')} ignoring case; " in finding.message
    assert finding.message.endswith("; " + _flaw("no-end-anchor"))
    assert finding.fix == (
        f'Replace origins r"{REGEX}" (app.py:3) with the exact origins the front-ends use: no regex '
        f"of that shape keeps them and refuses {MARKED}."
    )


def _flaw(kind: str) -> str:
    from corscheck.written import flaw_words

    return flaw_words(kind)


def test_probes_of_origins_no_regex_witnessed_are_not_its_findings() -> None:
    assert regex_findings(URL, [_result("https://evil.io")], WITNESSES) == []


@pytest.mark.parametrize(
    ("framework", "written"),
    [
        ("starlette", f'CORSMiddleware(allow_origin_regex=r"{MENDED}")'),
        ("flask", f'CORS(app, origins=[r"{MENDED}"])'),
        ("django", f'CORS_ALLOWED_ORIGIN_REGEXES = [r"{MENDED}"]'),
        (
            "litestar",
            f'CORSConfig(allow_origin_regex=r"{MENDED}") (and the exact origins in allow_origins)',
        ),
        ("quart", f'cors(app, allow_origin=[re.compile(r"{MENDED}")])'),
        ("nginx", f'map $http_origin $cors_origin {{ default ""; "~{MENDED}" $http_origin; }}'),
        ("express", f'r"{MENDED}"'),  # no syntax of its own: the regex as Python writes it
    ],
)
def test_the_fix_is_written_in_the_frameworks_syntax(framework: str, written: str) -> None:
    found = [_witness(FOREIGN, "foreign-domain", MENDED, framework)]
    (finding,) = regex_findings(URL, [_result(FOREIGN)], found)
    assert f'in place of r"{REGEX}": {written}. Checked' in finding.fix
    assert set(FIX_SYNTAX) == {"starlette", "flask", "django", "litestar", "quart", "nginx"}


def test_a_regex_holding_a_double_quote_is_shown_in_single_quotes() -> None:
    quoted = Entry("regex", 'https://a"b', "origins", "app.py:2")
    found = [RegexWitness(quoted, Witness(FOREIGN, "foreign-domain"), None, "flask")]
    (finding,) = regex_findings(URL, [_result(FOREIGN, derived_from='https://a"b')], found)
    assert "origins r'https://a\"b' at app.py:2" in finding.message


# --- drift ------------------------------------------------------------------------------------------

CODE = WrittenAllowList(
    "starlette",
    "app:app",
    (Entry("exact", "https://app.example.com", "allow_origins", "app.py:7"),),
)


def test_an_origin_read_beyond_the_code_is_grant_beyond_code() -> None:
    results = [
        _result("https://app.example.com", origin_class=ALLOWED),
        _result("https://evil.io", credentials=False),
        _result("https://other.io"),
        _result("https://third.io", credentials=False),
        _result("null"),  # the opaque origin is judged by its own rule
        _result("https://method.io", aspect="method"),  # not a question of the origin
    ]
    (finding,) = drift_findings(URL, results, CODE)
    assert finding.rule == rules.GRANT_BEYOND_CODE
    assert finding.evidence.origin == "https://other.io"  # the credentialed one
    assert finding.evidence.related == ("https://evil.io", "https://third.io")
    assert finding.message.startswith(
        f"https://other.io can read {URL}, but the code (app:app, starlette) grants it through no "
        "entry"
    )
    first = drift_findings(URL, results[1:2], CODE)[0]
    assert first.evidence.origin == "https://evil.io" and first.evidence.related == ()


def test_no_drift_where_the_code_grants_what_is_read() -> None:
    assert (
        drift_findings(URL, [_result("https://app.example.com", origin_class=ALLOWED)], CODE) == []
    )
    assert drift_findings(URL, [_result("https://evil.io", allowed=False)], CODE) == []


def test_an_origin_the_code_grants_and_the_deployment_refuses_is_a_note() -> None:
    refused = _result("https://app.example.com", allowed=False, origin_class=ALLOWED)
    (note,) = drift_notes([refused], CODE)
    assert note.startswith(
        "the code (app:app) grants https://app.example.com through allow_origins at app.py:7, but "
        "the deployment refused it"
    )
    read_elsewhere = _result("https://app.example.com", origin_class=ALLOWED)
    assert drift_notes([refused, read_elsewhere], CODE) == []
    crafted = _result("https://app.example.com", allowed=False, origin_class="unrelated")
    assert drift_notes([crafted], CODE) == []
    witness = _result("https://app.example.com", allowed=False, origin_class=WITNESS_CLASS)
    assert len(drift_notes([witness], CODE)) == 1
    assert drift_notes([_result("https://evil.io", allowed=False)], CODE) == []
