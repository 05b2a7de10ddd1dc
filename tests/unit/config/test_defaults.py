"""Every default a user relies on when a field is left out (DR-Syncer's defaults plus ours)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from drsyncer.config import DEFAULT_RESOURCE_TYPES, ReplicationMode
from drsyncer.config.base import VerificationMode
from drsyncer.config.namespace_mapping import FailureMode, ImmutableResourceHandling
from drsyncer.config.remote_cluster import PullPolicy
from drsyncer.errors import ConfigError
from tests.unit.config.conftest import LoadDocuments
from tests.unit.config.factories import cluster_mapping, namespace_mapping, remote_cluster, two_clusters


def test_minimal_mapping_gets_dr_syncer_defaults(load: LoadDocuments) -> None:
    mapping = load([*two_clusters(), namespace_mapping("m")]).mappings[0]

    assert mapping.namespace == "dr-syncer"
    assert mapping.key == "dr-syncer/m"
    assert mapping.destination_namespace == "app"
    assert mapping.mode is ReplicationMode.Scheduled
    assert mapping.schedule == "*/5 * * * *"
    assert mapping.paused is False
    assert mapping.resource_types == DEFAULT_RESOURCE_TYPES
    assert mapping.all_custom_resources is False
    assert mapping.scale_to_zero is True
    assert mapping.sync_crds is False
    assert mapping.prune is False
    assert mapping.data_sync is False
    assert mapping.label_selector is None
    assert mapping.exclude_resources == ()


def test_pvc_config_defaults(load: LoadDocuments) -> None:
    pvc = load([*two_clusters(), namespace_mapping("m")]).mappings[0].pvc_config

    assert pvc.storage_class_mappings == []
    assert pvc.access_mode_mappings == []
    assert pvc.preserve_volume_attributes is False
    assert pvc.sync_persistent_volumes is False
    assert pvc.sync_data is False
    assert pvc.prune_pvcs is False
    data = pvc.data_sync_config
    assert data.bandwidth_limit is None
    assert data.rsync_options == []
    assert data.exclude_paths == []
    assert data.verification_mode is None
    assert data.sample_percent == 10
    assert data.timeout.timedelta == timedelta(minutes=30)
    assert data.concurrent_syncs == 2
    assert data.allow_empty_source is False


def test_retry_immutable_continuous_and_namespace_defaults(load: LoadDocuments) -> None:
    mapping = load([*two_clusters(), namespace_mapping("m")]).mappings[0]

    assert mapping.retry_config.max_retries == 5
    assert mapping.retry_config.initial_backoff.timedelta == timedelta(seconds=5)
    assert mapping.retry_config.max_backoff.text == "5m"
    assert mapping.retry_config.backoff_multiplier == 200
    assert mapping.immutable_resource_config.default_handling is ImmutableResourceHandling.NoChange
    assert mapping.immutable_resource_config.drain_timeout.timedelta == timedelta(minutes=5)
    assert mapping.immutable_resource_config.force_delete_timeout.timedelta == timedelta(minutes=2)
    assert mapping.continuous.watch_resources is True
    assert mapping.continuous.background_sync_interval.timedelta == timedelta(hours=1)
    assert mapping.namespace_config.create_namespace is True
    assert mapping.namespace_config.preserve_labels is True
    assert mapping.namespace_config.preserve_annotations is True
    assert mapping.namespace_config.rewrite_text_references is False
    assert mapping.ingress_config.preserve_tls is True
    assert mapping.failure_handling.default_mode is FailureMode.RetryAndWait
    assert mapping.failure_handling.storage_class_not_found is FailureMode.WaitForNextSync
    assert mapping.failure_handling.resource_not_found is FailureMode.FailFast


def test_manual_mapping_has_no_schedule(load: LoadDocuments) -> None:
    mapping = load([*two_clusters(), namespace_mapping("m", replicationMode="Manual")]).mappings[0]

    assert mapping.mode is ReplicationMode.Manual
    assert mapping.schedule is None


def test_continuous_mapping_keeps_a_schedule_for_pvc_data(load: LoadDocuments) -> None:
    mapping = load([*two_clusters(), namespace_mapping("m", replicationMode="Continuous")]).mappings[0]

    assert mapping.schedule == "*/5 * * * *"


def test_remote_cluster_pvc_sync_defaults(load: LoadDocuments) -> None:
    clusters = [
        remote_cluster("source", kubeconfig={"path": "k"}, pvcSync={"enabled": True}),
        remote_cluster("dr"),
    ]
    config = load([*clusters, namespace_mapping("m")])
    source = config.mappings[0].source.spec
    assert source.kubeconfig is not None
    assert source.kubeconfig.context is None
    assert source.pvc_sync is not None
    assert source.data_sync_enabled is True
    assert source.pvc_sync.ssh.port == 2222
    assert source.pvc_sync.global_concurrency_limit == 4
    assert source.pvc_sync.default_verification_mode is VerificationMode.none
    assert source.pvc_sync.default_sample_percent == 10
    assert source.pvc_sync.deployment.host_network is True
    assert source.pvc_sync.deployment.privileged is None  # unset: not privileged (issue 12)
    assert source.pvc_sync.address_type is None
    assert config.mappings[0].destination.spec.data_sync_enabled is False


def test_kubeconfig_secret_ref_key_defaults_to_kubeconfig(load: LoadDocuments) -> None:
    clusters = [
        remote_cluster("source", kubeconfigSecretRef={"name": "s", "namespace": "dr-syncer"}),
        remote_cluster("dr", inCluster=True, pvcSync={"image": {"repository": "x"}}),
    ]
    mapping = load([*clusters, namespace_mapping("m")]).mappings[0]

    assert mapping.source.spec.kubeconfig_secret_ref is not None
    assert mapping.source.spec.kubeconfig_secret_ref.key == "kubeconfig"
    assert mapping.destination.spec.in_cluster is True
    assert mapping.destination.spec.pvc_sync is not None
    assert mapping.destination.spec.pvc_sync.image is not None
    assert mapping.destination.spec.pvc_sync.image.pull_policy is PullPolicy.IfNotPresent


def test_cluster_mapping_defaults(load: LoadDocuments) -> None:
    config = load(
        [*two_clusters(), cluster_mapping("pair"), namespace_mapping("m", clusterMappingRef={"name": "pair"})]
    )
    spec = config.cluster_mappings[0][0].spec

    assert spec.paused is False
    assert spec.verify_connectivity is True
    assert spec.connectivity_timeout_seconds == 60
    assert spec.ssh_key_secret_ref is None
    assert config.mappings[0].cluster_mapping == "dr-syncer/pair"


def test_ssh_key_secret_ref_key_names_default_to_id_rsa(load: LoadDocuments) -> None:
    pair = cluster_mapping("pair", sshKeySecretRef={"name": "keys"})
    spec = load([*two_clusters(), pair]).cluster_mappings[0][0].spec

    assert spec.ssh_key_secret_ref is not None
    assert spec.ssh_key_secret_ref.public_key_key == "id_rsa.pub"
    assert spec.ssh_key_secret_ref.private_key_key == "id_rsa"


def test_relative_kubeconfig_path_is_relative_to_the_config_file(
    load: LoadDocuments, config_file: Path
) -> None:
    mapping = load([*two_clusters(), namespace_mapping("m")]).mappings[0]

    assert mapping.source.spec.kubeconfig is not None
    assert mapping.source.spec.kubeconfig.path == config_file.parent.absolute() / "kubeconfig"


def test_home_in_kubeconfig_path_is_expanded(load: LoadDocuments) -> None:
    clusters = [remote_cluster("source", kubeconfig={"path": "~/.kube/config"}), remote_cluster("dr")]
    mapping = load([*clusters, namespace_mapping("m")]).mappings[0]

    assert mapping.source.spec.kubeconfig is not None
    assert mapping.source.spec.kubeconfig.path == Path("~/.kube/config").expanduser()


def test_namespace_mapping_without_mappings_loads_but_require_mappings_refuses(load: LoadDocuments) -> None:
    config = load(two_clusters())

    assert config.mappings == ()
    with pytest.raises(ConfigError, match="no NamespaceMapping found"):
        config.require_mappings()
