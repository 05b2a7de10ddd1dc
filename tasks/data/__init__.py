"""PVC data stage: move the bytes inside PVCs with rsync over SSH between node agents.

Pure modules (``rsync_command``, ``rsync_stats``, ``retry``, ``safety``, ``verification``) build commands and
read their output; ``transfer`` is the mover that talks to a DR agent with fabric. ``rsync_command``,
``safety``, ``verification`` and ``volume_paths`` are stdlib-only because the agent's forced commands
(``agent/control.py``, ``agent/source_gate.py``) import them too.
"""
