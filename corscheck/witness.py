"""Attacker origins that an allow-list's regex accepts under its framework's match rule. Pure.

A regex names the origins a team means (`https://(app|admin)\\.example\\.com`) and, through an
unescaped dot, a missing anchor or a wildcard, others it does not. `regex_witnesses` builds the
strings the regex accepts from its parsed form (re._parser), a bounded handful per choice point, and
keeps those that are valid serialized origins, are accepted by the compiled regex *under the
framework's rule* and are not the owner's: one witness per kind of flaw, the shortest.

The framework rules (what each calls on the Origin):
- fullmatch: Starlette/FastAPI `allow_origin_regex`, Litestar `allow_origins`/`allow_origin_regex`;
- match (anchored at the start only): django-cors-headers, Flask-CORS (ignoring case), Quart-CORS;
- search (anywhere): nginx `~` and `~*` (ignoring case).

Whose origins: the owner's sites are those of the origins given as the owner's (the policy's, the
config's exact entries) and of the regex's intended strings (every alternative with each dot a dot
and each wildcard at its least); where intended strings differ only in the public suffix
(`example\\.(com|net)`), the first is taken as the owner's and the others as foreign: list them in
the policy to say they are yours.

Witness hosts use the reserved `corscheck` marker where the regex lets them (a prefix in a label,
`.corscheck-attacker.example` after a name): an Origin header is never resolved, and a proof maps
the name to loopback.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Literal

from corscheck.addresses import address_space
from corscheck.headers import parse_origin
from corscheck.origins import ATTACKER_DOMAIN, ATTACKER_LABEL, listed_site, registrable_domain

MatchRule = Literal["fullmatch", "match", "search"]
MATCH_RULES: tuple[MatchRule, ...] = ("fullmatch", "match", "search")

# Kind of flaw -> what it is, as a finding says it after "the regex accepts <witness>: ".
FLAWS: dict[str, str] = {
    "unescaped-dot": "an unescaped dot matches any character, not only a dot",
    "no-end-anchor": "nothing anchors its end, so a trusted name can go on into another domain",
    "no-start-anchor": "nothing anchors its start, so another domain can end with a trusted name",
    "alternation": "its anchors bind to one alternative only (^a|b$ is (^a)|(b$), not ^(a|b)$)",
    "foreign-domain": "it accepts a domain or top-level domain the owner does not hold",
    "hosting-platform": "it accepts a site on a hosting platform where anyone can publish",
    "wildcard": "a wildcard crosses a label boundary into domains anyone can register",
    "port": "it accepts another port on a loopback host, where any local program can listen",
    "http": "it accepts http://, which anyone on the network path can serve",
}

_MARK = "corscheck"
_SUFFIX = f".{ATTACKER_DOMAIN}"
_WHOLE = f"https://{ATTACKER_DOMAIN}"
# Strings a repeat of one character class may take beyond its least: readable markers first.
_FILLERS = (_MARK, _SUFFIX, _WHOLE, f"{ATTACKER_LABEL}.")
# Characters tried for one position of a class: a letter first, as hosts are made of them.
_CHARS = "axz19-."
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HOSTING_SUFFIXES = (
    "github.io", "gitlab.io", "vercel.app", "netlify.app", "herokuapp.com", "pages.dev",
    "web.app", "firebaseapp.com", "azurewebsites.net", "appspot.com", "workers.dev",
    "onrender.com", "glitch.me", "surge.sh", "ngrok-free.app", "s3.amazonaws.com",
    "blob.core.windows.net", "cloudfront.net", "fly.dev", "railway.app",
)  # fmt: skip
# Bounds: strings built per regex, choices per repeat; a regex is a handful of milliseconds.
_MAX_STRINGS = 4096
_MAX_EXTRA_REPEATS = 1


class UnsupportedRegex(ValueError):
    """The regex uses what witnesses are not built for (a backreference, a conditional)."""


@dataclass(frozen=True, slots=True)
class Witness:
    origin: str
    kind: str  # a key of FLAWS


@dataclass(frozen=True, slots=True)
class _Text:
    """A string the regex may accept, and the marks of how it was built."""

    text: str
    tags: frozenset[str] = frozenset()

    def __add__(self, other: _Text) -> _Text:
        return _Text(self.text + other.text, self.tags | other.tags)


def regex_witnesses(
    pattern: str,
    rule: MatchRule,
    *,
    ignore_case: bool = False,
    owner_origins: Sequence[str] = (),
) -> list[Witness]:
    """One witness per kind of flaw, the shortest (then the first in alphabetical order), in the
    order of FLAWS. Raises re.error for a regex that does not compile and UnsupportedRegex for one
    witnesses are not built for."""
    flags = re.IGNORECASE if ignore_case else 0
    compiled = re.compile(pattern, flags)
    granted = getattr(compiled, rule)
    parsed = sre_parse.parse(pattern, flags)
    strings = _strings(list(parsed), 0)
    owned = _Owner(owner_origins, _intended(strings, ignore_case), _alternates_suffix(pattern))
    uneven = _uneven_anchors(list(parsed))
    best: dict[str, str] = {}
    for candidate in _framed(strings, rule):
        origin = _lower(candidate.text, ignore_case)
        if not _valid(origin) or owned.holds(origin) or not owned.obtainable(origin):
            continue
        if not granted(origin):
            continue
        kind = _kind(origin, candidate.tags, owned, uneven)
        shown = best.get(kind)
        if shown is None or _rank(origin) < _rank(shown):
            best[kind] = origin
    return [Witness(best[kind], kind) for kind in FLAWS if kind in best]


def intended_origins(pattern: str, *, ignore_case: bool = False) -> list[str]:
    """The valid origins among the regex's intended strings: every alternative, each dot a dot and
    each repeat at its least (what `regex_witnesses` takes as the owner's)."""
    parsed = sre_parse.parse(pattern, re.IGNORECASE if ignore_case else 0)
    return _intended(_strings(list(parsed), 0), ignore_case)


def _intended(strings: list[_Text], ignore_case: bool) -> list[str]:
    """The intended strings as origins; a regex without a scheme (`example\\.com$`) means https."""
    texts = list(dict.fromkeys(_lower(s.text, ignore_case) for s in strings if not s.tags))
    # A wildcard at its least leaves an empty label (https://.*\\.example\\.com gives
    # "https://.example.com"): the name it stands before is still the owner's.
    texts = [_REPAIRS.sub(".", t).replace("://.", "://") for t in texts]
    origins = [t for t in texts if _valid(t)]
    return origins or [
        f"https://{t.lstrip('.')}" for t in texts if _valid(f"https://{t.lstrip('.')}")
    ]


_REPAIRS = re.compile(r"\.{2,}")


def _rank(origin: str) -> tuple[bool, bool, int, str]:
    """Readable first (the corscheck marker names the attacker), https, then the shortest."""
    return _MARK not in origin, origin.startswith("http://"), len(origin), origin


def spelled_out(
    pattern: str, *, ignore_case: bool = False, owner_origins: Sequence[str] = ()
) -> list[str]:
    """The owner's origins a regex spells out: for a regex of literals, dots, groups and
    alternatives only, its intended origins the owner holds (module doc); [] for any other regex,
    which no list of origins can stand for."""
    if not _literal(pattern, ignore_case):
        return []
    intended = intended_origins(pattern, ignore_case=ignore_case)
    owner = _Owner(owner_origins, intended, _alternates_suffix(pattern))
    return [o for o in intended if owner.holds(o)]


def accepts(pattern: str, rule: MatchRule, origin: str, *, ignore_case: bool = False) -> bool:
    """Whether the framework's `rule` with `pattern` grants `origin`."""
    compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    return bool(getattr(compiled, rule)(origin))


def corrected_regex(
    pattern: str,
    rule: MatchRule,
    witnesses: Sequence[Witness],
    *,
    ignore_case: bool = False,
    owner_origins: Sequence[str] = (),
) -> str | None:
    """The regex with its flaws mended, checked under `rule`: it grants none of `witnesses` and
    every intended origin of the owner's it granted. None where no mended regex passes the check
    (the fix then lists the exact origins)."""
    kinds = {w.kind for w in witnesses}
    # Flask-CORS reads "https://*.example.com" as a regex: the glob it was meant as is subdomains.
    mended = pattern.replace("://*.", "://([a-z0-9-]+\\.)+")
    if "unescaped-dot" in kinds:
        mended = _LONE_DOT.sub(r"\\.", mended)
    if "wildcard" in kinds or "no-end-anchor" in kinds:
        mended = _WILD_BEFORE_DOT.sub(r"([a-z0-9-]+\\.)+", mended)
        mended = _WILD_BEFORE_NAME.sub(r"([a-z0-9-]+\\.)*", mended)
    if "http" in kinds:
        mended = mended.replace("https?://", "https://").replace("(http|https)://", "https://")
    mended = f"^(?:{mended.removeprefix('^').removesuffix('$')})$"
    given = [o for o in owner_origins if accepts(pattern, rule, o, ignore_case=ignore_case)]
    # A regex of literals spells out what its author meant; any other one, what it grants of the
    # owner's among the strings built from it.
    spelled = spelled_out(pattern, ignore_case=ignore_case, owner_origins=owner_origins)
    keep = list(dict.fromkeys([*given, *spelled]))
    keep += [
        o for o in _owners_granted(pattern, rule, ignore_case, owner_origins)[:8] if o not in keep
    ]
    if kinds & {"foreign-domain", "hosting-platform", "port"} or not _mends(
        mended, rule, witnesses, keep, ignore_case
    ):
        if not _literal(pattern, ignore_case):
            return None  # no list of origins stands for a wildcard's reach
        exact = list(dict.fromkeys([*given, *spelled]))
        mended = "^(?:" + "|".join(re.escape(o) for o in exact) + ")$"
        if not exact or not _mends(mended, rule, witnesses, exact, ignore_case):
            return None
    return mended


def _owners_granted(
    pattern: str, rule: MatchRule, ignore_case: bool, owner_origins: Sequence[str]
) -> list[str]:
    """Built origins the regex grants that are the owner's: what a mended regex must still grant."""
    compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    strings = _strings(list(sre_parse.parse(pattern, compiled.flags)), 0)
    owner = _Owner(owner_origins, _intended(strings, ignore_case), _alternates_suffix(pattern))
    found = []
    for candidate in _framed(strings, rule):
        origin = _lower(candidate.text, ignore_case)
        if (
            origin.startswith("https://")
            and _valid(origin)
            and owner.holds(origin)
            and getattr(compiled, rule)(origin)
        ):
            found.append(origin)
    return list(dict.fromkeys(found))


_LONE_DOT = re.compile(r"(?<![\\\[])\.(?![*+?{])")
_WILD_BEFORE_DOT = re.compile(r"\.[*+]\\\.")
_WILD_BEFORE_NAME = re.compile(r"\.[*+](?=[a-z0-9(\\])")


def _literal(pattern: str, ignore_case: bool) -> bool:
    """Whether the regex is literals, dots, anchors, groups and alternatives only (no class, no
    repeat): then its intended strings are exactly what its author wrote out."""
    simple = (sre.LITERAL, sre.ANY, sre.AT, sre.BRANCH, sre.SUBPATTERN)

    def walk(items: Any) -> bool:
        for op, value in items:
            if op not in simple:
                return False
            if op is sre.BRANCH and not all(walk(b) for b in value[1]):
                return False
            if op is sre.SUBPATTERN and not walk(value[-1]):
                return False
        return True

    return walk(sre_parse.parse(pattern, re.IGNORECASE if ignore_case else 0))


def _mends(
    pattern: str, rule: MatchRule, witnesses: Sequence[Witness], keep: Sequence[str], ignore: bool
) -> bool:
    try:
        refused = not any(accepts(pattern, rule, w.origin, ignore_case=ignore) for w in witnesses)
        return refused and all(accepts(pattern, rule, o, ignore_case=ignore) for o in keep)
    except re.error:
        return False


# --- building strings -----------------------------------------------------------------------------


def _strings(items: list[tuple[Any, Any]], depth: int) -> list[_Text]:
    """Strings a sequence of parsed items may match, bounded, intended ones first."""
    if depth > 20:
        raise UnsupportedRegex("the regex nests too deep")
    result = [_Text("")]
    for op, value in items:
        choices = _choices(op, value, depth)
        result = list(itertools.islice((a + b for a in result for b in choices), _MAX_STRINGS))
    return result


def _choices(op: Any, value: Any, depth: int) -> list[_Text]:
    if op is sre.LITERAL:
        return [_Text(chr(value))]
    if op is sre.ANY:
        # A lone unescaped dot: the intended "." and a letter, which is the flaw.
        return [_Text("."), _Text("x", frozenset({"dot"}))]
    if op is sre.IN or op is sre.CATEGORY or op is sre.NOT_LITERAL:
        if op is sre.IN:
            items = value
        elif op is sre.CATEGORY:
            items = [(sre.CATEGORY, value)]
        else:  # `[^b]` parses as NOT_LITERAL: a class like any other, its first member intended
            items = [(sre.NEGATE, None), (sre.LITERAL, value)]
        chars = _class_chars(items)
        if not chars:
            return []
        first = _Text(chars[0])
        return [first, *(_Text(c, frozenset({"dot"})) for c in chars[1:] if c == ".")]
    if op is sre.BRANCH:
        return [s for alternative in value[1] for s in _strings(list(alternative), depth + 1)]
    if op is sre.SUBPATTERN:
        return _strings(list(value[-1]), depth + 1)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
        return _repeat(value, depth)
    if op is sre.AT or op in (sre.ASSERT, sre.ASSERT_NOT):
        return [_Text("")]  # anchors and lookarounds: the compiled regex decides
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _strings(list(value), depth + 1)
    words = {"GROUPREF": "a backreference", "GROUPREF_EXISTS": "a conditional group"}
    raise UnsupportedRegex(
        f"no witness is built for {words.get(str(op), str(op).lower())}: audited from outside only"
    )


def _repeat(value: tuple[int, int, Any], depth: int) -> list[_Text]:
    low, high, sub = value
    high = low + 64 if high is sre.MAXREPEAT else high
    items = list(sub)
    if len(items) == 1 and items[0][0] in (sre.ANY, sre.IN, sre.CATEGORY, sre.NOT_LITERAL):
        return _filled(items, low, high)
    one = _strings(items, depth + 1)
    counts = range(low, min(high, low + _MAX_EXTRA_REPEATS) + 1)
    result: list[_Text] = []
    for count in counts:
        for parts in itertools.islice(itertools.product(one, repeat=count), 64):
            joined = _Text(
                "".join(p.text for p in parts), frozenset().union(*(p.tags for p in parts))
            )
            result.append(joined)
    return result


def _filled(items: list[tuple[Any, Any]], low: int, high: int) -> list[_Text]:
    """A repeat of one character (`.*`, `[a-z0-9-]+`, `\\w+`): its least, then the fillers it
    takes (a wildcard's reach), then a short run of its first character."""
    op, value = items[0]
    klass = value if op is sre.IN else [(sre.CATEGORY, value)]

    def accepted(c: str) -> bool:
        if op is sre.ANY:
            return c != "\n"
        if op is sre.NOT_LITERAL:
            return ord(c) != int(value)
        return _in_class(c, klass)

    first = next(iter(_class_chars(klass)), None) if op is sre.IN or op is sre.CATEGORY else None
    first = first or next((c for c in _CHARS if accepted(c)), None)
    if first is None:
        return [_Text("")] if low == 0 else []
    result = [_Text(first * low)]
    for filler in _FILLERS:
        if low <= len(filler) <= high and all(accepted(c) for c in filler):
            result.append(_Text(filler, frozenset({"wild"})))
    if low + 1 <= high:
        result.append(_Text(first * (low + 1), frozenset({"wild"})))
    return result


def _class_chars(items: list[tuple[Any, Any]]) -> list[str]:
    """Characters tried for a class: those of _CHARS it holds, else its first member (`[c-d]`,
    `(c|d)`, which parses as a class)."""
    chars = [c for c in _CHARS if _in_class(c, items)]
    if chars:
        return chars
    for op, value in items:
        if op is sre.LITERAL and _in_class(chr(value), items):
            return [chr(value)]
        if op is sre.RANGE and _in_class(chr(value[0]), items):
            return [chr(value[0])]
    return []


def _in_class(char: str, items: list[tuple[Any, Any]]) -> bool:
    negate = False
    found = False
    code = ord(char)
    for op, value in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            found = found or code == value
        elif op is sre.RANGE:
            found = found or value[0] <= code <= value[1]
        elif op is sre.CATEGORY:
            found = found or _in_category(char, value)
    return found != negate


def _in_category(char: str, category: Any) -> bool:
    name = str(category).upper()
    if "NOT_DIGIT" in name:
        return not char.isdigit()
    if "DIGIT" in name:
        return char.isdigit()
    if "NOT_WORD" in name:
        return not (char.isalnum() or char == "_")
    if "WORD" in name:
        return char.isalnum() or char == "_"
    if "NOT_SPACE" in name:
        return not char.isspace()
    if "SPACE" in name:
        return char.isspace()
    return False


def _framed(strings: list[_Text], rule: MatchRule) -> Iterator[_Text]:
    """The strings as the rule lets them sit in an Origin: `match` lets anything follow them,
    `search` precede them too (a scheme, a marker in the first label)."""
    before = [_Text("")]
    after = [_Text("")]
    if rule != "fullmatch":
        after.append(_Text(_SUFFIX, frozenset({"end"})))
    if rule == "search":
        before += [_Text("https://"), _Text("http://")]
        before += [_Text(f"https://{_MARK}", frozenset({"start"}))]
    for text in strings:
        for head in before:
            for tail in after:
                yield head + text + tail


def _uneven_anchors(items: list[tuple[Any, Any]]) -> bool:
    """A top-level alternation whose alternatives do not all carry the same anchors: ^a|b$."""
    branches = [value[1] for op, value in items if op is sre.BRANCH]
    if len(items) != 1 or not branches:
        return False
    starts = {bool(b) and next(iter(b))[0] is sre.AT for b in branches[0]}
    ends = {bool(b) and list(b)[-1][0] is sre.AT for b in branches[0]}
    return len(starts) > 1 or len(ends) > 1


# --- whose origin ---------------------------------------------------------------------------------


class _Owner:
    """The owner's origins and sites: given ones, and the regex's intended strings (module doc).

    Every intended origin is the owner's, and so is its site, but for two guesses: an http one
    whose https twin is intended too (`https?://`: the http page is anyone's on the network path),
    and, where the regex alternates top-level domains (`example\\.(com|net)`), a site that differs
    from an earlier one only in its public suffix."""

    def __init__(
        self, given: Sequence[str], intended: Sequence[str], suffix_alternation: bool = False
    ) -> None:
        given = [o for o in given if _valid(o)]
        self.origins = set(given)
        self.sites = {_scheme_site(o) for o in given}
        given_sites = {site for _, site in self.sites}
        valid = [o for o in intended if _valid(o)]
        seen_labels: dict[str, str] = {}
        for origin in valid:
            scheme, site = _scheme_site(origin)
            if scheme == "http" and origin.replace("http://", "https://", 1) in valid:
                continue  # https?://: the http twin is the flaw, not the owner's
            label = site.split(".", 1)[0]
            other_suffix = seen_labels.get(label, site) != site and site not in given_sites
            if suffix_alternation and other_suffix:
                continue  # example.(com|net): the first suffix is the owner's
            seen_labels.setdefault(label, site)
            self.sites.add((scheme, site))
            self.origins.add(origin)

    def holds(self, origin: str) -> bool:
        if origin in self.origins:
            return True
        if _is_loopback(origin) or registrable_domain(_host(origin)) is None:
            return False  # an IP or a loopback name: only the exact origins are the owner's
        return _scheme_site(origin) in self.sites

    def obtainable(self, origin: str) -> bool:
        """Whether an attacker can get the origin: a loopback port, a site under a listed public
        suffix that is not the owner's, or the http:// twin of an owner's https origin."""
        host = _host(origin)
        if _is_loopback(origin) or host == ATTACKER_DOMAIN or host.endswith(_SUFFIX):
            return True  # the marker domain stands for any domain an attacker registers
        if self.holds_https(origin):
            return origin.startswith("http://")
        return listed_site(host) is not None

    def holds_https(self, origin: str) -> bool:
        return self.holds(origin.replace("http://", "https://", 1))


# `\\.(com|net)`, `\\.(?:com|co\\.uk)`: an alternation of top-level domains after a dot, at the end
# of the host.
_SUFFIX_ALTERNATION = re.compile(
    r"\\\.\((?:\?:)?[a-z]+(?:\\\.[a-z]+)*(?:\|[a-z]+(?:\\\.[a-z]+)*)+\)(?=$|[$:)|/])",
    re.IGNORECASE,
)


def _alternates_suffix(pattern: str) -> bool:
    return _SUFFIX_ALTERNATION.search(pattern) is not None


def _kind(origin: str, tags: frozenset[str], owner: _Owner, uneven: bool) -> str:
    if origin.startswith("http://") and owner.holds_https(origin):
        return "http"
    if "end" in tags:
        return "alternation" if uneven else "no-end-anchor"
    if "start" in tags:
        return "alternation" if uneven else "no-start-anchor"
    if "dot" in tags:
        return "unescaped-dot"
    host = _host(origin)
    if any(host.endswith("." + s) for s in _HOSTING_SUFFIXES):
        return "hosting-platform"
    if _is_loopback(origin):
        return "port"
    if "wild" in tags:
        return "wildcard"
    return "foreign-domain"


def _valid(text: str) -> bool:
    """A serialized http(s) origin a browser sends: LDH labels, no trailing dot."""
    parsed = parse_origin(text)
    if parsed is None or parsed[0] not in ("http", "https"):
        return False
    host = parsed[1]
    if host.startswith("["):
        return True
    if _ends_in_a_number(host):
        # The URL parser reads it as IPv4 ("127.0.0x1" is 127.0.0.1): only the dotted quad is sent.
        return _DOTTED_QUAD.fullmatch(host) is not None and all(
            int(part) <= 255 and str(int(part)) == part for part in host.split(".")
        )
    labels = host.split(".")
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _ends_in_a_number(host: str) -> bool:
    last = host.rpartition(".")[2]
    return bool(last) and (last.isdigit() or last.startswith("0x"))


def _host(origin: str) -> str:
    parsed = parse_origin(origin)
    return parsed[1] if parsed else ""


def _is_loopback(origin: str) -> bool:
    return address_space(_host(origin)) == "loopback"


def _scheme_site(origin: str) -> tuple[str, str]:
    scheme = origin.partition("://")[0]
    host = _host(origin)
    return scheme, registrable_domain(host) or host


def _lower(text: str, ignore_case: bool) -> str:
    return text.lower() if ignore_case else text
