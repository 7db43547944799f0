"""An nginx configuration's allow-list: the origins `map $http_origin …` and `if ($http_origin ~ …)`
let through to `add_header Access-Control-Allow-Origin`. Pure: text in, written.WrittenAllowList out.

What it reads:
- `map $http_origin $v { "~re" …; ~*re …; "https://exact" …; default …; }`: an entry grants when
  its value is not empty, "0" or "off"; `~` is a case-sensitive PCRE search, `~*` ignores case, a
  plain string is compared ignoring case;
- `if ($http_origin ~ "re") { … }` (`~*`, `=`): the block's add_header, or a `set $v …` in it;
- `add_header Access-Control-Allow-Origin X`: X the map's variable, a variable set in such an if,
  `$http_origin` inside such an if (or everywhere: every origin), or `*`.
"""

from __future__ import annotations

from dataclasses import dataclass

from corscheck.errors import UsageError
from corscheck.written import Entry, WrittenAllowList

_ACAO = "access-control-allow-origin"
_NOT_GRANTING = {"", "0", "off", "false", "null"}


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    line: int
    quoted: bool = False


def read_nginx(text: str, name: str) -> WrittenAllowList:
    """The allow-list `text` (an nginx file called `name`) writes. Raises UsageError, one line,
    where it writes none."""
    tokens = _tokens(text, name)
    maps: dict[str, list[Entry]] = {}
    conditional: dict[str, list[Entry]] = {}
    entries: list[Entry] = []
    _walk(tokens, 0, name, [], maps, conditional, entries)
    if not entries:
        raise UsageError(
            f"{name}: no add_header Access-Control-Allow-Origin fed by $http_origin, a map of it "
            "or an if on it: nothing to read"
        )
    credentials = any(
        a.text == "add_header"
        and b.text.lower() == "access-control-allow-credentials"
        and c.text.lower() == "true"
        for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False)
    )
    return WrittenAllowList("nginx", name, tuple(dict.fromkeys(entries)), credentials=credentials)


def _tokens(text: str, name: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, line = 0, 1
    while i < len(text):
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif c in "{};":
            tokens.append(_Token(c, line))
            i += 1
        elif c in "\"'":
            end = i + 1
            while end < len(text) and text[end] != c:
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise UsageError(f"{name}:{line}: a quoted string is not closed")
            tokens.append(_Token(text[i + 1 : end], line, quoted=True))
            line += text.count("\n", i, end)
            i = end + 1
        else:
            end = i
            while end < len(text) and not text[end].isspace() and text[end] not in "{};\"'":
                end += 1
            tokens.append(_Token(text[i:end], line))
            i = end
    return tokens


def _walk(
    tokens: list[_Token],
    i: int,
    name: str,
    conditions: list[Entry],
    maps: dict[str, list[Entry]],
    conditional: dict[str, list[Entry]],
    entries: list[Entry],
) -> int:
    """Reads directives from `i` to the end of the block; returns the index after it."""
    while i < len(tokens):
        token = tokens[i]
        if token.text == "}" and not token.quoted:
            return i + 1
        words: list[_Token] = []
        while (i < len(tokens) and tokens[i].text not in (";", "{", "}")) or (
            i < len(tokens) and tokens[i].quoted
        ):
            words.append(tokens[i])
            i += 1
        if i >= len(tokens):
            return i
        ender = tokens[i].text
        i += 1
        if not words:
            continue
        head = words[0].text
        if ender == "{":
            if head == "map" and len(words) >= 3 and words[1].text == "$http_origin":
                i, mapped = _map_block(tokens, i, name)
                maps[words[2].text] = mapped
                continue
            inner = [*conditions, *_origin_condition(words, name, maps, conditional)]
            i = _walk(tokens, i, name, inner, maps, conditional, entries)
            continue
        if head == "set" and len(words) >= 3 and conditions:
            conditional[words[1].text] = list(conditions)
        if head == "add_header" and len(words) >= 3 and words[1].text.lower() == _ACAO:
            entries += _granted(words[2].text, conditions, maps, conditional, name, words[2])
    return i


def _map_block(tokens: list[_Token], i: int, name: str) -> tuple[int, list[Entry]]:
    granted: list[Entry] = []
    while i < len(tokens) and not (tokens[i].text == "}" and not tokens[i].quoted):
        line: list[_Token] = []
        while i < len(tokens) and (tokens[i].text != ";" or tokens[i].quoted):
            line.append(tokens[i])
            i += 1
        i += 1
        if len(line) < 2 or line[0].text in ("hostnames", "volatile", "include"):
            continue
        key, value = line[0], line[1].text
        if value.lower() in _NOT_GRANTING:
            continue
        if key.text == "default" and not key.quoted:
            # Every origin no other entry matches: the map grants them all.
            granted.append(Entry("any", "*", "map $http_origin default", f"{name}:{key.line}"))
            continue
        granted.append(_entry(key.text, "map $http_origin", f"{name}:{key.line}"))
    return i + 1, granted


def _entry(key: str, setting: str, where: str, operator: str | None = None) -> Entry:
    if operator is None and key.startswith("~"):
        operator, key = ("~*", key[2:]) if key.startswith("~*") else ("~", key[1:])
    if operator in ("~", "~*"):
        return Entry("regex", key, setting, where, "search", ignore_case=operator == "~*")
    return Entry("exact", key, setting, where, ignore_case=True)


def _origin_condition(
    words: list[_Token],
    name: str,
    maps: dict[str, list[Entry]],
    conditional: dict[str, list[Entry]],
) -> list[Entry]:
    """The entries an `if (…)` on the origin (or on a variable that stands for one) lets in."""
    if words[0].text != "if":
        return []
    inside = _condition(words[1:])
    if not inside:
        return []
    subject = inside[0].text
    operator = inside[1].text if len(inside) >= 3 else ""
    if subject == "$http_origin" and operator in ("!~", "!~*", "!="):
        raise UsageError(
            f"{name}:{inside[0].line}: if ($http_origin {operator} …) is a guard corscheck does "
            "not read: what this file grants cannot be told from it"
        )
    if subject == "$http_origin" and operator in ("~", "~*", "="):
        where = f"{name}:{inside[2].line}"
        return [_entry(inside[2].text, "if ($http_origin …)", where, operator)]
    return list(maps.get(subject, conditional.get(subject, [])))


def _condition(words: list[_Token]) -> list[_Token]:
    """An if's arguments as nginx reads them: the "(" that opens the first and the ")" that
    closes the last are the parentheses, whatever the regex holds."""
    if not words:
        return []
    first, last = words[0], words[-1]
    if not first.quoted:
        words = [_Token(first.text.removeprefix("("), first.line), *words[1:]]
    if not last.quoted:
        end = words[-1]
        words = [*words[:-1], _Token(end.text.removesuffix(")"), end.line, end.quoted)]
    return [w for w in words if w.text or w.quoted]


def _granted(
    value: str,
    conditions: list[Entry],
    maps: dict[str, list[Entry]],
    conditional: dict[str, list[Entry]],
    name: str,
    token: _Token,
) -> list[Entry]:
    if value in maps:
        return maps[value]
    if value in conditional:
        return conditional[value]
    if conditions:
        return conditions
    if "://" in value and "$" not in value:
        # A fixed origin: every request is answered with it, so it is the one origin granted.
        return [
            Entry("exact", value, "add_header Access-Control-Allow-Origin", f"{name}:{token.line}")
        ]
    if value in ("$http_origin", "*"):
        return [
            Entry(
                "any",
                "*",
                f"add_header Access-Control-Allow-Origin {value}",
                f"{name}:{token.line}",
            )
        ]
    return []
