"""Open a claim's volume directory on this node: exact shape, no symlink anywhere, a mount point, pinned.

Both agents go through :func:`open_volume_dir` before they touch a volume: the pull key's gate on
source nodes (``agent/source_gate.py``) and the control program on DR nodes (``agent/control.py``).

1. The path (relative to the kubelet pods dir) must be exactly a PersistentVolume mount path
   (``tasks/data/volume_paths.py``): a pod's Secrets, tokens and emptyDirs are never reachable.
2. It is opened one component at a time from the pods dir with ``O_NOFOLLOW | O_DIRECTORY`` relative to
   the previous component's descriptor, so no component may be a symlink (the realpath equals the path
   as given) and a component swapped for a symlink mid-walk fails instead of being followed.
3. The opened directory must be a mount point: the mount table (``/proc/self/mountinfo``, injectable so
   the sandbox can model the kubelet's bind mounts) lists its path with the device the descriptor is on.
   An unmounted volume directory would otherwise fill the node's root disk (DR) or serve a stale copy.
4. The caller keeps the descriptor (:class:`PinnedDir`) and works through it (``/proc/self/fd/N`` for
   child processes, ``dir_fd=`` for its own calls): a rename or symlink swap of the path after the
   check cannot redirect the work.

Stdlib only: the agent image runs it with ``python3 -I``.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.data.volume_paths import VolumePathError, validate_volume_path

PROC_MOUNTINFO = "/proc/self/mountinfo"
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


class VolumeDirError(Exception):
    """A volume path is refused (shape, symlink, not a mount point) or does not exist."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class PinnedDir:
    """An open descriptor on a checked volume directory, and the path it was opened by."""

    fd: int
    path: str

    @property
    def proc_path(self) -> str:
        """``/proc/self/fd/N``: the pinned directory for this process and children that inherit ``fd``."""
        return f"/proc/self/fd/{self.fd}"

    def close(self) -> None:
        """Close the descriptor."""
        os.close(self.fd)


def parse_mountinfo(text: str) -> dict[str, int]:
    """Mount points of a ``/proc/<pid>/mountinfo`` text, each with its device number (``st_dev``).

    Field 3 is ``major:minor``, field 5 the mount point with spaces, tabs, newlines and backslashes
    octal-escaped (``\\040``). A path mounted twice keeps its last (topmost) entry.
    """
    mounts: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) < 5 or ":" not in fields[2]:
            continue
        major, _, minor = fields[2].partition(":")
        if not (major.isdigit() and minor.isdigit()):
            continue
        point = _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), fields[4])
        mounts[point] = os.makedev(int(major), int(minor))
    return mounts


def _read_mount_table(mountinfo: str) -> dict[str, int]:
    try:
        with open(mountinfo, encoding="utf-8", errors="surrogateescape") as handle:
            return parse_mountinfo(handle.read(4 << 20))
    except OSError as error:
        raise VolumeDirError(f"cannot read the mount table {mountinfo}: {error.strerror}") from None


def open_volume_dir(pods_dir: str, relative: object, *, mountinfo: str = PROC_MOUNTINFO) -> PinnedDir:
    """Check ``relative`` (a PV mount path below ``pods_dir``) and return it pinned as a descriptor.

    Raises:
        VolumeDirError: the shape is wrong, a component is a symlink or not a directory, the directory
            is not a mount point (``missing=True`` when a component does not exist).
    """
    try:
        checked = validate_volume_path(relative)
    except VolumePathError as error:
        raise VolumeDirError(str(error)) from None
    root = os.path.realpath(pods_dir)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in checked.split("/"):
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                raise VolumeDirError(f"volume path {checked!r} does not exist", missing=True) from None
            except OSError:
                raise VolumeDirError(
                    f"volume path {checked!r} has a symlink or non-directory at {part!r}; "
                    "agents follow no symlinks"
                ) from None
            os.close(fd)
            fd = child
        absolute = f"{root}/{checked}"
        device = os.fstat(fd).st_dev
        if _read_mount_table(mountinfo).get(absolute) != device:
            raise VolumeDirError(
                f"volume path {checked!r} is not a mount point; the volume is not mounted on this node"
            )
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise VolumeDirError(f"volume path {checked!r} is not a directory")
    except BaseException:
        os.close(fd)
        raise
    return PinnedDir(fd=fd, path=absolute)
