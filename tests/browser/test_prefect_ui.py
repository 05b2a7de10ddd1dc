"""A person watching dr-syncer in the Prefect UI: the real UI in headless Chromium, after real syncs.

The demo's two sandbox clusters (real sshd + rsync agents, a database volume with files) are synced by
``drsyncer sync`` against a Prefect server that serves its UI; the test then opens the run the way an
operator would and asserts on what the page renders — the run's story in its logs, the summary table
in its artifacts, the reason of a failed object — never only on the API. Screenshots are kept in the
test's tmp dir (``flow-run-logs.png``, ``sync-summary.png``, ``failed-run.png``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drsyncer.demo import MAPPING, NAMESPACE, DemoClusters, seed, start_clusters
from tests.browser.chromium import Page
from tests.browser.conftest import PrefectUi
from tests.prefect_runs import flow_runs, wait_for_logs

DRSYNCER = str(Path(sys.executable).parent / "drsyncer")
TAKEN_NODE_PORT = 30777


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoClusters]:
    """The demo's source and DR clusters with agents, the sample namespace seeded; stopped at the end."""
    clusters = start_clusters(tmp_path_factory.mktemp("ui-demo"))
    try:
        seed(clusters.source)
        yield clusters
    finally:
        clusters.stop()


def _sync(demo: DemoClusters, ui: PrefectUi) -> tuple[int, dict[str, Any]]:
    """``drsyncer sync`` of the demo mapping against the UI's server; exit code and JSON report."""
    env = ui.env()
    env["DRSYNCER_KEY_DIR"] = str(demo.key_dir)
    result = subprocess.run(
        [DRSYNCER, "sync", str(demo.config_path), "--mapping", MAPPING, "--output", "json"],
        env=env,
        cwd=demo.workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def _latest_run(ui: PrefectUi) -> dict[str, Any]:
    runs = flow_runs(ui.api, name_like=f"-{MAPPING}-")
    assert runs, "no sync run recorded"
    run = runs[-1]
    wait_for_logs(
        ui.api, run["id"], until=lambda logs: any(f"sync of {MAPPING} " in r["message"] for r in logs)
    )
    return run


def test_flow_run_page_tells_the_story_and_artifacts_tab_shows_the_summary_table(
    demo: DemoClusters, prefect_ui: PrefectUi, browser: Page, tmp_path: Path
) -> None:
    code, report = _sync(demo, prefect_ui)
    assert code == 0, report
    assert report["pvcs"][0]["status"] == "synced"
    run = _latest_run(prefect_ui)

    browser.open(f"{prefect_ui.url}/runs/flow-run/{run['id']}")
    logs = browser.wait_for_text(
        f"sync of {MAPPING} (source/{NAMESPACE} → dr/{NAMESPACE}) Completed",
        "discover: ",
        "apply: ",
        "PVC data-db-0: copying source/shop → dr/shop (verification full)",
        "PVC data: 1 PVCs synced, 0 failed",
    )
    assert "verification full: " in logs
    assert "Finished in state Completed()\n" not in logs, (
        "a completed task's closing line is not part of the story"
    )
    browser.screenshot(tmp_path / "flow-run-logs.png")

    browser.click("#artifacts")
    browser.wait_for_text(f"sync-{MAPPING}-objects", "dr-syncer sync summary")
    browser.click_link("dr-syncer sync summary", within="#artifacts-content")
    summary = browser.wait_for_text(f"Sync of mapping {MAPPING}", "created", "unchanged", "verification")
    assert "data-db-0" in summary
    browser.screenshot(tmp_path / "sync-summary.png")


def test_a_failed_run_shows_the_failed_objects_reason(
    demo: DemoClusters, prefect_ui: PrefectUi, browser: Page, tmp_path: Path
) -> None:
    demo.dr.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "squatters"}})
    demo.dr.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "squatter", "namespace": "squatters"},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": TAKEN_NODE_PORT}]},
        }
    )
    demo.source.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "admin", "namespace": NAMESPACE},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": TAKEN_NODE_PORT}]},
        }
    )

    code, report = _sync(demo, prefect_ui)

    assert code == 1, report
    failed = [o for o in report["objects"] if o["status"] == "failed"]
    assert [(o["kind"], o["name"]) for o in failed] == [("Service", "admin")]
    run = _latest_run(prefect_ui)
    browser.open(f"{prefect_ui.url}/runs/flow-run/{run['id']}")
    page = browser.wait_for_text("Service/admin failed: ", "Failed")
    reason = next(line for line in page.splitlines() if line.startswith("Service/admin failed: "))
    assert str(TAKEN_NODE_PORT) in reason
    assert failed[0]["error"] in page
    browser.screenshot(tmp_path / "failed-run.png")
