"""fixes.py: a layer's fix is its settings, filled from the policy, worded by how sure corscheck is
of the layer (stack.py). That each fix is true is test_fix_frameworks.py's job, on the real
frameworks; here the wording and the filling, on plain data."""

from __future__ import annotations

import pytest

from corscheck.config import FRAMEWORKS
from corscheck.fixes import FIXES, FixValues, fix_changes, fix_for
from corscheck.rules import RULES_BY_ID
from corscheck.stack import Stack

APP = "https://app.example.com"
VALUES = FixValues(
    origins=(APP,),
    methods=("GET", "POST"),
    headers=("Content-Type",),
    expose=("X-Request-Id",),
    max_age=600,
)
CERTAIN = Stack("starlette", "certain", "its own preflight answer")


def test_every_fix_names_a_real_rule_and_every_table_a_framework() -> None:
    for framework, table in FIXES.items():
        assert framework in FRAMEWORKS
        unknown = set(table) - set(RULES_BY_ID)
        assert not unknown, (framework, unknown)


@pytest.mark.parametrize(
    ("layer", "rule", "text"),
    [
        (
            "starlette",
            "allowed-method-refused",
            'Use app.add_middleware(CORSMiddleware, allow_methods=["GET", "POST"]), its other '
            "settings as they are.",
        ),
        (
            "starlette",
            "untrusted-origin",
            f'Use app.add_middleware(CORSMiddleware, allow_origins=["{APP}"], '
            "allow_origin_regex=None), the origins exactly as browsers send them (scheme, host, "
            "port; no slash), instead of a pattern, its other settings as they are.",
        ),
        (
            "litestar",
            "exposed-header-missing",
            'Use CORSConfig(expose_headers=["X-Request-Id"]), its other settings as they are.',
        ),
        (
            "flask",
            "credentials-beyond-policy",
            "Use CORS(app, supports_credentials=False), its other settings as they are.",
        ),
        (
            "django",
            "any-origin",
            f'In settings.py, set CORS_ALLOWED_ORIGINS = ["{APP}"]; CORS_ALLOW_ALL_ORIGINS = False; '
            "CORS_ALLOWED_ORIGIN_REGEXES = [].",
        ),
        (
            "express",
            "credentials-refused",
            f'Use app.use(cors({{ origin: ["{APP}"], credentials: true }})), its other settings as '
            "they are.",
        ),
        ("express", "preflight-cache-too-long", "Use app.use(cors({ maxAge: 600 }))"),
    ],
)
def test_a_certain_layer_gets_its_settings_with_the_policys_values(
    layer: str, rule: str, text: str
) -> None:
    fix = fix_for(rule, "generic", Stack(layer, "certain", "x"), VALUES)
    assert fix.startswith(text)


def test_a_given_framework_is_as_good_as_a_certain_one() -> None:
    given = fix_for("any-origin", "generic", Stack("flask", "given", "--framework"), VALUES)
    assert given == fix_for("any-origin", "generic", Stack("flask", "certain", "x"), VALUES)


def test_a_likely_layer_gets_its_fix_as_a_condition_and_the_generic_one_besides() -> None:
    likely = Stack("starlette", "likely", "the app is a starlette app")
    fix = fix_for("allowed-method-refused", "Add the method.", likely, VALUES)
    assert fix.startswith(
        "If this is Starlette/FastAPI CORSMiddleware (the app is a starlette app): Use "
    )
    assert fix.endswith(" Otherwise: Add the method.")


@pytest.mark.parametrize(
    "stack",
    [Stack(), Stack(None, "unknown", "Server: uvicorn"), Stack("starlette", "unknown", "x")],
)
def test_no_layer_no_framework_words(stack: Stack) -> None:
    assert fix_for("any-origin", "generic", stack, VALUES) == "generic"


def test_a_layer_without_a_fix_for_the_rule_gets_the_generic_one() -> None:
    assert fix_for("wildcard-with-credentials", "generic", CERTAIN, VALUES) == "generic"


def test_nothing_to_fill_the_settings_with_names_them_with_placeholders() -> None:
    """Without a policy, the settings are still named; the values are the user's to fill in
    (and there is nothing the tests could apply: fix_changes says None)."""
    assert fix_for("allowed-method-refused", "generic", CERTAIN, FixValues()) == (
        "Use app.add_middleware(CORSMiddleware, allow_methods=[<the methods your front-end "
        "sends>]), its other settings as they are."
    )
    assert fix_for("any-origin-with-credentials", "generic", CERTAIN, FixValues(public=True)) == (
        "Use app.add_middleware(CORSMiddleware, allow_credentials=False), its other settings as "
        "they are."
    )
    assert fix_changes("allowed-method-refused", "starlette", FixValues()) is None
    assert fix_changes("preflight-cache-too-long", "starlette", FixValues()) is None


def test_a_fix_without_settings_is_its_note() -> None:
    nginx = Stack("nginx", "certain", "x")
    assert fix_for("missing-vary-origin", "generic", nginx).startswith("add_header Vary Origin")
    assert fix_changes("missing-vary-origin", "nginx", VALUES) is None


def test_a_public_policy_drops_credentials_instead_of_listing_origins() -> None:
    public = FixValues(origins=("*",), public=True)
    assert fix_changes("any-origin-with-credentials", "starlette", public) == {
        "allow_credentials": False
    }
    assert fix_changes("any-origin-with-credentials", "starlette", VALUES) == {
        "allow_origins": [APP],
        "allow_origin_regex": None,
        "allow_credentials": True,
    }


def test_unknown_layer_has_no_changes() -> None:
    assert fix_changes("any-origin", None, VALUES) is None
    assert fix_changes("any-origin", "quart", VALUES) is None
