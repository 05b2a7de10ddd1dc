"""Continuous mode's plain-Python core: watch the source, debounce per object, sync only what changed.

``watcher`` (list + watch one kind, resume from resourceVersion, 410 → relist, reconnect with backoff)
→ ``debounce`` (coalesce events per object) → ``object_sync`` (filter → transform → plan → apply one
object) → ``loop`` (ties them together with the periodic full sync and PVC data sync). No Prefect here:
:mod:`flows.continuous` is the thin flow around :class:`tasks.watch.loop.ContinuousSync`.
"""
