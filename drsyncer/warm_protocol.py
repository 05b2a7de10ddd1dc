"""Where the warm process listens and which code it runs: shared by the launcher and the warm process.

Standard library only (the ``drsyncer`` launcher imports it before anything else). See
:mod:`drsyncer.launcher` for the protocol and :mod:`drsyncer.warm_process` for the server side.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

SOCKET_NAME = "warm.sock"
PACKAGES = ("drsyncer", "flows", "tasks", "agent", "deployments")


def data_dir(environ: dict[str, str] | os._Environ[str]) -> Path:
    """dr-syncer's per-user data directory, as :class:`drsyncer.settings.Settings` computes it from the
    environment (``DRSYNCER_DATA_DIR``, else ``$XDG_DATA_HOME/dr-syncer``, else ``~/.local/share/...``)."""
    explicit = environ.get("DRSYNCER_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = environ.get("XDG_DATA_HOME", "")
    return (Path(xdg) if xdg.startswith("/") else Path("~/.local/share").expanduser()) / "dr-syncer"


def socket_path(environ: dict[str, str] | os._Environ[str]) -> Path:
    """The warm process's unix socket."""
    return data_dir(environ) / SOCKET_NAME


def code_version() -> str:
    """A fingerprint of the code a command would run: this interpreter, the installed packages' directory
    and every module file of dr-syncer (path, size, modification time). A warm process started from
    other code refuses commands, so an upgrade or an edit never runs stale code."""
    digest = hashlib.sha256(sys.executable.encode())
    root = Path(__file__).resolve().parent.parent
    for entry in sys.path:
        if entry.endswith("site-packages") and os.path.isdir(entry):
            digest.update(f"{entry}:{os.stat(entry).st_mtime_ns}".encode())
    for package in PACKAGES:
        for folder, _, files in sorted(os.walk(root / package)):
            for name in sorted(files):
                if name.endswith(".py"):
                    status = os.stat(os.path.join(folder, name))
                    digest.update(f"{folder}/{name}:{status.st_size}:{status.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]
