"""Who the container's process is and what it may do: rlimits, user, capabilities, NNP.

This is the second boundary next to `linux.py`: capabilities, keep-caps,
no_new_privs, dumpable and the child subreaper go through python-prctl, and every
call is reported to `--explain` here. Ambient capabilities are the exception:
python-prctl 1.8 predates them, so `linux.py` issues that prctl.

Order matters, and is runc's (`finalizeNamespace`):

1. rlimits first: raising a hard limit needs CAP_SYS_RESOURCE, which may be dropped next.
2. Drop the bounding set: what no later execve can ever regain.
3. Switch user with PR_SET_KEEPCAPS, so setresuid() away from root keeps the
   permitted set (the kernel clears it otherwise), then set effective, permitted
   and inheritable exactly.
4. Raise ambient capabilities: the only way a non-root program keeps capabilities
   across execve. Each must already be permitted and inheritable; runc warns and
   goes on when one is not, and so do we.
5. no_new_privs last: from then on no execve (setuid binaries, file capabilities)
   can grant more than the process has.
"""

from __future__ import annotations

import prctl

from . import explain, linux
from .config import Caps, ProcessConfig


def set_dumpable(on: bool) -> None:
    # The init holds descriptors to host files (the exec FIFO) until it execs; a
    # non-dumpable process cannot be opened through /proc/<pid>/fd by the container's
    # other processes. execve() of the user's program makes it dumpable again.
    explain.step(f"prctl(PR_SET_DUMPABLE, {int(on)})")
    prctl.set_dumpable(on)


def set_child_subreaper() -> None:
    explain.step("prctl(PR_SET_CHILD_SUBREAPER, 1)")
    prctl.set_child_subreaper(1)


def set_pdeathsig(sig: int) -> None:
    explain.step(f"prctl(PR_SET_PDEATHSIG, {sig})")
    prctl.set_pdeathsig(sig)


def apply_rlimits(process: ProcessConfig) -> None:
    for resource, soft, hard in process.rlimits:
        linux.setrlimit(resource, soft, hard)


def drop_bounding(caps: Caps) -> None:
    """Drop every capability not in the bounding set (needs CAP_SETPCAP, so before setuid)."""
    last = linux.cap_last_cap()
    # Dropped without reading the set first, as runc does: dropping a capability that
    # is already gone succeeds, and 41 PR_CAPBSET_READs are half the syscalls here.
    dropped = [cap for cap in range(last + 1) if cap not in caps.bounding]
    if dropped and explain.enabled():
        explain.step("prctl(PR_CAPBSET_DROP, cap) for " + _names(dropped))
    for cap in dropped:
        prctl.capbset_drop(cap)


def switch_user(process: ProcessConfig) -> None:
    """setgroups/setresgid/setresuid, keeping the permitted capabilities across it."""
    keep = process.uid != 0
    if keep:
        explain.step("prctl(PR_SET_KEEPCAPS, 1)")
        prctl.set_keepcaps(True)
    linux.setgroups(process.additional_gids)
    linux.setresgid(process.gid)
    linux.setresuid(process.uid)
    if keep:
        explain.step("prctl(PR_SET_KEEPCAPS, 0)")
        prctl.set_keepcaps(False)


def set_capabilities(caps: Caps) -> None:
    """Make effective, permitted and inheritable exactly what the config says."""
    last = linux.cap_last_cap()
    known = [cap for cap in range(last + 1) if cap in linux.CAP_NAMES]
    args = []
    for flag, wanted in ((prctl.CAP_EFFECTIVE, caps.effective),
                         (prctl.CAP_PERMITTED, caps.permitted),
                         (prctl.CAP_INHERITABLE, caps.inheritable)):
        on = [cap for cap in known if cap in wanted]
        args.append((on, flag, True))
        args.append(([cap for cap in known if cap not in wanted], flag, False))
    if explain.enabled():
        explain.step(f"capset(effective={_names(caps.effective)}, "
                     f"permitted={_names(caps.permitted)}, "
                     f"inheritable={_names(caps.inheritable)})")
    prctl.set_caps(*args)


def raise_ambient(caps: Caps) -> None:
    linux.cap_ambient_clear_all()
    for cap in sorted(caps.ambient):
        try:
            linux.cap_ambient_raise(cap)
        except OSError:
            # Not both permitted and inheritable: the kernel refuses, runc warns and goes on.
            explain.step(f"(ambient {linux.CAP_NAMES.get(cap, cap)} skipped: not inheritable)")


def set_no_new_privs() -> None:
    explain.step("prctl(PR_SET_NO_NEW_PRIVS, 1)")
    prctl.set_no_new_privs(1)


def apply(process: ProcessConfig) -> None:
    """Everything above, in runc's order, for the process about to exec."""
    apply_rlimits(process)
    drop_bounding(process.caps)
    switch_user(process)
    set_capabilities(process.caps)
    raise_ambient(process.caps)
    if process.no_new_privs:
        set_no_new_privs()


def _names(caps: object) -> str:
    listed = sorted(caps)  # type: ignore[call-overload]
    return "{" + ", ".join(linux.CAP_NAMES.get(c, str(c)) for c in listed) + "}"
