"""Container logs on the node: the CRI log format, rotation, and reading them back.

Each container instance writes to `<root>/logs/<namespace>_<pod>_<uid>/<container>/<attempt>.log`
(the layout of the kubelet's /var/log/pods), one entry per line in the format
the kubelet and CRI runtimes share:

    2026-11-23T10:15:00.123456789Z stdout F a whole line
    2026-11-23T10:15:00.223456789Z stderr P the first part of a long line

(`F` a full line, `P` a partial one whose rest follows). When a file grows past
its size limit it is rotated: `0.log` -> `0.log.1` -> `0.log.2` ..., the oldest
dropped. `LogWriter` writes this format (the runtime's monitor process writes
the same bytes), and `read_logs` reads it back the way `kubectl logs` asks:
`tail`, `since`, `timestamps`, `limit_bytes`, and `follow`, which keeps reading
across rotations until the container has exited and everything is read. A tail
parses only the lines it returns, from the end of the newest file backwards.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from supernetes.runtime.logcopy import rotate_files


@dataclass(frozen=True)
class LogEntry:
    time: str  # RFC3339Nano, as written
    stream: str  # "stdout" | "stderr"
    partial: bool
    content: bytes  # without the trailing newline

    def when(self) -> float:
        return parse_time(self.time)


def container_log_path(logs_root: str, namespace: str, pod: str, uid: str, container: str,
                       attempt: int) -> str:
    """Where one instance of a container writes its log (the layout above)."""
    return os.path.join(logs_root, f"{namespace}_{pod}_{uid}", container, f"{attempt}.log")


def format_time(epoch_ns: int) -> str:
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def parse_time(text: str) -> float:
    """RFC3339 (with up to nanoseconds) to epoch seconds."""
    base, _, fraction = text.rstrip("Z").partition(".")
    stamp = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    return stamp.timestamp() + (float("0." + fraction) if fraction else 0.0)


def parse_line(line: bytes) -> LogEntry | None:
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3 or parts[1] not in (b"stdout", b"stderr") or parts[2] not in (b"F", b"P"):
        return None
    return LogEntry(parts[0].decode(), parts[1].decode(), parts[2] == b"P",
                    parts[3] if len(parts) > 3 else b"")


class LogWriter:
    """Appends CRI log entries to a file, rotating by size."""

    def __init__(self, path: str, max_size: int = 10 * 2**20, max_files: int = 5):
        self.path = path
        self.max_size = max_size
        self.max_files = max(max_files, 1)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.file = open(path, "ab")

    def write(self, stream: str, data: bytes, partial: bool = False,
              now_ns: int | None = None) -> None:
        stamp = format_time(now_ns if now_ns is not None else time.time_ns())
        tag = b"P" if partial else b"F"
        self.file.write(stamp.encode() + b" " + stream.encode() + b" " + tag + b" " + data
                        + b"\n")
        self.file.flush()
        if self.file.tell() >= self.max_size:
            self.rotate()

    def rotate(self) -> None:
        self.file.close()
        rotate_files(self.path, self.max_files)
        self.file = open(self.path, "ab")

    def close(self) -> None:
        self.file.close()


def log_files(path: str) -> list[str]:
    """The rotated files then the live one, oldest first."""
    directory, base = os.path.split(path)
    rotated = []
    try:
        for name in os.listdir(directory or "."):
            suffix = name[len(base) + 1:]
            if name.startswith(base + ".") and suffix.isdigit():
                rotated.append((int(suffix), os.path.join(directory, name)))
    except FileNotFoundError:
        return []
    files = [p for _, p in sorted(rotated, reverse=True)]
    if os.path.exists(path):
        files.append(path)
    return files


def _entries(files: list[str]) -> Iterator[LogEntry]:
    for name in files:
        try:
            with open(name, "rb") as f:
                yield from _parse_lines(f.read().split(b"\n"))
        except FileNotFoundError:
            continue  # rotated away while we read


def _parse_lines(lines: list[bytes]) -> Iterator[LogEntry]:
    for line in lines:
        entry = parse_line(line)
        if entry:
            yield entry


def render(entry: LogEntry, timestamps: bool) -> bytes:
    body = entry.content + (b"" if entry.partial else b"\n")
    return (entry.time.encode() + b" " + body) if timestamps else body


# What one yield carries at most while reading what is on disk: a whole log in one
# piece would sit in memory, one entry per piece costs a write (and a TLS record) each.
BATCH = 64 * 1024


def _last_entries(rotated: list[str], live_lines: list[bytes], count: int) -> list[LogEntry]:
    """The last `count` entries, parsing only those: the live file from its end, then
    the rotated files, newest first, each read only if still needed."""
    found: list[LogEntry] = []  # newest first

    def sources() -> Iterator[list[bytes]]:
        yield live_lines
        for name in reversed(rotated):
            try:
                with open(name, "rb") as f:
                    yield f.read().split(b"\n")
            except FileNotFoundError:
                continue  # rotated away while we read

    if count > 0:
        for lines in sources():
            for line in reversed(lines):
                entry = parse_line(line)
                if entry:
                    found.append(entry)
                    if len(found) == count:
                        return found[::-1]
    return found[::-1]


def read_logs(path: str, *, tail: int | None = None, since: float | None = None,
              timestamps: bool = False, limit_bytes: int | None = None,
              follow: bool = False, still_running: Callable[[], bool] = lambda: False,
              poll: float = 0.1) -> Iterator[bytes]:
    """The container's log as `kubectl logs` shows it, in chunks of up to BATCH bytes."""
    sent = 0

    def limited(chunk: bytes) -> bytes | None:
        nonlocal sent
        if limit_bytes is not None:
            if sent >= limit_bytes:
                return None
            chunk = chunk[: limit_bytes - sent]
        sent += len(chunk)
        return chunk

    files = log_files(path)
    live = open(path, "rb") if files and files[-1] == path else None
    try:
        # What is on disk now: the rotated files, then the live file through the very
        # handle `follow` goes on reading, so no entry is lost or repeated between them.
        rest = b""
        rotated = files[:-1] if live else files
        lines: list[bytes] = []
        if live:
            *lines, rest = live.read().split(b"\n")
        entries: Iterator[LogEntry]
        if tail is not None and since is None:
            entries = iter(_last_entries(rotated, lines, tail))
        else:
            entries = itertools.chain(_entries(rotated), _parse_lines(lines))
            if since is not None:
                entries = (e for e in entries if e.when() >= since)
            if tail is not None:
                entries = iter(deque(entries, maxlen=tail) if tail > 0 else [])
        batch = bytearray()
        for entry in entries:
            batch += render(entry, timestamps)
            if len(batch) >= BATCH:
                chunk = limited(bytes(batch))
                if chunk is None:
                    return
                batch.clear()
                yield chunk
        if batch:
            chunk = limited(bytes(batch))
            if chunk is None:
                return
            yield chunk
        if follow:
            yield from _follow(path, live, rest, timestamps, limited, still_running, poll)
    finally:
        if live:
            live.close()


def _follow(path: str, f, buffer: bytes, timestamps: bool, limited,
            still_running: Callable[[], bool], poll: float) -> Iterator[bytes]:
    """`follow`'s output: each batch of new entries rendered as one chunk."""
    for batch in _follow_entries(path, f, buffer, still_running, poll):
        chunk = limited(b"".join(render(e, timestamps) for e in batch))
        if chunk is None:
            return
        yield chunk


def follow_entries(path: str, still_running: Callable[[], bool],
                   poll: float = 0.1) -> Iterator[list[LogEntry]]:
    """Entries written from now on, in batches, until the writer is done (`attach`)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        f = None
    try:
        if f is not None:
            f.seek(0, os.SEEK_END)
        yield from _follow_entries(path, f, b"", still_running, poll)
    finally:
        if f is not None:
            f.close()


def _follow_entries(path: str, f, buffer: bytes, still_running: Callable[[], bool],
                    poll: float) -> Iterator[list[LogEntry]]:
    """Keep reading the live file, across rotations, until the writer is done."""
    inode = os.fstat(f.fileno()).st_ino if f else None
    opened = []
    try:
        while True:
            data = f.read() if f else b""
            if data:
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                batch = list(_parse_lines(lines))
                if batch:
                    yield batch
                continue
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current is not None and current != inode:
                # Rotated. The writer may have appended to the old file between our
                # last read and its rename: drain it before switching to the new one.
                tail_of_old = (buffer + f.read()) if f else b""
                batch = list(_parse_lines(tail_of_old.split(b"\n")))
                if batch:
                    yield batch
                f = open(path, "rb")
                opened.append(f)
                inode, buffer = current, b""
                continue
            if not still_running():
                # The writer may have appended its last lines between our read and
                # its exit: read once more before giving up on the file.
                buffer += f.read() if f else b""
                *lines, _ = buffer.split(b"\n")
                batch = list(_parse_lines(lines))
                if batch:
                    yield batch
                return
            time.sleep(poll)
    finally:
        for handle in opened:
            handle.close()
