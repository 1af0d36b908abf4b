"""The scheduler's configuration: a KubeSchedulerConfiguration file, as kube-scheduler reads.

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    parallelism: 16                  # here: concurrent binding requests
    leaderElection: {leaderElect: true}   # one active scheduler among several
    percentageOfNodesToScore: 0      # 0 = adaptive, as Kubernetes
    podInitialBackoffSeconds: 1
    podMaxBackoffSeconds: 10
    clientConnection:                # here: the Events client only (-1: no limit);
      qps: 50                        # bindings are paced by `parallelism`
      burst: 100
    profiles:
    - schedulerName: default-scheduler
      plugins:
        score:
          enabled: [{name: NodeResourcesFit, weight: 5}]
          disabled: [{name: NodeResourcesBalancedAllocation}]
      pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy: {type: MostAllocated}      # bin-packing

Plugins not mentioned keep Kubernetes' defaults (filters NodeUnschedulable,
TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit; scores TaintToleration 3,
NodeAffinity 2, PodTopologySpread 2, NodeResourcesFit 1,
NodeResourcesBalancedAllocation 1; postFilter DefaultPreemption). `disabled: [{name:
"*"}]` drops the defaults of an extension point; `multiPoint` enables or disables a
plugin at every point it implements. Unknown fields and plugins are errors naming
the field, never ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .algorithm import Profile
from .errors import ConfigError
from .framework import FilterPlugin, ScorePlugin, known_plugins, plugin_class

DEFAULT_SCHEDULER_NAME = "default-scheduler"
DEFAULT_FILTERS = ["NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodePorts",
                   "NodeResourcesFit"]
DEFAULT_SCORES = {"TaintToleration": 3, "NodeAffinity": 2, "PodTopologySpread": 2,
                  "NodeResourcesFit": 1, "NodeResourcesBalancedAllocation": 1}
PREEMPTION = "DefaultPreemption"
POINTS = ("filter", "score", "postFilter", "multiPoint")
_TOP_FIELDS = {"apiVersion", "kind", "parallelism", "percentageOfNodesToScore",
               "podInitialBackoffSeconds", "podMaxBackoffSeconds", "profiles",
               "clientConnection", "leaderElection"}
_PROFILE_FIELDS = {"schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig"}


@dataclass
class SchedulerConfig:
    """Everything `run()` needs. `profiles` holds the raw profile documents."""

    kubeconfig: str | None = None
    profiles: list[dict] = field(default_factory=lambda: [{}])
    parallelism: int = 16
    percentage_of_nodes_to_score: int = 0
    pod_initial_backoff: float = 1.0
    pod_max_backoff: float = 10.0
    max_in_unschedulable: float = 300.0    # flush pods waiting this long, whatever happens
    record_scheduled_events: bool = True
    event_qps: float = 50.0                # Event writes per second (<= 0: no limit)
    event_burst: int = 100
    leader_elect: bool = False

    @classmethod
    def load(cls, path: str, **overrides) -> SchedulerConfig:
        try:
            with open(path, encoding="utf-8") as handle:
                doc = yaml.safe_load(handle) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read scheduler config {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"scheduler config {path} is not valid YAML: {exc}") from exc
        return cls.from_document(doc, **overrides)

    @classmethod
    def from_document(cls, doc: dict, **overrides) -> SchedulerConfig:
        if not isinstance(doc, dict):
            raise ConfigError("scheduler config must be a mapping")
        _no_unknown(doc, _TOP_FIELDS, "")
        kind = doc.get("kind", "KubeSchedulerConfiguration")
        if kind != "KubeSchedulerConfiguration":
            raise ConfigError(f"kind: expected KubeSchedulerConfiguration, got {kind!r}")
        connection = doc.get("clientConnection") or {}
        if not isinstance(connection, dict):
            raise ConfigError("clientConnection: must be a mapping")
        config = cls(
            kubeconfig=connection.get("kubeconfig"),
            event_qps=_number(connection, "qps", 50.0, float, -1, "clientConnection."),
            event_burst=_number(connection, "burst", 100, int, 1, "clientConnection."),
            profiles=list(doc.get("profiles") or [{}]),
            parallelism=_number(doc, "parallelism", 16, int, 1),
            percentage_of_nodes_to_score=_number(doc, "percentageOfNodesToScore", 0, int, 0),
            pod_initial_backoff=_number(doc, "podInitialBackoffSeconds", 1.0, float, 0),
            pod_max_backoff=_number(doc, "podMaxBackoffSeconds", 10.0, float, 0),
            leader_elect=bool((doc.get("leaderElection") or {}).get("leaderElect", False)),
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        config.build_profiles()   # validate now, not when the first pod arrives
        return config

    def build_profiles(self) -> dict[str, Profile]:
        profiles = {}
        for i, doc in enumerate(self.profiles):
            profile = _build_profile(doc or {}, f"profiles[{i}]", self.percentage_of_nodes_to_score)
            if profile.scheduler_name in profiles:
                raise ConfigError(f"profiles[{i}].schedulerName: duplicate "
                                  f"{profile.scheduler_name!r}")
            profiles[profile.scheduler_name] = profile
        return profiles


def _no_unknown(doc: dict, allowed: set[str], where: str) -> None:
    for key in doc:
        if key not in allowed:
            raise ConfigError(f"{where}{key}: unknown field")


def _number(doc, key, default, kind, minimum, where=""):
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ConfigError(f"{where}{key}: must be a number >= {minimum}, got {value!r}")
    return kind(value)


def _plugin_list(point_doc: dict, key: str, where: str) -> list[dict]:
    entries = point_doc.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "name" in e
                                                for e in entries):
        raise ConfigError(f"{where}.{key}: must be a list of {{name: ...}}")
    for entry in entries:
        if entry["name"] != "*" and entry["name"] != PREEMPTION and not plugin_class(
                entry["name"]):
            raise ConfigError(f"{where}.{key}: unknown plugin {entry['name']!r} "
                              f"(known: {', '.join(known_plugins() + [PREEMPTION])})")
    return entries


def _resolve(point: str, defaults: dict, plugins: dict, where: str) -> dict:
    """Apply enabled/disabled of one extension point (and multiPoint) to its defaults."""
    chosen = dict(defaults)
    for source in ("multiPoint", point):
        doc = plugins.get(source) or {}
        _no_unknown(doc, {"enabled", "disabled"}, f"{where}.plugins.{source}.")
        for entry in _plugin_list(doc, "disabled", f"{where}.plugins.{source}"):
            if entry["name"] == "*":
                chosen.clear()
            else:
                chosen.pop(entry["name"], None)
        for entry in _plugin_list(doc, "enabled", f"{where}.plugins.{source}"):
            name = entry["name"]
            if source == "multiPoint" and not _implements(name, point):
                continue
            weight = entry.get("weight", chosen.get(name, 1))
            if point == "score" and (not isinstance(weight, int) or weight <= 0):
                raise ConfigError(f"{where}.plugins.{source}.enabled: weight of {name} "
                                  "must be a positive integer")
            chosen[name] = weight
    return chosen


def _implements(name: str, point: str) -> bool:
    if name == PREEMPTION:
        return point == "postFilter"
    cls = plugin_class(name)
    return issubclass(cls, {"filter": FilterPlugin, "score": ScorePlugin}.get(point, type(None)))


def _build_profile(doc: dict, where: str, percentage: int) -> Profile:
    _no_unknown(doc, _PROFILE_FIELDS, f"{where}.")
    plugins = doc.get("plugins") or {}
    _no_unknown(plugins, set(POINTS), f"{where}.plugins.")
    args = {}
    for i, entry in enumerate(doc.get("pluginConfig") or []):
        if not isinstance(entry, dict) or not plugin_class(entry.get("name", "")):
            raise ConfigError(f"{where}.pluginConfig[{i}].name: unknown plugin "
                              f"{(entry or {}).get('name')!r}")
        args[entry["name"]] = entry.get("args") or {}

    instances = {}

    def instance(name):
        if name not in instances:
            instances[name] = plugin_class(name)(args.get(name))
        return instances[name]

    filters = _resolve("filter", dict.fromkeys(DEFAULT_FILTERS, 0), plugins, where)
    scores = _resolve("score", DEFAULT_SCORES, plugins, where)
    post = _resolve("postFilter", {PREEMPTION: 0}, plugins, where)
    for name in filters:
        if not _implements(name, "filter"):
            raise ConfigError(f"{where}.plugins.filter: {name} is not a filter plugin")
    for name in scores:
        if not _implements(name, "score"):
            raise ConfigError(f"{where}.plugins.score: {name} is not a score plugin")
    return Profile(
        scheduler_name=doc.get("schedulerName") or DEFAULT_SCHEDULER_NAME,
        filters=[instance(name) for name in filters],
        scorers=[(instance(name), weight) for name, weight in scores.items()],
        percentage_of_nodes_to_score=_number(doc, "percentageOfNodesToScore", percentage,
                                             int, 0),
        preemption=PREEMPTION in post,
    )
