"""Per-write cost of the API types: what the API server spends on each create.

For a typical pod and a large Deployment it times the work `controlplane/api`
does on a create (strict unknown-field check, defaulting, preparing, validation)
and on an update, plus a strategic merge patch as `kubectl apply` sends it, and
prints medians next to a peer measured in the same run: `json.loads` +
`json.dumps` of the same object, the least any server does with a body.

    .venv/bin/python bench/api_types.py [--rounds N]
"""

from __future__ import annotations

import argparse
import copy
import json
import pathlib
import statistics
import time

import yaml

from supernetes.controlplane.api import registry, schema
from supernetes.controlplane.api.patch import strategic_merge_patch

MANIFESTS = pathlib.Path(__file__).parent.parent / "tests/controlplane/api/manifests"
POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "web", "image": "nginx:1.25",
                                "ports": [{"containerPort": 80}],
                                "resources": {"requests": {"cpu": "100m",
                                                           "memory": "64Mi"}}}]}}


def median_us(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def create(rt, obj):
    """What resources.create asks of the type: `default` says whether the object is
    well typed, and prepare and validate take its word, as the server does."""
    obj = copy.deepcopy(obj)
    schema.unknown_fields(rt, obj)
    well_typed = rt.default(obj)
    obj.setdefault("metadata", {})["uid"] = "u"
    rt.prepare_for_create(obj, well_typed=well_typed)
    errors = rt.validate(obj, well_typed=well_typed)
    assert not errors, errors
    return obj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    deployment = next(yaml.safe_load_all((MANIFESTS / "workloads.yaml").read_text()))
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"name": "web", "image": "registry.local:5000/web:1.3"}]}}}}
    print(f"{'object':<12}{'operation':<34}{'median µs':>10}{'json peer µs':>14}{'ratio':>8}")
    for label, obj in (("pod", POD), ("deployment", deployment)):
        rt = registry.by_kind(obj["apiVersion"], obj["kind"])
        text = json.dumps(obj)
        peer = median_us(lambda text=text: json.dumps(json.loads(text)), args.rounds)
        stored = create(rt, obj)
        cases = {
            "create (check+default+validate)": lambda rt=rt, obj=obj: create(rt, obj),
            "update validate": lambda rt=rt, s=stored: rt.validate(s, s),
            "strategic merge patch": lambda rt=rt, s=stored: strategic_merge_patch(rt, s, patch),
        }
        for name, fn in cases.items():
            cost = median_us(fn, args.rounds)
            print(f"{label:<12}{name:<34}{cost:>10.1f}{peer:>14.1f}{cost / peer:>8.1f}")


if __name__ == "__main__":
    main()
