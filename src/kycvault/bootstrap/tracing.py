"""A process's tracing, as its settings ask: OpenTelemetry's SDK and OTLP exporter
(adapters/tracing_otlp.py) handed to the services (services/tracing.py), or nothing at all."""

from __future__ import annotations

from collections.abc import Callable

from kycvault import __version__
from kycvault.config import Settings
from kycvault.services import tracing


def start_tracing(settings: Settings, process: str) -> Callable[[], None]:
    """Start making spans in this process (``api`` or ``worker``) when tracing is on. The
    function returned sends what is still buffered and stops; call it as the process ends."""
    if settings.tracing == "off":
        return lambda: None
    from kycvault.adapters.tracing_otlp import otlp_tracer_provider

    provider = otlp_tracer_provider(settings.otlp_endpoint, version=__version__, process=process)
    tracing.install(provider.get_tracer("kycvault", __version__))

    def stop() -> None:
        tracing.install(None)
        provider.shutdown()

    return stop
