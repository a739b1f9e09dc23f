"""Progress of a long run (``validate``, ``calibrate``) on a stream, with the elapsed time.

:class:`Progress` is the ``progress`` callable those functions take: each call passes one line
(``"[3/41] without mlperf-inference-v4.1: 4 rows predicted"``). On a terminal the latest line is
redrawn in place with the elapsed time, and a clock keeps ticking between calls; on anything else
(a log file, a pipe, CI) it writes at most one line per ``interval`` seconds (the first line
always), so a seven-minute run leaves a handful of lines, not one per fold. :meth:`Progress.close`
ends with one line saying how long the run took. Standard library only.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Optional, TextIO

__all__ = ["Progress", "elapsed_text"]


def elapsed_text(seconds: float) -> str:
    """``"42 s"``, ``"4 min 05 s"``."""
    seconds = max(0, int(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


class Progress:
    """Report the lines of a long run on ``stream`` (default: ``sys.stderr``).

    Parameters
    ----------
    title : str
        What is running (``"validate"``); starts every line.
    stream : file, optional
        Where to write (default ``sys.stderr``).
    live : bool, optional
        Redraw one line in place (default: when ``stream`` is a terminal).
    interval : float
        Not live: the shortest time between two written lines [s].
    tick : float or None
        Live: redraw the clock every ``tick`` seconds between calls (None: only on calls).
    clock : callable
        Monotonic time source (tests pass a fake one).

    Use as a context manager, or call :meth:`close` when done.
    """

    def __init__(self, title: str, stream: Optional[TextIO] = None, *, live: Optional[bool] = None,
                 interval: float = 60.0, tick: Optional[float] = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.title, self.stream, self.interval, self._clock = title, stream or sys.stderr, \
            float(interval), clock
        if live is None:
            isatty = getattr(self.stream, "isatty", None)
            live = bool(isatty and isatty())
        self.live = live
        self.start = clock()
        self.lines = 0          # lines written (not live) or redraws (live)
        self._last_written: Optional[float] = None
        self._message = "starting"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = None
        if live and tick:
            self._ticker = threading.Thread(target=self._tick, args=(float(tick),), daemon=True)
            self._ticker.start()

    def _line(self) -> str:
        return f"{self.title}: {self._message} ({elapsed_text(self._clock() - self.start)})"

    def _draw(self) -> None:
        text = self._line()
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self.lines += 1

    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            with self._lock:
                if not self._stop.is_set() and self._last_written is not None:
                    self._draw()

    def __call__(self, message: str) -> None:
        """Report one line (the latest step)."""
        with self._lock:
            self._message = str(message).strip() or self._message
            now = self._clock()
            if self.live:
                if self._last_written is None or now - self._last_written >= 0.1:
                    self._draw()
                    self._last_written = now
                return
            if self._last_written is None or now - self._last_written >= self.interval:
                self.stream.write(self._line() + "\n")
                self.stream.flush()
                self._last_written = now
                self.lines += 1

    def close(self, message: str = "done") -> None:
        """Stop the clock and write the final line (``"validate: done (4 min 31 s)"``); nothing
        when nothing was reported (a run that failed at once leaves only its error)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self._last_written is None:
                return
            self._message = message
            if self.live:
                self._draw()
                self.stream.write("\n")
            else:
                self.stream.write(self._line() + "\n")
                self.lines += 1
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("done" if exc_type is None else "stopped")
