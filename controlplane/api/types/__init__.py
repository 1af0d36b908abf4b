"""The resource families. Importing this package registers every type.

One module per family: `pods` (with its spec in `podspec`, `containers`,
`volumes`, `podstatus`), `namespaces`, ... Shared meta/v1 structs are in `metav1`.
"""

from . import namespaces, pods  # noqa: F401  (imported for registration)
