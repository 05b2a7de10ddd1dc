"""Verification: after a pull, prove the DR copy matches the source by checksums (``none|sample|full``).

The DR agent compares by running rsync once more from the source agent, through the same read-only pull
key, as ``--dry-run --checksum --itemize-changes``: the sender checksums each file on the source node, the
receiver checksums its copy, and every file whose content, type or presence differs is itemized.
``full`` does this for the whole volume (and also reports files DR has that the source lacks); ``sample``
for ``samplePercent`` of the DR files (at least one), chosen deterministically from a seed by
:func:`choose_sample` so a re-run checks the same files. The control program's ``checksum <path>`` verb
gives the DR-side sha256 list (used by tests and by people debugging a mismatch).

Pure and stdlib-only: the agent's control program imports :func:`choose_sample` and the mover imports
:func:`mismatched_paths`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class VerificationMode(StrEnum):
    """``dataSyncConfig.verificationMode``."""

    none = "none"
    sample = "sample"
    full = "full"


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of one verification (``mode``, files compared, files that differ)."""

    mode: VerificationMode
    files_checked: int = 0
    mismatches: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when no compared file differs."""
        return not self.mismatches


def choose_sample(files: Sequence[str], *, percent: float, seed: int | str) -> list[str]:
    """``percent`` % of ``files`` (rounded up, at least one if any), chosen reproducibly from ``seed``."""
    if not files:
        return []
    ordered = sorted(set(files))
    count = min(len(ordered), max(1, math.ceil(len(ordered) * max(0.0, min(percent, 100.0)) / 100.0)))
    return sorted(random.Random(str(seed)).sample(ordered, count))


def mismatched_paths(itemized_lines: Iterable[str]) -> list[str]:
    """Paths that differ, from ``--itemize-changes --out-format='%i %n%L'`` lines of a checksum dry-run.

    A line ``>f+++++++++ a/b`` (file would be sent), ``>fc........ a/b`` (checksum differs), ``cL...`` (a
    symlink differs) or ``*deleting a/b`` (DR has a file the source lacks) is a mismatch. Directory
    attribute lines (``.d..t......``) and unchanged entries are not.
    """
    mismatches: list[str] = []
    for raw in itemized_lines:
        line = raw.rstrip("\n")
        if line.startswith("*deleting "):
            mismatches.append(line[len("*deleting ") :].strip())
            continue
        code, _, name = line.partition(" ")
        if len(code) != 11 or code[0] not in "<>ch." or code[1] not in "fdLDS":
            continue
        if code[1] == "d":
            continue
        if code[0] in "<>ch" or "c" in code[2:3]:
            mismatches.append(name.split(" -> ", 1)[0])
    return mismatches
