"""Object helpers of the API server: uids, generated names, timestamps."""

import datetime
import re
import uuid

from supernetes.controlplane.apiserver import objects


def test_uids_are_distinct_rfc4122_version4_uuids():
    uids = [objects.new_uid() for _ in range(20000)]   # several refills of the pool
    assert len(set(uids)) == len(uids)
    for text in uids[:100]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_generated_names_take_five_consonants_or_digits():
    names = {objects.generate_name("web-") for _ in range(2000)}
    assert len(names) > 1990                        # 27**5 choices: collisions are rare
    assert all(re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", n) for n in names)
    long = objects.generate_name("x" * 70)        # cut to fit a 63-character name
    assert len(long) == 63 and long.startswith("x" * 58)


def test_now_is_the_current_utc_second_in_rfc3339():
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    stamp = objects.now()
    after = datetime.datetime.now(datetime.UTC)
    at = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    assert before <= at <= after
