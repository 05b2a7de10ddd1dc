"""dr-syncer: disaster-recovery copies of Kubernetes namespaces, orchestrated by Prefect.

The package is the core library. Its layers, from the outside in:
``drsyncer.cli`` -> ``flows`` -> ``tasks`` -> core (``drsyncer.config``, ``drsyncer.settings``,
``drsyncer.kube``, ``drsyncer.objects``, ``drsyncer.report``, ``drsyncer.errors``).
``drsyncer.sandbox`` is used only by tests and ``drsyncer demo``.
"""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed distribution on first use (``importlib.metadata`` costs
    ~30 ms, which the ``drsyncer`` launcher, :mod:`drsyncer.launcher`, should not pay)."""
    if name != "__version__":
        raise AttributeError(f"module 'drsyncer' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dr-syncer")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0+unknown"
