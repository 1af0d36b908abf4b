"""The KubeSchedulerConfiguration file: defaults, plugin selection, weights, and errors."""

import pytest
from sched_builders import profile

from supernetes.controlplane.scheduler.config import SchedulerConfig
from supernetes.controlplane.scheduler.errors import ConfigError


def names(p):
    return [f.name for f in p.filters], {s.name: w for s, w in p.scorers}


def test_defaults_are_kubernetes_defaults():
    filters, scores = names(profile())
    assert filters == ["NodeUnschedulable", "TaintToleration", "NodeAffinity", "NodePorts",
                       "NodeResourcesFit"]
    assert scores == {"TaintToleration": 3, "NodeAffinity": 2, "PodTopologySpread": 2,
                      "NodeResourcesFit": 1, "NodeResourcesBalancedAllocation": 1}
    assert profile().preemption


def test_events_are_rate_limited_as_kube_schedulers_event_client():
    assert (SchedulerConfig().event_qps, SchedulerConfig().event_burst) == (50.0, 100)
    config = SchedulerConfig.from_document({"clientConnection": {"qps": 5, "burst": 10}})
    assert (config.event_qps, config.event_burst) == (5.0, 10)
    assert SchedulerConfig.from_document({"clientConnection": {"qps": -1}}).event_qps == -1


def test_a_file_selects_plugins_weights_and_strategy(tmp_path):
    path = tmp_path / "scheduler.yaml"
    path.write_text("""
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
parallelism: 4
percentageOfNodesToScore: 20
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
    filter:
      disabled: [{name: NodePorts}]
    postFilter:
      disabled: [{name: DefaultPreemption}]
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
- schedulerName: packer
  plugins:
    multiPoint:
      disabled: [{name: TaintToleration}]
""")
    config = SchedulerConfig.load(str(path))
    assert config.parallelism == 4
    profiles = config.build_profiles()
    filters, scores = names(profiles["default-scheduler"])
    assert "NodePorts" not in filters
    assert scores["NodeResourcesFit"] == 5 and "NodeResourcesBalancedAllocation" not in scores
    fit = next(f for f in profiles["default-scheduler"].filters if f.name == "NodeResourcesFit")
    assert fit.strategy == "MostAllocated"
    assert profiles["default-scheduler"].percentage_of_nodes_to_score == 20
    assert not profiles["default-scheduler"].preemption
    filters, scores = names(profiles["packer"])
    assert "TaintToleration" not in filters and "TaintToleration" not in scores


@pytest.mark.parametrize("doc, message", [
    ({"profiles": [{"plugins": {"score": {"enabled": [{"name": "Nope"}]}}}]},
     "unknown plugin 'Nope'"),
    ({"parallelizm": 3}, "parallelizm: unknown field"),
    ({"profiles": [{"plugin": {}}]}, "profiles[0].plugin: unknown field"),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": {
        "scoringStrategy": {"type": "Random"}}}]}]}, "scoringStrategy.type 'Random'"),
    ({"profiles": [{"plugins": {"score": {"enabled": [{"name": "NodePorts"}]}}}]},
     "NodePorts is not a score plugin"),
    ({"profiles": [{"plugins": {"score": {"enabled": [{"name": "NodeAffinity",
                                                       "weight": 0}]}}}]}, "weight"),
    ({"profiles": [{}, {}]}, "duplicate 'default-scheduler'"),
    ({"percentageOfNodesToScore": -1}, "percentageOfNodesToScore"),
    ({"kind": "Pod"}, "expected KubeSchedulerConfiguration"),
    ({"clientConnection": {"qps": "fast"}}, "clientConnection.qps"),
    ({"clientConnection": {"burst": 0}}, "clientConnection.burst"),
    ({"clientConnection": "x"}, "clientConnection: must be a mapping"),
])
def test_bad_configuration_is_one_clear_error(doc, message):
    with pytest.raises(ConfigError, match=None) as caught:
        SchedulerConfig.from_document(doc)
    assert message in str(caught.value)


def test_unreadable_or_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        SchedulerConfig.load(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("profiles: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        SchedulerConfig.load(str(bad))
