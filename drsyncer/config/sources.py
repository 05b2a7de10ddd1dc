"""Where a configuration document came from, so every message can point at it.

A :class:`SourcedDocument` is one parsed YAML document plus its :class:`SourceRef`: a file path (file
mode) or a label such as ``cluster ctl/dr-syncer`` (controller-cluster mode), and the 1-based position
of the document in that source. Problems are lines of the form
``SOURCE: document N (Kind/name): field.path: what is wrong; expected ...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A document's origin: ``label`` (a file path or e.g. ``cluster ctl/dr-syncer``) and its position."""

    label: str
    index: int
    """1-based position of the document in its source (empty documents count)."""
    base_dir: Path | None = None
    """Directory that relative paths in the document are resolved against (``None``: left as written)."""
    item: int | None = None
    """1-based position inside a ``kind: List`` document (``kubectl get -o yaml`` output), if any."""

    def describe(self, kind: str = "", name: str = "") -> str:
        """``LABEL: document N (Kind/name)`` for messages."""
        what = f" ({kind or '?'}/{name or '?'})" if kind or name else ""
        item = f", item {self.item}" if self.item is not None else ""
        return f"{self.label}: document {self.index}{item}{what}"


@dataclass(frozen=True, slots=True)
class SourcedDocument:
    """One parsed document (a mapping, as YAML/JSON gives it) and where it came from."""

    body: Any
    source: SourceRef = field(default_factory=lambda: SourceRef(label="<memory>", index=1))


def format_path(loc: tuple[str | int, ...]) -> str:
    """Render a field location as ``spec.pvcConfig.storageClassMappings[0].from``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
