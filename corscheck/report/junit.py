"""JUnit XML: a testsuite per target, a testcase per rule of the catalog, failures carrying the
evidence, an error for a target that could not be audited.

Without a policy (the safe baseline) the rules that compare with a policy cannot fail; their test cases
are marked skipped, so the counts say what was really checked.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from corscheck.evaluate import Finding
from corscheck.report.model import Report
from corscheck.rules import CATALOG, Rule

# Characters XML 1.0 cannot carry at all, even escaped; a hostile server may send them in a header.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _needs_policy(rule: Rule) -> bool:
    return rule.direction == "under-permissive" or rule.id.endswith("-beyond-policy")


def _evidence(finding: Finding) -> str:
    ev = finding.evidence
    lines = [
        finding.message,
        f"request: {ev.page_request()}",
        *(f"sent: {line}" if i == 0 else f"  {line}" for i, line in enumerate(ev.sent_request())),
        f"response: {ev.response()[0]}",
        *(f"  {line}" for line in ev.response()[1:]),
    ]
    if ev.reason:
        lines.append(f"browser: {ev.reason}")
    if finding.proof is not None:
        lines.append(f"proof: {finding.proof.summary()}")
    lines.append(f"fix: {finding.fix}")
    return "\n".join(lines)


def render(report: Report) -> str:
    suites = ET.Element("testsuites", name="corscheck")
    total = failures = errors = skipped = 0
    for target in report.targets:
        url = _xml(target.url)
        # A target made from an OpenAPI route names the route: test reports group by it.
        name = url if target.route is None else _xml(f"{target.route.label} ({target.url})")
        suite = ET.SubElement(suites, "testsuite", name=name)
        by_rule: dict[str, list[Finding]] = {}
        for finding in target.findings:
            by_rule.setdefault(finding.rule.id, []).append(finding)
        cases = suite_skipped = suppressed_count = 0
        if target.errors:
            case = ET.SubElement(suite, "testcase", classname=url, name="audit")
            for error in target.errors:
                ET.SubElement(case, "error", type=error.kind, message=_xml(error.message))
            cases, suite_errors, suite_failures = 1, 1, 0
        else:
            suite_errors = suite_failures = 0
            for rule in CATALOG:
                cases += 1
                case = ET.SubElement(suite, "testcase", classname=url, name=rule.id)
                everything = by_rule.get(rule.id, [])
                found = [f for f in everything if f.suppressed is None]
                accepted = [f for f in everything if f.suppressed is not None]
                if not found and accepted:
                    # Every finding of the rule here is accepted: skipped, with the reason.
                    suppressed_count += 1
                    why = accepted[0].suppressed
                    assert why is not None
                    ET.SubElement(
                        case, "skipped", message=_xml(f"suppressed: {why.reason} ({why.source})")
                    )
                elif not found and target.policy is None and _needs_policy(rule):
                    suite_skipped += 1
                    ET.SubElement(case, "skipped", message="no policy given: nothing to compare")
                elif found:
                    # One failure per test case, as JUnit readers count them; every finding inside.
                    suite_failures += 1
                    failure = ET.SubElement(
                        case,
                        "failure",
                        type=found[0].severity,
                        message=_xml(f"{rule.title}: {found[0].message}"),
                    )
                    failure.text = _xml("\n\n".join(_evidence(f) for f in found))
        suite.set("tests", str(cases))
        suite.set("failures", str(suite_failures))
        suite.set("errors", str(suite_errors))
        suite_skipped += suppressed_count
        suite.set("skipped", str(suite_skipped))
        total, failures, errors = total + cases, failures + suite_failures, errors + suite_errors
        skipped += suite_skipped
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    suites.set("skipped", str(skipped))
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
