"""dr-syncer: disaster-recovery copies of Kubernetes namespaces, orchestrated by Prefect.

The package is the core library. Its layers, from the outside in:
``drsyncer.cli`` -> ``flows`` -> ``tasks`` -> core (``drsyncer.config``, ``drsyncer.settings``,
``drsyncer.kube``, ``drsyncer.objects``, ``drsyncer.report``, ``drsyncer.errors``).
``drsyncer.sandbox`` is used only by tests and ``drsyncer demo``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dr-syncer")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
