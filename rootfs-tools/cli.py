"""`superlet image ...`: the node-level image commands, as a self-contained argparse module.

`register(subparsers)` adds the `image` command to another CLI (the `superlet`
command does this); `main(argv)` runs it alone (`python -m supernetes.rootfs.cli`).
Each command parses flags, calls one method of `ImageService`, and prints a short
result; any RootfsError or OSError becomes one line on stderr and exit status 1.
"""

import argparse
import json
import os
import sys
import tempfile

from . import build, oci, reference
from .auth import Credentials
from .bundle import Overrides
from .errors import RootfsError
from .images import ImageService
from .store import DEFAULT_ROOT


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the command."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _common(defaults: bool) -> argparse.ArgumentParser:
    # The same options are accepted before and after the subcommand; below the
    # subcommand they default to SUPPRESS so they never overwrite a value given above.
    def d(value):
        return value if defaults else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default=d(DEFAULT_ROOT), metavar="STORE",
                        help=f"image store directory (default {DEFAULT_ROOT})")
    common.add_argument("--snapshotter", choices=("auto", "overlay", "native"), default=d("auto"),
                        help="how container rootfs are made: overlay mounts or copies")
    common.add_argument("--insecure-registry", action="append", default=d([]), metavar="HOST",
                        help="allow plain HTTP to this registry (loopback ones always are)")
    common.add_argument("--creds", metavar="USER:PASSWORD", default=d(None),
                        help="registry credentials (else the auth file is consulted)")
    common.add_argument("--authfile", metavar="FILE", default=d(None),
                        help="Docker/Podman auth file (default $REGISTRY_AUTH_FILE, "
                             "~/.docker/config.json)")
    common.add_argument("-q", "--quiet", action="store_true", default=d(False),
                        help="print only names/IDs, no progress")
    return common


def register(subparsers) -> argparse.ArgumentParser:
    image = subparsers.add_parser("image", parents=[_common(True)], help="manage images",
                                  description="Pull, push, import, export, list and remove "
                                              "container images on this node.")
    image.set_defaults(func=lambda args: image.print_help() or 0)
    sub = image.add_subparsers(dest="image_command", metavar="COMMAND", parser_class=_Parser)
    common = _common(False)

    def command(name: str, func, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        parser.set_defaults(func=lambda args: _run(args, func))
        return parser

    p = command("pull", _pull, "download an image from a registry and unpack its layers")
    p.add_argument("image", help="reference, e.g. busybox or 127.0.0.1:5000/app:1.0")
    p.add_argument("--platform", help="os/arch[/variant] to pick from a multi-arch image")

    p = command("push", _push, "upload an image to a registry")
    p.add_argument("image")
    p.add_argument("dest", nargs="?", help="target reference (default: the image's own name)")

    p = command("import", _import, "import an OCI layout, OCI/docker archive or layer tarball")
    p.add_argument("path")
    p.add_argument("--name", help="reference to store it under")
    p.add_argument("--format", choices=("oci", "oci-archive", "docker-archive", "layer"),
                   help="what PATH holds (default: detected)")
    p.add_argument("--platform", help="os/arch[/variant] to pick from a multi-arch layout")
    _exec_flags(p)

    p = command("export", _export, "write an image to an OCI layout directory or archive")
    p.add_argument("image")
    p.add_argument("dest", help="a directory, or a file ending in .tar for an OCI archive")
    p.add_argument("--archive", action="store_true", default=None,
                   help="write an OCI archive (tar) whatever DEST is called")

    p = command("ls", _ls, "list images")
    p.add_argument("--digests", action="store_true", help="show manifest digests")

    p = command("inspect", _inspect, "show an image's manifest, config and layers as JSON")
    p.add_argument("image", nargs="+")

    p = command("rm", _rm, "remove images (and their content no other image uses)")
    p.add_argument("image", nargs="+")

    command("prune", _prune, "delete unreferenced blobs and snapshots and partial downloads")

    command("du", _du, "show disk usage of images, layers and containers")

    p = command("build", _build, "build a base image offline: busybox, debian or a directory")
    p.add_argument("kind", choices=("busybox", "debian", "dir"))
    p.add_argument("source", nargs="?", help="directory to pack (kind dir)")
    p.add_argument("--name", help="reference (default localhost/busybox:latest, "
                                  "localhost/debian:SUITE, localhost/<dir>:latest)")
    p.add_argument("--output", "-o", metavar="LAYOUT",
                   help="write an OCI layout here instead of importing into the store")
    p.add_argument("--suite", default="bookworm", help="Debian suite (kind debian)")
    p.add_argument("--mirror", help="Debian mirror (default: the one apt uses)")
    p.add_argument("--no-cache", action="store_true", help="rebuild even if cached (debian)")
    p.add_argument("--as-root", action="store_true",
                   help="record every file as owned by root (kind dir)")
    _exec_flags(p)

    p = command("bundle", _bundle, "make an OCI bundle (config.json + rootfs) that runc runs; "
                                   "usage: bundle [OPTIONS] IMAGE DIR [COMMAND [ARG...]]")
    p.add_argument("image")
    p.add_argument("dir", help="bundle directory (created)")
    p.add_argument("--id", help="container id owning the snapshot (default: DIR's name)")
    p.add_argument("--copy", action="store_true",
                   help="flattened copy of the layers instead of a snapshot mount")
    p.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--user", "-u", help="user[:group], names resolved in the image")
    p.add_argument("--workdir", "-w")
    p.add_argument("--hostname")
    p.add_argument("--tty", "-t", action="store_true", help="allocate a terminal")
    p.add_argument("--read-only", action="store_true", help="mount the rootfs read-only")
    p.add_argument("--entrypoint", help="replace the image's Entrypoint (and drop its Cmd)")
    # As `docker run`: options first, then IMAGE DIR, then the command, taken verbatim.
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG",
                   help="replace the image's Cmd (everything after DIR)")

    p = command("release", _release, "unmount and delete a container rootfs made by bundle")
    p.add_argument("id", nargs="+")
    return image


def _exec_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cmd", nargs="+", help="default command of the new image")
    parser.add_argument("--entrypoint", nargs="+", help="entrypoint of the new image")
    parser.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--workdir", help="working directory of the new image")
    parser.add_argument("--user", help="user of the new image")


def _exec_config(args) -> dict:
    config = {}
    if args.cmd:
        config["Cmd"] = args.cmd
    if args.entrypoint:
        config["Entrypoint"] = args.entrypoint
    if args.env:
        for item in args.env:
            _pair(item)  # validate
        config["Env"] = list(args.env)
    if args.workdir:
        config["WorkingDir"] = args.workdir
    if args.user:
        config["User"] = args.user
    return config


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise RootfsError(f"--env wants KEY=VALUE, got {text!r}")
    return key, value


def _service(args) -> ImageService:
    return ImageService(args.root, driver=args.snapshotter,
                        insecure_registries=tuple(args.insecure_registry),
                        credentials=Credentials.parse(args.creds) if args.creds else None,
                        auth_file=args.authfile, progress=False if args.quiet else None)


def _run(args, func) -> int:
    name = f"superlet image {args.image_command}"
    try:
        return func(args) or 0
    except RootfsError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{name}: error: {exc.strerror or exc}{where}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    return 1


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1000
    return f"{n:.1f}TB"


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


# --- commands ---------------------------------------------------------------------------------

def _pull(args) -> None:
    platform = oci.parse_platform(args.platform) if args.platform else None
    record = _service(args).pull(args.image, platform)
    print(record.name if args.quiet else f"{record.name}: pulled\nDigest: {record.digest}")


def _push(args) -> None:
    service = _service(args)
    digest = service.push(args.image, args.dest)
    print(digest if args.quiet else f"{args.dest or service.resolve(args.image).name}: pushed\n"
                                    f"Digest: {digest}")


def _import(args) -> None:
    platform = oci.parse_platform(args.platform) if args.platform else None
    records = _service(args).import_(args.path, args.name, args.format, platform,
                                     _exec_config(args))
    for record in records:
        print(record.name if args.quiet else f"{record.name}: imported ({record.manifest})")


def _export(args) -> None:
    digest = _service(args).export(args.image, args.dest, args.archive)
    if not args.quiet:
        print(f"{args.image}: exported to {args.dest} ({digest})")


def _ls(args) -> None:
    images = _service(args).images()
    if args.quiet:
        for image in images:
            print(image.id.removeprefix("sha256:")[:12])
        return
    rows = [["REPOSITORY", "TAG", "IMAGE ID", "PLATFORM", "SIZE", "ADDED"]]
    if args.digests:
        rows[0].insert(2, "DIGEST")
    for image in images:
        repo, _, tag = image.name.partition("@")[0].rpartition(":") \
            if ":" in image.name.rpartition("/")[2] else (image.name, "", "<none>")
        row = [repo, tag or "<none>", image.id.removeprefix("sha256:")[:12],
               image.config.platform, human(image.size), image.record.added]
        if args.digests:
            row.insert(2, image.record.digest)
        rows.append(row)
    _table(rows)


def _inspect(args) -> None:
    service = _service(args)
    print(json.dumps([service.inspect(name) for name in args.image], indent=2))


def _rm(args) -> None:
    service = _service(args)
    for name in args.image:
        record, collected = service.remove(name)
        print(record.name if args.quiet else
              f"Untagged: {record.name}\nDeleted: {collected.blobs} blobs, "
              f"{collected.snapshots} layer snapshots ({human(collected.bytes)})")


def _prune(args) -> None:
    collected = _service(args).prune()
    print(f"Deleted: {collected.blobs} blobs, {collected.snapshots} layer snapshots; "
          f"reclaimed {human(collected.bytes)}")


def _du(args) -> None:
    usage = _service(args).usage()
    rows = [["IMAGE", "BLOBS", "UNPACKED", "UNIQUE"]]
    rows += [[i.name, human(i.blobs), human(i.unpacked), human(i.unique)] for i in usage.images]
    _table(rows)
    print()
    _table([["TYPE", "SIZE"],
            ["blobs", human(usage.blobs)],
            ["layer snapshots", human(usage.snapshots)],
            [f"containers ({usage.container_count})", human(usage.containers)],
            ["partial downloads", human(usage.partial)],
            ["reclaimable (prune)", human(usage.reclaimable)]])


def _build(args) -> None:
    if args.kind == "dir" and not args.source:
        raise RootfsError("build dir needs the directory to pack")
    if args.kind != "dir" and args.source:
        raise RootfsError(f"build {args.kind} takes no source directory")
    default = {"busybox": "localhost/busybox:latest", "debian": f"localhost/debian:{args.suite}",
               "dir": f"localhost/{os.path.basename(os.path.abspath(args.source or '.'))}:latest"}
    name = str(reference.parse(args.name or default[args.kind].lower()))

    def make(output: str) -> str:
        if args.kind == "busybox":
            return build.build_busybox(output, name)
        if args.kind == "debian":
            return build.build_debian(output, args.suite, args.mirror, name,
                                      use_cache=not args.no_cache)
        return build.build_dir(args.source, output, name, _exec_config(args), args.as_root)

    if args.output:
        digest = make(args.output)
        print(digest if args.quiet else f"{name}: written to {args.output} ({digest})")
        return
    service = _service(args)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=service.store.root) as tmp:
        make(tmp)
        for record in service.import_(tmp, name, "oci"):
            print(record.name if args.quiet else f"{record.name}: built ({record.manifest})")


def _bundle(args) -> None:
    command_args = args.args[1:] if args.args[:1] == ["--"] else args.args
    overrides = Overrides(
        command=[args.entrypoint] if args.entrypoint else None, args=command_args or None,
        env=dict(_pair(e) for e in args.env), working_dir=args.workdir, user=args.user,
        hostname=args.hostname, terminal=args.tty, read_only=args.read_only)
    path = _service(args).create_bundle(args.image, args.dir, args.id, overrides, args.copy)
    print(path)


def _release(args) -> None:
    service = _service(args)
    for container_id in args.id:
        service.release_rootfs(container_id)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="superlet", description="Supernetes node agent: image commands")
    register(parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
    args = parser.parse_args(["image", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
