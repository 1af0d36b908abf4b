"""Device rules on cgroup v2: compile OCI rules into an eBPF program and attach it.

cgroup v2 has no `devices.allow`: the kernel asks every BPF_PROG_TYPE_CGROUP_DEVICE
program attached to the cgroup (and its ancestors) whether an open or mknod of a
device node may proceed. runc compiles the rule list into such a program; so do we,
by hand, into raw `struct bpf_insn` words (no compiler, no libbpf): the program is
a straight list of rule blocks, each a few compares that jump to the next block on
a mismatch and otherwise return the rule's verdict.

The semantics copy the v1 controller, so both drivers agree on a rule list: start
from "allow everything" (a fresh v1 child of the root), apply the rules in order,
the last matching rule wins. The program therefore tests the rules in *reverse*
order and falls through to "allow". A rule of type `a` matches every device (on
v1 it resets the whole list), so blocks after it are never reached.

The context the kernel passes (`struct bpf_cgroup_dev_ctx`):
    u32 access_type  = access << 16 | type   (type 1 block, 2 char;
                                              access 1 mknod, 2 read, 4 write)
    u32 major, minor
"""

from __future__ import annotations

import os
import struct

from ... import explain, linux
from ..base import CgroupError, DeviceRule

_TYPES = {"b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}

# The few eBPF opcodes the program uses (<linux/bpf.h>, <linux/bpf_common.h>).
_LDX_MEM_W = 0x61  # dst = *(u32 *)(src + off)
_ALU32_AND_K = 0x54  # dst &= imm (32 bit)
_ALU32_RSH_K = 0x74  # dst >>= imm (32 bit)
_ALU32_MOV_X = 0xBC  # dst = src (32 bit)
_ALU64_MOV_K = 0xB7  # dst = imm
_JNE_K = 0x55  # if dst != imm: pc += off
_JNE_X = 0x5D  # if dst != src: pc += off
_EXIT = 0x95  # return r0


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


def _access_bits(access: str) -> int:
    return sum(bit for char, bit in _ACCESS.items() if char in access)


def _rule_block(rule: DeviceRule) -> list[bytes]:
    """Compares for one rule; a mismatch jumps past the block (offsets fixed below)."""
    # Each entry is either a finished instruction or (code, dst, operand) of a
    # "jump past this block if different", whose offset is known only at the end.
    block: list[bytes | tuple[int, int, int]] = []
    if rule.type != "a":
        if rule.type not in _TYPES:
            raise CgroupError(f"device rule type {rule.type!r} is not one of a, b, c")
        block.append((_JNE_K, 2, _TYPES[rule.type]))
        access = _access_bits(rule.access)
        if access != 7:
            # Allowed only if every requested access bit is among the rule's.
            block.append(_insn(_ALU32_MOV_X, dst=1, src=3))
            block.append(_insn(_ALU32_AND_K, dst=1, imm=access))
            block.append((_JNE_X, 1, 3))
        if rule.major is not None:
            block.append((_JNE_K, 4, rule.major))
        if rule.minor is not None:
            block.append((_JNE_K, 5, rule.minor))
    block.append(_insn(_ALU64_MOV_K, dst=0, imm=1 if rule.allow else 0))
    block.append(_insn(_EXIT))
    out = []
    for index, item in enumerate(block):
        if isinstance(item, bytes):
            out.append(item)
            continue
        code, dst, operand = item
        skip = len(block) - index - 1  # to the first instruction after this block
        if code == _JNE_X:
            out.append(_insn(code, dst=dst, src=operand, off=skip))
        else:
            out.append(_insn(code, dst=dst, off=skip, imm=operand))
    return out


def compile_rules(rules: list[DeviceRule]) -> bytes:
    """The eBPF program (raw instructions) enforcing `rules`, last match wins."""
    program = [
        _insn(_LDX_MEM_W, dst=2, src=1, off=0),  # r2 = access_type
        _insn(_ALU32_AND_K, dst=2, imm=0xFFFF),  # r2 = device type
        _insn(_LDX_MEM_W, dst=3, src=1, off=0),
        _insn(_ALU32_RSH_K, dst=3, imm=16),  # r3 = requested access
        _insn(_LDX_MEM_W, dst=4, src=1, off=4),  # r4 = major
        _insn(_LDX_MEM_W, dst=5, src=1, off=8),  # r5 = minor
    ]
    for rule in reversed(rules):
        program.extend(_rule_block(rule))
        if rule.type == "a":
            break  # matches everything: nothing after it can run
    else:
        program.extend([_insn(_ALU64_MOV_K, dst=0, imm=1), _insn(_EXIT)])
    return b"".join(program)


def apply(directory: str, rules: list[DeviceRule]) -> None:
    """Attach the program for `rules` to `directory`, replacing one we attached before."""
    program = compile_rules(rules)
    explain.step(f"device rules for {directory} (eBPF, last match wins): " +
                 ", ".join(_describe(r) for r in rules))
    try:
        cgroup_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise CgroupError(f"open {directory}: {exc.strerror}") from exc
    try:
        old = linux.bpf_prog_query(cgroup_fd, linux.BPF_CGROUP_DEVICE, directory)
        prog_fd = linux.bpf_prog_load_cgroup_device(program)
        try:
            linux.bpf_prog_attach(cgroup_fd, prog_fd, linux.BPF_CGROUP_DEVICE,
                                  linux.BPF_F_ALLOW_MULTI, directory)
        finally:
            os.close(prog_fd)  # the cgroup holds its own reference once attached
        # Only now drop the old program: there is never a moment without rules.
        for prog_id in old:
            old_fd = linux.bpf_prog_get_fd_by_id(prog_id)
            try:
                linux.bpf_prog_detach(cgroup_fd, old_fd, linux.BPF_CGROUP_DEVICE, directory)
            finally:
                os.close(old_fd)
    except OSError as exc:
        raise CgroupError(f"device rules for {directory}: {exc.strerror or exc}") from exc
    finally:
        os.close(cgroup_fd)


def _describe(rule: DeviceRule) -> str:
    major = "*" if rule.major is None else rule.major
    minor = "*" if rule.minor is None else rule.minor
    return f"{'allow' if rule.allow else 'deny'} {rule.type} {major}:{minor} {rule.access}"
