"""A sandbox node's mount table: the kubelet's volume mounts, as ``/proc/self/mountinfo`` lines.

On a real node the kubelet bind-mounts each PersistentVolume at
``pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount`` and the agents refuse any volume directory that is not a
mount point (``agent/volume_dir.py`` reads ``/proc/self/mountinfo``). The sandbox kubelet moves a real
directory into place instead of mounting, so it records each "mount" here, in ``<node root>/mountinfo``
in the kernel's mountinfo format (device numbers from the directory itself), and the sandbox agents are
started with ``--mountinfo`` pointing at that file. A directory created by hand in the pods dir is
therefore not a mount point to the agents, just as on a node. Used by the sandbox kubelet and tests only.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

MOUNTINFO_FILE = "mountinfo"
_LOCK = threading.Lock()


def mountinfo_path(node_root: Path) -> Path:
    """Where a sandbox node's mount table lives."""
    return node_root / MOUNTINFO_FILE


def _escape(path: str) -> str:
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


def _line(target: Path) -> str:
    device = os.stat(target).st_dev
    return f"1 0 {os.major(device)}:{os.minor(device)} / {_escape(str(target))} rw - sandbox sandbox rw\n"


def _rewrite(node_root: Path, keep: list[str]) -> None:
    table = mountinfo_path(node_root)
    temporary = table.with_name(f".{MOUNTINFO_FILE}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_text("".join(keep))
    os.replace(temporary, table)


def _lines(node_root: Path) -> list[str]:
    try:
        return mountinfo_path(node_root).read_text().splitlines(keepends=True)
    except FileNotFoundError:
        return []


def record_mount(node_root: Path, target: Path) -> None:
    """Add ``target`` (a real directory) to the node's mount table."""
    with _LOCK:
        mark = f" {_escape(str(target))} "
        keep = [line for line in _lines(node_root) if mark not in line]
        _rewrite(node_root, [*keep, _line(target)])


def forget_mounts(node_root: Path, under: Path) -> None:
    """Drop ``under`` and every mount below it from the node's mount table (an unmount)."""
    with _LOCK:
        prefix = _escape(str(under))
        keep = [
            line
            for line in _lines(node_root)
            if not (line.split(" ")[4] == prefix or line.split(" ")[4].startswith(prefix + "/"))
        ]
        _rewrite(node_root, keep)
