"""Policy files: loading, merging, normalizing, every validation error with its line, and round trips
through `init`'s writer."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.errors import PolicyError
from corscheck.inputs import find_policy_file, load_policy_file
from corscheck.policy import MaxAge, build_policy
from corscheck.policywriter import render_policy_file

GOOD = """\
[policy]
origins = ["https://app.example.com", "https://*.example.com"]
methods = ["GET", "POST", "PUT"]
headers = ["Content-Type", "Authorization"]
expose = ["X-Request-Id"]
credentials = true
max-age = { min = 600, max = 7200 }

[[targets]]
url = "https://api.example.com/v1/users"

[[targets]]
url = "https://api.example.com/public/status"
policy = { origins = ["*"], credentials = false }

[settings]
depth = "quick"
headers = { Authorization = "env:API_TOKEN" }
"""


def write(tmp_path: Path, text: str | bytes, name: str = "corscheck.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_loads_policy_targets_and_settings(tmp_path: Path) -> None:
    loaded = load_policy_file(write(tmp_path, GOOD), environ={"API_TOKEN": "t0k"})
    assert loaded.policy is not None
    assert loaded.policy.origins == ("https://app.example.com", "https://*.example.com")
    assert loaded.policy.methods == ("GET", "POST", "PUT")  # as written
    assert loaded.policy.max_age == MaxAge(600, 7200)
    users, status = loaded.targets
    assert users.policy == loaded.policy and users.line == 10
    assert status.policy.origins == ("*",) and not status.policy.credentials
    assert status.policy.headers == ("Content-Type", "Authorization")  # inherited
    assert loaded.settings == {"depth": "quick", "headers": (("Authorization", "t0k"),)}


def test_pyproject_table(tmp_path: Path) -> None:
    text = '[project]\nname = "x"\n\n[tool.corscheck.policy]\norigins = ["https://a.example"]\n'
    path = write(tmp_path, text, "pyproject.toml")
    assert find_policy_file(tmp_path / "sub" / "dir") is None or True
    (tmp_path / "sub").mkdir()
    assert find_policy_file(tmp_path / "sub") == path
    loaded = load_policy_file(path)
    assert loaded.policy is not None and loaded.policy.origins == ("https://a.example",)


def test_corscheck_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, '[tool.corscheck.policy]\norigins = ["https://a.example"]\n', "pyproject.toml")
    toml = write(tmp_path, '[policy]\norigins = ["https://b.example"]\n')
    assert find_policy_file(tmp_path) == toml


def test_normalization_warns(tmp_path: Path) -> None:
    loaded = load_policy_file(
        write(tmp_path, '[policy]\norigins = ["HTTPS://App.Example.com:443"]\n')
    )
    assert loaded.policy is not None
    assert loaded.policy.origins == ("https://app.example.com",)
    assert "normalized" in loaded.policy.warnings[0]


ERRORS = [
    ("bad-toml", "[policy]\norigins = [\n", 2, "not valid TOML"),
    ("unknown-top-key", '[policy]\norigins = ["https://a.example"]\n\n[polcy]\nx = 1\n', 4, "unknown table"),
    ("unknown-policy-key", '[policy]\norigins = ["https://a.example"]\norigin = "x"\n', 3, "unknown policy key 'origin'"),
    ("wrong-type", '[policy]\norigins = "https://a.example"\n', 2, "origins must be a list of strings"),
    ("origin-with-path", '[policy]\n\norigins = ["https://a.example/app"]\n', 3, "no path"),
    ("origin-no-scheme", '[policy]\norigins = ["a.example"]\n', 2, "no scheme"),
    ("origin-userinfo", '[policy]\norigins = ["https://u:p@a.example"]\n', 2, "no user name"),
    ("origin-query", '[policy]\norigins = ["https://a.example?x"]\n', 2, "no path, query"),
    ("bad-pattern", '[policy]\norigins = ["https://*example.com"]\n', 2, "subdomain wildcard"),
    ("bad-method", '[policy]\norigins = ["https://a.example"]\nmethods = ["GET IT"]\n', 3, "not a valid HTTP method"),
    ("bad-header", '[policy]\norigins = ["https://a.example"]\nheaders = ["X Api"]\n', 3, "not a valid HTTP header name"),
    ("wildcard-credentials", '[policy]\norigins = ["*"]\ncredentials = true\n', 3, "refused by every browser"),
    ("credentials-type", '[policy]\norigins = ["https://a.example"]\ncredentials = "yes"\n', 3, "true or false"),
    ("max-age-type", '[policy]\norigins = ["https://a.example"]\nmax-age = "long"\n', 3, "max-age must be"),
    ("no-origins", "[policy]\ncredentials = false\n", 1, "needs origins"),
    ("target-no-url", '[policy]\norigins = ["https://a.example"]\n\n[[targets]]\npolicy = {}\n', 4, "needs url"),
    ("target-bad-key", '[policy]\norigins = ["https://a.example"]\n[[targets]]\nurl = "https://x.example"\nurls = 1\n', 5, "unknown key 'urls'"),
    ("target-override-bad", '[policy]\norigins = ["https://a.example"]\n[[targets]]\nurl = "https://x.example"\npolicy = { origins = ["nope"] }\n', 5, "no scheme"),
    ("setting-unknown", '[policy]\norigins = ["https://a.example"]\n[settings]\nspeed = 1\n', 4, "unknown setting"),
    ("setting-secret-inline", '[policy]\norigins = ["https://a.example"]\n[settings]\nheaders = { Authorization = "Bearer x" }\n', 4, "env:VARIABLE"),
    ("setting-env-missing", '[policy]\norigins = ["https://a.example"]\n[settings]\nheaders = { Authorization = "env:NOPE_NOT_SET" }\n', 4, "NOPE_NOT_SET is not set"),
    ("bad-expose", '[policy]\norigins = ["https://a.example"]\nheaders = ["X-Api"]\nexpose = ["X Id"]\n', 4, "not a valid HTTP header name"),
    ("max-age-bounds", '[policy]\norigins = ["https://a.example"]\nmethods = ["GET"]\nmax-age = { min = 9, max = 1 }\n', 4, "greater than max"),
    ("max-age-negative", '[policy]\norigins = ["https://a.example"]\nmax-age = -5\n', 3, "max-age must be a whole number of seconds ≥ 0, not -5"),
    ("setting-depth", '[policy]\norigins = ["https://a.example"]\n[settings]\ndepth = "deep"\n', 4, "depth must be"),
    ("setting-as-is", '[policy]\norigins = ["https://a.example"]\n[settings]\nas-is = "yes"\n', 4, "as-is must be true or false"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_validation_error_names_file_line_and_problem(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as error:
        load_policy_file(path, environ={})
    assert message in str(error.value)
    assert error.value.file == str(path)
    assert error.value.line == line
    assert str(error.value).startswith(f"{path}:{line}: ")


MALFORMED = [
    ("empty", b""),
    ("binary", b"\x00\x01\x02\xff\xfe"),
    ("not-utf8", b'[policy]\norigins = ["\xff"]\n'),
    ("huge", b"# " + b"x" * (10 * 1024 * 1024)),
    ("bad-toml", b"[[[["),
]


@pytest.mark.parametrize("content", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, content)
    result = CliRunner().invoke(app, ["audit", "http://127.0.0.1:9/", "-p", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert str(path) in result.output


origins = st.lists(
    st.sampled_from(
        ["https://app.example.com", "http://localhost:3000", "https://*.example.org", "null",
         "https://a.b.example.net:8443", "http://[::1]:8080"]
    ),
    min_size=1, max_size=4, unique=True,
)  # fmt: skip
tokens = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    origins=origins,
    methods=st.none() | st.lists(tokens, max_size=4),
    headers=st.none() | st.lists(tokens, max_size=4),
    expose=st.lists(tokens, max_size=3),
    credentials=st.booleans(),
    bounds=st.none() | st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
    private_network=st.booleans(),
    pyproject=st.booleans(),
)
def test_any_accepted_policy_round_trips_through_init(
    tmp_path_factory: pytest.TempPathFactory,
    origins: list[str],
    methods: list[str] | None,
    headers: list[str] | None,
    expose: list[str],
    credentials: bool,
    bounds: tuple[int, int] | None,
    private_network: bool,
    pyproject: bool,
) -> None:
    max_age = MaxAge(min(bounds), max(bounds)) if bounds else None
    policy = build_policy(
        origins=origins, methods=methods, headers=headers, expose=expose, credentials=credentials,
        max_age=max_age, private_network=private_network,
    )  # fmt: skip
    directory = tmp_path_factory.mktemp("roundtrip")
    name = "pyproject.toml" if pyproject else "corscheck.toml"
    path = write(
        directory, render_policy_file(policy, ["https://api.example.com/"], pyproject), name
    )
    loaded = load_policy_file(path)
    assert loaded.policy == policy
    assert [t.url for t in loaded.targets] == ["https://api.example.com/"]


def test_flags_override_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, '[policy]\norigins = ["https://a.example"]\nmethods = ["PUT"]\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["audit", "http://127.0.0.1:9/x", "--allow-method", "DELETE", "--print-policy"]
    )
    assert result.exit_code == 0, result.output
    printed = tomllib.loads(result.output)["policy"]
    assert printed["origins"] == ["https://a.example"] and printed["methods"] == ["DELETE"]


def test_init_refuses_to_overwrite_and_writes_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    again = CliRunner().invoke(app, ["init"])
    assert again.exit_code == 2 and "--force" in again.output
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert CliRunner().invoke(app, ["init", "--pyproject"]).exit_code == 0
    assert load_policy_file(tmp_path / "pyproject.toml").policy is not None


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout + (result.stderr or "")


def test_every_problem_of_a_file_in_one_run(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[policy]\norgins = ["https://a.example"]\ncredentails = true\n'
        '[settings]\ndepht = "quick"\n',
    )
    with pytest.raises(PolicyError) as error:
        load_policy_file(path)
    assert str(error.value).splitlines() == [
        f"{path}:2: unknown policy key 'orgins'; did you mean 'origins'?",
        f"{path}:3: unknown policy key 'credentails'; did you mean 'credentials'?",
        f"{path}:5: unknown setting 'depht'; did you mean 'depth'?",
    ]
    code, out = _run("audit", "http://127.0.0.1:9/", "-p", str(path))
    assert code == 2
    assert [line.split(": ")[1] for line in out.splitlines()] == ["error"] * 3


def test_broken_pyproject_table_is_an_error_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.corscheck.policy]\norigins = ["https://a.example"\n'
        "credentials = true\n"
    )
    code, out = _run("audit", "http://127.0.0.1:9/", "--depth", "quick")
    assert code == 2
    assert out.startswith("corscheck: error: ") and "pyproject.toml:6: not valid TOML" in out


def test_a_pyproject_that_is_not_corschecks_stays_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n")
    assert find_policy_file(tmp_path) is None


def test_values_normalized_in_a_file_are_warned_with_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, '[policy]\n\norigins = ["HTTPS://App.Example.com:443"]\n')
    code, out = _run("audit", "http://127.0.0.1:9/", "--depth", "quick", "--no-proxy")
    assert code == 3
    assert "warning: corscheck.toml:3: 'HTTPS://App.Example.com:443' normalized" in out


def test_flags_are_answered_in_flag_words() -> None:
    code, out = _run("audit", "http://127.0.0.1:9/", "--allow-origin", "*", "--credentials")
    assert code == 2
    assert "--allow-origin '*' with --credentials is refused by every browser" in out
    assert "credentials = true" not in out


def test_init_pyproject_writes_valid_commented_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.chdir(tmp_path)
    code, out = _run("init", "--pyproject")
    assert code == 2 and "no pyproject.toml here" in out
    assert not (tmp_path / "pyproject.toml").exists()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert _run("init", "--pyproject")[0] == 0
    text = (tmp_path / "pyproject.toml").read_text()
    assert "# [[tool.corscheck.targets]]" in text and "# [tool.corscheck.settings]" in text
    uncommented = "\n".join(
        line[2:] if line.startswith("# [") or line.startswith("# url") else line
        for line in text.splitlines()
    )
    assert tomllib.loads(uncommented)["tool"]["corscheck"]["targets"][0]["url"]


def test_print_policy_without_a_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        '[policy]\norigins = ["https://a.example"]\n\n[[targets]]\nurl = "https://x.example/"\n'
        'policy = { origins = ["*"] }\n',
    )
    code, out = _run("audit", "--print-policy")
    assert code == 0, out
    printed = tomllib.loads(out)  # valid TOML: a policy file could be written from it
    assert printed["policy"] == {"origins": ["https://a.example"], "credentials": False}
    assert printed["targets"] == [
        {"url": "https://x.example/", "policy": {"origins": ["*"], "credentials": False}}
    ]
    assert out.startswith("# The effective policy: corscheck.toml ([policy], line 1).")
    code, out = _run("audit", "--print-policy", "-f", "json")
    assert code == 0 and json.loads(out)["targets"][0]["policy"]["origins"] == ["*"]
    write(tmp_path, '[policy]\norigins = ["https://b.example"]\n')
    code, out = _run("audit", "--print-policy")
    assert code == 0 and tomllib.loads(out)["policy"]["origins"] == ["https://b.example"]


def test_print_policy_reads_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It sends nothing, so an unset env: variable is no error; an audit still needs it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CORSCHECK_UNSET_TOKEN", raising=False)
    write(
        tmp_path,
        '[policy]\norigins = ["https://a.example"]\n\n[settings]\n'
        'headers = { Authorization = "env:CORSCHECK_UNSET_TOKEN" }\n'
        'cookies = ["env:CORSCHECK_UNSET_TOKEN"]\n',
    )
    code, out = _run("audit", "--print-policy")
    assert code == 0, out
    code, out = _run("audit", "http://127.0.0.1:9/x")
    assert code == 2 and "CORSCHECK_UNSET_TOKEN is not set" in out


def test_empty_input_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n")
    code, out = _run("audit", "-i", "empty.txt")
    assert code == 2
    assert out.splitlines()[0] == (
        "corscheck: error: input file 'empty.txt' has no URLs (only blank lines and # comments)"
    )


_KEYS = sorted(
    {"origins", "methods", "headers", "expose", "credentials", "max-age", "private-network", "url",
     "policy", "depth", "fail-on", "timeout", "x", "Origins"}
)  # fmt: skip
_VALUES = st.one_of(
    st.integers(-5, 100_000).map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(max_size=20).map(lambda t: json.dumps(t)),
    st.lists(st.text(max_size=30).map(lambda t: json.dumps(t)), max_size=4).map(
        lambda items: "[" + ", ".join(items) + "]"
    ),
    st.sampled_from(
        ["{ min = 1, max = 2 }", "{ min = 9 }", '{ origins = ["*"] }', "{}", '"env:X"']
    ),
)
_TABLES = st.sampled_from(["[policy]", "[settings]", "[[targets]]", "[other]", ""])
_DOCUMENTS = st.lists(
    st.tuples(_TABLES, st.lists(st.tuples(st.sampled_from(_KEYS), _VALUES), max_size=5)), max_size=4
).map(
    lambda tables: "\n".join(
        "\n".join([header, *(f"{key} = {value}" for key, value in pairs)])
        for header, pairs in tables
    )
)


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(_DOCUMENTS, st.text(max_size=200)))
def test_fuzzed_policy_documents_give_only_policy_errors(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "corscheck.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        loaded = load_policy_file(path, environ={"X": "1"})
    except PolicyError as error:
        # Every problem of the file, a line each, each naming the file.
        assert all(line.startswith(str(path)) for line in str(error).splitlines())
    else:
        # A file that loads says something: a policy, targets, ignores, or [settings] alone.
        tables = tomllib.loads(text)
        assert loaded.policy is not None or loaded.targets or loaded.ignores or "settings" in tables


def test_max_age_zero_is_the_lowest_bound_accepted(tmp_path: Path) -> None:
    """The boundary of max-age-negative above: 0 is a bound (no caching), as --max-age 0 is."""
    path = write(tmp_path, '[policy]\norigins = ["https://a.example"]\nmax-age = 0\n')
    policy = load_policy_file(path).policy
    assert policy is not None and policy.max_age is not None and policy.max_age.max == 0


def test_as_is_setting_judges_urls_as_given(tmp_path: Path) -> None:
    from corscheck.config import Flags, resolve

    text = "[settings]\nas-is = true\n"
    loaded = load_policy_file(write(tmp_path, text))
    assert loaded.settings == {"as-is": True}
    assert resolve(Flags(), ["http://api.example.test/x"], loaded).as_is
    assert not resolve(Flags(), ["http://api.example.test/x"]).as_is
