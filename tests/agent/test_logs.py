"""Container logs: the CRI format, rotation, and reading back as kubectl logs asks."""

import threading
import time

from supernetes.agent.logs import LogWriter, format_time, log_files, parse_line, read_logs

T0 = 1_700_000_000 * 10**9


def write(path, lines, start=T0, **kw):
    writer = LogWriter(str(path), **kw)
    for i, (stream, text) in enumerate(lines):
        writer.write(stream, text.encode(), now_ns=start + i * 10**9)
    return writer


def collect(path, **kw):
    return b"".join(read_logs(str(path), **kw)).decode()


def test_entries_are_written_in_the_cri_format(tmp_path):
    write(tmp_path / "0.log", [("stdout", "hello"), ("stderr", "oops")]).close()
    lines = (tmp_path / "0.log").read_bytes().splitlines()
    assert lines[0] == b"2023-11-14T22:13:20.000000000Z stdout F hello"
    assert parse_line(lines[1]).stream == "stderr"
    assert format_time(T0 + 5) == "2023-11-14T22:13:20.000000005Z"


def test_tail_since_timestamps_and_limit_bytes(tmp_path):
    path = tmp_path / "0.log"
    write(path, [("stdout", f"line {i}") for i in range(5)]).close()
    assert collect(path) == "".join(f"line {i}\n" for i in range(5))
    assert collect(path, tail=2) == "line 3\nline 4\n"
    assert collect(path, tail=0) == ""
    assert collect(path, since=T0 / 1e9 + 3) == "line 3\nline 4\n"
    assert collect(path, tail=1, timestamps=True) == "2023-11-14T22:13:24.000000000Z line 4\n"
    assert collect(path, limit_bytes=9) == "line 0\nli"


def test_partial_lines_are_joined_without_a_newline(tmp_path):
    path = tmp_path / "0.log"
    writer = LogWriter(str(path))
    writer.write("stdout", b"part one, ", partial=True)
    writer.write("stdout", b"part two")
    writer.close()
    assert collect(path) == "part one, part two\n"


def test_rotation_keeps_max_files_and_reads_back_in_order(tmp_path):
    path = tmp_path / "0.log"
    write(path, [("stdout", f"entry {i:03d}") for i in range(40)], max_size=300,
          max_files=3).close()
    files = log_files(str(path))
    assert files == [f"{path}.2", f"{path}.1", str(path)]
    text = collect(path)
    numbers = [int(line.split()[1]) for line in text.splitlines()]
    assert numbers == sorted(numbers) and numbers[-1] == 39
    assert numbers[0] > 0  # the oldest entries were dropped with the oldest file


def test_follow_streams_new_entries_across_a_rotation_until_the_container_exits(tmp_path):
    path = tmp_path / "0.log"
    writer = write(path, [("stdout", "before")], max_size=200, max_files=3)
    running = threading.Event()
    running.set()
    got = []

    def reader():
        for chunk in read_logs(str(path), follow=True, still_running=running.is_set,
                               poll=0.01):
            got.append(chunk.decode())

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(20):  # enough to rotate a few times
        writer.write("stdout", f"after {i:02d}".encode())
        time.sleep(0.005)
    time.sleep(0.1)
    running.clear()
    thread.join(5)
    writer.close()
    assert got[0] == "before\n"
    assert got[1:] == [f"after {i:02d}\n" for i in range(20)]
