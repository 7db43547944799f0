"""The pytest helper: the example project passes, and the classic wildcard-with-credentials mistake
fails with a message that names the rule, the evidence and the fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi_project"


def run_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-o",
            "addopts=",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_cors.py",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_example_project_passes() -> None:
    done = run_pytest(EXAMPLE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_wildcard_with_credentials_fails_with_a_clear_message(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "project")
    main = tmp_path / "project" / "main.py"
    main.write_text(main.read_text().replace('["https://app.example.com"]', '["*"]'))
    done = run_pytest(tmp_path / "project")
    assert done.returncode == 1
    assert "any-origin-with-credentials" in done.stdout
    assert "fix:" in done.stdout
    assert "access-control-allow-credentials: true" in done.stdout.lower()


def test_assert_cors_returns_the_report_for_a_clean_app() -> None:
    sys.path.insert(0, str(EXAMPLE))
    try:
        from main import app  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(EXAMPLE))
    from corscheck.testing import assert_cors

    report = assert_cors(
        app,
        {
            "origins": ["https://app.example.com"],
            "methods": ["PUT"],
            "headers": ["Content-Type", "Authorization"],
            "credentials": True,
        },
        paths=["/api/items"],
    )
    assert report.targets[0].probes
    with pytest.raises(AssertionError, match="allowed-origin-refused"):
        assert_cors(app, {"origins": ["https://other.example"]}, paths=["/api/items"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"policy": {"origin": ["https://app.example.com"]}}, "unknown policy key 'origin'"),
        ({"fail_on": "HIGH"}, "fail_on must be one of critical, high, medium, low, never"),
        ({"depth": "deep"}, "depth must be one of quick, standard, thorough"),
    ],
    ids=["misspelt-key", "fail-on-case", "depth"],
)
def test_a_mistake_in_the_helpers_arguments_is_one_clear_error(
    call: dict[str, object], message: str
) -> None:
    """Not a raw TypeError or ValueError from deep inside (issue 34), and nothing is sent."""
    from corscheck.errors import UsageError
    from corscheck.testing import assert_cors

    with pytest.raises(UsageError, match=message):
        assert_cors("http://127.0.0.1:9/", **call)  # type: ignore[arg-type]


def test_a_policy_key_may_be_spelt_with_a_dash_or_an_underscore() -> None:
    """The boundary of the misspelt key above: - and _ spell a known key alike."""
    from corscheck.testing import _policy

    policy = _policy(
        {"origins": ["https://app.example.com"], "max-age": None, "private_network": True}
    )
    assert policy is not None and policy.private_network
