"""v1 blkio controller: joined for I/O accounting; reports bytes read and written.

Read directly: cgroupspy's blkio accessors parse only the "Total" line. OCI block
I/O limits (weights, throttles) are not part of `Resources` yet, so nothing is
written here.
"""

from __future__ import annotations

from .. import fs
from ..base import Stats
from .controller import Controller

SERVICED_BYTES = "blkio.throttle.io_service_bytes_recursive"


class Blkio(Controller):
    name = "blkio"

    def stats(self, directory: str, stats: Stats) -> None:
        if not fs.exists(directory, SERVICED_BYTES):
            return
        read = written = 0
        for line in fs.read(directory, SERVICED_BYTES).splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "Read":
                read += int(parts[2])
            elif len(parts) == 3 and parts[1] == "Write":
                written += int(parts[2])
        stats.extra["io_read_bytes"] = read
        stats.extra["io_write_bytes"] = written
