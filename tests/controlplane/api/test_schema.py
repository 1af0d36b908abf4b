"""The schema DSL: strict unknown fields, JSON type checks, constant defaults."""

from supernetes.controlplane.api import registry, schema
from supernetes.controlplane.api.schema import INT32, STRING, Field, ListOf, MapOf, Struct

THING = Struct("test.Thing", "A thing.", {
    "name": Field(STRING, "Name."),
    "count": Field(INT32, "Count.", default=3),
    "tags": Field(ListOf(STRING), "Tags."),
    "labels": Field(MapOf(STRING), "Labels."),
})
HOLDER = Struct("test.Holder", "Holds things.", {
    "things": Field(ListOf(THING, merge_key="name", strategy="merge"), "Things."),
    "main": Field(THING, "The main thing.", default={}),
})


def test_unknown_fields_are_reported_with_kubernetes_paths():
    obj = {"things": [{"name": "a"}, {"name": "b", "colour": "red"}], "extra": 1,
           "main": {"nmae": "x"}}
    assert schema.unknown_fields(HOLDER, obj) == ["things[1].colour", "extra", "main.nmae"]


def test_unknown_fields_of_a_real_pod_manifest(pod):
    pods = registry.lookup("", "v1", "pods")
    pod["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    pod["spec"]["restartpolicy"] = "Never"
    assert schema.unknown_fields(pods, pod) == [
        "spec.containers[0].imagePullPolicyy", "spec.restartpolicy"]


def test_type_errors_name_the_field():
    obj = {"things": {"name": "a"}, "main": {"count": "three", "tags": "x",
                                              "labels": {"a": 1}}}
    found = [e.message() for e in schema.type_errors(HOLDER, obj)]
    assert found == [
        'things: Invalid value: "object": must be of type array',
        'main.count: Invalid value: "three": must be of type integer',
        'main.tags: Invalid value: "x": must be of type array',
        "main.labels[a]: Invalid value: 1: must be of type string",
    ]


def test_type_errors_accept_null_and_reject_out_of_range_int32():
    assert schema.type_errors(HOLDER, {"main": None, "things": None}) == []
    found = schema.type_errors(HOLDER, {"main": {"count": 2**40}})
    assert found[0].field == "main.count"


def test_quantities_are_type_checked():
    pods = registry.lookup("", "v1", "pods")
    pod = {"spec": {"containers": [{"name": "a", "resources": {"limits": {
        "cpu": "one", "memory": "1Gi"}}}]}}
    found = schema.type_errors(pods, pod)
    assert [e.field for e in found] == ["spec.containers[0].resources.limits[cpu]"]
    assert "quantities must match the regular expression" in found[0].message()


def test_defaults_fill_existing_objects_only_and_create_declared_ones():
    obj = {"things": [{"name": "a"}, {"name": "b", "count": 7}]}
    schema.apply_defaults(HOLDER, obj)
    assert obj == {"things": [{"name": "a", "count": 3}, {"name": "b", "count": 7}],
                   "main": {"count": 3}}


def test_defaults_drop_known_nulls():
    obj = {"main": {"name": None, "count": None}}
    schema.apply_defaults(HOLDER, obj)
    assert obj == {"main": {"count": 3}}


def test_struct_definition_names_are_unique_per_struct():
    roots = [rt.schema for rt in registry.all_kinds()]
    found = schema.structs(roots)
    by_identity = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, Struct):
            if id(node) in by_identity:
                continue
            by_identity[id(node)] = node
            stack.extend(f.schema for f in node.fields.values())
        elif isinstance(node, ListOf):
            stack.append(node.items)
        elif isinstance(node, MapOf):
            stack.append(node.values)
    names = [s.name for s in by_identity.values()]
    duplicated = {n for n in names if names.count(n) > 1}
    # The same definition name must never describe two different structs.
    for name in duplicated:
        variants = [s for s in by_identity.values() if s.name == name]
        assert all(set(v.fields) == set(variants[0].fields) for v in variants), name
    assert set(found) == set(names)


def test_defaults_keep_present_keys_in_place_and_append_missing_ones_in_schema_order():
    # The stored bytes keep the order the schema walk gave them: a key the client
    # sent stays where it was, defaults (a null one included) follow in schema order.
    order = Struct("test.Order", "Ordered.", {
        "first": Field(INT32, "First.", default=1),
        "second": Field(STRING, "Second."),
        "third": Field(INT32, "Third.", default=3),
    })
    obj = {"second": "x", "first": None, "extra": True}
    schema.apply_defaults(order, obj)
    assert list(obj.items()) == [("second", "x"), ("extra", True), ("first", 1), ("third", 3)]


def test_defaults_canonicalise_quantities_every_time():
    pod = registry.by_kind("v1", "Pod")
    for _ in range(2):              # the second time from the cache of canonical texts
        obj = {"spec": {"containers": [{"name": "a", "resources": {
            "requests": {"cpu": "1000m", "memory": "1024Mi"}, "limits": {"cpu": 2}}}]}}
        schema.apply_defaults(pod, obj)
        resources = obj["spec"]["containers"][0]["resources"]
        assert resources == {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2"}}
