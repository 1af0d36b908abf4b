"""Process facts tests ask of /proc."""

from __future__ import annotations


def alive(pid: int) -> bool:
    """Running: a zombie is dead, its parent has just not reaped it yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
