from __future__ import annotations

import pytest

from corscheck.fixes import FIXES, detect_framework, fix_for
from corscheck.rules import RULES_BY_ID


def test_every_framework_fix_names_a_real_rule() -> None:
    for framework, table in FIXES.items():
        unknown = set(table) - set(RULES_BY_ID)
        assert not unknown, (framework, unknown)


def test_generic_fix_when_the_framework_has_none() -> None:
    rule = RULES_BY_ID["wildcard-with-credentials"]
    assert fix_for(rule.id, rule.fix, "flask") == rule.fix
    assert fix_for(rule.id, rule.fix, None) == rule.fix
    assert "CORS_ALLOWED_ORIGINS" in fix_for("any-origin", "generic", "django")


@pytest.mark.parametrize(
    ("lines", "framework"),
    [
        ([("server", "uvicorn")], "starlette"),
        ([("Server", " Werkzeug/3.1 Python/3.11")], "flask"),
        ([("X-Powered-By", "Express")], "express"),
        ([("Server", "nginx/1.25")], "nginx"),
        ([("Server", "Apache")], None),
        ([], None),
    ],
    ids=["uvicorn", "werkzeug", "express", "nginx", "unknown", "none"],
)
def test_detect_framework(lines: list[tuple[str, str]], framework: str | None) -> None:
    assert detect_framework(lines) == framework
