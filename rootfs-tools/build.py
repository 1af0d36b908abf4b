"""Base images built offline (no Docker Hub here): busybox, Debian minbase, any directory.

    superlet image build busybox                     -> localhost/busybox:latest in the store
    superlet image build debian --suite bookworm     -> localhost/debian:bookworm (debootstrap)
    superlet image build dir ./rootfs --name app:1   -> a one-layer image of ./rootfs
    ... --output DIR                                 -> an OCI layout instead (skopeo/umoci read it)

(`python -m supernetes.rootfs.build busybox ...` is the same command.)

Each builder fills a directory, packs it into one gzip layer with a reproducible
tar (sorted entries, PAX headers, gzip without a timestamp) while hashing both the
compressed bytes (the layer digest) and the plain tar (the DiffID), then writes
config, manifest and index.json of an OCI layout. The busybox image is Debian's
busybox-static binary with its applets hard-linked in /bin, as the official image
has them. The Debian image is `debootstrap --variant=minbase` from the apt mirror
this machine is configured with; it takes minutes, so the finished layout is
cached under $SUPERNETES_CACHE (default ~/.cache/supernetes) and reused.
"""

import glob
import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

from . import layout, oci
from .errors import BuildError

BUSYBOX = "/bin/busybox"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class _HashingWriter:
    def __init__(self, sink):
        self.sink, self.hash, self.size = sink, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.sink.write(data)

    def flush(self) -> None:
        self.sink.flush()


def pack_layer(rootfs: str, out_path: str, exclude=None, as_root: bool = False,
               mtime: int | None = None) -> tuple[str, int, str]:
    """Tar+gzip `rootfs` into `out_path`; return (digest, size, diff_id).

    `exclude(relpath)` drops an entry (and, for a directory, its contents); `as_root`
    records every entry as owned by 0:0 (for trees built by an unprivileged user);
    `mtime` stamps every entry with one time, so rebuilding gives the same digest.
    """
    with open(out_path, "wb") as raw:
        compressed = _HashingWriter(raw)
        with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=6) as gz:
            plain = _HashingWriter(gz)
            with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for rel in _walk(rootfs, exclude):
                    info = tar.gettarinfo(os.path.join(rootfs, rel), arcname=rel)
                    if info is None:
                        continue  # sockets: not content
                    info.uname = info.gname = ""
                    if as_root:
                        info.uid = info.gid = 0
                    # Whole seconds, as moby writes layers: a fractional mtime would cost
                    # every file its own PAX header.
                    info.mtime = int(info.mtime) if mtime is None else mtime
                    if info.isreg():
                        with open(os.path.join(rootfs, rel), "rb") as f:
                            tar.addfile(info, f)
                    else:
                        tar.addfile(info)
    return f"sha256:{compressed.hash.hexdigest()}", compressed.size, \
        f"sha256:{plain.hash.hexdigest()}"


def _walk(root: str, exclude) -> list[str]:
    """Paths below `root`: each directory before its contents, siblings sorted."""
    out: list[str] = []

    def visit(rel: str) -> None:
        for name in sorted(os.listdir(os.path.join(root, rel))):
            path = f"{rel}/{name}" if rel else name
            if exclude and exclude(path):
                continue
            out.append(path)
            if stat.S_ISDIR(os.lstat(os.path.join(root, path)).st_mode):
                visit(path)

    visit("")
    return out


def write_layout(rootfs: str, output: str, name: str, exec_config: dict, exclude=None,
                 as_root: bool = False, created_by: str = "supernetes build",
                 mtime: int | None = None) -> str:
    """Pack `rootfs` as a one-layer image into OCI layout `output`; return the manifest digest."""
    writer = layout.LayoutWriter(output)
    tmp = os.path.join(output, "blobs", ".layer.tmp")
    digest, size, diff_id = pack_layer(rootfs, tmp, exclude, as_root, mtime)
    os.rename(tmp, writer.blob_path(digest))
    config = oci.dumps(oci.new_config([diff_id], exec_config, created_by=created_by))
    config_digest = writer.put_bytes(config)
    manifest = oci.dumps(oci.new_manifest(
        oci.Descriptor(oci.OCI_CONFIG, config_digest, len(config)),
        [oci.Descriptor(oci.OCI_LAYER_GZIP, digest, size)]))
    tag = name.rpartition(":")[2] if ":" in name.rpartition("/")[2] else "latest"
    return writer.add_image(manifest, tag, name)


# --- busybox -------------------------------------------------------------------------------

def busybox_rootfs(target: str, binary: str = BUSYBOX) -> None:
    if not os.access(binary, os.X_OK):
        raise BuildError(f"{binary} not found: install the busybox-static package")
    try:
        applets = subprocess.run([binary, "--list"], check=True, capture_output=True,
                                 text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"{binary} --list failed: {exc}") from exc
    for directory, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777),
                            ("home", 0o755), ("var", 0o755), ("dev", 0o755), ("proc", 0o555),
                            ("sys", 0o555), ("usr", 0o755)):
        os.mkdir(os.path.join(target, directory))
        os.chmod(os.path.join(target, directory), mode)
    shutil.copy2(binary, os.path.join(target, "bin", "busybox"))
    for applet in applets:
        if applet != "busybox" and "/" not in applet:
            os.link(os.path.join(target, "bin", "busybox"), os.path.join(target, "bin", applet))
    files = {
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                      "nobody:x:65534:65534:nobody:/home:/bin/false\n",
        "etc/group": "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n",
        "etc/hostname": "busybox\n",
    }
    for rel, text in files.items():
        with open(os.path.join(target, rel), "w") as f:
            f.write(text)


def build_busybox(output: str, name: str = "localhost/busybox:latest") -> str:
    with tempfile.TemporaryDirectory(prefix="busybox-rootfs-") as tmp:
        rootfs = os.path.join(tmp, "rootfs")
        os.mkdir(rootfs, 0o755)
        busybox_rootfs(rootfs)
        # Every file gets the binary's mtime: the same busybox-static gives the same digest.
        return write_layout(rootfs, output, name, {"Cmd": ["sh"], "Env": [_PATH]},
                            as_root=True, created_by="superlet image build busybox",
                            mtime=int(os.stat(BUSYBOX).st_mtime))


# --- debian (debootstrap) ------------------------------------------------------------------

def apt_mirror(suite: str = "bookworm", paths: list[str] | None = None) -> str:
    """The Debian mirror this machine's apt uses for `suite` (deb822 or one-line sources)."""
    if paths is None:
        paths = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*"))
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for stanza in text.split("\n\n"):
                fields = dict(line.split(":", 1) for line in stanza.splitlines()
                              if ":" in line and not line.startswith("#"))
                suites = fields.get("Suites", "").split()
                if suite in suites and "deb" in fields.get("Types", "").split():
                    return fields["URIs"].split()[0]
        elif path.endswith(".list"):
            for line in text.splitlines():
                words = line.split("#")[0].split()
                if not words or words[0] != "deb":
                    continue
                words = words[1:]
                if words and words[0].startswith("["):  # [arch=amd64 signed-by=...]
                    while words and not words[0].endswith("]"):
                        words = words[1:]
                    words = words[1:]
                if len(words) >= 2 and words[1] == suite:
                    return words[0]
    return DEFAULT_MIRROR


def cache_dir() -> str:
    return os.environ.get("SUPERNETES_CACHE") or os.path.expanduser("~/.cache/supernetes")


def _debian_exclude(rel: str) -> bool:
    # What Docker's debian images leave out: downloaded packages and lists, device
    # nodes (the runtime mounts its own /dev), and anything under /proc, /sys, /run.
    parts = rel.split("/")
    if parts[0] in ("dev", "proc", "sys", "run") and len(parts) > 1:
        return True
    if rel.startswith("var/cache/apt/") and rel.endswith((".deb", ".bin")):
        return True
    return rel.startswith("var/lib/apt/lists/") and parts[-1] not in ("partial", "lock")


def build_debian(output: str, suite: str = "bookworm", mirror: str | None = None,
                 name: str | None = None, use_cache: bool = True) -> str:
    """debootstrap --variant=minbase into a temp dir, then pack it (cached by suite+arch)."""
    if os.geteuid() != 0:
        raise BuildError("the debian builder runs debootstrap, which needs root")
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap not found: install the debootstrap package")
    name = name or f"localhost/debian:{suite}"
    mirror = mirror or apt_mirror(suite)
    arch = oci.host_platform()["architecture"]
    cached = os.path.join(cache_dir(), f"debian-{suite}-minbase-{arch}")
    if not (use_cache and os.path.isfile(os.path.join(cached, "index.json"))):
        os.makedirs(cache_dir(), exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"debootstrap-{suite}-", dir=cache_dir()) as tmp:
            rootfs = os.path.join(tmp, "rootfs")
            command = ["debootstrap", "--variant=minbase", f"--arch={arch}", suite, rootfs, mirror]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
                raise BuildError(f"debootstrap failed ({result.returncode}): {' | '.join(tail)}")
            staging = os.path.join(tmp, "layout")
            write_layout(rootfs, staging, f"localhost/debian:{suite}",
                         {"Cmd": ["bash"], "Env": [_PATH]}, exclude=_debian_exclude,
                         created_by=f"debootstrap --variant=minbase {suite} {mirror}")
            shutil.rmtree(cached, ignore_errors=True)
            os.rename(staging, cached)
    return copy_layout(cached, output, name)


def copy_layout(source: str, output: str, name: str) -> str:
    """Put the single image of layout `source` into layout `output` under `name`."""
    index = layout.read_index(layout.DirSource(source))
    descriptor = index.manifests[0]
    writer = layout.LayoutWriter(output)
    with open(os.path.join(source, layout.blob_name(descriptor.digest)), "rb") as f:
        body = f.read()
    manifest = oci.parse_manifest(body)
    for blob in (manifest.config, *manifest.layers):
        writer.put_file(os.path.join(source, layout.blob_name(blob.digest)), blob.digest)
    tag = name.rpartition(":")[2] if ":" in name.rpartition("/")[2] else "latest"
    return writer.add_image(body, tag, name)


# --- any directory -------------------------------------------------------------------------

def build_dir(source: str, output: str, name: str, exec_config: dict | None = None,
              as_root: bool = False) -> str:
    if not os.path.isdir(source):
        raise BuildError(f"{source} is not a directory")
    exec_config = dict(exec_config or {})
    exec_config.setdefault("Env", [_PATH])
    return write_layout(source, output, name, exec_config, as_root=as_root,
                        created_by=f"superlet image build dir {os.path.basename(source)}")


def main(argv: list[str] | None = None) -> int:
    """`python -m supernetes.rootfs.build KIND ...`: the same as `superlet image build KIND ...`."""
    from .cli import main as cli_main

    return cli_main(["build", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
