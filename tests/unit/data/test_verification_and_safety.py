"""Pure parts of verification (sampling, itemize parsing) and the empty-source guard."""

from __future__ import annotations

import pytest

from tasks.data.safety import EmptySourceRefusedError, check_empty_source, parse_list_only
from tasks.data.verification import choose_sample, mismatched_paths


def test_sample_is_deterministic_and_sized_by_percent() -> None:
    files = [f"f{i}" for i in range(200)]

    first = choose_sample(files, percent=10, seed="pvc-a")

    assert first == choose_sample(list(reversed(files)), percent=10, seed="pvc-a")
    assert len(first) == 20
    assert first != choose_sample(files, percent=10, seed="pvc-b")


def test_sample_takes_at_least_one_file() -> None:
    assert len(choose_sample(["only"], percent=1, seed=1)) == 1
    assert choose_sample([], percent=50, seed=1) == []


def test_itemized_differences_are_mismatches() -> None:
    lines = [
        ">fc.t...... a/changed.txt",
        ">f+++++++++ missing.txt",
        ".d..t...... some/dir/",
        "cL+++++++++ link -> target",
        "*deleting   extra.txt",
        ".f...p..... perms-only.txt",
        "Number of files: 3",
    ]

    assert mismatched_paths(lines) == ["a/changed.txt", "missing.txt", "link", "extra.txt"]


LISTING = """drwxr-xr-x          4,096 2026/11/26 03:50:00 .
-rw-r--r--              2 2026/11/26 03:50:00 hello world.txt
lrwxrwxrwx              6 2026/11/26 03:50:00 link -> target
drwxr-xr-x          4,096 2026/11/26 03:50:00 sub dir""".splitlines()


def test_list_only_output_gives_names_without_dot() -> None:
    assert parse_list_only(LISTING) == ["hello world.txt", "link", "sub dir"]


def test_empty_source_over_full_destination_is_refused() -> None:
    with pytest.raises(EmptySourceRefusedError, match="allowEmptySource"):
        check_empty_source(source_entries=0, destination_entries=3, allow_empty_source=False)


@pytest.mark.parametrize(
    ("source", "destination", "allow"), [(0, 0, False), (1, 5, False), (0, 5, True), (3, 0, False)]
)
def test_other_combinations_are_allowed(source: int, destination: int, allow: bool) -> None:
    assert not check_empty_source(
        source_entries=source, destination_entries=destination, allow_empty_source=allow
    ).refused
