"""metrics.speed (harness/report/speed.py): the ratios from given figures, and CPU counted through
the processes a run waits for. No assertion on how long anything took."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from harness.report.speed import (
    COUNTED_BY_PROCESS,
    CpuClock,
    critical_path,
    process_cpu_s,
    speed_block,
    speed_line,
)

# A child that burns CPU in a grandchild, waits for it, and prints the CPU of the children it reaped.
BUSY = "import time\nend = time.process_time() + 0.2\nwhile time.process_time() < end:\n    pass\n"
PARENT = f"""
import resource, subprocess, sys
subprocess.run([sys.executable, "-c", {BUSY!r}], check=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime)
"""


def test_cpu_clock_counts_a_reaped_child_and_what_it_reaped() -> None:
    """The shard runner's accounting: a shard's servers are its children; when the shard is reaped, their
    CPU is in the runner's RUSAGE_CHILDREN with the shard's own."""
    start = CpuClock.now()
    done = subprocess.run([sys.executable, "-c", PARENT], check=True, capture_output=True, text=True)
    counted = CpuClock.now()
    grandchild = float(done.stdout)
    assert grandchild > 0
    assert counted.children_s - start.children_s >= grandchild  # the child's own CPU on top
    assert counted.since(start) > 0


def test_a_running_process_cpu_is_read_from_proc() -> None:
    busy = subprocess.Popen([sys.executable, "-c", BUSY + "input()\n"], stdin=subprocess.PIPE, text=True)
    try:
        while (used := process_cpu_s(busy.pid)) is not None and used == 0:
            time.sleep(0.01)
        assert used is not None and used > 0
    finally:
        busy.communicate("\n")
    assert process_cpu_s(busy.pid) is None  # reaped: nothing to read


def test_the_critical_path_is_the_longest_file() -> None:
    assert critical_path({"test_a.py": 3.0, "test_b.py": 39.4, "test_c.py": 12}) == ("test_b.py", 39.4)
    assert critical_path({}) is None and critical_path(None) is None


def test_the_block_and_its_line_from_given_figures() -> None:
    files = {"test_expiry.py": 39.4, "test_matrix.py": 18.0}
    block = speed_block(
        wall_s=95.0, file_wall_s=files, cpu_s=210.0, cpu_counted=COUNTED_BY_PROCESS, decisions=10000
    )
    expected = {
        "suite_wall_s": 95.0,
        "critical_path_s": 39.4,
        "critical_path_file": "test_expiry.py",
        "wall_over_critical_path": 2.411,
        "cpu_s": 210.0,
        "cpu_counted": COUNTED_BY_PROCESS,
        "verified_decisions": 10000,
        "cpu_s_per_decision": 0.021,
    }
    assert block == expected
    line = (
        "speed: wall 95 s = 2.4x the critical path (test_expiry.py 39 s); 0.021 CPU-s per verified decision"
    )
    assert speed_line(block) == f"{line} (210 CPU-s, 10,000 decisions)"
    # A run without file figures or decisions: no ratio is made up.
    bare = speed_block(wall_s=3.0, file_wall_s={}, cpu_s=1.5, cpu_counted=COUNTED_BY_PROCESS, decisions=0)
    assert bare["wall_over_critical_path"] is None and bare["cpu_s_per_decision"] is None
    assert speed_line(bare) == "speed: wall 3.0 s; 1.5 CPU-s, no verified decision"
    json.dumps(block)  # plain JSON
