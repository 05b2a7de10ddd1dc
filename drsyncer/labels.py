"""Every label and annotation key dr-syncer reads or writes, in one place.

The keys are DR-Syncer's (``dr-syncer.io/...``) so existing users' objects work unchanged.
"""

from __future__ import annotations

PREFIX = "dr-syncer.io/"

# Read from source objects.
IGNORE = "dr-syncer.io/ignore"
"""Label: value exactly ``"true"`` skips the object."""
SCALE_OVERRIDE = "dr-syncer.io/scale-override"
"""Label on source workloads: an integer sets DR replicas; any other value keeps the source count."""
STORAGE_CLASS = "dr-syncer.io/storage-class"
"""Label on source PVCs: DR storage class (wins over storageClassMappings)."""
VERIFICATION_MODE = "dr-syncer.io/verification-mode"
SAMPLE_PERCENT = "dr-syncer.io/sample-percent"
IMMUTABLE_HANDLING = "dr-syncer.io/immutable-handling"

# Written on DR workloads (and on source workloads at cutover).
ORIGINAL_REPLICAS = "dr-syncer.io/original-replicas"
SOURCE_NAMESPACE = "dr-syncer.io/source-namespace"
ORIGINAL_SUSPEND = "dr-syncer.io/original-suspend"
"""Annotation on DR CronJobs: the source's own ``spec.suspend`` ("true"/"false"), for cutover."""
ORIGINAL_WHEN_SCALED = "dr-syncer.io/original-when-scaled"
"""Annotation on a StatefulSet a DR operation is stopping: its own
``persistentVolumeClaimRetentionPolicy.whenScaled`` (``Delete``), set to ``Retain`` while its pods go so
the scale-down deletes no claim; restored (and the annotation removed) once the side has no pods."""
PARKED = "dr-syncer.io/parked"
"""Node-selector key (value ``"true"``) that parks a DaemonSet on DR: no node carries it."""
PARKED_ANNOTATIONS = "dr-syncer.io/parked-annotations"
"""Annotation on DR objects parked by annotations (KEDA ScaledObjects, ``workloadParking``): JSON of the
source's own values of those annotations (``null`` when absent), for cutover."""

# On NamespaceMapping objects (controller mode).
SYNC_NOW = "dr-syncer.io/sync-now"
TRIGGER_SYNC = "dr-syncer.io/trigger-sync"
"""Deprecated alias of SYNC_NOW."""
RPO_OBJECTIVE = "dr-syncer.io/rpo-objective"
"""A NamespaceMapping's RPO objective (``30m``, ``2h``): overrides the default of 2x its schedule interval."""

# On DR claims (set by an operator or `drsyncer sync --accept-changes`; read and removed by dr-syncer).
ACCEPT_CHANGES = "dr-syncer.io/accept-changes"
"""Annotation on a DR PVC: let its next data sync through the change guard once (then removed)."""

# On the VolumeSnapshots dr-syncer takes of DR claims (restore points).
RESTORE_POINT_MAPPING = "dr-syncer.io/restore-point-mapping"
"""Label: the NamespaceMapping (metadata.name) whose data sync took the restore point."""
RESTORE_POINT_CLAIM = "dr-syncer.io/restore-point-claim"
"""Label: the DR claim the restore point is a snapshot of."""
RESTORE_POINT_TIME = "dr-syncer.io/restore-point-time"
"""Label: when it was taken, ``20261203T164500Z`` (UTC); sorts as time."""
RESTORE_POINT_OPERATION = "dr-syncer.io/restore-point-operation"
"""Label: what overwrote the claim after it: ``sync``, ``stage``, ``cutover``, ``failback`` (the source
claim, before DR's data is copied back) or ``restore`` (the safety point before a restore)."""

# Our own objects (agents, placeholder pods).
MANAGED_BY = "dr-syncer.io/managed-by"
MANAGED_BY_VALUE = "dr-syncer"
COMPONENT = "app.kubernetes.io/component"

FIELD_MANAGER = "dr-syncer"
"""Server-side-apply field manager; also how we know which DR objects we own."""
