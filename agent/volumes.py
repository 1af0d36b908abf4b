"""Pod volumes: made on the node before the containers start, bind-mounted into them.

Each volume of a pod becomes a directory on the node, and each `volumeMount` of a
container becomes an OCI bind mount of that directory (see `ocispec.py`):

    emptyDir                <pod dir>/volumes/empty-dir/<name>     a directory, or a
                            tmpfs with `medium: Memory` (size = sizeLimit); the
                            sizeLimit of a directory is enforced by eviction
                            (`eviction.py`)
    configMap, secret,      <pod dir>/volumes/<kind>/<name>        files, written
    downwardAPI, projected                                         atomically (below)
    hostPath                the node's own path, checked (and made) per its `type`

Files projected from the API are written the way the kubelet's atomic writer
does it, so a container never sees half an update:

    ..2026_11_23_10_15_00.123456/   the payload of one version
    ..data -> ..2026_11_23_...       switched with one rename(2)
    app.conf -> ..data/app.conf      what the user sees

A later `setup()` with changed ConfigMap or Secret data writes a new version and
switches `..data`; running containers see the new files at once (a container
that mounted a single file with `subPath` keeps the old one, as in Kubernetes).
Secret volumes live on a tmpfs, so secrets never reach the disk.

`teardown()` unmounts what it mounted and removes the pod's volume directories,
never following a mount point into another filesystem.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import stat
import time
from collections.abc import Callable

from supernetes.runtime import linux

from . import fsutil
from .envvars import field_value

Lookup = Callable[[str, str], dict | None]


class VolumeError(Exception):
    """A volume cannot be set up (reported as the pod's FailedMount event)."""


class VolumeManager:
    def __init__(self, pods_dir: str, get_configmap: Lookup, get_secret: Lookup):
        self.pods_dir = pods_dir
        self.get_configmap = get_configmap
        self.get_secret = get_secret

    def pod_dir(self, uid: str) -> str:
        return os.path.join(self.pods_dir, uid, "volumes")

    def empty_dir_path(self, uid: str, name: str) -> str:
        return os.path.join(self.pod_dir(uid), "empty-dir", name)

    def setup(self, pod: dict, pod_ip: str | None = None,
              host_ip: str | None = None) -> dict[str, str]:
        """Make every volume of the pod; returns volume name -> host path. Idempotent."""
        uid = pod["metadata"]["uid"]
        paths = {}
        for volume in pod.get("spec", {}).get("volumes") or []:
            name = volume["name"]
            if "emptyDir" in volume:
                paths[name] = self._empty_dir(uid, name, volume["emptyDir"] or {})
            elif "hostPath" in volume:
                paths[name] = _host_path(volume["hostPath"])
            elif "configMap" in volume:
                paths[name] = self._projected(uid, "configmap", name, [{"configMap": volume[
                    "configMap"]}], pod, volume["configMap"].get("defaultMode"), pod_ip, host_ip)
            elif "secret" in volume:
                source = dict(volume["secret"], name=volume["secret"].get("secretName"))
                paths[name] = self._projected(uid, "secret", name, [{"secret": source}], pod,
                                              source.get("defaultMode"), pod_ip, host_ip,
                                              tmpfs=True)
            elif "downwardAPI" in volume:
                paths[name] = self._projected(uid, "downward-api", name, [volume], pod,
                                              volume["downwardAPI"].get("defaultMode"),
                                              pod_ip, host_ip)
            elif "projected" in volume:
                projected = volume["projected"]
                paths[name] = self._projected(uid, "projected", name,
                                              projected.get("sources") or [], pod,
                                              projected.get("defaultMode"), pod_ip, host_ip)
            else:
                kind = next((k for k in volume if k != "name"), "?")
                raise VolumeError(f'volume "{name}": type {kind} is not supported on this node')
        return paths

    def teardown(self, uid: str) -> None:
        root = self.pod_dir(uid)
        fsutil.unmount_below(root)
        try:
            fsutil.remove_tree(root)
        except OSError as exc:
            raise VolumeError(f"removing the volumes of pod {uid}: {exc}") from exc

    # --- kinds ---------------------------------------------------------------

    def _empty_dir(self, uid: str, name: str, spec: dict) -> str:
        path = self.empty_dir_path(uid, name)
        os.makedirs(path, exist_ok=True)
        if spec.get("medium") == "Memory" and not os.path.ismount(path):
            options = "mode=0777"
            if spec.get("sizeLimit"):
                options += f",size={_tmpfs_size(spec['sizeLimit'])}"
            linux.mount("tmpfs", path, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, options)
        else:
            os.chmod(path, 0o777)  # any container user may write, as in Kubernetes
        return path

    def _projected(self, uid: str, kind: str, name: str, sources: list[dict], pod: dict,
                   default_mode: int | None, pod_ip: str | None, host_ip: str | None,
                   tmpfs: bool = False) -> str:
        path = os.path.join(self.pod_dir(uid), kind, name)
        os.makedirs(path, exist_ok=True)
        if tmpfs and not os.path.ismount(path):
            linux.mount("tmpfs", path, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=0755")
        files: dict[str, tuple[bytes, int]] = {}
        mode = 0o644 if default_mode is None else default_mode
        for source in sources:
            files.update(self._payload(source, pod, mode, pod_ip, host_ip))
        write_atomically(path, files)
        return path

    def _payload(self, source: dict, pod: dict, mode: int, pod_ip: str | None,
                 host_ip: str | None) -> dict[str, tuple[bytes, int]]:
        namespace = pod["metadata"].get("namespace", "default")
        if "configMap" in source or "secret" in source:
            kind = "configMap" if "configMap" in source else "secret"
            ref = source[kind]
            lookup = self.get_configmap if kind == "configMap" else self.get_secret
            obj = lookup(namespace, ref["name"])
            if obj is None:
                if ref.get("optional"):
                    return {}
                label = "configmap" if kind == "configMap" else "secret"
                raise VolumeError(f'{label} "{ref["name"]}" not found')
            data = {k: v.encode() for k, v in (obj.get("data") or {}).items()} \
                if kind == "configMap" else \
                {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            if kind == "configMap":
                data.update({k: base64.b64decode(v)
                             for k, v in (obj.get("binaryData") or {}).items()})
            items = ref.get("items")
            if not items:
                return {k: (v, mode) for k, v in data.items()}
            picked = {}
            for item in items:
                if item["key"] not in data:
                    if ref.get("optional"):
                        continue
                    raise VolumeError(f'{kind} "{ref["name"]}": no key {item["key"]}')
                picked[item["path"]] = (data[item["key"]], item.get("mode", mode))
            return picked
        if "downwardAPI" in source:
            picked = {}
            for item in source["downwardAPI"].get("items") or []:
                if "fieldRef" in item:
                    path = item["fieldRef"]["fieldPath"]
                    if path in ("metadata.labels", "metadata.annotations"):
                        values = pod["metadata"].get(path.split(".")[1], {})
                        text = "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
                    else:
                        text = field_value(pod, path, pod_ip, host_ip)
                    picked[item["path"]] = (text.encode(), item.get("mode", mode))
            return picked
        return {}


def write_atomically(directory: str, files: dict[str, tuple[bytes, int]]) -> bool:
    """Publish `files` (relative path -> (content, mode)) in one switch of `..data`.

    Returns False (and writes nothing) when the published payload is already equal.
    """
    for relative in files:
        if relative.startswith("/") or ".." in relative.split("/"):
            raise VolumeError(f"volume item path {relative!r} must be relative and stay inside")
    data_link = os.path.join(directory, "..data")
    if os.path.islink(data_link) and _payload_equal(data_link, files):
        return False
    version = "..{}.{:06d}".format(time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime()),
                                   time.time_ns() // 1000 % 1_000_000)
    version_dir = os.path.join(directory, version)
    os.makedirs(version_dir)
    for relative, (content, mode) in files.items():
        target = os.path.join(version_dir, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(content)
        os.chmod(target, mode)
    old = os.readlink(data_link) if os.path.islink(data_link) else None
    tmp_link = os.path.join(directory, "..data_tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp_link)
    os.symlink(version, tmp_link)
    os.replace(tmp_link, data_link)  # the one atomic step users can observe
    wanted = {relative.split("/")[0] for relative in files}
    for entry in os.listdir(directory):
        if entry.startswith(".."):
            continue
        if entry not in wanted:
            os.unlink(os.path.join(directory, entry))
    for top in wanted:
        link = os.path.join(directory, top)
        if not os.path.islink(link):
            os.symlink(os.path.join("..data", top), link)
    if old and old != version:
        shutil.rmtree(os.path.join(directory, old), ignore_errors=True)
    return True


def _payload_equal(data_link: str, files: dict[str, tuple[bytes, int]]) -> bool:
    current = {}
    for dirpath, _, filenames in os.walk(data_link, followlinks=True):
        for f in filenames:
            full = os.path.join(dirpath, f)
            with open(full, "rb") as fh:
                current[os.path.relpath(full, data_link)] = (fh.read(),
                                                              stat.S_IMODE(os.stat(full).st_mode))
    return current == files


HOST_PATH_TYPES = {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                   "CharDevice", "BlockDevice"}


def _host_path(spec: dict) -> str:
    path, kind = spec["path"], spec.get("type", "")
    if kind not in HOST_PATH_TYPES:
        raise VolumeError(f"hostPath type {kind!r} is not supported")
    if kind == "DirectoryOrCreate":
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif kind == "FileOrCreate" and not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        open(path, "a").close()
    checks = {"Directory": stat.S_ISDIR, "File": stat.S_ISREG, "Socket": stat.S_ISSOCK,
              "CharDevice": stat.S_ISCHR, "BlockDevice": stat.S_ISBLK}
    if kind in checks:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise VolumeError(f"hostPath type check failed: {path} does not exist") from None
        if not checks[kind](mode):
            raise VolumeError(f"hostPath type check failed: {path} is not a {kind}")
    return path


def _tmpfs_size(quantity: str) -> str:
    """Kubernetes quantities as tmpfs understands them (bytes)."""
    suffixes = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
                "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    for suffix, factor in suffixes.items():
        if quantity.endswith(suffix):
            return str(int(float(quantity[: -len(suffix)]) * factor))
    return str(int(float(quantity)))
