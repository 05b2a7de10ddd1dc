"""Reading configuration files: paths → parsed YAML documents with their sources.

The first step of loading (then :mod:`drsyncer.config.loader` validates and resolves). A path is a file
or a directory; directories are searched recursively for ``*.yaml`` / ``*.yml`` files in sorted order,
skipping hidden files and folders. Problems (missing paths, unreadable files, YAML syntax errors with line
and column, duplicate keys) are collected, not raised, so one run reports all of them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from drsyncer.config.sources import SourcedDocument, SourceRef

__all__ = ["ReadResult", "find_config_files", "read_config_files"]

YAML_SUFFIXES = (".yaml", ".yml")


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@dataclass
class ReadResult:
    """The documents read, the problems met, and the files read."""

    documents: list[SourcedDocument] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def find_config_files(path: Path) -> list[Path]:
    """The YAML files under ``path`` (itself if it is a file), sorted, hidden ones skipped."""
    if path.is_file():
        return [path]
    return sorted(
        candidate
        for candidate in path.rglob("*")
        if candidate.is_file()
        and candidate.suffix in YAML_SUFFIXES
        and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
    )


def read_config_files(paths: Sequence[Path]) -> ReadResult:
    """Read every YAML document under ``paths``; collect problems instead of stopping at the first."""
    result = ReadResult()
    for path in paths:
        if not path.exists():
            result.problems.append(
                f"{path}: no such file or directory; "
                "expected a YAML file or a directory of *.yaml/*.yml files"
            )
            continue
        files = find_config_files(path)
        if not files:
            result.problems.append(f"{path}: no *.yaml or *.yml files in this directory")
        for file in files:
            if file in result.files:
                continue
            result.files.append(file)
            _read_file(file, result)
    return result


def _read_file(file: Path, result: ReadResult) -> None:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        result.problems.append(f"{file}: cannot be read: {error}")
        return
    index = 0
    try:
        for body in yaml.load_all(text, Loader=_StrictLoader):
            index += 1
            result.documents.append(
                SourcedDocument(
                    body=body, source=SourceRef(label=str(file), index=index, base_dir=file.parent.absolute())
                )
            )
    except yaml.YAMLError as error:
        result.problems.append(_yaml_problem(file, index + 1, error))


def _yaml_problem(file: Path, index: int, error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        context = f" ({error.context})" if error.context else ""
        return (
            f"{file}: document {index}: line {mark.line + 1}, column {mark.column + 1}: invalid YAML: "
            f"{error.problem}{context}; expected valid YAML (check indentation, ':' after keys and quotes)"
        )
    return f"{file}: document {index}: invalid YAML: {error}"
