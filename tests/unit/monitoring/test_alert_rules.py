"""The alert rules: promtool checks and unit-tests them; they read only metrics the exporter serves; the
PrometheusRule is the rules file's groups, regenerated (never edited by hand).

promtool comes from Debian's ``prometheus`` package (``scripts/ensure-system-packages.sh`` installs it; CI
runs that). Without it these tests fail and say how to install it — they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deployments.monitoring_rules import PROMETHEUS_RULE_FILE, RULES_FILE, render
from drsyncer.metrics.collector import METRIC_NAMES
from tests.unit.monitoring.exposition import metric_names, served_names

TESTS_FILE = RULES_FILE.parent / "tests.yaml"
ALERTS = {
    "DrSyncerRPOAboveObjective",
    "DrSyncerRepeatedFailures",
    "DrSyncerAgentDown",
    "DrSyncerDataOlderThanObjects",
    "DrSyncerMappingPausedTooLong",
    "DrSyncerExporterCannotReadPrefect",
    "DrSyncerPvcHeldByChangeGuard",
}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is missing: install Debian's prometheus package (scripts/ensure-system-packages.sh)"
        )
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False, cwd=RULES_FILE.parent
    )


def _rules() -> list[dict[str, object]]:
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules_file() -> None:
    result = _promtool("check", "rules", str(RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = _promtool("test", "rules", str(TESTS_FILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_test_where_it_fires_and_one_where_it_does_not() -> None:
    document = yaml.safe_load(TESTS_FILE.read_text(encoding="utf-8"))
    fires: set[str] = set()
    silent: set[str] = set()
    for test in document["tests"]:
        for case in test["alert_rule_test"]:
            (fires if case["exp_alerts"] else silent).add(case["alertname"])
            # the firing cases also have series that must not fire: exp_alerts is the exact list
    assert {rule["alert"] for rule in _rules()} == ALERTS
    assert fires == ALERTS
    assert silent | fires == ALERTS


def test_a_broken_expectation_makes_promtool_fail(tmp_path: Path) -> None:
    broken = TESTS_FILE.read_text(encoding="utf-8").replace("mapping: late", "mapping: fresh")
    (tmp_path / "rules.yaml").write_text(RULES_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tests.yaml").write_text(broken, encoding="utf-8")

    result = _promtool("test", "rules", str(tmp_path / "tests.yaml"))

    assert result.returncode != 0


def test_rules_read_only_metrics_the_exporter_serves() -> None:
    served = served_names()
    for rule in _rules():
        names = metric_names(str(rule["expr"]))
        assert names, rule["alert"]
        assert names <= served, (rule["alert"], names - served)
        assert names <= set(METRIC_NAMES)


def test_the_committed_prometheus_rule_is_generated_from_the_rules_file() -> None:
    assert PROMETHEUS_RULE_FILE.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m deployments.monitoring_rules > deployments/monitoring/prometheusrule.yaml"
    )
    rule = yaml.safe_load(PROMETHEUS_RULE_FILE.read_text(encoding="utf-8"))
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["groups"]
