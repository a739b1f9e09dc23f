"""Progress of a long run (``validate``, ``calibrate``, the ``plan`` search, large sweeps).

:class:`Progress` is the ``progress`` callable those functions take: each call passes one line
(``"[3/41] without mlperf-inference-v4.1: 4 rows predicted"``). On a terminal it is a tqdm bar:
a line starting ``[i/n]`` sets the bar's position and total, the rest of the line is its
description, the elapsed time keeps ticking between calls, and at most ten redraws a second are
written. On anything else (a log file, a pipe, CI), when asked for with ``live=False``, it writes
at most one line per ``interval`` seconds (the first line always), so a seven-minute run leaves a
handful of lines, not one per fold. :meth:`Progress.close` ends with one line saying how long the
run took. :func:`reporter` turns a function's ``progress=`` argument (None, True, a callable)
into the callable it reports to: ``True`` is a bar on stderr when stderr is a terminal and
silence otherwise, which is what the command line hands over (nothing under ``--json``).
"""

from __future__ import annotations

import io
import os
import re
import sys
import threading
import time
from typing import Callable, Optional, TextIO

__all__ = ["Progress", "elapsed_text", "reporter", "is_terminal"]

_STEP = re.compile(r"^\[(\d+)/(\d+)\]\s*")
#: the bar's line: without a known total, exactly the line of the log mode
_FORMAT_OPEN = "{desc} ({elapsed_text})"
_FORMAT_TOTAL = "{desc} {percentage:3.0f}%|{bar:20}| {n}/{total} ({elapsed_text})"


def elapsed_text(seconds: float) -> str:
    """``"42 s"``, ``"4 min 05 s"``."""
    seconds = max(0, int(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def is_terminal(stream) -> bool:
    """Whether ``stream`` is an interactive terminal (False for pipes, files, StringIO)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _columns(stream) -> Optional[int]:
    """The width of the terminal ``stream`` is (100 where it reports none, as a pseudo-terminal
    without a size does: tqdm would drop the bar format at width 0); None for other streams."""
    try:
        cols = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return cols or 100


def _bar_class():
    """tqdm with the elapsed time as this module writes it (``{elapsed_text}``)."""
    from tqdm import tqdm

    class _Bar(tqdm):
        @property
        def format_dict(self):
            d = super().format_dict
            d["elapsed_text"] = elapsed_text(d["elapsed"])
            return d

    return _Bar


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
            live = is_terminal(self.stream)
        self.live = live
        self.start = clock()
        self._bar = None        # live: the tqdm bar, made at the first report
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
        """Live: redraw the bar with the latest message (the first draw makes the bar)."""
        step = _STEP.match(self._message)
        desc = f"{self.title}: {_STEP.sub('', self._message) if step else self._message}"
        if self._bar is None:
            # made without drawing (delay), then put on this run's clock and drawn below
            self._bar = _bar_class()(total=None, file=self.stream, desc=desc, leave=True,
                                     bar_format=_FORMAT_OPEN, mininterval=0, delay=1e9,
                                     ncols=_columns(self.stream))
            self._bar._time = self._clock
            self._bar.start_t = self._bar.last_print_t = self.start
            self._bar.delay = 0
        else:
            self._bar.set_description_str(desc, refresh=False)
        if step:
            self._bar.total, self._bar.n = int(step.group(2)), int(step.group(1))
            self._bar.bar_format = _FORMAT_TOTAL
        self._bar.refresh()
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
            if self.live:  # tqdm's close draws the final line (leave=True) and a newline
                self._bar.set_description_str(f"{self.title}: {message}", refresh=False)
                if self._bar.total is not None:
                    self._bar.n = self._bar.total if message == "done" else self._bar.n
                self._bar.close()
                self.lines += 1
            else:
                self.stream.write(self._line() + "\n")
                self.lines += 1
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("done" if exc_type is None else "stopped")


class _Silent:
    """The reporter of a run nobody watches (not a terminal): a no-op with a close()."""

    def __call__(self, message: str) -> None:
        pass

    def close(self, message: str = "done") -> None:
        pass


def reporter(progress, title: str):
    """The ``(report, close)`` pair for a function's ``progress=`` argument.

    ``None``/``False``: ``(None, no-op)``. ``True``: a :class:`Progress` bar titled ``title``
    on stderr when stderr is a terminal, else silence. A callable: itself (the caller closes
    it). ``report`` takes one line per step (``"[3/12] ..."``); call ``close()`` when done.
    """
    if progress is None or progress is False:
        return None, _Silent().close
    if progress is True:
        p = Progress(title) if is_terminal(sys.stderr) else _Silent()
        return p, p.close
    if callable(progress):
        return progress, _Silent().close
    raise TypeError(f"progress must be True, False, None or a callable taking one line, got "
                    f"{progress!r:.60}")
