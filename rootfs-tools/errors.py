"""The image tools' exceptions: one tree, so callers catch `RootfsError` and print one line.

    RootfsError
     ├── InvalidReference       an image reference that does not parse
     ├── ImageNotFound          no such image in the local store
     ├── BlobNotFound           a digest the store (or an archive) does not hold
     ├── DigestMismatch         content that does not hash to the digest it claims
     ├── FormatError            a malformed manifest, config, OCI layout or archive
     │    └── UnsupportedMediaType
     ├── RegistryError          talking to a registry failed (HTTP, network, protocol)
     │    ├── AuthError         401/403, or the token endpoint refused us
     │    └── NotInRegistry     404: the registry has no such manifest or blob
     ├── UnpackError            a layer could not be applied to a directory
     │    └── UnsafeLayer       a layer entry tried to leave its rootfs, or is forbidden
     ├── SnapshotError          a container rootfs could not be mounted, copied or removed
     ├── BundleError            an OCI bundle could not be generated
     └── BuildError             a base-image builder failed

Every error that has a lower-level cause is raised `from` it, so `--debug` style
tracebacks keep the chain while the CLI prints only `str(exc)`.
"""


class RootfsError(Exception):
    """Base of every error the image tools raise on purpose."""


class InvalidReference(RootfsError):
    pass


class ImageNotFound(RootfsError):
    pass


class BlobNotFound(RootfsError):
    pass


class DigestMismatch(RootfsError):
    pass


class FormatError(RootfsError):
    pass


class UnsupportedMediaType(FormatError):
    pass


class RegistryError(RootfsError):
    pass


class AuthError(RegistryError):
    pass


class NotInRegistry(RegistryError):
    pass


class UnpackError(RootfsError):
    pass


class UnsafeLayer(UnpackError):
    pass


class SnapshotError(RootfsError):
    pass


class BundleError(RootfsError):
    pass


class BuildError(RootfsError):
    pass
