"""config.resolve: a flag given always beats the policy file's [settings], which beat DEFAULTS; the
same through the command line, where an option not given arrives as None (issue 22, point 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.config import DEFAULTS, AuditConfig, Flags, PolicyFlags, resolve
from corscheck.demo import serve_demo
from corscheck.inputs import load_policy_file

# (flag field, [settings] key, a file value, a flag value equal to the default, where the config has it)
SETTINGS = [
    ("depth", "depth", '"quick"', "standard", lambda c: c.depth),
    ("fail_on", "fail-on", '"never"', "medium", lambda c: c.fail_on),
    ("timeout", "timeout", "3.5", 10.0, lambda c: c.options.timeout),
    ("concurrency", "concurrency", "7", 64, lambda c: c.options.concurrency),
    ("per_host", "per-host", "3", 16, lambda c: c.options.per_host),
    ("rate", "rate", "5", 20.0, lambda c: c.options.rate),
    ("jobs", "jobs", "3", 1, lambda c: c.jobs),
]
IDS = [s[1] for s in SETTINGS]
POLICY = '[policy]\norigins = ["https://app.example.com"]\ncredentials = true\n\n'


def _file(tmp_path: Path, key: str, value: str) -> Any:
    path = tmp_path / "corscheck.toml"
    path.write_text(
        f'[policy]\norigins = ["https://app.example.com"]\n\n[settings]\n{key} = {value}\n'
    )
    return load_policy_file(path)


@pytest.mark.parametrize(("field", "key", "file_value", "flag_value", "read"), SETTINGS, ids=IDS)
def test_a_flag_given_beats_the_file_even_when_it_equals_the_default(
    tmp_path: Path, field: str, key: str, file_value: str, flag_value: Any, read: Any
) -> None:
    config = resolve(
        Flags(**{field: flag_value}), ["https://api.example.com/"], _file(tmp_path, key, file_value)
    )
    assert read(config) == flag_value


@pytest.mark.parametrize(("field", "key", "file_value", "flag_value", "read"), SETTINGS, ids=IDS)
def test_without_the_flag_the_file_holds(
    tmp_path: Path, field: str, key: str, file_value: str, flag_value: Any, read: Any
) -> None:
    config = resolve(Flags(), ["https://api.example.com/"], _file(tmp_path, key, file_value))
    assert read(config) == json.loads(file_value) != DEFAULTS[key]


@pytest.mark.parametrize(("field", "key", "file_value", "flag_value", "read"), SETTINGS, ids=IDS)
def test_without_either_the_default_holds(
    field: str, key: str, file_value: str, flag_value: Any, read: Any
) -> None:
    assert read(resolve(Flags(), ["https://api.example.com/"])) == DEFAULTS[key]


def test_defaults_are_the_configs_own() -> None:
    """AuditConfig() and resolve() with nothing given agree: one table of defaults."""
    bare = AuditConfig()
    resolved = resolve(Flags(), [])
    assert (bare.depth, bare.fail_on, bare.options) == (
        resolved.depth,
        resolved.fail_on,
        resolved.options,
    )


def test_policy_flags_override_the_files_policy_field_by_field(tmp_path: Path) -> None:
    policy_file = _file(tmp_path, "depth", '"quick"')
    flags = Flags(policy=PolicyFlags(methods=("GET", "PUT"), credentials=True))
    config = resolve(flags, ["https://api.example.com/"], policy_file)
    (target,) = config.targets
    assert target.policy is not None
    assert target.policy.origins == ("https://app.example.com",)
    assert target.policy.methods == ("GET", "PUT") and target.policy.credentials is True
    assert target.source is not None and target.source.line == 1


def test_file_settings_headers_come_before_the_command_lines(tmp_path: Path) -> None:
    path = tmp_path / "corscheck.toml"
    path.write_text(POLICY + '[settings]\nheaders = { X-Api-Key = "env:CORSCHECK_TEST_KEY" }\n')
    policy_file = load_policy_file(path, environ={"CORSCHECK_TEST_KEY": "from-env"})
    config = resolve(
        Flags(headers=(("Authorization", "Bearer t"),)), ["https://a.example/"], policy_file
    )
    assert config.extra_headers == (("X-Api-Key", "from-env"), ("Authorization", "Bearer t"))


def test_shard_keeps_the_targets_share_in_input_order() -> None:
    urls = [f"https://api.example.com/{n}" for n in range(40)]
    shares = [resolve(Flags(shard=(k, 3)), urls).targets for k in (1, 2, 3)]
    assert sorted(t.url for share in shares for t in share) == sorted(urls)
    for share in shares:
        assert [t.url for t in share] == [u for u in urls if u in {t.url for t in share}]


# --- the same through the command line ------------------------------------------------------------


@pytest.fixture
def audited_configs(monkeypatch: pytest.MonkeyPatch) -> list[AuditConfig]:
    """The config each `audit` of the test would run; nothing is sent (the run is interrupted at
    once): the config is what these tests are about."""
    seen: list[AuditConfig] = []

    def capture(config: AuditConfig, *args: Any, **kwargs: Any) -> Any:
        seen.append(config)
        raise KeyboardInterrupt

    monkeypatch.setattr("corscheck.audit.run_audit", capture)
    return seen


def test_cli_fail_on_given_beats_the_files_never(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug: `--fail-on medium` equal to the default was read as "not given", and the file's
    `fail-on = "never"` silently let a critical finding pass the gate."""
    (tmp_path / "corscheck.toml").write_text(POLICY + '[settings]\nfail-on = "never"\n')
    monkeypatch.chdir(tmp_path)
    with serve_demo() as base:
        given = CliRunner().invoke(
            app,
            [
                "audit",
                base + "/api/profile",
                "--fail-on",
                "medium",
                "-f",
                "json",
                "--depth",
                "quick",
            ],
        )
        not_given = CliRunner().invoke(
            app, ["audit", base + "/api/profile", "-f", "json", "--depth", "quick"]
        )
    report = json.loads(given.stdout)
    assert report["summary"]["findings"]["critical"] >= 1
    assert (given.exit_code, report["settings"]["fail_on"]) == (1, "medium")
    assert (not_given.exit_code, json.loads(not_given.stdout)["settings"]["fail_on"]) == (
        0,
        "never",
    )


@pytest.mark.parametrize(
    ("option", "key", "file_value", "flag_value", "read"),
    [
        ("--depth", "depth", '"quick"', "standard", lambda c: c.depth),
        ("--timeout", "timeout", "3.5", "10", lambda c: c.options.timeout),
        ("--concurrency", "concurrency", "7", "64", lambda c: c.options.concurrency),
        ("--per-host", "per-host", "3", "16", lambda c: c.options.per_host),
    ],
    ids=["depth", "timeout", "concurrency", "per-host"],
)
def test_cli_flags_equal_to_the_default_beat_the_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    option: str,
    key: str,
    file_value: str,
    flag_value: str,
    read: Any,
    audited_configs: list[AuditConfig],
) -> None:
    (tmp_path / "corscheck.toml").write_text(POLICY + f"[settings]\n{key} = {file_value}\n")
    monkeypatch.chdir(tmp_path)
    seen = audited_configs
    CliRunner().invoke(app, ["audit", "http://127.0.0.1:9/", option, flag_value])
    CliRunner().invoke(app, ["audit", "http://127.0.0.1:9/"])
    given, not_given = seen
    assert str(read(given)) in (flag_value, f"{flag_value}.0")
    assert read(not_given) == json.loads(file_value)


# --- what resolve builds ----------------------------------------------------------------------------


def test_the_closed_sets_have_one_owner() -> None:
    from typing import get_args

    from corscheck.config import DEPTHS, FAIL_ON_VALUES, FailOn
    from corscheck.origins import Depth
    from corscheck.rules import SEVERITIES

    assert DEPTHS == get_args(Depth) == ("quick", "standard", "thorough")
    assert FAIL_ON_VALUES == get_args(FailOn) == (*SEVERITIES, "never")


def test_every_policy_flag_reaches_the_policy() -> None:
    flags = Flags(
        policy=PolicyFlags(
            origins=("https://app.example.com",),
            headers=("X-Token",),
            expose=("X-Request-Id",),
            max_age=600,
        )
    )
    (target,) = resolve(flags, ["https://api.example.com/"]).targets
    policy = target.policy
    assert policy is not None
    assert (policy.origins, policy.headers, policy.expose) == (
        ("https://app.example.com",),
        ("X-Token",),
        ("X-Request-Id",),
    )
    assert policy.max_age is not None and policy.max_age.max == 600


def test_without_flags_the_files_policy_is_used_as_built(tmp_path: Path) -> None:
    policy_file = _file(tmp_path, "depth", '"quick"')
    (target,) = resolve(Flags(), ["https://api.example.com/"], policy_file).targets
    assert target.policy is policy_file.policy


def test_policy_errors_speak_in_flags() -> None:
    from corscheck.errors import PolicyError

    flags = Flags(policy=PolicyFlags(origins=("*",), credentials=True))
    with pytest.raises(PolicyError) as raised:
        resolve(flags, ["https://api.example.com/"])
    assert "--allow-origin '*'" in str(raised.value) and "--credentials" in str(raised.value)
    assert 'origins = ["*"]' not in str(raised.value)


def test_ignore_rules_become_one_ignore_each() -> None:
    flags = Flags(ignore_rules=("missing-vary-origin", "missing-vary-origin"))
    (ignore,) = resolve(flags, ["https://api.example.com/"]).ignores
    assert (ignore.rule, ignore.source) == ("missing-vary-origin", "--ignore")


def test_routes_take_the_place_of_the_files_targets(tmp_path: Path) -> None:
    from corscheck.target import Route

    path = tmp_path / "corscheck.toml"
    path.write_text(
        POLICY + '[[targets]]\nurl = "https://api.example.com/old"\n'
        'policy = { origins = ["https://other.example.com"] }\n'
    )
    policy_file = load_policy_file(path)
    url = "https://api.example.com/items"
    route = Route("/items", url, ("GET", "PUT"), ("Authorization",), cookie_auth=True)
    (target,) = resolve(Flags(), [], policy_file, routes={url: route}).targets
    assert (target.url, target.route) == (url, route)
    assert target.policy is not None and target.policy.sends_methods == ("GET", "PUT")
    assert target.policy.sends_headers == ("Authorization",)
    assert target.policy.credentials is True  # cookie authentication turns it on
    (bare,) = resolve(Flags(), [], None, routes={url: route}).targets
    assert bare.policy is None  # no policy: the safe baseline, route or not


def test_a_target_points_into_the_file_only_when_there_is_one(tmp_path: Path) -> None:
    policy_file = _file(tmp_path, "depth", '"quick"')
    (declared,) = resolve(
        Flags(), ["https://api.example.com/"], policy_file, shown_policy_path="corscheck.toml"
    ).targets
    assert declared.source is not None and (declared.source.file, declared.source.line) == (
        "corscheck.toml",
        1,
    )
    flags = Flags(policy=PolicyFlags(origins=("https://app.example.com",)))
    (from_flags,) = resolve(flags, ["https://api.example.com/"]).targets
    assert from_flags.source is None


@pytest.mark.parametrize(
    ("file_policy", "flags", "wording"),
    [
        (
            "credentials = true\n",
            PolicyFlags(origins=("*",)),
            ("--allow-origin '*'", "credentials = true", "set credentials = false"),
        ),
        (
            'origins = ["*"]\n',
            PolicyFlags(credentials=True),
            ('origins = ["*"]', "--credentials", "pass --no-credentials"),
        ),
    ],
    ids=["origins-from-flags", "credentials-from-flags"],
)
def test_the_credentials_error_is_worded_where_each_value_came_from(
    tmp_path: Path, file_policy: str, flags: PolicyFlags, wording: tuple[str, ...]
) -> None:
    from corscheck.errors import PolicyError

    path = tmp_path / "corscheck.toml"
    path.write_text(
        '[policy]\norigins = ["https://app.example.com"]\n' + file_policy
        if "origins" not in file_policy
        else "[policy]\n" + file_policy
    )
    with pytest.raises(PolicyError) as raised:
        resolve(Flags(policy=flags), ["https://api.example.com/"], load_policy_file(path))
    assert raised.value.key == "credentials"
    assert all(words in str(raised.value) for words in wording), str(raised.value)


# --- the visitor: --cookie, --browser, --user-agent over [settings] ------------------------------------

VISITOR_FILE = (
    POLICY + '[settings]\ncookies = ["env:SESSION_COOKIE"]\nbrowsers = ["safari", "chrome"]\n'
    'user-agent = "FileAgent/1"\n'
)
SESSION_LINE = "sid=from-env-123; SameSite=Lax; Secure"


def _visitor_file(tmp_path: Path) -> Any:
    path = tmp_path / "corscheck.toml"
    path.write_text(VISITOR_FILE)
    return load_policy_file(path, environ={"SESSION_COOKIE": SESSION_LINE})


def test_the_visitor_comes_from_the_file_when_no_flag_says_otherwise(tmp_path: Path) -> None:
    config = resolve(Flags(), ["https://api.example.com/x"], _visitor_file(tmp_path))
    visitor = config.visitor
    assert [c.pair for c in visitor.cookies] == ["sid=from-env-123"] and visitor.cookies_given
    assert visitor.profiles == ("safari", "chrome") and visitor.profiles_given
    assert visitor.user_agent == "FileAgent/1"
    assert ("User-Agent", "FileAgent/1") in config.extra_headers


def test_visitor_flags_beat_the_file(tmp_path: Path) -> None:
    flags = Flags(
        cookies=("other=1; SameSite=None; Secure",), browsers=("firefox",), user_agent="chrome"
    )
    config = resolve(flags, ["https://api.example.com/x"], _visitor_file(tmp_path))
    assert [c.name for c in config.visitor.cookies] == ["other"]
    assert config.visitor.profiles == ("firefox",)
    assert config.visitor.user_agent is not None and "Chrome/" in config.visitor.user_agent


def test_without_visitor_settings_the_placeholder_and_corscheck_agent() -> None:
    config = resolve(Flags(), ["https://api.example.com/x"])
    assert not config.visitor.cookies_given and config.visitor.user_agent is None
    assert not any(n == "User-Agent" for n, _ in config.extra_headers)


def test_a_user_agent_given_with_h_is_not_sent_twice() -> None:
    flags = Flags(user_agent="chrome", headers=(("user-agent", "Mine/1"),))
    config = resolve(flags, ["https://api.example.com/x"])
    assert [v for n, v in config.extra_headers if n.lower() == "user-agent"] == ["Mine/1"]


def test_a_cookie_given_with_h_bypasses_the_model() -> None:
    config = resolve(Flags(headers=(("Cookie", "a=b"),)), ["https://api.example.com/x"])
    assert config.visitor.bypassed


@pytest.mark.parametrize(
    ("settings", "environ", "message"),
    [
        ('cookies = ["sid=1"]', {}, 'give each cookie as "env:VARIABLE"'),
        ('cookies = "env:X"', {}, "cookies must be a list"),
        ('cookies = ["env:MISSING"]', {}, "environment variable MISSING is not set"),
        ('cookies = ["env:X"]', {"X": "sid=1; SameSite=None"}, "X: cookie sid: browsers reject"),
        ('browsers = ["edge"]', {}, "browsers must be a list of chrome, chrome-no-3pc"),
        ("browsers = []", {}, "browsers must be a list"),
        ("user-agent = 3", {}, 'user-agent must be "chrome" or a User-Agent string'),
    ],
)
def test_bad_visitor_settings_are_one_clear_error(
    tmp_path: Path, settings: str, environ: dict[str, str], message: str
) -> None:
    from corscheck.errors import PolicyError

    path = tmp_path / "corscheck.toml"
    path.write_text(POLICY + f"[settings]\n{settings}\n")
    with pytest.raises(PolicyError, match=message):
        load_policy_file(path, environ=environ)


# --- what the run is judged against (issue 26, point 5) --------------------------------------------


def test_the_policy_statement_names_the_file_the_flags_or_none(tmp_path: Path) -> None:
    path = tmp_path / "corscheck.toml"
    path.write_text(POLICY)
    loaded = load_policy_file(path)
    urls = ["https://api.example.com/x"]
    flags = Flags(policy=PolicyFlags(origins=("https://b.example",)))
    assert resolve(Flags(), urls, loaded, shown_policy_path="corscheck.toml").policy_statement == (
        "corscheck.toml ([policy], line 1)"
    )
    assert resolve(flags, urls, loaded, shown_policy_path="corscheck.toml").policy_statement == (
        "corscheck.toml ([policy], line 1) with command-line flags on top"
    )
    assert resolve(flags, urls).policy_statement == "command-line flags"
    assert resolve(Flags(), urls).policy_statement.startswith("none: the safe baseline")


def test_init_then_audit_refuses_the_template_until_it_is_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    refused = CliRunner().invoke(app, ["audit", "http://127.0.0.1:9/x"])
    assert refused.exit_code == 2
    assert "corscheck.toml:" in refused.output and "init's template" in refused.output
    text = (tmp_path / "corscheck.toml").read_text()
    edited = text.replace("placeholder = true\n", "").replace("app.example.com", "web.example")
    (tmp_path / "corscheck.toml").write_text(edited)
    with serve_demo() as base:
        judged = CliRunner().invoke(app, ["audit", f"{base}/api/status", "--depth", "quick"])
    assert judged.exit_code in (0, 1), judged.output
    assert "policy: corscheck.toml ([policy], line" in judged.output


# --- a policy file with [settings] alone (issue 34) -------------------------------------------------


def test_settings_alone_audit_against_the_safe_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, audited_configs: list[AuditConfig]
) -> None:
    """A CI gate's file may say only how to run (fail-on, depth): the policy is the safe baseline,
    the settings hold, and a flag given still beats them."""
    (tmp_path / "corscheck.toml").write_text('[settings]\nfail-on = "high"\ndepth = "quick"\n')
    monkeypatch.chdir(tmp_path)
    seen = audited_configs
    first = CliRunner().invoke(app, ["audit", "http://127.0.0.1:9/"])
    CliRunner().invoke(app, ["audit", "http://127.0.0.1:9/", "--fail-on", "low"])
    assert "no [policy]" not in first.output
    from_file, flag_given = seen
    assert from_file.policy is None and from_file.targets[0].policy is None
    assert (from_file.fail_on, from_file.depth) == ("high", "quick")
    assert (flag_given.fail_on, flag_given.depth) == ("low", "quick")


def test_an_empty_policy_file_is_still_refused(tmp_path: Path) -> None:
    from corscheck.errors import PolicyError

    path = tmp_path / "corscheck.toml"
    path.write_text("# nothing yet\n")
    with pytest.raises(PolicyError, match=r"no \[policy\], \[\[targets\]\] or \[settings\]"):
        load_policy_file(path)
