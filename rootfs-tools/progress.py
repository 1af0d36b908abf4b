"""A one-line progress bar on a terminal, silence everywhere else.

Download threads call `advance(n)`; the bar redraws at most ten times a second on
stderr, and only when stderr is a TTY, so logs and pipes stay clean.
"""

import sys
import threading
import time


class Progress:
    def __init__(self, label: str, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.total = 0
        self.done = 0
        self.phase = ""
        self._lock = threading.Lock()
        self._drawn = 0.0

    def expect(self, nbytes: int) -> None:
        with self._lock:
            self.total += nbytes

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.done += nbytes
            self._draw()

    def set_phase(self, phase: str) -> None:
        with self._lock:
            self.phase = phase
            self._draw(force=True)

    def finish(self) -> None:
        with self._lock:
            if self.enabled and self._drawn:
                self._draw(force=True)
                self.stream.write("\n")
                self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        width = 24
        filled = int(width * self.done / self.total) if self.total else 0
        bar = "#" * filled + "-" * (width - filled)
        line = (f"\r{self.label} [{bar}] {self.done / 1e6:7.1f}/{self.total / 1e6:.1f} MB "
                f"{self.phase}")
        self.stream.write(line.ljust(79)[:120])
        self.stream.flush()
