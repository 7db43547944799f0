"""Policy files: `corscheck.toml`, or `[tool.corscheck]` in `pyproject.toml`. Reading, validating with
file and line, and writing them back (`corscheck init`). Pure except for reading and writing the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from corscheck.errors import PolicyError, PolicyProblems, UsageError
from corscheck.gate.suppression import Ignore
from corscheck.policy import MaxAge, Policy, build_policy, normalize_origin_entry
from corscheck.visitor import PROFILES, Cookie, parse_cookie

POLICY_KEYS = {
    "origins",
    "methods",
    "headers",
    "expose",
    "credentials",
    "max-age",
    "private-network",
    "placeholder",
}
SETTINGS_KEYS = {
    "depth",
    "concurrency",
    "timeout",
    "fail-on",
    "headers",
    "per-host",
    "jobs",
    "rate",
    "cookies",
    "browsers",
    "user-agent",
    "as-is",
}
TOP_KEYS = {"policy", "targets", "settings", "ignore"}
IGNORE_KEYS = {"rule", "target", "origin", "reason", "expires"}


@dataclass(frozen=True, slots=True)
class FileTarget:
    url: str
    policy: Policy
    line: int


@dataclass(frozen=True, slots=True)
class PolicyFile:
    path: str
    policy: Policy | None
    targets: tuple[FileTarget, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    # The line of the table the file's policy starts at, for reports that point into the file.
    policy_line: int | None = None
    ignores: tuple[Ignore, ...] = ()
    # `placeholder = true` in [policy]: corscheck init's template, not yet edited (its line).
    placeholder_line: int | None = None


def parse_policy_text(
    name: str, text: str, environ: Mapping[str, str] | None = None, *, read_secrets: bool = True
) -> PolicyFile:
    """The validated contents of the policy file `name` whose text is `text` (inputs.py reads it).
    Raises PolicyError naming the file and the line. Without `read_secrets` (printing the policy,
    which sends nothing), `env:` references are checked but not read: their values are left out."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = _decode_error_line(str(error)) or (len(text.splitlines()) or 1)
        raise PolicyError(
            f"not valid TOML: {_strip_position(str(error))}", file=name, line=line
        ) from None
    lines = _Lines(name, text)
    if Path(name).name == "pyproject.toml":
        tool = data.get("tool", {})
        if not isinstance(tool, dict) or "corscheck" not in tool:
            raise PolicyError("pyproject.toml has no [tool.corscheck] table", file=name)
        data = tool["corscheck"]
        lines.prefix = "tool.corscheck."
    environ = environ if environ is not None else os.environ
    return parse_policy_document(data, lines, environ if read_secrets else None)


class _Lines:
    """Finds the line of a key in the file's text (tomllib keeps no positions)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        # The file as reports name it: relative to the working directory when below it.
        try:
            self.shown = Path(name).resolve().relative_to(Path.cwd().resolve()).as_posix()
        except (ValueError, OSError):
            self.shown = name
        self.text_lines = text.splitlines()
        self.prefix = ""
        self.problems: list[PolicyError] = []

    @contextmanager
    def each(self) -> Iterator[None]:
        """One unit of checking: its first problem is kept and checking goes on with the next unit,
        so that one run reports every problem of the file."""
        try:
            yield
        except _Abandoned:
            pass
        except PolicyError as error:
            self.problems.append(error)

    def note(self, error: PolicyError) -> None:
        self.problems.append(error)

    def raise_problems(self) -> None:
        if self.problems:
            ordered = sorted(self.problems, key=lambda e: e.line or 0)
            raise PolicyProblems(ordered)

    def of(self, table: str | None, key: str | None = None, occurrence: int = 0) -> int | None:
        if table is None:
            return self._anywhere(key) if key else None
        header = re.compile(
            r"^\s*\[\[?\s*" + re.escape(self.prefix + table) + r"\s*\]\]?\s*(#.*)?$"
        )
        seen = -1
        start = None
        for number, line in enumerate(self.text_lines, 1):
            if header.match(line):
                seen += 1
                if seen == occurrence:
                    start = number
                    break
        if key is None or start is None:
            return start if key is None else self._anywhere(key)
        key_pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        # The key's own line; else the section's inline `policy = {…}` line; else the header.
        fallback = start
        inline = re.compile(r"^\s*policy\s*=")
        for number in range(start, len(self.text_lines)):
            line = self.text_lines[number]
            if re.match(r"^\s*\[", line):
                break
            if key_pattern.match(line):
                return number + 1
            if inline.match(line):
                fallback = number + 1
        return fallback

    def _anywhere(self, key: str) -> int | None:
        pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        return next((n for n, line in enumerate(self.text_lines, 1) if pattern.match(line)), None)

    def error(
        self, message: str, table: str | None, key: str | None = None, occurrence: int = 0
    ) -> PolicyError:
        return PolicyError(message, file=self.name, line=self.of(table, key, occurrence))


def _closest(key: str, known: set[str], otherwise: str) -> str:
    """'did you mean …?' for a misspelt key, else the list of the keys expected."""
    from difflib import get_close_matches

    close = get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else otherwise


class _Abandoned(Exception):
    """A unit whose problems are already noted: nothing more can be built from it."""


def parse_policy_document(
    data: Mapping[str, Any], lines: _Lines, environ: Mapping[str, str] | None
) -> PolicyFile:
    for key in data:
        if key not in TOP_KEYS:
            lines.note(
                lines.error(
                    f"unknown table or key {key!r}; expected [policy], [[targets]], [settings] "
                    "or [[ignore]]",
                    key if isinstance(data[key], dict) else None,
                    None if isinstance(data[key], dict) else key,
                )
            )
    if not any(table in data for table in ("policy", "targets", "ignore", "settings")):
        # [settings] alone is a CI gate's choice (fail-on, depth) over the safe baseline.
        raise PolicyError(
            "no [policy], [[targets]] or [settings]: run 'corscheck init' for a template",
            file=lines.name,
        )
    top = data.get("policy")
    policy = None
    policy_broken = False
    placeholder_line = None
    if isinstance(top, dict) and "placeholder" in top:
        placeholder_line = lines.of("policy", "placeholder") or lines.of("policy")
        if top["placeholder"] is not True:
            lines.note(
                lines.error(
                    "placeholder must be true (init's template) or left out",
                    "policy",
                    "placeholder",
                )
            )
    if top is not None:
        policy_broken = True
        with lines.each():
            if not isinstance(top, dict):
                raise lines.error("[policy] must be a table", "policy")
            policy = _policy(top, lines, "policy", 0, base=None)
            policy_broken = False
    targets: list[FileTarget] = []
    raw_targets = data.get("targets", [])
    if not isinstance(raw_targets, list):
        lines.note(lines.error("targets must be an array of tables: [[targets]]", "targets"))
        raw_targets = []
    for index, entry in enumerate(raw_targets):
        with lines.each():
            target = _target(entry, index, lines, policy, policy_broken)
            if target is not None:
                targets.append(target)
    settings = data.get("settings", {})
    checked_settings: dict[str, Any] = {}
    if not isinstance(settings, dict):
        lines.note(lines.error("[settings] must be a table", "settings"))
    else:
        checked_settings = _settings(settings, lines, environ)
    ignores: tuple[Ignore, ...] = ()
    with lines.each():
        ignores = _ignores(data.get("ignore", []), lines)
    lines.raise_problems()
    return PolicyFile(
        lines.name,
        policy,
        tuple(targets),
        checked_settings,
        lines.of("policy"),
        ignores,
        placeholder_line,
    )


def _target(
    entry: Any, index: int, lines: _Lines, policy: Policy | None, policy_broken: bool
) -> FileTarget | None:
    """One [[targets]] entry, or None when its problems are noted."""
    if not isinstance(entry, dict):
        raise lines.error("each [[targets]] entry must be a table", "targets", None, index)
    unknown = [key for key in entry if key not in ("url", "policy")]
    for key in unknown:
        lines.note(
            lines.error(
                f"unknown key {key!r} in [[targets]]; expected url and policy",
                "targets",
                key,
                index,
            )
        )
    url = entry.get("url")
    if not isinstance(url, str) or not url.strip():
        raise lines.error('[[targets]] needs url = "https://…"', "targets", None, index)
    override = entry.get("policy")
    if override is None:
        if policy_broken:
            return None  # the [policy] table's own problems are noted already
        if policy is None:
            raise lines.error(
                f"target {url!r} has no policy: add a [policy] table or a per-target policy",
                "targets",
                "url",
                index,
            )
        target_policy = policy
    else:
        if not isinstance(override, dict):
            raise lines.error("a target's policy must be a table", "targets", "policy", index)
        target_policy = _policy(override, lines, "targets", index, base=policy)
    if unknown:
        return None
    return FileTarget(url.strip(), target_policy, lines.of("targets", "url", index) or 0)


def _ignores(raw: Any, lines: _Lines) -> tuple[Ignore, ...]:
    """The [[ignore]] entries: each accepts a rule's findings (on matching targets and origins) with
    a reason, until an optional expiry date."""

    if not isinstance(raw, list):
        raise lines.error("ignore must be an array of tables: [[ignore]]", "ignore")
    ignores = []
    for index, entry in enumerate(raw):
        with lines.each():
            ignores.append(_ignore(entry, index, lines))
    return tuple(ignores)


def _ignore(entry: Any, index: int, lines: _Lines) -> Ignore:
    from corscheck.rules import RULES_BY_ID, unknown_rule_hint

    if not isinstance(entry, dict):
        raise lines.error("each [[ignore]] entry must be a table", "ignore", None, index)
    unknown = [key for key in entry if key not in IGNORE_KEYS]
    for key in unknown:
        lines.note(
            lines.error(
                f"unknown key {key!r} in [[ignore]]; expected one of "
                f"{', '.join(sorted(IGNORE_KEYS))}",
                "ignore",
                key,
                index,
            )
        )
    rule = entry.get("rule")
    if not isinstance(rule, str) or not rule:
        raise lines.error(
            '[[ignore]] needs rule = "…" (a rule id, see corscheck rules)',
            "ignore",
            None,
            index,
        )
    if rule not in RULES_BY_ID:
        raise lines.error(f"no rule {rule!r} ({unknown_rule_hint(rule)})", "ignore", "rule", index)
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise lines.error(
            '[[ignore]] needs reason = "…": say why this finding is accepted',
            "ignore",
            "reason" if "reason" in entry else None,
            index,
        )
    target = entry.get("target")
    if target is not None and (not isinstance(target, str) or not target.strip()):
        raise lines.error(
            'target must be a URL or a glob, like "https://api.example.com/*"',
            "ignore",
            "target",
            index,
        )
    origin = entry.get("origin")
    if origin is not None:
        if not isinstance(origin, str):
            raise lines.error(
                'origin must be a string, like "http://localhost:3000"',
                "ignore",
                "origin",
                index,
            )
        try:
            origin, _ = normalize_origin_entry(origin)
        except PolicyError as error:
            raise lines.error(str(error), "ignore", "origin", index) from None
    expires = entry.get("expires")
    if expires is not None:
        expires = _date(expires)
        if expires is None:
            raise lines.error(
                'expires must be a date, like 2027-03-31 or "2027-03-31"',
                "ignore",
                "expires",
                index,
            )
    if unknown:
        raise _Abandoned
    line = lines.of("ignore", None, index) or 0
    return Ignore(
        rule=rule,
        reason=reason.strip(),
        source=f"{lines.shown}:{line}" if line else lines.shown,
        target=None if target is None else target.strip(),
        origin=origin,
        expires=expires,
    )


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _policy(
    table: Mapping[str, Any], lines: _Lines, where: str, index: int, base: Policy | None
) -> Policy:
    before = len(lines.problems)
    for key in table:
        if key not in POLICY_KEYS:
            lines.note(
                lines.error(
                    f"unknown policy key {key!r}; "
                    + _closest(
                        key, POLICY_KEYS, f"expected one of {', '.join(sorted(POLICY_KEYS))}"
                    ),
                    where,
                    key,
                    index,
                )
            )

    def strings(key: str) -> list[str] | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise lines.error(f'{key} must be a list of strings, like ["…"]', where, key, index)
        return value

    def boolean(key: str) -> bool | None:
        value = table.get(key)
        if value is not None and not isinstance(value, bool):
            raise lines.error(f"{key} must be true or false", where, key, index)
        return value

    max_age = table.get("max-age")
    bounds = base.max_age if base else None
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, (int, dict)):
            raise lines.error(
                "max-age must be seconds or { min = …, max = … }", where, "max-age", index
            )
        if isinstance(max_age, int) and max_age < 0:
            # As --max-age refuses it: a bound below zero allows no answer at all.
            raise lines.error(
                f"max-age must be a whole number of seconds ≥ 0, not {max_age}",
                where,
                "max-age",
                index,
            )
        if isinstance(max_age, int):
            bounds = MaxAge(max=max_age)
        else:
            extra = set(max_age) - {"min", "max"}
            values = [max_age.get("min"), max_age.get("max")]
            if extra or not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
                for v in values
            ):
                raise lines.error(
                    "max-age must be { min = seconds, max = seconds } with whole numbers ≥ 0",
                    where,
                    "max-age",
                    index,
                )
            bounds = MaxAge(min=values[0], max=values[1])
    fields: dict[str, Any] = {}
    for key in ("origins", "methods", "headers", "expose"):
        with lines.each():
            fields[key] = strings(key)
    for key in ("credentials", "private-network"):
        with lines.each():
            fields[key] = boolean(key)
    if len(lines.problems) > before:
        raise _Abandoned
    origins, methods, headers, expose = (
        fields[k] for k in ("origins", "methods", "headers", "expose")
    )
    credentials, private_network = fields["credentials"], fields["private-network"]
    if origins is None and base is None:
        raise lines.error(
            'a policy needs origins = ["https://…"] (or ["*"] for a public API)', where, None, index
        )
    try:
        policy = build_policy(
            origins=origins if origins is not None else (base.origins if base else ()),
            methods=methods if methods is not None else (base.methods if base else None),
            headers=headers if headers is not None else (base.headers if base else None),
            expose=expose if expose is not None else (base.expose if base else ()),
            credentials=credentials if credentials is not None else bool(base and base.credentials),
            max_age=bounds,
            private_network=private_network
            if private_network is not None
            else bool(base and base.private_network),
        )
    except PolicyError as error:
        raise lines.error(error.message, where, error.key, index) from None
    if not policy.warnings:
        return policy
    # A value the file wrote otherwise than browsers send it: warned about where it is written.
    line = lines.of(where, "origins", index)
    at = f"{lines.shown}:{line}: " if line else f"{lines.shown}: "
    return replace(policy, warnings=tuple(at + warning for warning in policy.warnings))


def _settings(
    table: Mapping[str, Any], lines: _Lines, environ: Mapping[str, str] | None
) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in table.items():
        with lines.each():
            _setting(key, value, lines, environ, checked)
    return checked


def _setting(
    key: str,
    value: Any,
    lines: _Lines,
    environ: Mapping[str, str] | None,
    checked: dict[str, Any],
) -> None:
    """One [settings] key, checked; `env:` values read from `environ` (None: not read)."""
    if key not in SETTINGS_KEYS:
        raise lines.error(
            f"unknown setting {key!r}; "
            + _closest(key, SETTINGS_KEYS, f"expected one of {', '.join(sorted(SETTINGS_KEYS))}"),
            "settings",
            key,
        )
    if key == "cookies":
        checked[key] = _cookies(value, lines, environ)
    elif key == "browsers":
        if not isinstance(value, list) or not all(v in PROFILES for v in value) or not value:
            raise lines.error(f"browsers must be a list of {', '.join(PROFILES)}", "settings", key)
        checked[key] = tuple(value)
    elif key == "as-is":
        if not isinstance(value, bool):
            raise lines.error("as-is must be true or false", "settings", key)
        checked[key] = value
    elif key == "user-agent":
        if not isinstance(value, str) or not value.strip():
            raise lines.error('user-agent must be "chrome" or a User-Agent string', "settings", key)
        checked[key] = value
    elif key == "headers":
        if not isinstance(value, dict):
            raise lines.error('headers must be a table: { Name = "env:VARIABLE" }', "settings", key)
        resolved = []
        for name, spec in value.items():
            read = _from_environment(
                spec,
                f'header {name}: give the value as "env:VARIABLE"; secrets never go in the file',
                f"header {name}",
                key,
                lines,
                environ,
            )
            if read is not None:
                resolved.append((name, read[1]))
        checked[key] = tuple(resolved)
    elif key in ("concurrency", "per-host", "jobs"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise lines.error(f"{key} must be a whole number ≥ 1", "settings", key)
        checked[key] = value
    elif key in ("timeout", "rate"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise lines.error(f"{key} must be a number above 0", "settings", key)
        checked[key] = float(value)
    elif key == "depth":
        if value not in ("quick", "standard", "thorough"):
            raise lines.error("depth must be quick, standard or thorough", "settings", key)
        checked[key] = value
    elif key == "fail-on":
        if value not in ("critical", "high", "medium", "low", "never"):
            raise lines.error(
                "fail-on must be critical, high, medium, low or never", "settings", key
            )
        checked[key] = value


def _from_environment(
    spec: Any,
    not_a_reference: str,
    subject: str,
    key: str,
    lines: _Lines,
    environ: Mapping[str, str] | None,
) -> tuple[str, str] | None:
    """The variable an "env:VARIABLE" setting names and its value; None when secrets are not read
    (environ None). Raises the file's error for anything else, or for a variable not set."""
    if not isinstance(spec, str) or not spec.startswith("env:"):
        raise lines.error(not_a_reference, "settings", key)
    variable = spec[4:]
    if environ is None:
        return None
    if variable not in environ:
        raise lines.error(f"{subject}: environment variable {variable} is not set", "settings", key)
    return variable, environ[variable]


def _cookies(value: Any, lines: _Lines, environ: Mapping[str, str] | None) -> tuple[Cookie, ...]:
    """The visitor's cookies, each an "env:VARIABLE" whose value is a Set-Cookie line."""
    if not isinstance(value, list):
        raise lines.error('cookies must be a list: ["env:SESSION_COOKIE"]', "settings", "cookies")
    cookies = []
    for spec in value:
        read = _from_environment(
            spec,
            'give each cookie as "env:VARIABLE" (its value a Set-Cookie line); secrets never '
            "go in the file",
            "cookie",
            "cookies",
            lines,
            environ,
        )
        if read is None:
            continue
        variable, line = read
        try:
            cookies.append(parse_cookie(line))
        except UsageError as error:
            message = f"{variable}: " + str(error).replace("--cookie ", "cookie ", 1)
            raise lines.error(message, "settings", "cookies") from None
    return tuple(cookies)


def _decode_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match[1]) if match else None


def _strip_position(message: str) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
