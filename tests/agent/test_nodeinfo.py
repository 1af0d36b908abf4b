"""What the node reports about itself, read from this very machine."""

import os
import platform

from supernetes.agent.nodeinfo import (
    allocatable,
    capacity,
    conditions,
    meminfo,
    node_info,
    pressure,
)


def test_capacity_is_read_from_the_machine(tmp_path):
    cap = capacity(str(tmp_path), max_pods=50)
    assert cap["pods"] == "50"
    cpus = len(os.sched_getaffinity(0))
    assert cap["cpu"] in (str(cpus), *(f"{m}m" for m in range(1, cpus * 1000)))
    memory_kib = int(cap["memory"][:-2])
    assert 0 < memory_kib * 1024 <= meminfo()["MemTotal"]
    fs = os.statvfs(str(tmp_path))
    assert int(cap["ephemeral-storage"][:-2]) == fs.f_blocks * fs.f_frsize // 1024


def test_allocatable_subtracts_reservations_and_the_eviction_threshold():
    cap = {"cpu": "2", "memory": "4194304Ki", "pods": "110", "ephemeral-storage": "100Ki"}
    alloc = allocatable(cap, reserved_cpu_milli=250, reserved_memory=512 * 2**20)
    assert alloc["cpu"] == "1750m"
    assert alloc["memory"] == f"{(4 * 2**30 - 612 * 2**20) // 1024}Ki"
    assert alloc["pods"] == "110"


def test_pressure_conditions_follow_the_thresholds(tmp_path):
    calm = pressure(str(tmp_path), memory_threshold=1)
    assert calm["MemoryPressure"][0] is False
    assert calm["DiskPressure"][0] is False
    squeezed = pressure(str(tmp_path), memory_threshold=2**62, disk_fraction=1.01)
    assert squeezed["MemoryPressure"][0] is True and squeezed["DiskPressure"][0] is True


def test_conditions_carry_kubelet_reasons_and_keep_transition_times():
    first = conditions([], (True, "agent is posting ready status"),
                       {"MemoryPressure": (False, "ok")}, now=1000)
    ready = next(c for c in first if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    assert next(c for c in first if c["type"] == "MemoryPressure")["reason"] == \
        "KubeletHasSufficientMemory"
    later = conditions(first, (True, ""), {"MemoryPressure": (False, "ok")}, now=2000)
    assert next(c for c in later if c["type"] == "Ready")["lastTransitionTime"] == \
        ready["lastTransitionTime"]
    assert next(c for c in later if c["type"] == "Ready")["lastHeartbeatTime"] != \
        ready["lastHeartbeatTime"]


def test_node_info_names_this_kernel_and_the_runtime():
    info = node_info("superc://0.1.0", "v1.33.0-supernetes")
    assert info["kernelVersion"] == platform.release()
    assert info["containerRuntimeVersion"] == "superc://0.1.0"
    assert info["operatingSystem"] == "linux" and info["architecture"] == "amd64"
