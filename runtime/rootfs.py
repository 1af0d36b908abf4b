"""The container's filesystem: mounts, /dev, pivot_root, masked and read-only paths.

Runs in the container's init (init.py), inside its new mount namespace, in two
halves around the OCI hooks:

    prepare()   propagation, rootfs bind, config.json's mounts, the cgroup mount,
                /dev nodes and symlinks          (host paths still visible)
    pivot()     pivot_root into the rootfs, detach the old root
    finalize()  readonly paths, masked paths, a read-only root  (container paths)

Mount destinations are resolved inside the rootfs by `secure_join`, which follows
symlinks as if the rootfs were "/": a hostile image cannot point /proc at the
host's /etc and have us mount over it.
"""

from __future__ import annotations

import os
import stat

from . import linux
from .config import DEFAULT_DEVICES, Config, DeviceNode, MountEntry

_BIND_REMOUNT_MASK = ~(linux.MS_BIND | linux.MS_REC | linux.MS_REMOUNT)
# statvfs() flag bits (ST_*) that must survive a bind remount; the kernel refuses to
# drop them (EPERM) when they are locked, e.g. on mounts inherited into a user namespace.
_ST_TO_MS = ((1, linux.MS_RDONLY), (2, linux.MS_NOSUID), (4, linux.MS_NODEV),
             (8, linux.MS_NOEXEC), (1024, linux.MS_NOATIME), (2048, linux.MS_NODIRATIME),
             (4096, linux.MS_RELATIME))


def secure_join(root: str, path: str) -> str:
    """`root/path` with every symlink resolved as if `root` were "/" (never escaping it)."""
    parts = [p for p in path.split("/") if p and p != "."]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(candidate)
        except OSError:  # not a symlink, or does not exist (yet)
            resolved.append(part)
            continue
        hops += 1
        if hops > 255:
            raise OSError(40, "too many levels of symbolic links", path)  # ELOOP
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p and p != "."] + parts
    return os.path.join(root, *resolved)


def prepare(config: Config, cgroup_paths: dict[str, str], userns: bool) -> None:
    """Everything before pivot_root."""
    rootfs = config.rootfs
    # Stop our mount events from reaching the host (and the host's from reaching us,
    # unless the config asks for rshared): mounts are copied into a new mount namespace
    # with the host's propagation, and a shared mount would carry ours back out.
    linux.mount(None, "/", None, config.rootfs_propagation or linux.MS_SLAVE | linux.MS_REC)
    if config.rootfs_propagation & linux.MS_SHARED:
        _make_parent_private(rootfs)
    # pivot_root needs the new root to be a mount point; a bind onto itself makes it one.
    linux.mount(rootfs, rootfs, "bind", linux.MS_BIND | linux.MS_REC)
    for m in config.mounts:
        _mount(m, rootfs, cgroup_paths, config)
    if _needs_dev(config):
        _make_devices(rootfs, config.devices, userns)


def pivot(rootfs: str) -> None:
    """Make `rootfs` the root of the mount namespace and drop the host's."""
    old_root = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new_root = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        linux.fchdir(new_root, f'open("{rootfs}")')
        # pivot_root(".", ".") (an LXC trick runc adopted): no put_old directory is
        # needed inside the rootfs, so a read-only rootfs works and nothing is left in
        # it. The old root ends up mounted on top of the new one at "/", still our cwd.
        linux.pivot_root(".", ".")
        linux.fchdir(old_root, 'open("/")  [the old root]')
        # The old root still shares propagation with the host's mounts; unmounting it
        # there would unmount the host's real filesystems. Make it a slave first, so
        # the unmount stays in our namespace, then detach it lazily.
        linux.mount(None, ".", None, linux.MS_SLAVE | linux.MS_REC)
        linux.umount2(".", linux.MNT_DETACH)
        linux.chdir("/")
    finally:
        os.close(old_root)
        os.close(new_root)


def finalize(config: Config) -> None:
    """After pivot_root: paths are the container's own."""
    for path in config.readonly_paths:
        _readonly(path)
    for path in config.masked_paths:
        _mask(path)
    if config.readonly_rootfs:
        linux.mount(None, "/", None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY
                    | _locked_flags("/"))
    if config.rootfs_propagation & (linux.MS_SHARED | linux.MS_PRIVATE | linux.MS_UNBINDABLE):
        linux.mount(None, "/", None, config.rootfs_propagation)


# --- the mounts of config.json ------------------------------------------------------------

def _mount(m: MountEntry, rootfs: str, cgroup_paths: dict[str, str], config: Config) -> None:
    dest = secure_join(rootfs, m.destination)
    if m.device == "bind":
        _bind(m.source or "", dest, m.flags)
    elif m.device == "cgroup":
        _mount_cgroup(dest, m.flags, cgroup_paths, config)
    else:
        _make_dir(dest)
        try:
            linux.mount(m.source or m.device, dest, m.device, m.flags, m.data)
        except PermissionError:
            # sysfs and mqueue belong to the network and IPC namespaces: a container that
            # shares the host's (or a pod's) cannot mount a fresh instance. Bind the
            # host's instead, as runc does.
            fallback = {"sysfs": "/sys", "mqueue": "/dev/mqueue"}.get(m.device)
            if fallback is None:
                raise
            _bind(fallback, dest, m.flags | linux.MS_REC)
    for propagation in m.propagation:
        linux.mount(None, dest, None, propagation)


def _bind(source: str, dest: str, flags: int) -> None:
    if os.path.isdir(source):
        _make_dir(dest)
    else:
        _make_dir(os.path.dirname(dest))
        if not os.path.exists(dest):
            os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    linux.mount(source, dest, "bind", linux.MS_BIND | (flags & linux.MS_REC))
    # A bind mount ignores every other flag; they take effect in a remount.
    extra = flags & _BIND_REMOUNT_MASK
    if extra:
        linux.mount(None, dest, None,
                    extra | linux.MS_BIND | linux.MS_REMOUNT | _locked_flags(dest))


def _mount_cgroup(dest: str, flags: int, cgroup_paths: dict[str, str], config: Config) -> None:
    readonly = flags & linux.MS_RDONLY
    base_flags = flags & ~linux.MS_RDONLY & _BIND_REMOUNT_MASK
    own_cgroupns = any(ns.kind == linux.CLONE_NEWCGROUP and ns.path is None
                       for ns in config.namespaces)
    _make_dir(dest)
    if "" in cgroup_paths:  # v2: one unified directory
        if own_cgroupns:
            # In its own cgroup namespace a fresh cgroup2 mount shows the container's
            # cgroup as the root.
            linux.mount("cgroup2", dest, "cgroup2", flags)
        else:
            _bind(cgroup_paths[""], dest, flags)
        return
    # v1: a tmpfs like the host's /sys/fs/cgroup, with the container's own directory of
    # each hierarchy bound at /sys/fs/cgroup/<controller>, as runc does.
    linux.mount("tmpfs", dest, "tmpfs", base_flags, "mode=755")
    for name, host_dir in sorted(cgroup_paths.items()):
        sub = os.path.join(dest, name)
        _make_dir(sub)
        _bind(host_dir, sub, base_flags | readonly)
    if readonly:
        linux.mount(None, dest, None, base_flags | linux.MS_RDONLY | linux.MS_REMOUNT)


def _make_dir(path: str) -> None:
    # os.makedirs(exist_ok=True) costs three syscalls and an exception for a directory
    # that exists, as an image's mount points mostly do; this costs one stat then.
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)


def _needs_dev(config: Config) -> bool:
    """runc's rule: /dev gets our nodes unless the config binds a /dev of its own."""
    return not any(m.destination == "/dev" and m.device == "bind" for m in config.mounts)


def _make_devices(rootfs: str, extra: list[DeviceNode], userns: bool) -> None:
    nodes = [DeviceNode(path=p, type=t, major=ma, minor=mi) for p, t, ma, mi in DEFAULT_DEVICES]
    nodes.extend(extra)
    for node in nodes:
        dest = secure_join(rootfs, node.path)
        _make_dir(os.path.dirname(dest))
        if os.path.lexists(dest):
            os.unlink(dest)
        if userns:
            # mknod needs CAP_MKNOD in the initial user namespace: bind the host's node.
            os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o666))
            linux.mount(node.path, dest, "bind", linux.MS_BIND)
            continue
        kind = {"c": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[node.type]
        linux.mknod(dest, kind | node.mode, node.major, node.minor)
        os.chown(dest, node.uid, node.gid)
    dev = secure_join(rootfs, "/dev")
    links = [("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"),
             ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr")]
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "core"))
    if os.path.isdir(os.path.join(dev, "pts")):
        links.append(("pts/ptmx", "ptmx"))
    for target, name in links:
        path = os.path.join(dev, name)
        if not os.path.lexists(path):
            linux.symlink(target, path)


# --- after pivot_root ---------------------------------------------------------------------

def _readonly(path: str) -> None:
    try:
        linux.mount(path, path, None, linux.MS_BIND | linux.MS_REC)
    except FileNotFoundError:
        return
    linux.mount(None, path, None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY
                | _locked_flags(path))


def _mask(path: str) -> None:
    try:
        if os.path.isdir(path):
            linux.mount("tmpfs", path, "tmpfs", linux.MS_RDONLY)
        else:
            linux.mount("/dev/null", path, None, linux.MS_BIND)
    except FileNotFoundError:
        pass


def _locked_flags(path: str) -> int:
    """The flags of the mount at `path` that a bind remount must repeat."""
    st_flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in _ST_TO_MS if st_flags & st and ms != linux.MS_RDONLY)


def _make_parent_private(rootfs: str) -> None:
    # With rshared propagation the rootfs's parent mount is shared, and pivot_root
    # refuses (EINVAL) to move a mount whose parent is shared. Make just that one private.
    best = "/"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mountpoint = line.split()[4]
            if (rootfs == mountpoint or rootfs.startswith(mountpoint.rstrip("/") + "/")) \
                    and len(mountpoint) > len(best) and mountpoint != rootfs:
                best = mountpoint
    linux.mount(None, best, None, linux.MS_PRIVATE)
