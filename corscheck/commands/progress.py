"""How far an audit has got, told while it runs: on a terminal a live line (targets done/total,
findings so far, time); off a terminal a line on stderr at most every few seconds and one at the end;
nothing with -q. It is a report sink: it counts each target as the audit finishes it."""

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from corscheck.wording import plural

if TYPE_CHECKING:
    from corscheck.report.model import Report, TargetReport

QUIET_SECONDS = 5.0  # off a terminal, at most one progress line this often
TICK_SECONDS = 1.0  # on a terminal, the live line's clock moves at least this often


def elapsed(seconds: float) -> str:
    """0:07, 1:02:03: the clock a run has taken."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class Progress:
    """Counts finished targets and their findings, and shows them on `stream` unless `show` is off.

    `clock` is injectable so that the pacing of lines is tested without waiting.
    """

    wants_probes = False  # it counts targets and findings (ReportSink)

    def __init__(
        self,
        total: int,
        *,
        show: bool,
        stream: TextIO | None = None,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = QUIET_SECONDS,
    ) -> None:
        self.total = total
        self.done = 0  # targets finished, in any order (finished)
        self.written = 0  # targets added, in input order
        self.findings = 0
        self.show = show
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.clock = clock
        self.every = every
        self.started = clock()
        self.last_line: float | None = None
        self.live_shown = False
        # On a terminal the clock moves between completions too: a ticker redraws the line.
        self._drawing = threading.Lock()
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None

    def line(self) -> str:
        return (
            f"corscheck: {self.done}/{plural(self.total, 'target')} · "
            f"{plural(self.findings, 'finding')} · {elapsed(self.clock() - self.started)}"
        )

    def so_far(self) -> str:
        """How far the run got, for a message when it stops early."""
        return (
            f"{self.done} of {plural(self.total, 'target')} audited, "
            f"{plural(self.findings, 'finding')} so far"
        )

    # The ReportSink protocol.
    def begin(self, head: "Report") -> None:
        self.started = self.clock()
        if self.show and self.live and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick_until_stopped, daemon=True)
            self._ticker.start()

    def _tick_until_stopped(self) -> None:
        while not self._stopped.wait(TICK_SECONDS):
            self.tick()

    def tick(self) -> None:
        """Redraws the live line (the clock) where one is shown; nothing before the first."""
        with self._drawing:
            if self.live_shown and not self._stopped.is_set():
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()

    def add(self, target: "TargetReport") -> None:
        """A target written, in input order: counted when it finished, or here when the one who
        feeds this sink does not say when targets finish."""
        self.written += 1
        if self.written > self.done:
            self.finished(target)

    def finished(self, target: "TargetReport") -> None:
        """A target the audit finished, perhaps behind a slower one before it (audit._InOrder)."""
        self.done += 1
        self.findings += len(target.findings)
        if not self.show:
            return
        now = self.clock()
        if self.live:
            # A terminal redraws one line in place; a tenth of a second is smooth enough.
            if self.last_line is None or now - self.last_line >= 0.1 or self.done == self.total:
                with self._drawing:
                    self.stream.write("\r" + self.line() + "\x1b[K")
                    self.stream.flush()
                self.last_line = now
                self.live_shown = True
        elif now - (self.last_line or self.started) >= self.every:
            self._print()
            self.last_line = now

    def end(self, report: "Report") -> None:
        self.stop()
        if not self.show:
            return
        if self.live:
            if self.live_shown:
                self.stream.write("\r\x1b[K")  # the report (or the error) takes the line's place
                self.stream.flush()
        elif not report.partial:  # a run stopped early says how far it got in its error line
            self._print()

    def stop(self) -> None:
        """Stops the ticker; the line is never drawn again after this returns."""
        with self._drawing:
            self._stopped.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)

    def _print(self) -> None:
        self.stream.write(self.line() + "\n")
        self.stream.flush()
