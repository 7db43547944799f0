"""One model of what an http URL stands for, in the audit and in its proof (issue 34).

An http API on a name that is not loopback (hosts-mapped to 127.0.0.1) is judged by default as the
https deployment it stands for: the placeholder Secure session goes with credentialed requests, and
an https page (a GitHub Pages site) may fetch it. The prover replays that same deployment through a
TLS front of its own (the header relay), so every over-permissive finding is proved, none
disproved. With --as-is both halves judge the http URL as it is, and agree again."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from corscheck import rules
from corscheck.audit import run_config
from corscheck.config import AuditConfig, Flags, resolve
from corscheck.deliver import proven, settings_for
from corscheck.report.model import Report
from corscheck.runner import run_async
from tests import required

from .servers import serve_asgi

pytestmark = [pytest.mark.chromium]
CHROMIUM = required.chromium(module_level=True)
required.playwright_sync_api(module_level=True)

NAME = "api.corscheck-http.test"  # .ci/run maps it to 127.0.0.1 in /etc/hosts
PATH = "/api/items"


def _name_is_loopback() -> bool:
    try:
        return socket.gethostbyname(NAME) == "127.0.0.1"
    except OSError:
        return False


if not _name_is_loopback():
    pytest.skip(f"{NAME} does not resolve to 127.0.0.1 (.ci/run maps it)", allow_module_level=True)


def api(**cors: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_credentials=True, **cors)

    @app.get(PATH)
    def items() -> dict[str, list[int]]:
        return {"items": [1, 2, 3]}

    return app


REFLECTS_ANY = {"allow_origin_regex": ".*"}
TRUSTS_HOSTING = {"allow_origin_regex": r"https://[a-z0-9-]+\.github\.io", "allow_origins": []}


def audited_and_proved(cors: dict[str, Any], *, as_is: bool) -> tuple[AuditConfig, Report]:
    with serve_asgi(api(**cors)) as base:
        url = base.replace("127.0.0.1", NAME) + PATH
        config = resolve(Flags(as_is=as_is), [url])
        report = run_async(run_config(config))
        return config, proven(report, settings_for(config, CHROMIUM), quiet=True)


def over_permissive(report: Report) -> list[Any]:
    return [f for t in report.targets for f in t.findings if f.rule.direction == "over-permissive"]


@pytest.mark.parametrize("as_is", [False, True], ids=["as-https", "as-is"])
def test_a_reflecting_http_api_is_proved_as_judged(as_is: bool) -> None:
    _, report = audited_and_proved(REFLECTS_ANY, as_is=as_is)
    (target,) = report.targets
    found = over_permissive(report)
    assert found, target.findings
    if as_is:
        assert target.url.startswith("http://") and not target.given_url
        # No Secure cookie over plain http: the read is without credentials.
        assert {f.rule for f in found} == {rules.ANY_ORIGIN}
    else:
        assert target.url.startswith("https://") and target.given_url.startswith("http://")
        assert rules.ANY_ORIGIN_WITH_CREDENTIALS in {f.rule for f in found}
        assert report.deployment and "https" in report.deployment
    for finding in found:
        proof = finding.proof
        assert proof is not None and proof.agrees, (finding.rule.id, proof and proof.summary())
        assert proof.outcome == "read"
        if finding.evidence.credentials == "include" and not as_is:
            assert "__corscheck_session" in proof.cookies, proof.summary()


def test_hosting_platform_trust_on_an_http_api_is_a_proved_finding() -> None:
    _, report = audited_and_proved(TRUSTS_HOSTING, as_is=False)
    found = over_permissive(report)
    hosting = [f for f in found if f.evidence.origin.endswith(".github.io")]
    assert hosting, [(f.rule.id, f.evidence.origin) for f in found]
    for finding in found:
        assert finding.proof is not None and finding.proof.agrees, finding.proof
        assert finding.proof.outcome == "read"


def test_hosting_platform_trust_judged_as_is_is_mixed_content_and_agrees() -> None:
    """As plain http, an https GitHub Pages page cannot fetch the API at all: no over-permissive
    finding of a github.io origin, and whatever is found is proved alike."""
    _, report = audited_and_proved(TRUSTS_HOSTING, as_is=True)
    assert not [f for f in over_permissive(report) if f.evidence.origin.endswith(".github.io")]
    for finding in (f for t in report.targets for f in t.findings):
        assert finding.proof is None or finding.proof.agrees is not False, finding.proof
