"""Fleet analytics: KPI definitions, the daily aggregates they read, and position retention.

See backend/analytics/README.md for every KPI's formula.
"""
