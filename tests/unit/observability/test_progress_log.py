"""A PVC's rsync stream becomes a few run-log lines: progress every N seconds or 10 %, never --stats."""

from __future__ import annotations

from tasks.data.progress_log import ProgressLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _progress(percent: int) -> str:
    return f"  {percent * 1000:,} {percent}%   10.00MB/s    0:00:0{9 - percent // 12}"


def test_progress_is_kept_every_ten_percent_when_fast() -> None:
    clock = Clock()
    log = ProgressLog("data-db-0", clock=clock)

    kept = [line for p in range(0, 101) if (line := log.line_for(_progress(p))) is not None]

    assert len(kept) == 10
    assert kept[0].startswith("PVC data-db-0: 10%, ")
    assert kept[-1].startswith("PVC data-db-0: 100%, ")


def test_slow_progress_is_kept_every_interval() -> None:
    clock = Clock()
    log = ProgressLog("data-db-0", interval_seconds=10.0, clock=clock)
    kept = []
    for second in range(60):
        clock.now = float(second)
        if (line := log.line_for(_progress(1 + second // 30))) is not None:
            kept.append(line)

    assert len(kept) == 5  # at 10, 20, 30, 40, 50 s: the percentage never crossed 10 %


def test_stats_block_is_dropped_and_mover_lines_are_kept() -> None:
    log = ProgressLog("data-db-0")
    stats = [
        "Number of files: 12 (reg: 10, dir: 2)",
        "Number of regular files transferred: 10",
        "Total file size: 1,048,576 bytes",
        "Total bytes received: 1,050,000",
        "sent 1,234 bytes  received 1,050,000 bytes  700,000.00 bytes/sec",
        "total size is 1,048,576  speedup is 1.00",
        "receiving incremental file list",
    ]

    assert [log.line_for(line) for line in stats] == [None] * len(stats)
    retry = "attempt 1 failed (connection reset by source agent); retrying in 2.0 s"
    assert log.line_for(retry) == f"PVC data-db-0: {retry}"
