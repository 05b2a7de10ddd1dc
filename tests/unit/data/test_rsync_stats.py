"""Parsing rsync's progress2 lines and --stats block."""

from __future__ import annotations

from tasks.data.rsync_stats import parse_progress, parse_stats, split_stream

STATS = """
Number of files: 12,345 (reg: 12,000, dir: 345)
Number of created files: 10 (reg: 10)
Number of deleted files: 2 (reg: 2)
Number of regular files transferred: 1,234
Total file size: 1,073,741,824 bytes
Total transferred file size: 10,737,418 bytes
Literal data: 10,000,000 bytes
Matched data: 737,418 bytes
File list size: 300,000
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 45,678
Total bytes received: 10,123,456

sent 45,678 bytes  received 10,123,456 bytes  2,000,000.00 bytes/sec
total size is 1,073,741,824  speedup is 105.59
""".splitlines()


def test_stats_block_becomes_numbers() -> None:
    stats = parse_stats(STATS)

    assert stats is not None
    assert stats.files_total == 12_345
    assert stats.files_created == 10
    assert stats.files_deleted == 2
    assert stats.files_transferred == 1_234
    assert stats.total_size == 1_073_741_824
    assert stats.literal_data == 10_000_000
    assert stats.bytes_received == 10_123_456
    assert stats.wire_bytes == 10_123_456 + 45_678


def test_no_stats_block_gives_none() -> None:
    assert parse_stats(["rsync error: something"]) is None


def test_progress2_line_is_parsed() -> None:
    progress = parse_progress("    536,870,912  50%  229.12MB/s    0:00:02 (xfr#6000, to-chk=6000/12345)")

    assert progress is not None
    assert progress.bytes_done == 536_870_912
    assert progress.percent == 50
    assert progress.bytes_per_second == 229.12 * 1024 * 1024
    assert (progress.files_transferred, progress.files_to_check, progress.files_total) == (6000, 6000, 12345)


def test_progress2_line_without_counters() -> None:
    progress = parse_progress("              0   0%    0.00kB/s    0:00:00  ")

    assert progress is not None
    assert progress.bytes_done == 0


def test_other_lines_are_not_progress() -> None:
    assert parse_progress("Number of files: 3") is None


def test_stream_splits_on_carriage_returns_and_newlines() -> None:
    lines, rest = split_stream("  1  1%  1.00kB/s 0:00:01\r  2  2%  1.00kB/s 0:00:01\rdone\nparti")

    assert len(lines) == 3
    assert rest == "parti"
