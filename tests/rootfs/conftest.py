"""Fixtures for the image tools: stores, a busybox image, real registries, tree snapshots.

Registries are Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with an
ephemeral port and a temporary storage dir, in three flavours: anonymous,
htpasswd basic auth, and token auth. For the token flavour the test runs a real
token server (an HTTP server on loopback implementing the distribution token
endpoint) and configures docker-registry's `auth.token` with a certificate the
fixture generates, so the registry really verifies the JWTs our client obtains.
"""

import base64
import datetime
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
import uuid

import pytest
import requests

from supernetes.rootfs import build
from supernetes.rootfs.images import ImageService

USER, PASSWORD = "tester", "s3cret-pass"
ISSUER, SERVICE = "supernetes-test-issuer", "supernetes-test-registry"


@pytest.fixture
def store_root(tmp_path) -> str:
    return str(tmp_path / "store")


@pytest.fixture
def service(store_root) -> ImageService:
    """An image service on a fresh store; snapshot driver chosen as in production."""
    return ImageService(store_root, progress=False)


@pytest.fixture
def native_service(tmp_path) -> ImageService:
    """The copy-based fallback driver, forced (what a machine without overlayfs gets)."""
    return ImageService(str(tmp_path / "native-store"), driver="native", progress=False)


@pytest.fixture(scope="session")
def busybox_layout(tmp_path_factory) -> str:
    """An OCI layout (tag `latest`) built from Debian's busybox-static, once per session."""
    path = str(tmp_path_factory.mktemp("busybox") / "layout")
    build.build_busybox(path, "localhost/busybox:latest")
    return path


# --- layers built entry by entry -------------------------------------------------------------

class LayerBuilder:
    """A tar layer written with tarfile, entry by entry, for normal and hostile layers."""

    MTIME = 1_600_000_000

    def __init__(self):
        self.entries: list[tuple[tarfile.TarInfo, bytes | None]] = []

    def _add(self, name: str, kind: bytes, mode: int, data: bytes | None = None, **attrs):
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = kind, mode, attrs.pop("mtime", self.MTIME)
        info.uid, info.gid = attrs.pop("uid", 0), attrs.pop("gid", 0)
        for key, value in attrs.items():
            setattr(info, key, value)
        if data is not None:
            info.size = len(data)
        self.entries.append((info, data))
        return self

    def dir(self, name, mode=0o755, **attrs):
        return self._add(name, tarfile.DIRTYPE, mode, **attrs)

    def file(self, name, data=b"", mode=0o644, **attrs):
        return self._add(name, tarfile.REGTYPE, mode, data, **attrs)

    def symlink(self, name, target, **attrs):
        return self._add(name, tarfile.SYMTYPE, 0o777, linkname=target, **attrs)

    def hardlink(self, name, target, **attrs):
        return self._add(name, tarfile.LNKTYPE, 0o644, linkname=target, **attrs)

    def chardev(self, name, major, minor, mode=0o666):
        return self._add(name, tarfile.CHRTYPE, mode, devmajor=major, devminor=minor)

    def fifo(self, name, mode=0o644):
        return self._add(name, tarfile.FIFOTYPE, mode)

    def whiteout(self, path):
        directory, _, base = path.rpartition("/")
        return self.file(f"{directory}/.wh.{base}" if directory else f".wh.{base}")

    def opaque(self, directory):
        return self.file(f"{directory}/.wh..wh..opq")

    def tar(self) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for info, data in self.entries:
                tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()

    def bytes(self, compression: str | None = "gzip") -> bytes:
        plain = self.tar()
        if compression == "gzip":
            return gzip.compress(plain, mtime=0)
        if compression == "zstd":
            import zstandard
            return zstandard.ZstdCompressor().compress(plain)
        return plain


@pytest.fixture(scope="session")
def layer():
    return LayerBuilder


# --- trees ----------------------------------------------------------------------------------

def tree(root: str, mtimes: bool = True) -> dict[str, tuple]:
    """Every path under `root` with type, mode, owner, link target, content hash, device."""
    entries: dict[str, tuple] = {}
    inodes: dict[tuple[int, int], list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            detail = None
            if stat.S_ISLNK(st.st_mode):
                detail = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    detail = hashlib.sha256(f.read()).hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                detail = (os.major(st.st_rdev), os.minor(st.st_rdev))
            entries[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, detail,
                            int(st.st_mtime) if mtimes and not stat.S_ISLNK(st.st_mode) else 0)
    for group in inodes.values():  # hard-link groups must match too
        for rel in group:
            entries[rel] = entries[rel] + (tuple(sorted(group)),)
    return entries


@pytest.fixture(scope="session")
def tree_of():
    return tree


def umoci_unpack(layout: str, tag: str, bundle: str) -> str:
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:{tag}", bundle], check=True,
                   capture_output=True)
    return os.path.join(bundle, "rootfs")


@pytest.fixture(scope="session")
def umoci():
    return umoci_unpack


def skopeo(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def skopeo_run():
    return skopeo


# --- registries -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """docker-registry on 127.0.0.1:<ephemeral>, storage in a temporary directory."""

    def __init__(self, workdir: str, auth: dict | None = None):
        self.workdir, self.auth = workdir, auth
        self.proc = None

    def start(self) -> "Registry":
        for _ in range(3):  # the port we picked may be taken before the registry binds it
            self.port = _free_port()
            self.host = f"127.0.0.1:{self.port}"
            config = {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {"filesystem": {"rootdirectory": os.path.join(self.workdir, "data")},
                            "delete": {"enabled": True}},
                "http": {"addr": self.host},
            }
            if self.auth:
                config["auth"] = self.auth
            path = os.path.join(self.workdir, "config.yml")
            with open(path, "w") as f:
                json.dump(config, f)  # JSON is YAML
            log = open(os.path.join(self.workdir, "registry.log"), "ab")
            self.proc = subprocess.Popen(["docker-registry", "serve", path], stdout=log,
                                         stderr=log, stdin=subprocess.DEVNULL)
            log.close()
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"docker-registry did not start; see {self.workdir}/registry.log")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                requests.get(f"http://{self.host}/v2/", timeout=1)
                return True
            except requests.exceptions.ConnectionError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp("registry"))).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("registry-basic"))
    htpasswd = os.path.join(workdir, "htpasswd")
    subprocess.run(["htpasswd", "-Bbc", htpasswd, USER, PASSWORD], check=True,
                   capture_output=True)
    reg = Registry(workdir, {"htpasswd": {"realm": "supernetes-test", "path": htpasswd}}).start()
    reg.user, reg.password = USER, PASSWORD
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def busybox_in_registry(registry, busybox_layout) -> str:
    """busybox pushed into the anonymous registry by skopeo; returns its reference."""
    ref = f"{registry.host}/library/busybox:1.0"
    skopeo("copy", "--dest-tls-verify=false", f"oci:{busybox_layout}:latest", f"docker://{ref}")
    return ref


# --- token auth -----------------------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """The distribution token endpoint: GET /token?service=&scope= -> a signed JWT.

    Anonymous callers may pull repositories under `public/`; callers with the right
    basic credentials get every action they ask for. Every request is recorded.
    """

    def __init__(self, workdir: str):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = time.time()
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(datetime.datetime.fromtimestamp(now - 3600, datetime.UTC))
                .not_valid_after(datetime.datetime.fromtimestamp(now + 86400, datetime.UTC))
                .sign(self.key, hashes.SHA256()))
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.cert_path = os.path.join(workdir, "token-cert.pem")
        with open(self.cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.handle(self)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, request) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        header = request.headers.get("Authorization", "")
        user = None
        if header.startswith("Basic "):
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if (name, password) != (USER, PASSWORD):
                request.send_response(401)
                request.end_headers()
                self.requests.append({"user": name, "scopes": query.get("scope", []),
                                      "granted": False})
                return
            user = name
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            repo, _, actions = rest.rpartition(":")
            wanted = actions.split(",")
            granted = wanted if user else [a for a in wanted if a == "pull"
                                           and repo.startswith("public/")]
            access.append({"type": kind, "name": repo, "actions": granted})
        self.requests.append({"user": user, "scopes": query.get("scope", []), "granted": True})
        body = json.dumps({"token": self.sign(user or "", access), "expires_in": 300}).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def sign(self, subject: str, access: list[dict]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256",
                  "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "." +
                         _b64url(json.dumps(claims).encode()))
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("registry-token"))
    tokens = TokenServer(workdir)
    reg = Registry(workdir, {"token": {"realm": tokens.realm, "service": SERVICE,
                                       "issuer": ISSUER, "rootcertbundle": tokens.cert_path}})
    reg.start()
    reg.tokens = tokens
    reg.user, reg.password = USER, PASSWORD
    yield reg
    reg.stop()
    tokens.stop()


@pytest.fixture
def cli_env(tmp_path):
    """Environment for running `superlet` as a subprocess with no auth file of the host."""
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    env.pop("REGISTRY_AUTH_FILE", None)
    return env


@pytest.fixture
def superlet():
    return shutil.which("superlet", path=os.path.dirname(sys.executable)) or "superlet"


# --- a proxy in front of a registry that misbehaves on request ------------------------------

class FaultyProxy:
    """A real HTTP proxy on loopback in front of a registry, for the failure paths.

    `throttle` (bytes/s) slows blob bodies; `corrupt` flips a byte of every blob;
    `fail_first` answers that many blob GETs with 503; `drop_first` cuts the first
    blob response off half-way (the connection closes mid-body). Requests are logged.
    """

    def __init__(self, upstream: str, throttle: int | None = None, corrupt: bool = False,
                 fail_first: int = 0, drop_first: bool = False):
        self.upstream, self.throttle, self.corrupt = upstream, throttle, corrupt
        self.fail_first, self.drop_first = fail_first, drop_first
        self.log: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                proxy.forward(self)

            def do_HEAD(self):
                proxy.forward(self)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def forward(self, request) -> None:
        is_blob = "/blobs/" in request.path and request.command == "GET"
        with self._lock:
            self.log.append((request.command, request.path, request.headers.get("Range")))
            fail = is_blob and self.fail_first > 0
            if fail:
                self.fail_first -= 1
        if fail:
            request.send_response(503)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        headers = {k: v for k, v in request.headers.items() if k.lower() in
                   ("accept", "authorization", "range")}
        with requests.request(request.command, f"http://{self.upstream}{request.path}",
                              headers=headers, stream=True, allow_redirects=True) as upstream:
            body = upstream.raw.read() if request.command == "GET" else b""
        with self._lock:  # cut off the first big blob (a layer, not the config)
            drop = is_blob and self.drop_first and len(body) > (256 << 10)
            if drop:
                self.drop_first = False
        if is_blob and self.corrupt and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        request.send_response(upstream.status_code)
        for key, value in upstream.headers.items():
            if key.lower() in ("content-type", "docker-content-digest", "www-authenticate",
                               "content-range", "accept-ranges", "location"):
                request.send_header(key, value)
        length = len(body) if request.command == "GET" else upstream.headers.get(
            "Content-Length", "0")
        request.send_header("Content-Length", str(length))
        request.end_headers()
        if drop:
            request.wfile.write(body[: len(body) // 2])
            request.wfile.flush()
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        step = 65536
        for offset in range(0, len(body), step):
            try:
                request.wfile.write(body[offset: offset + step])
            except (BrokenPipeError, ConnectionResetError):
                return
            if is_blob and self.throttle:
                time.sleep(step / self.throttle)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def faulty_proxy(registry):
    proxies = []

    def make(**kwargs) -> FaultyProxy:
        proxies.append(FaultyProxy(registry.host, **kwargs))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def image_tree(tmp_path):
    """The files an image's containers would see: the overlay view, or the native snapshot."""
    def get(service: ImageService, name: str) -> dict:
        image = service.image(name)
        if service.snapshots.driver == "native":
            return tree(service.snapshots.path(image.chain_ids[-1]))
        mountpoint = tmp_path / f"view-{uuid.uuid4().hex[:8]}"
        mountpoint.mkdir()
        service.mount_image(name, str(mountpoint))
        try:
            return tree(str(mountpoint))
        finally:
            service.unmount_image(str(mountpoint))
    return get


# --- OCI layouts made from LayerBuilder layers ------------------------------------------------

def _image_manifest(writer, layers: list[bytes], exec_config: dict | None,
                    platform: dict | None) -> bytes:
    from supernetes.rootfs import oci
    from supernetes.rootfs.unpack import decompressed

    descriptors, diff_ids = [], []
    for data in layers:
        digest = writer.put_bytes(data)
        diff_ids.append("sha256:" + hashlib.sha256(decompressed(io.BytesIO(data)).read())
                        .hexdigest())
        media = oci.OCI_LAYER_GZIP if data[:2] == b"\x1f\x8b" else oci.OCI_LAYER
        descriptors.append(oci.Descriptor(media, digest, len(data)))
    config = oci.dumps(oci.new_config(diff_ids, exec_config or {"Cmd": ["sh"]},
                                      platform=platform))
    config_desc = oci.Descriptor(oci.OCI_CONFIG, writer.put_bytes(config), len(config))
    return oci.dumps(oci.new_manifest(config_desc, descriptors))


def make_layout(path: str, layers: list[bytes], tag: str = "latest",
                exec_config: dict | None = None) -> str:
    """An OCI layout holding one image made of `layers`; returns the layout path."""
    from supernetes.rootfs import layout

    writer = layout.LayoutWriter(path)
    writer.add_image(_image_manifest(writer, layers, exec_config, None), tag)
    return path


def make_multiarch_layout(path: str, images: list[tuple[dict, list[bytes]]],
                          tag: str = "latest") -> str:
    """An OCI layout whose `tag` is an image index with one manifest per platform."""
    from supernetes.rootfs import layout, oci

    writer = layout.LayoutWriter(path)
    manifests = []
    for platform, layers in images:
        body = _image_manifest(writer, layers, None, platform)
        manifests.append(oci.Descriptor(oci.OCI_MANIFEST, writer.put_bytes(body), len(body),
                                        platform).to_json())
    index = oci.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": manifests})
    digest = writer.put_bytes(index)
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [
            {"mediaType": oci.OCI_INDEX, "digest": digest, "size": len(index),
             "annotations": {oci.ANNOTATION_REF_NAME: tag}}]}, f)
    return path


@pytest.fixture(scope="session")
def layouts():
    class Layouts:
        single = staticmethod(make_layout)
        multiarch = staticmethod(make_multiarch_layout)
    return Layouts
