"""Connections to the pods behind an Ingress: opened with a timeout, kept alive, reused.

An idle connection goes back to a small per-address pool once its response has
been read to the end and neither side asked to close it; it is dropped after
`idle_timeout` seconds, or when the pod has closed it meanwhile. A request sent
on a reused connection may still find it closed by the pod in that instant: the
caller retries such a request (when it has no body) on a fresh connection, as
HTTP clients do.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass
class Connection:
    address: tuple[str, int]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False
    idle_since: float = 0.0

    def close(self) -> None:
        self.writer.close()


class Pool:
    def __init__(self, connect_timeout: float = 5.0, idle_timeout: float = 30.0,
                 max_idle: int = 32):
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.max_idle = max_idle
        self.opened = 0
        self._idle: dict[tuple[str, int], list[Connection]] = {}

    async def acquire(self, address: tuple[str, int]) -> Connection:
        idle = self._idle.get(address) or []
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < self.idle_timeout and not conn.reader.at_eof() \
                    and not conn.writer.is_closing():
                conn.reused = True
                return conn
            conn.close()
        return await self.open(address)

    async def open(self, address: tuple[str, int]) -> Connection:
        async with asyncio.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(*address, limit=2 ** 17)
        self.opened += 1
        return Connection(address, reader, writer)

    def release(self, conn: Connection) -> None:
        idle = self._idle.setdefault(conn.address, [])
        if len(idle) >= self.max_idle or conn.reader.at_eof():
            conn.close()
            return
        conn.idle_since = time.monotonic()
        conn.reused = False
        idle.append(conn)

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
