"""Prometheus metrics of the realtime server, registered on the app's REGISTRY."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from backend.ops.metrics import REGISTRY

# With several gunicorn workers (prometheus multiprocess mode) gauges add up over live workers.
CONNECTIONS = Gauge(
    "ws_connections",
    "Open WebSocket connections by role",
    ["role"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
MESSAGES = Counter("ws_messages_received_total", "Client frames received", registry=REGISTRY)
ERRORS = Counter("ws_errors_total", "Error frames sent, by code", ["code"], registry=REGISTRY)
SLOW_CONSUMERS = Counter(
    "ws_slow_consumer_disconnects_total", "Connections closed for falling behind", registry=REGISTRY
)
POSITIONS_INGESTED = Counter(
    "positions_ingested_total", "Positions made durable and acknowledged", registry=REGISTRY
)
POSITIONS_REJECTED = Counter(
    "positions_rejected_total", "Position items refused by validation", registry=REGISTRY
)
WRITER_QUEUE_DEPTH = Gauge(
    "position_writer_queue_depth",
    "Positions waiting for the batch writer",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
WRITER_BATCH_SECONDS = Histogram(
    "position_writer_batch_seconds",
    "Time to persist one batch of positions",
    registry=REGISTRY,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
WRITER_FAILURES = Counter(
    "position_writer_failures_total", "Batch writes that failed and were retried", registry=REGISTRY
)
OSMAND_REPORTS = Counter(
    "osmand_reports_total",
    "OsmAnd / Traccar Client requests by outcome (stored, no_fix, unknown_device, ...)",
    ["outcome"],
    registry=REGISTRY,
)
