"""The CPU rate of the Summary API: against a reading half a second to a minute old."""

from supernetes.agent.stats import Sampler

S = 1_000_000_000


def test_a_rate_needs_a_base_reading_of_the_right_age():
    sampler = Sampler()
    assert not sampler.has_base("c", 10 * S)
    sampler.record("c", 10 * S, 0)
    assert not sampler.has_base("c", 10 * S + S // 10)      # too young to divide by
    assert sampler.has_base("c", 11 * S)
    # Half a core over two seconds.
    assert sampler.rate("c", 12 * S, S, started_ns=None) == S // 2
    assert not sampler.has_base("c", 200 * S)               # too old to mean "now"


def test_without_a_base_the_average_since_start_is_reported():
    sampler = Sampler()
    assert sampler.rate("c", 10 * S, 4 * S, started_ns=2 * S) == S // 2
    assert sampler.rate("d", 10 * S, 4 * S, started_ns=None) == 0


def test_readings_of_containers_gone_are_dropped():
    sampler = Sampler()
    sampler.record("a", S, 0)
    sampler.record("b", S, 0)
    sampler.keep_only({"a"})
    assert sampler.has_base("a", 2 * S) and not sampler.has_base("b", 2 * S)
