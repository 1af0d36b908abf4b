"""The plugin interfaces, shaped after kube-scheduler's framework but vectorised.

A Kubernetes filter plugin answers "does this pod fit this node?" once per node; here
a filter answers for every node at once, as a boolean array over the node table's
rows, and a score plugin scores an array of candidate rows in one call. Plugins are
small classes, one per file under `plugins/`, registered by their Kubernetes name
so a KubeSchedulerConfiguration file can enable, disable and weigh them.

A filter declares

- `static`: its verdict depends on Node objects only (labels, taints, cordoning),
  never on the pods placed, so the algorithm caches it per pod shape;
- `unresolvable`: evicting pods cannot cure its failure (kube's
  `UnschedulableAndUnresolvable`), which decides what preemption would say;
- `reasons()`: for nodes it rejects, the reason in Kubernetes' own words
  (`Insufficient cpu`), used only when a pod fits nowhere.

A score returns 0..100 per candidate, already normalised (kube's separate
NormalizeScore step folds in, since all candidates are scored together), or None when
it has no opinion on this pod (kube's PreScore `Skip`).
"""

from __future__ import annotations

import numpy as np

from .nodetable import NodeTable
from .podinfo import PodInfo

MAX_NODE_SCORE = 100


class Plugin:
    name = ""

    def __init__(self, args: dict | None = None):
        self.args = args or {}


class FilterPlugin(Plugin):
    static = False
    unresolvable = False

    def feasible(self, pod: PodInfo, nodes: NodeTable) -> np.ndarray | None:
        """Rows [0, nodes.size) where the pod may go, or None if this filter does not
        restrict the pod at all."""
        raise NotImplementedError

    def reasons(self, pod: PodInfo, nodes: NodeTable,
                rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Why each of `rows` (all rejected by this filter) is rejected: a list of
        (reason, boolean mask over `rows`); a node may have several reasons."""
        raise NotImplementedError


class ScorePlugin(Plugin):
    # A node's score depends on that node's row only (not on other nodes' pods), so
    # the windows of several pods of one kind can be scored in one call.
    row_local = True

    def score(self, pod: PodInfo, nodes: NodeTable, rows: np.ndarray) -> np.ndarray | None:
        """Whole-number scores 0..100 for the candidate `rows`, or None to abstain.

        `rows` is 1-D, or, for a row-local plugin, 2-D: one window of candidates per
        line, each normalised on its own."""
        raise NotImplementedError


def normalize(raw: np.ndarray, reverse: bool = False) -> np.ndarray:
    """kube's DefaultNormalizeScore: scale to 0..100 by the maximum (integer maths);
    reversed, fewer is better."""
    if raw.ndim > 1:            # one window per line
        return np.stack([normalize(line, reverse) for line in raw])
    top = raw.max() if raw.size else 0
    if top <= 0:
        return np.full(raw.shape, MAX_NODE_SCORE if reverse else 0, dtype=np.float64)
    scaled = np.floor(MAX_NODE_SCORE * raw / top)
    return MAX_NODE_SCORE - scaled if reverse else scaled


_REGISTRY: dict[str, type[Plugin]] = {}


def register(cls: type[Plugin]) -> type[Plugin]:
    _REGISTRY[cls.name] = cls
    return cls


def plugin_class(name: str) -> type[Plugin] | None:
    from . import plugins  # noqa: F401  (importing the package registers every plugin)

    return _REGISTRY.get(name)


def known_plugins() -> list[str]:
    from . import plugins  # noqa: F401

    return sorted(_REGISTRY)
