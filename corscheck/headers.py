"""Raw header lines, header-list value parsing, origin parsing and serialization. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# A header line exactly as it crossed the wire: the name as sent (case kept) and the value with every
# byte kept. Bytes are decoded as latin-1 so that the mapping back to bytes is lossless.
HeaderLine = tuple[str, str]


@dataclass(frozen=True, slots=True)
class HeaderList:
    """An ordered list of header lines; duplicates and their order are kept."""

    lines: tuple[HeaderLine, ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> HeaderList:
        return cls(tuple((name, value) for name, value in pairs))

    @classmethod
    def from_raw(cls, pairs: Iterable[tuple[bytes, bytes]]) -> HeaderList:
        return cls(tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs))

    def __iter__(self) -> Iterator[HeaderLine]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        wanted = name.lower()
        return any(n.lower() == wanted for n, _ in self.lines)

    def get_all(self, name: str) -> list[str]:
        """Every value of the header `name` (case-insensitive), in order."""
        wanted = name.lower()
        return [v for n, v in self.lines if n.lower() == wanted]

    def matching(self, name: str) -> list[HeaderLine]:
        """The header lines named `name` (case-insensitive), as received: evidence for a report."""
        wanted = name.lower()
        return [(n, v) for n, v in self.lines if n.lower() == wanted]

    def combined(self, name: str) -> str | None:
        """The Fetch standard's "get": values joined with ", ", or None when absent."""
        values = self.get_all(name)
        if not values:
            return None
        return ", ".join(values)
