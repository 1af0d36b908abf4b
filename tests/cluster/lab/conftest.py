"""The lab tests: one running lab per module (labfixtures.py).

They need the node agent's `superlet run` (agent/node.py); on a tree without
it they are skipped, saying so.
"""

import importlib.util

import pytest
from labfixtures import lab, lab_services, lab_vxlan  # noqa: F401  (fixtures, used by name)


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("supernetes.agent.node") is None:
        skip = pytest.mark.skip(reason="needs the node agent (superlet run, agent/node.py)")
        for item in items:
            if "tests/cluster/lab" in str(item.fspath):
                item.add_marker(skip)
