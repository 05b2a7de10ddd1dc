"""Apply on real-world clusters, through the real flow: fieldValidation=Strict, so a field DR's API server
does not know fails the object instead of being dropped silently."""

from __future__ import annotations

import pytest

from flows.namespace_sync import namespace_sync
from tests.api.sync.conftest import MAPPING, SyncWorld, in_namespace
from tests.factories import make_configmap

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_a_field_dr_does_not_know_fails_the_object_naming_the_field(sync_world: SyncWorld) -> None:
    newer = make_configmap("newer", server_fields=False)
    newer["extra"] = True  # a field of a newer Kubernetes version than DR's (seeded past validation)
    sync_world.source.create(in_namespace(newer, sync_world.namespace))
    sync_world.seed(make_configmap("plain", server_fields=False))
    sync_world.configure(resourceTypes=["configmaps"])

    state = namespace_sync(mapping=MAPPING, config=[str(sync_world.config_path)], return_state=True)
    report = state.result(raise_on_failure=False)

    assert state.is_failed()
    failed = {o["name"]: o["error"] for o in report["objects"] if o["status"] == "failed"}
    assert list(failed) == ["newer"]
    assert 'strict decoding error: unknown field "extra"' in failed["newer"]
    assert sync_world.dr_get("v1", "ConfigMap", "newer") is None
    assert sync_world.dr_get("v1", "ConfigMap", "plain") is not None
    applies = sync_world.dr.audit.requests(method="PATCH", path_regex="/configmaps/")
    assert {entry.query.get("fieldValidation") for entry in applies} == {"Strict"}
