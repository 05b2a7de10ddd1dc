"""The change list written from a dry run's itemized lines (``tasks/data/change_list.py``)."""

from __future__ import annotations

import io

from tasks.data.change_list import ChangeListWriter, decode_name, supports_change_list
from tasks.data.rsync_command import RsyncOptions


def lists(lines: list[str]) -> tuple[list[bytes], list[bytes], int]:
    """(transfer list, deletion list, total) for these dry-run output lines."""
    out, deletions = io.BytesIO(), io.BytesIO()
    writer = ChangeListWriter(out, deletions=deletions, spill=io.BytesIO())
    for line in lines:
        writer.feed(line)
    total = writer.finish()
    return out.getvalue().split(b"\0")[:-1], deletions.getvalue().split(b"\0")[:-1], total


def test_a_deleted_tree_is_one_deletion_and_its_parent_is_listed_again() -> None:
    transfer, deletions, total = lists(
        [
            "*deleting   logs/old/a.log",
            "*deleting   logs/old/",
            "*deleting   logs/gone.txt",
            ".d..t...... logs/",
        ]
    )

    assert deletions == [b"logs/old", b"logs/gone.txt"]
    assert transfer == [b"logs", b"logs"]  # itemized, then again as a deletion's parent (rsync dedupes)
    assert total == 4


def test_contents_of_a_directory_replaced_by_a_file_are_not_listed() -> None:
    transfer, deletions, _ = lists(["*deleting   x/a", "*deleting   x/b/", ">f+++++++++ x"])

    assert deletions == []
    assert transfer == [b"x"]


def test_names_come_back_byte_exact_with_trailing_slashes_dropped() -> None:
    transfer, _, _ = lists(
        [
            "cd+++++++++ new dir/",
            ">f+++++++++ new dir/caf\\#303\\#251 -> x.txt",
            "cL+++++++++ link",
            ".d..t...... ./",
            "Number of files: 3 (reg: 1, dir: 2)",
        ]
    )

    assert transfer == [b"new dir", "new dir/café -> x.txt".encode(), b"link", b"."]


def test_nothing_itemized_is_an_empty_list() -> None:
    assert lists(["", "Number of files: 12 (reg: 11, dir: 1)", "Total file size: 10 bytes"]) == ([], [], 0)


def test_decode_name_undoes_rsync_octal_escapes_only() -> None:
    assert decode_name("a\\#012b") == b"a\nb"
    assert decode_name("plain\\name") == b"plain\\name"


def test_hard_links_and_max_delete_need_the_whole_tree() -> None:
    assert supports_change_list(RsyncOptions(extra_options=("-aHv",))) is False
    assert supports_change_list(RsyncOptions(extra_options=("--hard-links",))) is False
    assert supports_change_list(RsyncOptions(extra_options=("--max-delete=10",))) is False
    assert supports_change_list(RsyncOptions(extra_options=("--checksum", "-z"))) is True
