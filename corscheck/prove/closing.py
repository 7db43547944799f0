"""The one shape of the prover's resources (the browser, the page server, the header relay): each
is a context manager that closes itself however the block it opens ends, Ctrl-C included."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """`with Resource(...) as resource:` calls `close()` on the way out, whatever happened."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
