"""What a process inside a superc container really sees and may do (real kernel objects)."""

from __future__ import annotations

import os
import subprocess

import pytest

pytestmark = pytest.mark.root


def run(superc, bundle, script: str, cid: str = "c1") -> subprocess.CompletedProcess:
    bundle.sh(script)
    result = superc("run", "--bundle", bundle.path, cid)
    assert result.returncode == 0, result.stderr
    return result


def test_process_is_pid_1(superc, bundle):
    assert run(superc, bundle, "echo $$").stdout.strip() == "1"


def test_hostname_is_the_containers_own(superc, bundle):
    bundle.config["hostname"] = "inside-box"
    out = run(superc, bundle, "hostname; cat /proc/sys/kernel/hostname").stdout.split()
    assert out == ["inside-box", "inside-box"]
    assert os.uname().nodename != "inside-box"


def test_proc_shows_only_the_containers_processes(superc, bundle):
    out = run(superc, bundle, "sleep 5 & ls /proc | grep -E '^[0-9]+$'; kill %1").stdout.split()
    pids = sorted(int(p) for p in out)
    # sh itself (1), the backgrounded sleep, and ls/grep of the pipeline: a handful of
    # small PIDs, none of the host's hundreds.
    assert pids[0] == 1
    assert len(pids) <= 5
    assert max(pids) < 10


def test_host_mounts_are_invisible(superc, bundle, tmp_path):
    host_mount = tmp_path / "host-only"
    host_mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "host-only-tmpfs",
                    str(host_mount)], check=True)
    try:
        mounts = run(superc, bundle, "cat /proc/self/mountinfo").stdout
    finally:
        subprocess.run(["umount", str(host_mount)], check=True)
    assert "host-only-tmpfs" not in mounts
    points = {line.split()[4] for line in mounts.splitlines()}
    assert not any(p.startswith(("/tmp/", "/work", "/run/")) for p in points), points
    assert "/" in points and "/proc" in points and "/dev/pts" in points


def test_dropped_capabilities_are_really_absent(superc, bundle):
    # The default spec keeps only AUDIT_WRITE, KILL and NET_BIND_SERVICE.
    out = run(superc, bundle, "touch /dev/shm/f; chown 1000 /dev/shm/f 2>&1; echo chown=$?; "
              "ip link add dummy0 type dummy 2>&1; echo ip=$?; "
              "grep CapEff /proc/self/status").stdout
    chown, ip = out.split("chown=")[0], out.split("chown=")[1].split("ip=")[0]
    assert "chown=1" in out and "Operation not permitted" in chown
    assert "ip=0" not in out and "Operation not permitted" in ip
    cap_eff = int(out.split("CapEff:")[1].split()[0], 16)
    assert cap_eff == (1 << 29) | (1 << 5) | (1 << 10)


def test_readonly_paths_and_root_are_read_only(superc, bundle):
    out = run(superc, bundle, "touch /newfile 2>&1; echo root=$?; "
              "echo 1 > /proc/sys/kernel/domainname 2>&1; echo sys=$?; "
              "touch /tmp/x 2>&1; echo tmp=$?").stdout
    assert "root=1" in out and "Read-only file system" in out
    assert "sys=1" in out
    assert not os.path.exists(os.path.join(bundle.rootfs, "newfile"))


def test_writable_root_when_not_readonly(superc, bundle):
    bundle.config["root"]["readonly"] = False
    run(superc, bundle, "echo written > /newfile")
    with open(os.path.join(bundle.rootfs, "newfile")) as f:
        assert f.read() == "written\n"


def test_no_new_privileges_is_set(superc, bundle):
    assert "NoNewPrivs:\t1" in run(superc, bundle, "cat /proc/self/status").stdout
    bundle.config["process"]["noNewPrivileges"] = False
    assert "NoNewPrivs:\t0" in run(superc, bundle, "cat /proc/self/status", "c2").stdout


def test_masked_paths_are_unreadable(superc, bundle):
    with open(os.path.join(bundle.rootfs, "etc", "secret"), "w") as f:
        f.write("top secret\n")
    os.makedirs(os.path.join(bundle.rootfs, "secretdir"))
    with open(os.path.join(bundle.rootfs, "secretdir", "key"), "w") as f:
        f.write("key\n")
    bundle.config["linux"]["maskedPaths"] += ["/etc/secret", "/secretdir"]
    out = run(superc, bundle, "echo [$(cat /etc/secret)]; ls -A /secretdir | wc -l; "
              "echo [$(head -c 16 /proc/kcore | wc -c)]").stdout.split()
    assert out == ["[]", "0", "[0]"]


def test_rlimits_are_applied(superc, bundle):
    bundle.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
        {"type": "RLIMIT_NPROC", "soft": 77, "hard": 77},
    ]
    out = run(superc, bundle, "ulimit -Sn; ulimit -Hn; ulimit -u").stdout.split()
    assert out == ["123", "456", "77"]


def test_user_and_groups_switch(superc, bundle):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7]}
    out = run(superc, bundle, "id -u; id -g; id -G; echo $HOME; "
              "grep -E '^(Uid|Gid|Groups)' /proc/self/status").stdout
    lines = out.splitlines()
    assert lines[:4] == ["1000", "1001", "1001 5 7", "/home/user"]
    assert "Uid:\t1000\t1000\t1000\t1000" in out
    assert "Gid:\t1001\t1001\t1001\t1001" in out


def test_standard_devices_exist(superc, bundle):
    out = run(superc, bundle, "stat -c '%n %F %t,%T' /dev/null /dev/zero /dev/full /dev/random "
              "/dev/urandom /dev/tty; head -c 4 /dev/zero | wc -c; "
              "ls -d /dev/pts /dev/shm /dev/mqueue; readlink /dev/fd; readlink /dev/ptmx").stdout
    lines = out.splitlines()
    assert lines[:6] == [
        "/dev/null character special file 1,3", "/dev/zero character special file 1,5",
        "/dev/full character special file 1,7", "/dev/random character special file 1,8",
        "/dev/urandom character special file 1,9", "/dev/tty character special file 5,0"]
    assert lines[6] == "4"
    assert lines[7:] == ["/dev/mqueue", "/dev/pts", "/dev/shm", "/proc/self/fd", "pts/ptmx"]


def test_bind_mount_read_only_and_writable(superc, bundle, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in").write_text("from host\n")
    bundle.config["mounts"] += [
        {"destination": "/ro", "type": "bind", "source": str(shared), "options": ["rbind", "ro"]},
        {"destination": "/rw", "type": "bind", "source": str(shared), "options": ["rbind", "rw"]},
    ]
    out = run(superc, bundle, "cat /ro/in; touch /ro/x 2>&1; echo ro=$?; "
              "echo out > /rw/out; echo rw=$?").stdout
    assert "from host" in out and "ro=1" in out and "rw=0" in out
    assert (shared / "out").read_text() == "out\n"
    assert not (shared / "x").exists()


def test_tmpfs_noexec_option_is_honoured(superc, bundle):
    out = run(superc, bundle, "cp /bin/busybox /dev/shm/bb && /dev/shm/bb true 2>&1; "
              "echo exec=$?").stdout
    assert "exec=126" in out or "Permission denied" in out


def test_sysctl_is_set_in_the_containers_namespace(superc, bundle):
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_before = f.read()
    assert run(superc, bundle, "cat /proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host_before


def test_joins_a_pre_made_network_namespace_by_path(superc, bundle, unique):
    name = f"superc-test-{unique}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        # A documentation address (TEST-NET-1) on the namespace's loopback marks it.
        subprocess.run(["ip", "-n", name, "addr", "add", "192.0.2.77/32", "dev", "lo"],
                       check=True)
        bundle.config["linux"]["namespaces"] = [
            ns if ns["type"] != "network" else {"type": "network", "path": f"/run/netns/{name}"}
            for ns in bundle.config["linux"]["namespaces"]]
        out = run(superc, bundle, "ip -o addr show dev lo").stdout
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=True)
    assert "192.0.2.77/32" in out


def test_user_namespace_maps_ids(superc, bundle, tmp_path):
    # Root stays host root (so the bundle under pytest's 0700 tmp dirs stays reachable,
    # as runc also requires); every other ID is shifted by 100000.
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    maps = [{"containerID": 0, "hostID": 0, "size": 1},
            {"containerID": 1, "hostID": 100001, "size": 65535}]
    bundle.config["linux"]["uidMappings"] = maps
    bundle.config["linux"]["gidMappings"] = maps
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    bundle.config["mounts"].append({"destination": "/shared", "type": "bind",
                                    "source": str(shared), "options": ["rbind", "rw"]})
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    out = run(superc, bundle, "cat /proc/self/uid_map; id -u; touch /shared/made-by-1000").stdout
    rows = [line.split() for line in out.splitlines()]
    assert rows[:2] == [["0", "0", "1"], ["1", "100001", "65535"]]
    assert rows[2] == ["1000"]
    made = os.stat(shared / "made-by-1000")
    assert (made.st_uid, made.st_gid) == (101000, 101000)


def test_user_namespace_root_has_no_host_privileges(superc, bundle):
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    maps = [{"containerID": 0, "hostID": 0, "size": 1},
            {"containerID": 1, "hostID": 100001, "size": 65535}]
    bundle.config["linux"]["uidMappings"] = maps
    bundle.config["linux"]["gidMappings"] = maps
    caps = bundle.config["process"]["capabilities"]
    for kind in ("bounding", "effective", "permitted"):
        caps[kind].append("CAP_MKNOD")
    # CAP_MKNOD inside a user namespace does not reach the host's devices.
    out = run(superc, bundle, "mknod /dev/shm/x c 1 3 2>&1; echo mknod=$?").stdout
    assert "mknod=1" in out


def test_cgroup_namespace_shows_the_container_cgroup_as_root(superc, bundle):
    bundle.config["linux"]["namespaces"].append({"type": "cgroup"})
    out = run(superc, bundle, "cat /proc/self/cgroup").stdout
    assert all(line.endswith(":/") for line in out.splitlines() if line), out
