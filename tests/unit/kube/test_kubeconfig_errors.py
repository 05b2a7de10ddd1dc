"""A broken kubeconfig is reported by file, line and column, never by quoting its (secret) content."""

from __future__ import annotations

from pathlib import Path

import pytest

from drsyncer.errors import ClusterError
from drsyncer.kube.connect import client_from_kubeconfig_file

BROKEN = (
    "apiVersion: v1\n"
    "users:\n"
    "- name: admin\n"
    "  user:\n"
    "    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t: [unclosed\n"
)


def test_yaml_error_in_a_kubeconfig_file_names_line_and_column_only(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(BROKEN)

    with pytest.raises(ClusterError) as caught:
        client_from_kubeconfig_file("prod", path, None)

    message = str(caught.value)
    assert str(path) in message
    assert "line 5, column" in message
    assert "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t" not in message
    assert "client-key-data" not in message
