"""The allow-list as the code writes it: the CORS settings read from an app or an nginx file, each
with where it is written, what the framework grants with it, and the witnesses of its regexes. Pure.

Reading them is appconfig.py's (a Python app) and nginxconf.py's (nginx) job; this module takes the
settings as plain data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from corscheck.witness import (
    FLAWS,
    MatchRule,
    UnsupportedRegex,
    Witness,
    accepts,
    corrected_regex,
    regex_witnesses,
    spelled_out,
)

EntryKind = Literal["exact", "regex", "any"]

# The framework's own words for how it applies a regex, as a finding quotes them.
RULE_WORDS: dict[MatchRule, str] = {
    "fullmatch": "the whole Origin must match (re.fullmatch)",
    "match": "matched from the start of the Origin, not anchored at its end (re.match)",
    "search": "searched anywhere in the Origin (PCRE, unanchored)",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One allow-list entry: an exact origin, a regex, or every origin."""

    kind: EntryKind
    value: str  # the origin, the regex as written, or "*"
    setting: str  # the framework's name for it: allow_origin_regex, CORS_ALLOWED_ORIGINS, ...
    where: str  # file:line, or the setting and module where no line is known
    rule: MatchRule = "fullmatch"
    ignore_case: bool = False


@dataclass(frozen=True, slots=True)
class WrittenAllowList:
    framework: str  # a key of FIX_SYNTAX
    source: str  # what was read, as the user named it
    entries: tuple[Entry, ...] = ()
    credentials: bool | None = None
    methods: tuple[str, ...] | None = None
    headers: tuple[str, ...] | None = None
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    notes: tuple[str, ...] = field(default=())
    # Regexes set aside: trying them took too long (appconfig.tried); what they grant is not known.
    untried: tuple[Entry, ...] = ()

    @property
    def exact_origins(self) -> tuple[str, ...]:
        return tuple(e.value for e in self.entries if e.kind == "exact")

    @property
    def regexes(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.kind == "regex")

    def grants(self, origin: str) -> Entry | None:
        """The entry through which the code grants `origin`, as its framework applies it."""
        for entry in self.entries:
            if entry.kind == "any":
                return entry
            if entry.kind == "exact":
                if origin == entry.value or (
                    entry.ignore_case and origin.lower() == entry.value.lower()
                ):
                    return entry
            elif _accepts(entry, origin):
                return entry
        return None


@dataclass(frozen=True, slots=True)
class RegexWitness:
    """An attacker origin a regex entry grants, why, and the regex mended (None: list origins)."""

    entry: Entry
    witness: Witness
    mended: str | None
    framework: str  # the allow-list's (WrittenAllowList.framework), for the fix's syntax

    @property
    def origin(self) -> str:
        return self.witness.origin


def witnesses(allow_list: WrittenAllowList, owner_origins: Sequence[str]) -> list[RegexWitness]:
    """Every regex entry's witnesses (witness.regex_witnesses), the owner's origins being those
    given (a policy's) and the exact entries; a witness another entry grants exactly is left out
    (that entry says the owner trusts it). A regex witnesses cannot be built for is skipped here:
    `unreadable_regexes` says which."""
    owners = [*owner_origins, *allow_list.exact_origins]
    found: list[RegexWitness] = []
    for entry in allow_list.regexes:
        try:
            built = regex_witnesses(
                entry.value, entry.rule, ignore_case=entry.ignore_case, owner_origins=owners
            )
        except (re.error, UnsupportedRegex):
            continue
        mended = corrected_regex(
            entry.value, entry.rule, built, ignore_case=entry.ignore_case, owner_origins=owners
        )
        for witness in built:
            if witness.origin not in allow_list.exact_origins:
                found.append(RegexWitness(entry, witness, mended, allow_list.framework))
    return found


def unreadable_regexes(allow_list: WrittenAllowList) -> list[str]:
    """One line per regex entry no witness can be built for: it does not compile, or uses what
    witness.py does not build (a backreference)."""
    lines = []
    for entry in allow_list.regexes:
        try:
            regex_witnesses(entry.value, entry.rule, ignore_case=entry.ignore_case)
        except re.error as error:
            lines.append(
                f"{entry.where}: {entry.setting} {entry.value!r} does not compile: {error}"
            )
        except UnsupportedRegex as error:
            lines.append(f"{entry.where}: {entry.setting} {entry.value!r}: {error}")
    return lines


@dataclass(frozen=True, slots=True)
class DeclaredPolicy:
    """The policy an allow-list declares, as `init --from-app` writes it: build_policy's fields,
    and a comment line for each regex that no list of origins stands for."""

    origins: tuple[str, ...]
    methods: tuple[str, ...] | None
    headers: tuple[str, ...] | None
    expose: tuple[str, ...]
    credentials: bool
    comments: tuple[str, ...]


def declared_policy(allow_list: WrittenAllowList) -> DeclaredPolicy:
    """Exact entries as origins ("*" for every origin), a regex of literals as the owner's origins
    it spells out, any other regex as a comment naming its attacker witnesses."""
    origins: list[str] = []
    comments: list[str] = []
    exact = list(allow_list.exact_origins)
    found = witnesses(allow_list, ())
    for entry in allow_list.entries:
        if entry.kind == "any":
            origins.append("*")
        elif entry.kind == "exact":
            origins.append(entry.value)
        else:
            listed = _spelled_out(entry, exact)
            origins += listed
            if not listed:
                shown = [f"{w.origin} ({w.witness.kind})" for w in found if w.entry == entry]
                comments.append(
                    f'{entry.setting} r"{entry.value}" ({entry.where}, {entry.rule}) is not a list '
                    "of origins: list the front-ends it is meant for; "
                    + (
                        f"it also grants {', '.join(shown)}"
                        if shown
                        else "no attacker origin found"
                    )
                )
    wild = ("*",)
    comments += [
        f'{e.setting} r"{e.value}" ({e.where}) could not be tried in time: list the front-ends '
        "it is meant for"
        for e in allow_list.untried
    ]
    return DeclaredPolicy(
        tuple(dict.fromkeys(origins)),
        None if allow_list.methods is None or allow_list.methods == wild else allow_list.methods,
        None if allow_list.headers is None or allow_list.headers == wild else allow_list.headers,
        allow_list.expose,
        bool(allow_list.credentials) and "*" not in origins,
        tuple(comments),
    )


def _spelled_out(entry: Entry, owners: Sequence[str]) -> list[str]:
    try:
        return spelled_out(entry.value, ignore_case=entry.ignore_case, owner_origins=owners)
    except (re.error, UnsupportedRegex):
        return []


def flaw_words(kind: str) -> str:
    return FLAWS.get(kind, kind)


def _accepts(entry: Entry, origin: str) -> bool:
    try:
        return accepts(entry.value, entry.rule, origin, ignore_case=entry.ignore_case)
    except re.error:
        return False
