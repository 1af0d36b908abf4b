"""The syscall boundary: the one module that talks to libc through ctypes.

The standard library has no mount(2), umount2(2), pivot_root(2), unshare(2),
setns(2) or sethostname(2); this module wraps them. Every call checks its return
value and raises `OSError(errno, "<syscall>: <message>", path)`, and every call is
reported to the learner's trace (`explain.step`) with its arguments spelled the
way a C programmer would write them (that text is built only when tracing is on:
`if explain.enabled()`). Nothing else in the code base loads libc.

Capabilities, no_new_privs, securebits and the child subreaper go through
python-prctl (see `security.py`), which is its own well-tested boundary.
"""

import ctypes
import os
import struct

from . import explain

# "libc.so.6" directly: ctypes.util.find_library runs ldconfig in a subprocess and
# costs ~3.5 ms, a noticeable part of `superc run`. Every glibc system has this soname.
_libc = ctypes.CDLL("libc.so.6", use_errno=True)

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
    if explain.enabled():
        explain.step(f"mount({_quote(source)}, {_quote(target)}, {_quote(fstype)}, "
                     f"{flag_names(flags, _MS_NAMES)}, {_quote(data)})")
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
           "mount", target)


def umount2(target: str, flags: int = 0) -> None:
    if explain.enabled():
        explain.step(f"umount2({_quote(target)}, {flag_names(flags, _MNT_NAMES)})")
    _check(_libc.umount2(_b(target), flags), "umount2", target)


def pivot_root(new_root: str, put_old: str) -> None:
    if explain.enabled():
        explain.step(f"pivot_root({_quote(new_root)}, {_quote(put_old)})")
    _check(_libc.syscall(_SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root", new_root)


def unshare(flags: int) -> None:
    if explain.enabled():
        explain.step(f"unshare({flag_names(flags, _CLONE_NAMES)})")
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0, path: str | None = None) -> None:
    """Join the namespace open at `fd`; `path` only labels the trace and errors."""
    label = f"open({_quote(path)})" if path else str(fd)
    if explain.enabled():
        explain.step(f"setns({label}, {flag_names(nstype, _CLONE_NAMES)})")
    _check(_libc.setns(fd, nstype), "setns", path)


def sethostname(name: str) -> None:
    if explain.enabled():
        explain.step(f"sethostname({_quote(name)})")
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    if explain.enabled():
        explain.step(f"setdomainname({_quote(name)})")
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname")


# --- process primitives ----------------------------------------------------------------
# The standard library has these, but they are container-making steps a learner wants to
# see in the trace, so they pass through here too.

def fork(role: str) -> int:
    """os.fork(), traced in the parent as `fork() = <pid>  [role]`."""
    pid = os.fork()
    if pid and explain.enabled():
        explain.step(f"fork() = {pid}  [{role}]")
    return pid


def execve(path: str, args: list[str], env: list[str] | dict[str, str]) -> None:
    shown = ", ".join(_quote(a) for a in args)
    if explain.enabled():
        explain.step(f"execve({_quote(path)}, [{shown}], [{len(env)} environment variables])")
    os.execve(path, args, env if isinstance(env, dict) else _env_dict(env))


def _env_dict(env: list[str]) -> dict[str, str]:
    out = {}
    for item in env:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def setsid() -> int:
    if explain.enabled():
        explain.step("setsid()")
    return os.setsid()


def setgroups(gids: list[int]) -> None:
    if explain.enabled():
        explain.step(f"setgroups({len(gids)}, {gids})")
    os.setgroups(gids)


def setresgid(gid: int) -> None:
    if explain.enabled():
        explain.step(f"setresgid({gid}, {gid}, {gid})")
    os.setresgid(gid, gid, gid)


def setresuid(uid: int) -> None:
    if explain.enabled():
        explain.step(f"setresuid({uid}, {uid}, {uid})")
    os.setresuid(uid, uid, uid)


def mknod(path: str, mode: int, major: int, minor: int) -> None:
    kind = {0o020000: "S_IFCHR", 0o060000: "S_IFBLK", 0o010000: "S_IFIFO"}.get(mode & 0o170000, "0")
    if explain.enabled():
        explain.step(f"mknod({_quote(path)}, {kind}|{mode & 0o7777:#o}, makedev({major}, {minor}))")
    os.mknod(path, mode, os.makedev(major, minor))


def symlink(target: str, path: str) -> None:
    if explain.enabled():
        explain.step(f"symlink({_quote(target)}, {_quote(path)})")
    os.symlink(target, path)


def chdir(path: str) -> None:
    if explain.enabled():
        explain.step(f"chdir({_quote(path)})")
    os.chdir(path)


def fchdir(fd: int, label: str) -> None:
    """fchdir(2); `label` names the directory for the trace."""
    if explain.enabled():
        explain.step(f"fchdir({label})")
    os.fchdir(fd)


_O_NAMES = {os.O_WRONLY: "O_WRONLY", os.O_RDWR: "O_RDWR", os.O_NONBLOCK: "O_NONBLOCK",
            os.O_CREAT: "O_CREAT", os.O_APPEND: "O_APPEND", os.O_NOCTTY: "O_NOCTTY",
            os.O_DIRECTORY: "O_DIRECTORY"}


def open_fd(path: str, flags: int, mode: int = 0o600) -> int:
    """open(2), traced; O_CLOEXEC is always added (and not shown)."""
    if explain.enabled():
        shown = flag_names(flags, _O_NAMES) if flags else "O_RDONLY"
        explain.step(f"open({_quote(path)}, {shown})")
    return os.open(path, flags | os.O_CLOEXEC, mode)


def write_fd(fd: int, data: bytes, label: str) -> None:
    if explain.enabled():
        explain.step(f"write({label}, {data!r})")
    os.write(fd, data)


def write_file(path: str, value: str) -> None:
    """Write one value to a kernel file (/proc/sys/..., uid_map, oom_score_adj)."""
    if explain.enabled():
        explain.step(f"write({_quote(path)}, {_quote(value.strip())})")
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


# --- resource limits -------------------------------------------------------------------

# <sys/resource.h>; the numbers are the same on x86_64 and aarch64.
RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7,
    "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11,
    "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}
_RLIMIT_NAMES = {v: k for k, v in RLIMITS.items()}
RLIM_INFINITY = (1 << 64) - 1


class _Rlimit64(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]


def setrlimit(resource: int, soft: int, hard: int) -> None:
    """prlimit64(0, resource, {soft, hard}, NULL): OCI limits are 64-bit unsigned."""
    if explain.enabled():
        explain.step(f"prlimit64(0, {_RLIMIT_NAMES.get(resource, resource)}, "
                     f"{{{soft}, {hard}}}, NULL)")
    new = _Rlimit64(soft & RLIM_INFINITY, hard & RLIM_INFINITY)
    _check(_libc.prlimit64(0, resource, ctypes.byref(new), None), "prlimit64")


# --- capabilities ----------------------------------------------------------------------

# <linux/capability.h>: the kernel's numbering. python-prctl (security.py) takes these
# numbers; the table lets config.json's names be checked without importing it.
CAPABILITIES = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}
CAP_NAMES = {v: k for k, v in CAPABILITIES.items()}

# <linux/prctl.h>: python-prctl 1.8 predates ambient capabilities (Linux 4.3).
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_RAISE = 2
_PR_CAP_AMBIENT_CLEAR_ALL = 4


_cap_last_cap: int | None = None


def cap_last_cap() -> int:
    """The highest capability this kernel knows (read once per process, and inherited
    by forked children: the init asks after pivot_root, too)."""
    global _cap_last_cap
    if _cap_last_cap is None:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            _cap_last_cap = int(f.read())
    return _cap_last_cap


def cap_ambient_raise(cap: int) -> None:
    if explain.enabled():
        explain.step(f"prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, {CAP_NAMES.get(cap, cap)})")
    _check(_libc.prctl(_PR_CAP_AMBIENT, ctypes.c_ulong(_PR_CAP_AMBIENT_RAISE),
                       ctypes.c_ulong(cap), ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def cap_ambient_clear_all() -> None:
    if explain.enabled():
        explain.step("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)")
    _check(_libc.prctl(_PR_CAP_AMBIENT, ctypes.c_ulong(_PR_CAP_AMBIENT_CLEAR_ALL),
                       ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


# --- bpf(2): only what the cgroup v2 device controller needs ---------------------
# cgroup v2 has no devices.allow file: device access is decided by an eBPF program
# of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup (runc does the same).
# bpf(2) has no libc wrapper; its argument is a union (`union bpf_attr`) whose
# layout per command is fixed by the kernel ABI, packed here by hand. Unused
# trailing bytes must be zero, which a fresh buffer guarantees.

_SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
_BPF_ATTACH_NAMES = {BPF_CGROUP_DEVICE: "BPF_CGROUP_DEVICE"}
_BPF_FLAG_NAMES = {BPF_F_ALLOW_MULTI: "BPF_F_ALLOW_MULTI"}
_BPF_ATTR_SIZE = 128


def _bpf(cmd: int, attr: ctypes.Array, call: str, path: str | None = None) -> int:
    return _check(_libc.syscall(_SYS_BPF, cmd, attr, ctypes.c_uint(len(attr))), call, path)


def bpf_prog_load_cgroup_device(insns: bytes, license: str = "Apache-2.0") -> int:
    """Load a cgroup device program (raw `struct bpf_insn` bytes); returns its fd.

    On a verifier rejection the error message carries the verifier's log.
    """
    if explain.enabled():
        explain.step(f"bpf(BPF_PROG_LOAD, {{prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, "
                     f"insn_cnt={len(insns) // 8}, license={_quote(license)}}})")
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(license.encode())
    log = ctypes.create_string_buffer(65536)
    for log_level in (0, 1):
        attr = ctypes.create_string_buffer(_BPF_ATTR_SIZE)
        struct.pack_into("<IIQQIIQ", attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE, len(insns) // 8,
                         ctypes.addressof(code), ctypes.addressof(lic),
                         log_level, len(log) if log_level else 0,
                         ctypes.addressof(log) if log_level else 0)
        try:
            return _bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD)")
        except OSError as exc:
            if log_level:
                verifier = log.value.decode(errors="replace").strip().replace("\n", "; ")
                raise OSError(exc.errno, f"{exc.strerror}: {verifier}") from None
    raise AssertionError("unreachable")


def bpf_prog_attach(target_fd: int, prog_fd: int, attach_type: int, flags: int = 0,
                    path: str | None = None) -> None:
    if explain.enabled():
        explain.step(f"bpf(BPF_PROG_ATTACH, {{target_fd=open({_quote(path)}), "
                     f"attach_bpf_fd={prog_fd}, "
                     f"attach_type={_BPF_ATTACH_NAMES.get(attach_type, attach_type)}, "
                     f"attach_flags={flag_names(flags, _BPF_FLAG_NAMES)}}})")
    attr = ctypes.create_string_buffer(_BPF_ATTR_SIZE)
    struct.pack_into("<IIII", attr, 0, target_fd, prog_fd, attach_type, flags)
    _bpf(BPF_PROG_ATTACH, attr, "bpf(BPF_PROG_ATTACH)", path)


def bpf_prog_detach(target_fd: int, prog_fd: int, attach_type: int,
                    path: str | None = None) -> None:
    if explain.enabled():
        explain.step(f"bpf(BPF_PROG_DETACH, {{target_fd=open({_quote(path)}), "
                     f"attach_bpf_fd={prog_fd}, "
                     f"attach_type={_BPF_ATTACH_NAMES.get(attach_type, attach_type)}}})")
    attr = ctypes.create_string_buffer(_BPF_ATTR_SIZE)
    struct.pack_into("<III", attr, 0, target_fd, prog_fd, attach_type)
    _bpf(BPF_PROG_DETACH, attr, "bpf(BPF_PROG_DETACH)", path)


def bpf_prog_query(target_fd: int, attach_type: int, path: str | None = None) -> list[int]:
    """IDs of the programs attached directly to `target_fd` for `attach_type`."""
    ids = (ctypes.c_uint32 * 64)()
    attr = ctypes.create_string_buffer(_BPF_ATTR_SIZE)
    struct.pack_into("<IIIIQI", attr, 0, target_fd, attach_type, 0, 0,
                     ctypes.addressof(ids), len(ids))
    _bpf(BPF_PROG_QUERY, attr, "bpf(BPF_PROG_QUERY)", path)
    count = struct.unpack_from("<I", attr, 24)[0]
    return list(ids[:count])


def bpf_prog_get_fd_by_id(prog_id: int) -> int:
    attr = ctypes.create_string_buffer(_BPF_ATTR_SIZE)
    struct.pack_into("<I", attr, 0, prog_id)
    return _bpf(BPF_PROG_GET_FD_BY_ID, attr, "bpf(BPF_PROG_GET_FD_BY_ID)")
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
    if explain.enabled():
        explain.step(f"fsopen({_quote(fstype)}, {'FSOPEN_CLOEXEC' if flags else '0'})")
    return _check(_libc.syscall(_SYS_FSOPEN, _b(fstype), ctypes.c_uint(flags)), "fsopen")


def fsconfig(fd: int, cmd: int, key: str | None = None, value: str | None = None) -> None:
    if explain.enabled():
        explain.step(f"fsconfig({fd}, {_FSCONFIG_NAMES.get(cmd, cmd)}, {_quote(key)}, "
                     f"{_quote(value)}, 0)")
    _check(_libc.syscall(_SYS_FSCONFIG, ctypes.c_int(fd), ctypes.c_uint(cmd), _b(key),
                         _b(value), ctypes.c_int(0)), "fsconfig", key)


def fsmount(fd: int, flags: int = FSMOUNT_CLOEXEC, attr_flags: int = 0) -> int:
    """A detached mount of a created filesystem context; attach it with move_mount()."""
    if explain.enabled():
        explain.step(f"fsmount({fd}, {'FSMOUNT_CLOEXEC' if flags else '0'}, {attr_flags})")
    return _check(_libc.syscall(_SYS_FSMOUNT, ctypes.c_int(fd), ctypes.c_uint(flags),
                                ctypes.c_uint(attr_flags)), "fsmount")


def move_mount(mount_fd: int, target: str) -> None:
    """Attach a detached mount (from fsmount) at `target`."""
    if explain.enabled():
        explain.step(f'move_mount({mount_fd}, "", AT_FDCWD, {_quote(target)}, '
                     "MOVE_MOUNT_F_EMPTY_PATH)")
    _check(_libc.syscall(_SYS_MOVE_MOUNT, ctypes.c_int(mount_fd), b"", ctypes.c_int(AT_FDCWD),
                         _b(target), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)),
           "move_mount", target)


def malloc_trim(pad: int = 0) -> bool:
    """Give the heap's free pages back to the kernel (glibc keeps them otherwise).

    A long-lived threaded process (the node agent) frees much more than it keeps
    after its start-up and after bursts; glibc's per-thread arenas hold those pages
    until told. Not a syscall, so not traced; True when memory was released.
    """
    return bool(_libc.malloc_trim(ctypes.c_size_t(pad)))
