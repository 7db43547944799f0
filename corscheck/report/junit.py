"""JUnit XML: a testsuite per target, a testcase per rule checked, failures carrying the evidence."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from corscheck.evaluate import Finding
from corscheck.report.model import Report
from corscheck.rules import CATALOG


def _evidence(finding: Finding) -> str:
    ev = finding.evidence
    lines = [
        finding.message,
        f"request: {ev.method} Origin: {ev.origin} credentials: {ev.credentials}",
        f"response: {ev.step} {ev.status}",
        *(f"  {name}: {value.strip()}" for name, value in ev.response_lines),
    ]
    if ev.reason:
        lines.append(f"browser: {ev.reason}")
    lines.append(f"fix: {finding.fix}")
    return "\n".join(lines)


def render(report: Report) -> str:
    suites = ET.Element("testsuites", name="corscheck")
    total = failures = errors = 0
    for target in report.targets:
        suite = ET.SubElement(suites, "testsuite", name=target.url)
        by_rule: dict[str, list[Finding]] = {}
        for finding in target.findings:
            by_rule.setdefault(finding.rule.id, []).append(finding)
        cases = 0
        if target.errors:
            case = ET.SubElement(suite, "testcase", classname=target.url, name="audit")
            for error in target.errors:
                ET.SubElement(case, "error", type=error.kind, message=error.message)
            cases, suite_errors, suite_failures = 1, 1, 0
        else:
            suite_errors = suite_failures = 0
            for rule in CATALOG:
                cases += 1
                case = ET.SubElement(suite, "testcase", classname=target.url, name=rule.id)
                found = by_rule.get(rule.id, [])
                if found:
                    # One failure per test case, as JUnit readers count them; every finding inside.
                    suite_failures += 1
                    failure = ET.SubElement(
                        case,
                        "failure",
                        type=found[0].severity,
                        message=f"{rule.title}: {found[0].message}",
                    )
                    failure.text = "\n\n".join(_evidence(f) for f in found)
        suite.set("tests", str(cases))
        suite.set("failures", str(suite_failures))
        suite.set("errors", str(suite_errors))
        total, failures, errors = total + cases, failures + suite_failures, errors + suite_errors
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
