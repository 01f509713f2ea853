"""The server's Prometheus metrics as AUTHZ-METRICS-001 reads them: the frontend's authorization and
request counters for one namespace label and operation, scraped from a server started with metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from harness.errors import HarnessError
from harness.model import metrics
from harness.probes.http import plain_http_client
from harness.server.target import Target


def _series(name: str, metric: str) -> bool:
    """Sample names as the OpenTelemetry exporter writes them (a counter's _total, a timer's unit)."""
    if metric == metrics.AUTHORIZATIONS:
        return name.startswith("service_authorization_latency") and name.endswith("_count")
    return name in (metric, f"{metric}_total")


_SERIES_PREFIXES = [
    "service_authorization_latency" if m == metrics.AUTHORIZATIONS else m for m in metrics.COUNTED
]


async def scrape(server: Target, namespace_label: str, operation: str) -> dict[str, float]:
    """The counted series' totals (frontend, this namespace label; requests of `operation`)."""
    config = server.running.config
    address = config.metrics_address if config is not None else None
    if address is None:
        raise HarnessError("this server was started without metrics (ServerSettings(metrics=True))")
    async with plain_http_client() as client:
        response = await client.get(f"http://{address}/metrics")
    response.raise_for_status()
    totals = dict.fromkeys(metrics.COUNTED, 0.0)
    # The server exposes ~17,000 samples; parsing them all took seconds of CPU per scrape. Only the
    # frontend's samples of the counted series are parsed (comment lines too: the parser needs no types).
    wanted = tuple(_SERIES_PREFIXES)
    lines = [
        ln for ln in response.text.splitlines() if ln.startswith(wanted) and 'service_name="frontend"' in ln
    ]
    for family in text_string_to_metric_families("\n".join(lines) + "\n"):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("service_name") != "frontend" or labels.get("namespace") != namespace_label:
                continue
            for metric in metrics.COUNTED:
                wanted_operation = operation if metric == metrics.REQUESTS else "Authorization"
                if _series(sample.name, metric) and labels.get("operation") == wanted_operation:
                    totals[metric] += sample.value
    return totals
