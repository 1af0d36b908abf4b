"""cgroup v2 for real: the cgroup tests run inside a VM booting a v2 kernel.

The harness fails loudly: a VM that cannot be prepared or booted, a pytest that
does not report back, a test that fails or is skipped inside the VM all fail
this test, with the VM's console or pytest's log in the message.
"""

import pytest

pytestmark = pytest.mark.vm


@pytest.mark.slow
@pytest.mark.root  # qemu shares the whole root file system, readable only by root
def test_cgroup_tests_pass_inside_a_cgroup_v2_vm(harness, tmp_path):
    result = harness.run(out=tmp_path / "vm")

    report = f"pytest inside the VM:\n{result.log[-6000:]}"
    assert result.status == 0, report
    assert result.failures == 0 and result.errors == 0, report
    assert result.tests >= 10, report
    # Every selected test must really run on v2: a skip inside the VM means the
    # v2 path went untested.
    assert result.skipped == 0, report
    assert "cgroup2 controllers: cpuset cpu io memory" in result.console


def test_a_vm_that_cannot_boot_fails_loudly_with_its_console(harness, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "vmlinuz").write_bytes(b"not a kernel")
    (cache / "initramfs.cpio.gz").write_bytes(b"")

    with pytest.raises(harness.VMError, match="without running the tests") as caught:
        harness.run(out=tmp_path / "vm", cache=cache, timeout=60)
    assert "console" in str(caught.value)
