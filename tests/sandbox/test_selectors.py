"""Label and field selectors, limit/continue pagination."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from drsyncer.sandbox import FakeCluster
from tests.sandbox.conftest import Raw


@pytest.fixture
def labelled(core: client.CoreV1Api, ns: str) -> str:
    for name, labels in (
        ("a", {"app": "web", "tier": "front"}),
        ("b", {"app": "web", "tier": "back"}),
        ("c", {"app": "db"}),
        ("d", {}),
    ):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels}})
    return ns


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web", ["a", "b"]),
        ("app!=web", ["c", "d"]),
        ("tier in (front,back)", ["a", "b"]),
        ("tier notin (front)", ["b", "c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=web,tier=back", ["b"]),
        ("app in (web, db),!tier", ["c"]),
    ],
)
def test_label_selector(core: client.CoreV1Api, labelled: str, selector: str, expected: list[str]) -> None:
    items = core.list_namespaced_config_map(labelled, label_selector=selector).items
    # kube-root-ca.crt is created asynchronously by a controller on real clusters: leave it out
    assert sorted(i.metadata.name for i in items if i.metadata.name != "kube-root-ca.crt") == expected


def test_malformed_label_selector_is_400(core: client.CoreV1Api, labelled: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(labelled, label_selector="app in web")
    assert exc.value.status == 400


def test_field_selector_on_name(core: client.CoreV1Api, labelled: str) -> None:
    items = core.list_namespaced_config_map(labelled, field_selector="metadata.name=b").items
    assert [i.metadata.name for i in items] == ["b"]


def test_field_selector_not_equal(core: client.CoreV1Api, labelled: str) -> None:
    items = core.list_namespaced_config_map(labelled, field_selector="metadata.name!=b").items
    assert "b" not in [i.metadata.name for i in items]


def test_field_selector_on_namespace(core: client.CoreV1Api, labelled: str) -> None:
    items = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={labelled}").items
    assert {i.metadata.namespace for i in items} == {labelled}


def test_field_selector_on_secret_type(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_secret(
        ns, {"metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}
    )
    core.create_namespaced_secret(ns, {"metadata": {"name": "plain"}})
    items = core.list_namespaced_secret(ns, field_selector="type=kubernetes.io/tls").items
    assert [i.metadata.name for i in items] == ["tls"]


def test_field_selector_on_pod_phase(core: client.CoreV1Api, ns: str) -> None:
    spec = {"nodeSelector": {"nowhere": "true"}, "containers": [{"name": "c", "image": "x"}]}
    core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": spec})
    pending = core.list_namespaced_pod(ns, field_selector="status.phase=Pending").items
    assert [p.metadata.name for p in pending] == ["p"]
    assert core.list_namespaced_pod(ns, field_selector="status.phase=Succeeded").items == []


def test_field_selector_on_node_name(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(
        ns,
        {"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x"}]}},
    )
    assert [
        p.metadata.name for p in core.list_namespaced_pod(ns, field_selector="spec.nodeName=n1").items
    ] == ["p"]


def test_unsupported_field_selector_is_400(core: client.CoreV1Api, labelled: str) -> None:
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(labelled, field_selector="data.k=v")
    assert exc.value.status == 400
    assert "field label not supported" in exc.value.body


def test_pagination_with_limit_and_continue(core: client.CoreV1Api, ns: str) -> None:
    for index in range(7):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"p{index}", "labels": {"page": "y"}}})
    first = core.list_namespaced_config_map(ns, label_selector="page=y", limit=3)
    assert len(first.items) == 3
    assert first.metadata._continue
    assert first.metadata.remaining_item_count == 4
    names = [i.metadata.name for i in first.items]
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_config_map(ns, label_selector="page=y", limit=3, _continue=token)
        names += [i.metadata.name for i in page.items]
        token = page.metadata._continue
    assert names == [f"p{i}" for i in range(7)]


def test_last_page_has_no_continue(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "only"}})
    page = core.list_namespaced_config_map(ns, limit=50)
    assert not page.metadata._continue


def test_invalid_continue_token_is_400(raw: Raw, ns: str) -> None:
    status, _, _ = raw(
        "GET", f"/api/v1/namespaces/{ns}/configmaps", query={"limit": "1", "continue": "!!garbage"}
    )
    assert status == 400


def test_expired_continue_token_is_410(core: client.CoreV1Api, ns: str, sandbox: FakeCluster) -> None:
    for index in range(3):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"x{index}"}})
    first = core.list_namespaced_config_map(ns, limit=1)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "later"}})
    sandbox.compact()
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(ns, limit=1, _continue=first.metadata._continue)
    assert exc.value.status == 410
    assert '"reason":"Expired"' in exc.value.body.replace(" ", "")
