"""One real cluster per test module, in a network namespace the module makes.

The agent runs with short periods so the suite stays quick: the runtime is
relisted every 0.2 s, every pod re-synced every 2 s (configMap volumes refresh
then), and crash-loop back-off starts at 1 s and stops doubling at 4 s.
"""

import pytest

from supernetes.rootfs.build import build_busybox


@pytest.fixture(scope="session")
def busybox_layout(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("busybox") / "layout"
    build_busybox(str(path))
    return str(path)

