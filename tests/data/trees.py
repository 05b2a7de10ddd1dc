"""Building and comparing file trees for the data tier (byte contents, modes, owners, links, times)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any


def snapshot(root: Path, *, dir_times: bool = False) -> dict[str, tuple[Any, ...]]:
    """Every entry below ``root``: type, mode, uid, gid, and content / link target / mtime for files.

    With ``dir_times``, directories' mtimes too (and the root's, as ``.``).
    """
    entries: dict[str, tuple[Any, ...]] = {}
    if dir_times:
        entries["."] = ("dir", int(root.stat().st_mtime))
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(directory) / name
            info = full.lstat()
            relative = str(full.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                entries[relative] = ("link", os.readlink(full), info.st_uid, info.st_gid)
            elif stat.S_ISDIR(info.st_mode):
                entries[relative] = ("dir", stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
                if dir_times:
                    entries[relative] += (int(info.st_mtime),)
            else:
                entries[relative] = (
                    "file",
                    stat.S_IMODE(info.st_mode),
                    info.st_uid,
                    info.st_gid,
                    int(info.st_mtime),
                    full.read_bytes(),
                )
    return entries


def build_rich_tree(root: Path) -> None:
    """Nested dirs, symlinks (relative, dangling, pointing outside), odd modes, foreign numeric owners,
    empty files, names with spaces and unicode."""
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "a" / "b" / "c" / "deep.txt").write_bytes(b"deep\n" * 100)
    (root / "empty.txt").write_bytes(b"")
    (root / "with space.txt").write_text("spaces")
    (root / "ünïcødé 文件.bin").write_bytes(bytes(range(256)) * 40)
    (root / "private").write_text("secret-ish")
    os.chmod(root / "private", 0o600)
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "script.sh", 0o751)
    (root / "shared").mkdir()
    os.chmod(root / "shared", 0o2775)
    (root / "owned-by-app").write_text("uid 12345")
    os.chown(root / "owned-by-app", 12345, 23456)
    os.chown(root / "shared", 999, 999)
    os.symlink("a/b/c/deep.txt", root / "link-to-deep")
    os.symlink("/etc/passwd", root / "link-outside")
    os.symlink("does-not-exist", root / "dangling")
    os.utime(root / "with space.txt", (1_600_000_000, 1_600_000_000))
