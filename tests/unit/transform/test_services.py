"""Service rules: new cluster IPs, headless stays headless, node ports kept."""

from __future__ import annotations

from tasks.transform.runner import transform_object
from tests.factories import make_context, make_ingress, make_service

CTX = make_context()


def test_cluster_ip_and_cluster_ips_are_dropped() -> None:
    spec = transform_object(make_service(), CTX).obj["spec"]
    assert "clusterIP" not in spec
    assert "clusterIPs" not in spec


def test_headless_service_keeps_cluster_ip_none() -> None:
    spec = transform_object(make_service(cluster_ip="None"), CTX).obj["spec"]
    assert spec["clusterIP"] == "None"
    assert spec["clusterIPs"] == ["None"]


def test_allocated_node_port_is_dropped_so_dr_allocates_its_own() -> None:
    spec = transform_object(make_service(service_type="NodePort", node_port=30080), CTX).obj["spec"]
    assert "nodePort" not in spec["ports"][0]
    assert spec["type"] == "NodePort"


def test_health_check_node_port_is_dropped() -> None:
    source = make_service(service_type="LoadBalancer", node_port=30080, health_check_node_port=31000)
    spec = transform_object(source, CTX).obj["spec"]
    assert "healthCheckNodePort" not in spec
    assert spec["externalTrafficPolicy"] == "Local"


def test_service_selector_ports_and_type_are_copied() -> None:
    source = make_service()
    spec = transform_object(source, CTX).obj["spec"]
    assert spec["selector"] == source["spec"]["selector"]
    assert spec["ports"] == source["spec"]["ports"]


def test_ingress_spec_labels_and_annotations_are_copied_verbatim() -> None:
    annotations = {"kubernetes.io/ingress.class": "nginx", "cert-manager.io/cluster-issuer": "le"}
    source = make_ingress(annotations=annotations)
    result = transform_object(source, CTX).obj
    assert result["spec"] == source["spec"]
    assert result["metadata"]["annotations"] == annotations
