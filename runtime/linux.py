"""The syscall boundary: the one module that talks to libc through ctypes.

The standard library has no mount(2), umount2(2), pivot_root(2), unshare(2),
setns(2) or sethostname(2); this module wraps them. Every call checks its return
value and raises `OSError(errno, "<syscall>: <message>", path)`, and every call is
reported to the learner's trace (`explain.step`) with its arguments spelled the
way a C programmer would write them. Nothing else in the code base loads libc.

Capabilities, no_new_privs, securebits and the child subreaper go through
python-prctl (see `security.py`), which is its own well-tested boundary.
"""

import ctypes
import ctypes.util
import os

from . import explain

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

# <sched.h>
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

# <sys/mount.h>
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8

_CLONE_NAMES = {
    CLONE_NEWNS: "CLONE_NEWNS",
    CLONE_NEWCGROUP: "CLONE_NEWCGROUP",
    CLONE_NEWUTS: "CLONE_NEWUTS",
    CLONE_NEWIPC: "CLONE_NEWIPC",
    CLONE_NEWUSER: "CLONE_NEWUSER",
    CLONE_NEWPID: "CLONE_NEWPID",
    CLONE_NEWNET: "CLONE_NEWNET",
    CLONE_NEWTIME: "CLONE_NEWTIME",
}
_MS_NAMES = {
    value: name
    for name, value in globals().items()
    if name.startswith("MS_") and isinstance(value, int)
}
_MNT_NAMES = {MNT_FORCE: "MNT_FORCE", MNT_DETACH: "MNT_DETACH", MNT_EXPIRE: "MNT_EXPIRE",
              UMOUNT_NOFOLLOW: "UMOUNT_NOFOLLOW"}

# x86_64 and aarch64 share none of these numbers; pivot_root has no libc wrapper.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine, 155)


def flag_names(value: int, names: dict[int, str]) -> str:
    """Spell a flag word as C would: `CLONE_NEWNS|CLONE_NEWPID`, or `0`."""
    parts, rest = [], value
    for bit, name in sorted(names.items()):
        if bit and value & bit == bit:
            parts.append(name)
            rest &= ~bit
    if rest:
        parts.append(hex(rest))
    return "|".join(parts) or "0"


def _quote(value: str | None) -> str:
    return "NULL" if value is None else f'"{value}"'


def _check(result: int, call: str, path: str | None = None) -> int:
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{call}: {os.strerror(err)}", path)
    return result


def _b(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0,
          data: str | None = None) -> None:
    explain.step(f"mount({_quote(source)}, {_quote(target)}, {_quote(fstype)}, "
                 f"{flag_names(flags, _MS_NAMES)}, {_quote(data)})")
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
           "mount", target)


def umount2(target: str, flags: int = 0) -> None:
    explain.step(f"umount2({_quote(target)}, {flag_names(flags, _MNT_NAMES)})")
    _check(_libc.umount2(_b(target), flags), "umount2", target)


def pivot_root(new_root: str, put_old: str) -> None:
    explain.step(f"pivot_root({_quote(new_root)}, {_quote(put_old)})")
    _check(_libc.syscall(_SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root", new_root)


def unshare(flags: int) -> None:
    explain.step(f"unshare({flag_names(flags, _CLONE_NAMES)})")
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0, path: str | None = None) -> None:
    """Join the namespace open at `fd`; `path` only labels the trace and errors."""
    label = f"open({_quote(path)})" if path else str(fd)
    explain.step(f"setns({label}, {flag_names(nstype, _CLONE_NAMES)})")
    _check(_libc.setns(fd, nstype), "setns", path)


def sethostname(name: str) -> None:
    explain.step(f"sethostname({_quote(name)})")
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    explain.step(f"setdomainname({_quote(name)})")
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname")


# --- the new mount API (<linux/mount.h>, Linux 5.2+) -------------------------------------
# Used where mount(2) cannot express a mount: mount(2) passes its options in one page,
# so an overlay of many layers with long paths does not fit, while fsconfig() takes
# one lower dir per call ("lowerdir+", Linux 6.8+). The syscall numbers are the
# unified ones, the same on x86_64 and aarch64.

FSOPEN_CLOEXEC = 0x1
FSMOUNT_CLOEXEC = 0x1
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
MOVE_MOUNT_F_EMPTY_PATH = 0x4
AT_FDCWD = -100
_SYS_MOVE_MOUNT, _SYS_FSOPEN, _SYS_FSCONFIG, _SYS_FSMOUNT = 429, 430, 431, 432
_FSCONFIG_NAMES = {FSCONFIG_SET_FLAG: "FSCONFIG_SET_FLAG",
                   FSCONFIG_SET_STRING: "FSCONFIG_SET_STRING",
                   FSCONFIG_CMD_CREATE: "FSCONFIG_CMD_CREATE"}


def fsopen(fstype: str, flags: int = FSOPEN_CLOEXEC) -> int:
    """A filesystem context for `fstype`; configure it with fsconfig(), then fsmount()."""
    explain.step(f"fsopen({_quote(fstype)}, {'FSOPEN_CLOEXEC' if flags else '0'})")
    return _check(_libc.syscall(_SYS_FSOPEN, _b(fstype), ctypes.c_uint(flags)), "fsopen")


def fsconfig(fd: int, cmd: int, key: str | None = None, value: str | None = None) -> None:
    explain.step(f"fsconfig({fd}, {_FSCONFIG_NAMES.get(cmd, cmd)}, {_quote(key)}, "
                 f"{_quote(value)}, 0)")
    _check(_libc.syscall(_SYS_FSCONFIG, ctypes.c_int(fd), ctypes.c_uint(cmd), _b(key),
                         _b(value), ctypes.c_int(0)), "fsconfig", key)


def fsmount(fd: int, flags: int = FSMOUNT_CLOEXEC, attr_flags: int = 0) -> int:
    """A detached mount of a created filesystem context; attach it with move_mount()."""
    explain.step(f"fsmount({fd}, {'FSMOUNT_CLOEXEC' if flags else '0'}, {attr_flags})")
    return _check(_libc.syscall(_SYS_FSMOUNT, ctypes.c_int(fd), ctypes.c_uint(flags),
                                ctypes.c_uint(attr_flags)), "fsmount")


def move_mount(mount_fd: int, target: str) -> None:
    """Attach a detached mount (from fsmount) at `target`."""
    explain.step(f'move_mount({mount_fd}, "", AT_FDCWD, {_quote(target)}, '
                 "MOVE_MOUNT_F_EMPTY_PATH)")
    _check(_libc.syscall(_SYS_MOVE_MOUNT, ctypes.c_int(mount_fd), b"", ctypes.c_int(AT_FDCWD),
                         _b(target), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)),
           "move_mount", target)
