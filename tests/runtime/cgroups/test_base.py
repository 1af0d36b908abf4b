"""The interface's plain records behave like the dataclasses they replaced."""

import pytest

from supernetes.runtime.cgroups.base import DeviceRule, Resources, Stats


def test_records_take_keywords_and_positionals_with_defaults():
    rule = DeviceRule(True, "c", 1, 3)
    assert (rule.allow, rule.type, rule.major, rule.minor, rule.access) == (True, "c", 1, 3,
                                                                             "rwm")
    assert Resources(pids_limit=5).memory_limit is None
    assert Stats().oom_kills == 0


def test_every_stats_gets_its_own_extra_dict():
    first, second = Stats(), Stats()
    first.extra["x"] = 1
    assert second.extra == {}


def test_records_compare_by_value_and_show_their_fields():
    assert Resources(memory_limit=1) == Resources(memory_limit=1)
    assert Resources(memory_limit=1) != Resources(memory_limit=2)
    assert "memory_limit=1" in repr(Resources(memory_limit=1))


@pytest.mark.parametrize("make", [
    lambda: DeviceRule(),  # allow is required
    lambda: Resources(memory=1),  # no such field
    lambda: DeviceRule(True, allow=False),  # given twice
    lambda: DeviceRule(True, "c", 1, 3, "rwm", "extra"),  # too many
])
def test_bad_construction_is_a_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_records_reject_attributes_outside_their_fields():
    with pytest.raises(AttributeError):
        Resources().memroy_limit = 5  # a typo must not pass silently
