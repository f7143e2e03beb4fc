"""Operations: structured logs with request ids, Prometheus metrics, health checks."""
