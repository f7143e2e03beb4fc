"""Prometheus metrics: request latency by route, database pool figures, later sockets and jobs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# Metrics are process-wide by nature (one scrape per process); they hold counters, not app state.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class PoolCollector(Collector):
    """Reads the database pool figures at scrape time."""

    def __init__(self, pool_status: Callable[[], dict[str, Any]]) -> None:
        self._pool_status = pool_status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield one gauge per pool figure."""
        status = self._pool_status()
        for key, help_text in (
            ("size", "Configured pool size"),
            ("checkedout", "Connections in use"),
            ("checkedin", "Idle connections in the pool"),
            ("overflow", "Connections opened beyond the pool size"),
        ):
            if key in status:
                gauge = GaugeMetricFamily(f"db_pool_{key}", help_text)
                gauge.add_metric([], float(status[key]))
                yield gauge


_app_collectors: list[Collector] = []


def _route_label() -> str:
    # The URL rule, not the raw path, so ids in URLs don't explode the label set.
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    if rule.startswith("/<path:path>") or rule == "/":
        return "dash-page"
    return rule


def install_metrics(
    server: Flask, *, pool_status: Callable[[], dict[str, Any]], extra: tuple[Collector, ...] = ()
) -> None:
    """Time every request and serve /metrics in Prometheus text format."""
    # The newest app's collectors replace the previous app's (tests build several apps).
    for previous in _app_collectors:
        REGISTRY.unregister(previous)
    _app_collectors[:] = [PoolCollector(pool_status), *extra]
    for collector in _app_collectors:
        REGISTRY.register(collector)

    @server.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @server.after_request
    def _observe(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            REQUEST_LATENCY.labels(request.method, _route_label(), response.status_code).observe(
                time.perf_counter() - started
            )
        return response

    @server.route("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(scrape_registry()), mimetype=CONTENT_TYPE_LATEST)


def scrape_registry() -> CollectorRegistry:
    """What /metrics reports: this process, or every worker's files in multiprocess mode.

    gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before the workers start; then counters and
    histograms are summed over all workers (any of them may answer the scrape), and this
    worker's own collectors (its pool) are added.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    for collector in _app_collectors:
        registry.register(collector)
    return registry
