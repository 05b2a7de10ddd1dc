"""``drsyncer sandbox up``: kubeconfigs and a file-mode config are written; SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from drsyncer.sandbox import FakeCluster


def test_sandbox_up_writes_config_and_stops_on_sigterm(tmp_path: Path, sandbox: FakeCluster) -> None:
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "drsyncer"), "sandbox", "up", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        config = tmp_path / "config" / "clusters.yaml"
        deadline = time.monotonic() + 30
        while not config.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert config.exists(), process.stderr.read() if process.stderr else ""
        kinds = [d["kind"] for d in yaml.safe_load_all(config.read_text())]
        assert kinds == ["RemoteCluster", "RemoteCluster", "ClusterMapping", "NamespaceMapping"]
        kubeconfig = yaml.safe_load((tmp_path / "kubeconfig").read_text())
        assert {c["name"] for c in kubeconfig["contexts"]} == {"source", "dr"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
