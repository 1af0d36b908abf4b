"""Benchmark the image tools against their peers on a Debian minbase image.

    .venv/bin/python bench/images.py [--runs 5] [--image debian|busybox]

One run measures, on the same image (Debian bookworm minbase from debootstrap,
built offline and cached by `build.build_debian`):

  unpack           our layer unpack into a flattened rootfs   vs  `umoci unpack`
  snapshot unpack  our per-layer overlay snapshot (what pull does)  vs  `umoci unpack`
  pull             our download + verify from a local registry  vs  `skopeo copy docker:// oci:`
  pull + unpack    `superlet image pull` (CLI, everything)  vs  skopeo copy + umoci unpack
  next container   rootfs of one more container of an unpacked image (overlay mount)

Runs alternate between us and the peer, with os.sync() (untimed) before each, so
disk write-back of one run does not land in the next; medians and ratios are
printed. Targets (from the issue): unpack <= 1.0x umoci, pull <= 1.0x skopeo,
next container < 10 ms. Needs root (overlay mounts, debootstrap).
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from supernetes.rootfs import build, oci, reference
from supernetes.rootfs import pull as pullmod
from supernetes.rootfs.images import ImageService
from supernetes.rootfs.store import ContentStore, dir_size
from supernetes.rootfs.unpack import Unpacker


class Registry:
    """docker-registry on 127.0.0.1:<ephemeral port>, storage in `workdir`."""

    def __init__(self, workdir: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.host = f"127.0.0.1:{s.getsockname()[1]}"
        config = os.path.join(workdir, "registry.json")
        with open(config, "w") as f:
            json.dump({"version": 0.1, "log": {"level": "error"}, "http": {"addr": self.host},
                       "storage": {"filesystem": {"rootdirectory": f"{workdir}/data"}}}, f)
        self.proc = subprocess.Popen(["docker-registry", "serve", config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(tuple(self.host.split(":")), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("docker-registry did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def timed(func, setup=None) -> float:
    """Seconds `func` takes; `setup` (deleting the last run's output) and a sync are untimed."""
    if setup:
        setup()
    os.sync()
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", choices=("debian", "busybox"), default="debian")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench/images.py needs root (overlay mounts, debootstrap)")
    superlet = os.path.join(os.path.dirname(sys.executable), "superlet")

    with tempfile.TemporaryDirectory(prefix="bench-images-", dir="/var/tmp") as work:
        layout = os.path.join(work, "layout")
        tag = "bookworm" if args.image == "debian" else "latest"
        print(f"building the {args.image} image (cached after the first time) ...", flush=True)
        if args.image == "debian":
            build.build_debian(layout)
        else:
            build.build_busybox(layout)
        with open(os.path.join(layout, "index.json")) as f:
            index = json.load(f)
        with open(os.path.join(layout, "blobs/sha256", index["manifests"][0]["digest"][7:]),
                  "rb") as f:
            manifest = oci.parse_manifest(f.read())
        with open(os.path.join(layout, "blobs/sha256", manifest.config.digest[7:]), "rb") as f:
            config = oci.parse_config(f.read())
        blob = [os.path.join(layout, "blobs/sha256", layer.digest[7:])
                for layer in manifest.layers]

        registry = Registry(work)
        try:
            ref = f"{registry.host}/bench/{args.image}:{tag}"
            run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:{tag}",
                 f"docker://{ref}"])
            results = measure(args.runs, work, layout, tag, ref, blob, config, superlet)
        finally:
            registry.stop()

        unpacked = os.path.join(work, "size-probe")
        os.mkdir(unpacked)
        for path, diff_id in zip(blob, config.diff_ids, strict=True):
            with open(path, "rb") as f:
                Unpacker(unpacked, "apply").apply(f, diff_id)
        files = sum(len(d) + len(f) for _, d, f in os.walk(unpacked))
        compressed = sum(layer.size for layer in manifest.layers)
        print(f"\nimage: {args.image} ({len(blob)} layer(s), {compressed / 1e6:.1f} MB "
              f"compressed, {dir_size(unpacked) / 1e6:.0f} MB and {files} files unpacked), "
              f"{args.runs} runs, medians\n")
    report(results)
    return 0


def measure(runs, work, layout, tag, ref, blobs, config, superlet) -> dict:
    samples: dict[str, list[float]] = {k: [] for k in (
        "unpack", "umoci", "snapshot", "pull", "skopeo", "cli", "skopeo+umoci", "next")}
    diff_ids = config.diff_ids

    ours = os.path.join(work, "ours")
    fetch_store = os.path.join(work, "fetch-store")
    bundle = os.path.join(work, "umoci-bundle")
    peer = os.path.join(work, "skopeo-layout")
    cli_store = os.path.join(work, "cli-store")

    def clean(*paths: str):
        return lambda: [shutil.rmtree(p, ignore_errors=True) for p in paths]

    def our_unpack(mode: str) -> None:
        os.mkdir(ours)
        for i, (path, diff_id) in enumerate(zip(blobs, diff_ids, strict=True)):
            with open(path, "rb") as f:
                Unpacker(ours, mode, base=i == 0).apply(f, diff_id)

    def our_fetch() -> None:
        store = ContentStore(fetch_store)
        client = ImageService(store.root, driver="native", progress=False).client(
            reference.parse(ref))
        try:
            pullmod.fetch(store, client, reference.parse(ref))
        finally:
            client.close()

    def umoci(source: str) -> None:
        run(["umoci", "unpack", "--image", f"{source}:{tag}", bundle])

    def skopeo() -> None:
        run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{peer}:{tag}"])

    def cli_pull() -> None:
        run([superlet, "image", "--root", cli_store, "-q", "pull", ref])

    def skopeo_umoci() -> None:
        skopeo()
        umoci(peer)

    for i in range(runs):
        print(f"run {i + 1}/{runs} ...", flush=True)
        samples["unpack"].append(timed(lambda: our_unpack("apply"), clean(ours)))
        samples["umoci"].append(timed(lambda: umoci(layout), clean(bundle)))
        samples["snapshot"].append(timed(lambda: our_unpack("overlay"), clean(ours)))
        samples["pull"].append(timed(our_fetch, clean(fetch_store)))
        samples["skopeo"].append(timed(skopeo, clean(peer)))
        samples["cli"].append(timed(cli_pull, clean(cli_store)))
        samples["skopeo+umoci"].append(timed(skopeo_umoci, clean(peer, bundle)))

    service = ImageService(os.path.join(work, "cli-store"), driver="overlay", progress=False)
    name = str(reference.parse(ref))
    service.release_rootfs("first")
    service.prepare_rootfs("first", name)  # the image is unpacked and one container runs
    for i in range(max(runs, 20)):
        samples["next"].append(timed(lambda i=i: service.prepare_rootfs(f"next-{i}", name)))
        service.release_rootfs(f"next-{i}")
    service.release_rootfs("first")
    return samples


def report(samples: dict) -> None:
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = [
        ("unpack (flattened rootfs)", med["unpack"], med["umoci"], "umoci unpack", 1.0),
        ("unpack (overlay snapshot)", med["snapshot"], med["umoci"], "umoci unpack", 1.0),
        ("pull (download + verify)", med["pull"], med["skopeo"], "skopeo copy", 1.0),
        ("pull + unpack (superlet CLI)", med["cli"], med["skopeo+umoci"],
         "skopeo copy + umoci unpack", None),
    ]
    print(f"{'':30} {'ours':>9} {'peer':>9} {'ratio':>7}  target   peer")
    for label, ours, peer, peer_name, target in rows:
        verdict = "" if target is None else ("<= 1.0x " + ("ok" if ours / peer <= target
                                                            else "MISSED"))
        print(f"{label:30} {ours:8.3f}s {peer:8.3f}s {ours / peer:6.2f}x  {verdict:9} "
              f"{peer_name}")
    ms = med["next"] * 1000
    print(f"{'next container (overlay)':30} {ms:7.2f}ms {'':>9} {'':>7}  < 10 ms "
          f"{'ok' if ms < 10 else 'MISSED'}  (max {max(samples['next']) * 1000:.2f} ms)")


if __name__ == "__main__":
    sys.exit(main())
