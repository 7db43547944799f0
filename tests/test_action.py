"""The GitHub Action (action.yml): valid, its inputs never spliced into shell code, and its audit
script splitting URLs as documented."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ACTION = Path(__file__).parent.parent / "action.yml"


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text("utf-8"))
    return data


def test_action_is_a_composite_with_the_documented_inputs(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"urls", "policy", "fail-on", "sarif", "depth", "version"}
    assert all(spec.get("description") for spec in action["inputs"].values())
    readme = (ACTION.parent / "README.md").read_text("utf-8")
    for name in action["inputs"]:
        assert f"`{name}`" in readme, f"input {name} is not documented in the README"


def test_no_input_is_spliced_into_a_script(action: dict[str, Any]) -> None:
    for step in action["runs"]["steps"]:
        assert not re.search(r"\$\{\{\s*inputs\.", step.get("run", "")), step.get("name")


def audit_script(action: dict[str, Any]) -> str:
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "audit"]
    script: str = step["run"]
    return script


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        ("https://a.example/x https://b.example/y", ["https://a.example/x", "https://b.example/y"]),
        (
            "\n  https://a.example/*\n\thttps://b.example/$(id)\n",
            ["https://a.example/*", "https://b.example/$(id)"],
        ),
        ("", []),
    ],
    ids=["spaces", "lines-glob-and-substitution", "none"],
)
def test_audit_script_passes_urls_verbatim(
    action: dict[str, Any], tmp_path: Path, urls: str, expected: list[str]
) -> None:
    # A stand-in corscheck records its arguments; the script must hand the URLs over as they are.
    fake = tmp_path / "bin" / "corscheck"
    fake.parent.mkdir()
    fake.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$ARGS_FILE"\nexit 1\n')
    fake.chmod(0o755)
    (tmp_path / "a.example").mkdir()  # something a glob could match
    env = {
        **os.environ,
        "PATH": f"{fake.parent}:{os.environ['PATH']}",
        "ARGS_FILE": str(tmp_path / "args"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "CORSCHECK_URLS": urls,
        "CORSCHECK_POLICY": "",
        "CORSCHECK_FAIL_ON": "high",
        "CORSCHECK_DEPTH": "quick",
        "CORSCHECK_SARIF": "true",
    }

    def passed_arguments() -> list[str]:
        subprocess.run(
            ["bash", "-euo", "pipefail", "-c", audit_script(action)],
            cwd=tmp_path,
            env=env,
            check=True,
        )
        return (tmp_path / "args").read_text().splitlines()

    args = passed_arguments()
    assert args[: args.index("--")] == [
        "audit",
        "--fail-on",
        "high",
        "--depth",
        "quick",
        "-o",
        "corscheck.json",
        "-o",
        "corscheck.sarif",
    ]
    assert args[args.index("--") + 1 :] == expected
    assert (tmp_path / "output").read_text() == "exit-code=1\n"
    # Inputs left empty leave fail-on and depth to the policy file's [settings].
    env |= {"CORSCHECK_FAIL_ON": "", "CORSCHECK_DEPTH": ""}
    args = passed_arguments()
    assert args[: args.index("--")] == ["audit", "-o", "corscheck.json", "-o", "corscheck.sarif"]
