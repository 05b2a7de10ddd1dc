"""rsync's output reaches the run log in whole lines, however the SSH channel cuts it into chunks."""

from __future__ import annotations

from tasks.data.transfer import _LineWriter


def test_a_line_cut_between_two_chunks_arrives_whole() -> None:
    seen: list[str] = []
    kept: list[str] = []
    writer = _LineWriter(seen.append, kept)

    for chunk in ("\r  16,384  16%  1.00MB/s  0:00:01\rsen", "t 153 bytes  received 98,838 bytes\n", "total"):
        writer.write(chunk)
        writer.flush()  # invoke flushes after every chunk
    writer.finish()

    assert seen == [
        "  16,384  16%  1.00MB/s  0:00:01",
        "sent 153 bytes  received 98,838 bytes",
        "total",
    ]
    assert kept == seen
