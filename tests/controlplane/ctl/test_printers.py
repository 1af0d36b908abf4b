"""Printers and JSONPath, unit-tested; YAML checked against kubectl itself (offline)."""

import subprocess

from supernetes.controlplane.ctl import jsonpath, printers, tabwriter

TRICKY = {"a": "yes", "b": "on", "c": "null", "d": "~", "e": "1e3", "f": "0x10", "g": "1.5",
          "h": "y", "i": " lead", "j": "- item", "k": "a: b", "l": "#x", "m": "é", "n": "12:30",
          "o": "0o17", "p": ".inf", "q": "2024-01-01", "r": "trail \nx", "s": "a\tb",
          "t": "true", "u": "1", "v": "it's: here", "w": "", "x": "2024-01-01T00:00:00Z",
          "y": "<a&b>", "z": "line1\nline2\n", "za": "word " * 30, "zb": "1_000", "zc": "NaN"}


def test_yaml_matches_kubectl_for_strings_go_yaml_treats_specially(tmp_path):
    args = [f"--from-literal={k}={v}" for k, v in TRICKY.items()]
    theirs = subprocess.run(["kubectl", "create", "configmap", "x", "--dry-run=client", "-o",
                             "yaml", *args], capture_output=True, text=True,
                            env={"HOME": str(tmp_path), "KUBECONFIG": "/dev/null"}).stdout
    ours = printers.to_yaml({"apiVersion": "v1", "data": TRICKY, "kind": "ConfigMap",
                             "metadata": {"creationTimestamp": None, "name": "x"}})
    assert ours == theirs


def test_json_escapes_html_as_go_does():
    assert printers.to_json({"b": "<&>", "a": 1}) == \
        '{\n    "a": 1,\n    "b": "\\u003c\\u0026\\u003e"\n}\n'


def test_table_layout_is_go_tabwriter():
    assert printers.layout([["NAME", "READY"], ["a-long-name", "1/1"]]) == \
        "NAME          READY\na-long-name   1/1\n"
    assert tabwriter.render(["Name:\tweb", "Annotations:\t<none>", "IP:\t"]) == \
        "Name:         web\nAnnotations:  <none>\nIP:           \n"


def test_jsonpath_fields_filters_ranges_and_recursion():
    doc = {"items": [{"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
                      "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                      "spec": {"containers": [{"image": "i1"}, {"image": "i2"}]}},
                     {"metadata": {"name": "b"}, "spec": {"containers": [{"image": "i3"}]}}]}
    assert jsonpath.render("{.items[*].metadata.name}", doc) == "a b"
    assert jsonpath.render("{.items[0].status.conditions[?(@.type==\"Ready\")].status}",
                           doc) == "True"
    assert jsonpath.render("{range .items[*]}{.metadata.name}{\"\\n\"}{end}", doc) == "a\nb\n"
    assert jsonpath.render("{..image}", doc) == "i1 i2 i3"
    assert jsonpath.render("{.items[-1:].metadata.name}", doc) == "b"
    assert jsonpath.render(r"{.items[0].metadata.labels.app\.kubernetes\.io/name}", doc) == "x"
    assert jsonpath.render("{.items[0].missing}", doc) == ""
    assert jsonpath.render("{.items[1].spec}", doc) == '{"containers":[{"image":"i3"}]}'
