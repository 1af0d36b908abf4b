"""FieldError renders exactly as Kubernetes' field.Error does."""

from supernetes.controlplane.api import errors


def test_required_has_no_value():
    err = errors.required("spec.containers[0].image")
    assert err.message() == "spec.containers[0].image: Required value"
    assert err.cause() == {"reason": "FieldValueRequired", "message": "Required value",
                           "field": "spec.containers[0].image"}


def test_invalid_quotes_strings_and_prints_numbers_bare():
    assert errors.invalid("a", "x", "bad").message() == 'a: Invalid value: "x": bad'
    assert errors.invalid("a", 0, "bad").message() == "a: Invalid value: 0: bad"
    assert errors.invalid("a", True, "bad").message() == "a: Invalid value: true: bad"
    assert errors.invalid("a", None, "bad").message() == "a: Invalid value: null: bad"


def test_not_supported_lists_quoted_choices():
    err = errors.not_supported("spec.restartPolicy", "Sometimes", ["Always", "Never"])
    assert err.message() == ('spec.restartPolicy: Unsupported value: "Sometimes": '
                             'supported values: "Always", "Never"')


def test_forbidden_and_duplicate():
    assert errors.forbidden("spec", "nope").message() == "spec: Forbidden: nope"
    assert errors.duplicate("x[1].name", "a").message() == 'x[1].name: Duplicate value: "a"'


def test_aggregate_brackets_several_and_drops_repeats():
    one = errors.required("a")
    two = errors.required("b")
    assert errors.aggregate([one]) == "a: Required value"
    assert errors.aggregate([one, two, one]) == "[a: Required value, b: Required value]"
