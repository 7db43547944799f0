"""The allow-list where it is written (issue 33), against real frameworks and nginx on loopback:
each regex flaw is found through a witness the server grants live, the finding cites the regex's
location, and headless Chromium, on a page at the witness's origin, reads the answer (with the
visitor's cookie where the app allows credentials). A correct regex and an exact list give nothing
at medium or above."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from corscheck import rules
from corscheck.appconfig import read_config_source
from corscheck.audit import run_config
from corscheck.config import Flags, PolicyFlags, resolve
from corscheck.deliver import proven, settings_for
from corscheck.report.model import Report
from corscheck.runner import run_async
from tests import required
from tests.test_written import LITESTAR_APP as LITESTAR
from tests.test_written import STARLETTE_APP as STARLETTE

from .real_servers import binary, free_ports, nginx_prelude, running, workdir
from .servers import serve_asgi, serve_wsgi

pytestmark = [pytest.mark.chromium]
CHROMIUM = required.chromium(module_level=True)
required.playwright_sync_api(module_level=True)

FRONT_END = "https://app.example.com"
PATH = "/api/me"

FLASK = """
from flask import Flask
from flask_cors import CORS

app = Flask(__name__)
CORS(app, origins=[{origins}], supports_credentials=True)


@app.get("/api/me")
def me():
    return {{"user": "alice"}}
"""

DJANGO = """
import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["corsheaders"],
    MIDDLEWARE=["corsheaders.middleware.CorsMiddleware", "django.middleware.common.CommonMiddleware"],
    CORS_ALLOWED_ORIGINS=["https://app.example.com"],
    CORS_ALLOWED_ORIGIN_REGEXES=[r"^https://\\w+\\.partner\\.io"],
    CORS_ALLOW_CREDENTIALS=True,
    SECRET_KEY="corscheck-test",
)
django.setup()

from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

urlpatterns = [path("api/me", lambda request: JsonResponse({"user": "alice"}))]
app = get_wsgi_application()
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("e2e_written_")]:
        sys.modules.pop(name, None)


def _module(project: Path, name: str, text: str) -> Any:
    (project / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    from corscheck.transport.app import load_app

    return load_app(f"{name}:app").app


def _audited(url: str, source: str, *, policy: bool) -> Report:
    """--config-from SOURCE on the live URL at standard depth, proved in Chromium."""
    given = PolicyFlags(origins=(FRONT_END,), credentials=True) if policy else PolicyFlags()
    config = resolve(Flags(policy=given, depth="standard"), [url])
    config = replace(config, written=read_config_source(source), drift=True)
    report = run_async(run_config(config))
    return proven(report, settings_for(config, CHROMIUM), quiet=True)


def _regex_findings(report: Report) -> dict[str, Any]:
    return {
        f.evidence.origin: f
        for t in report.targets
        for f in t.findings
        if f.rule is rules.REGEX_ORIGIN
    }


def _assert_proved(finding: Any, where: str) -> None:
    assert where in finding.message, finding.message
    proof = finding.proof
    assert proof is not None and proof.agrees, proof and proof.summary()
    assert proof.outcome == "read"
    if finding.evidence.credentials == "include":
        assert "__corscheck_session" in proof.cookies, proof.summary()


def _serious(report: Report) -> list[str]:
    """Over-permissive findings at medium or above: what an allow-list can get wrong (a Flask-CORS
    exact list's fixed answer without Vary is a cache finding of its own, not the allow-list's)."""
    return [
        f.rule.id
        for t in report.targets
        for f in t.findings
        if f.severity in ("critical", "high", "medium") and f.rule.direction == "over-permissive"
    ]


@pytest.mark.parametrize("policy", [True, False], ids=["with-policy", "without"])
def test_starlette_foreign_tld_is_read_by_chromium(project: Path, policy: bool) -> None:
    app = _module(
        project,
        "e2e_written_star",
        STARLETTE.format(regex=r"https://(app|admin)\.example\.(com|net)"),
    )
    with serve_asgi(app) as base:
        report = _audited(base + PATH, "e2e_written_star:app", policy=policy)
    found = _regex_findings(report)
    _assert_proved(found["https://app.example.net"], "e2e_written_star.py:9")
    assert "grant-beyond-code" not in _serious(report)


def test_a_layer_in_front_that_adds_headers_is_drift(project: Path) -> None:
    """The code grants the front-end only; the deployment (an app that reflects every origin,
    standing for a gateway that adds CORS headers) grants more: grant-beyond-code, and the code's
    own deployment gives none."""
    exact = STARLETTE.format(regex=r"^https://app\.example\.com$")
    code = _module(project, "e2e_written_code", exact)
    gateway = _module(project, "e2e_written_gateway", STARLETTE.format(regex=".*"))
    for served, drift in ((gateway, True), (code, False)):
        with serve_asgi(served) as base:
            report = _audited(base + PATH, "e2e_written_code:app", policy=True)
        found = [f for t in report.targets for f in t.findings if f.rule is rules.GRANT_BEYOND_CODE]
        assert bool(found) is drift, [f.rule.id for t in report.targets for f in t.findings]
        for finding in found:
            proof = finding.proof
            assert proof is not None and proof.agrees and proof.outcome == "read"


def test_starlette_correct_regex_gives_nothing_serious(project: Path) -> None:
    app = _module(
        project,
        "e2e_written_good",
        STARLETTE.format(regex=r"^https://([a-z0-9-]+\.)?example\.com$"),
    )
    with serve_asgi(app) as base:
        report = _audited(base + PATH, "e2e_written_good:app", policy=True)
    assert _serious(report) == []


def test_flask_cors_glob_and_half_anchored_alternation(project: Path) -> None:
    origins = r'"https://*.example.com", r"^https://static\.cdn\.io|https://www\.example\.com$"'
    app = _module(project, "e2e_written_flask", FLASK.format(origins=origins))
    with serve_wsgi(app) as base:
        report = _audited(base + PATH, "e2e_written_flask:app", policy=False)
    found = _regex_findings(report)
    _assert_proved(found["https://xexample.com"], "e2e_written_flask.py:6")
    _assert_proved(
        found["https://static.cdn.io.corscheck-attacker.example"], "e2e_written_flask.py:6"
    )


def test_flask_cors_exact_list_gives_nothing_serious(project: Path) -> None:
    app = _module(
        project, "e2e_written_flask_exact", FLASK.format(origins='"https://app.example.com"')
    )
    with serve_wsgi(app) as base:
        report = _audited(base + PATH, "e2e_written_flask_exact:app", policy=True)
    assert _serious(report) == []


def test_litestar_wildcard_entry(project: Path) -> None:
    app = _module(project, "e2e_written_lite", LITESTAR)
    with serve_asgi(app) as base:
        report = _audited(base + PATH, "e2e_written_lite:app", policy=False)
    _assert_proved(
        _regex_findings(report)["https://corscheckexample-partner.com"], "e2e_written_lite.py:"
    )


def test_django_cors_headers_regex_open_at_its_end(project: Path) -> None:
    """Django takes one configuration per process and other tests configure theirs: the app is
    served, and the audit run, each in a process of its own, through the command line with
    --config-from and --prove."""
    (project / "e2e_written_django.py").write_text(textwrap.dedent(DJANGO), encoding="utf-8")
    (port,) = free_ports(1)
    serve = (
        "import e2e_written_django as m; from werkzeug.serving import run_simple; "
        f"run_simple('127.0.0.1', {port}, m.app, threaded=True)"
    )
    with running([sys.executable, "-c", serve], [port], _copy_of(project)):
        done = subprocess.run(
            [
                sys.executable, "-m", "corscheck", "audit", f"http://127.0.0.1:{port}{PATH}",
                "--config-from", "e2e_written_django:app", "--allow-origin", FRONT_END,
                "--credentials", "--prove", "--browser-path", CHROMIUM, "-f", "json",
            ],
            cwd=project, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    (target,) = json.loads(done.stdout)["targets"]
    (finding,) = [f for f in target["findings"] if f["rule"] == "regex-origin"]
    assert finding["evidence"]["origin"] == "https://a.partner.io.corscheck-attacker.example"
    assert "e2e_written_django.py:12" in finding["message"] and "re.match" in finding["message"]
    proof = finding["proof"]
    assert proof["agrees"] and proof["outcome"] == "read", proof
    assert "__corscheck_session" in proof["cookies"]


def _copy_of(project: Path) -> Path:
    """A scratch directory holding the project's modules: running() removes its directory."""
    directory = workdir()
    for module in project.glob("*.py"):
        shutil.copy(module, directory / module.name)
    return directory


NGINX_SITE = r"""
  map $http_origin $cors {{
    default "";
    "~example-cdn\.net$" $http_origin;
    "https://app.example.com" $http_origin;
  }}
  server {{
    listen 127.0.0.1:{port};
    location /a/ {{
      add_header Access-Control-Allow-Origin $cors always;
      add_header Access-Control-Allow-Credentials true always;
      add_header Vary Origin always;
      return 200 '{{"user":"alice"}}';
    }}
    location /b/ {{
      if ($http_origin ~* "^https://(app\.example\.com|assets.examplecdn.net)$") {{
        add_header Access-Control-Allow-Origin $http_origin always;
        add_header Access-Control-Allow-Credentials true always;
        add_header Vary Origin always;
      }}
      return 200 '{{"user":"alice"}}';
    }}
  }}
}}
"""


def test_nginx_map_search_and_unescaped_dot() -> None:
    (port,) = free_ports(1)
    directory = workdir()
    site = NGINX_SITE.format(port=port)
    conf = directory / "nginx.conf"
    conf.write_text(nginx_prelude(directory) + site, encoding="utf-8")
    source = (
        directory / "cors.conf"
    )  # what --config-from reads: the CORS part as the team writes it
    source.write_text("http {" + site, encoding="utf-8")
    with running([binary("nginx", "/usr/sbin/nginx"), "-c", str(conf)], [port], directory):
        base = f"http://127.0.0.1:{port}"
        for path, witness in (
            ("/a/", "https://corscheckexample-cdn.net"),
            ("/b/", "https://assetsxexamplecdn.net"),
        ):
            report = _audited(base + path, str(source), policy=True)
            _assert_proved(_regex_findings(report)[witness], "cors.conf:")
