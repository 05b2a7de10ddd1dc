"""ServiceAccount rules: a DR ServiceAccount names only Secrets that exist in DR.

Each cluster's legacy token controller lists its own token Secrets in a ServiceAccount's ``secrets``
(``default-token-xxxxx``); those Secrets are per-cluster and never copied (filter ``cluster_generated``),
so references to them would dangle in DR. The ``default`` ServiceAccount, which every namespace already
has in DR, contributes only the ``imagePullSecrets`` that name Secrets this sync copies.
"""

from __future__ import annotations

from typing import Any

from drsyncer.objects import KubeObject, object_name
from tasks.transform.context import TransformContext
from tasks.transform.edits import Edit, RemoveField, SetField

DEFAULT_SERVICE_ACCOUNT = "default"


def _named(items: Any) -> list[dict[str, Any]]:
    return [item for item in items or [] if isinstance(item, dict)]


def limit_service_account_secrets(obj: KubeObject, ctx: TransformContext) -> list[Edit]:
    """Keep only references to Secrets that are copied; never copy the `default` account's `secrets`.

    The `default` ServiceAccount's `secrets` list (its per-cluster token Secrets) is dropped; other
    accounts keep the `secrets` entries naming Secrets this sync copies. `imagePullSecrets` keep the
    entries naming copied Secrets; when the sync does not know which Secrets it copies (a single
    object synced by continuous mode), `imagePullSecrets` are kept as they are. Applies to
    ServiceAccounts.
    """
    synced = ctx.synced_secrets
    edits: list[Edit] = []
    secrets = obj.get("secrets")
    if secrets is not None:
        if object_name(obj) == DEFAULT_SERVICE_ACCOUNT:
            edits.append(RemoveField(("secrets",), "the default account's per-cluster token Secrets"))
        elif synced is not None:
            kept = [item for item in _named(secrets) if item.get("name") in synced]
            if not kept:
                edits.append(RemoveField(("secrets",), "names only Secrets that are not copied"))
            elif kept != secrets:
                edits.append(SetField(("secrets",), kept, "only Secrets that are copied"))
    pull = obj.get("imagePullSecrets")
    if pull is not None and synced is not None:
        kept = [item for item in _named(pull) if item.get("name") in synced]
        if not kept:
            edits.append(RemoveField(("imagePullSecrets",), "names only Secrets that are not copied"))
        elif kept != pull:
            edits.append(SetField(("imagePullSecrets",), kept, "only Secrets that are copied"))
    return edits
