"""The optimization result cache on diskcache and real Redis: keys, TTLs, search, failures."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from backend.cache import (
    DAY,
    HOUR,
    ResultCache,
    fail_fast_redis,
    make_result_cache,
    request_hash,
    request_ttl,
    response_ttl,
)
from backend.cache.disk_store import DiskStore
from backend.cache.redis_store import RedisStore
from backend.config import load_settings


@pytest.fixture(params=["diskcache", pytest.param("redis", marks=pytest.mark.redis)])
def cache(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "diskcache":
        yield make_result_cache(load_settings(DATA_DIR=str(tmp_path), REDIS_URL=None))
        return
    import redis

    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    index = f"test:route:index:{uuid.uuid4().hex}"
    yield ResultCache(RedisStore(client, index_key=index), "redis")
    client.delete(index)


@pytest.mark.parametrize(
    ("priority", "ttl"),
    [
        (10, 7 * DAY),
        (9, 7 * DAY),
        (8, 3 * DAY),
        (7, 3 * DAY),
        (5, DAY),
        (4, 12 * HOUR),
        (3, 12 * HOUR),
        (2, 6 * HOUR),
        (0, 6 * HOUR),
    ],
)
def test_request_ttl_follows_priority(priority: int, ttl: int) -> None:
    assert request_ttl(priority) == ttl


@pytest.mark.parametrize(
    ("score", "ttl"),
    [
        (0.99, 7 * DAY),
        (0.95, 7 * DAY),
        (0.9, 3 * DAY),
        (0.85, DAY),
        (0.7, 12 * HOUR),
        (0.5, 6 * HOUR),
    ],
)
def test_response_ttl_follows_score(score: float, ttl: int) -> None:
    assert response_ttl(score) == ttl


def test_hash_is_canonical() -> None:
    a = {"depot_id": 1, "orders": [{"lat": 41.9, "lon": -87.6}], "priority": 5}
    b = {"priority": 5, "orders": [{"lon": -87.6000000001, "lat": 41.9}], "depot_id": 1}
    assert request_hash(a) == request_hash(b)
    assert request_hash(a) != request_hash({**a, "priority": 6})


def test_request_and_response_round_trip_and_invalidate_together(cache: ResultCache) -> None:
    rid = uuid.uuid4().hex
    cache.put_request(rid, {"depot_id": 1, "vehicle_ids": [3], "priority": 7})
    cache.put_response(rid, {"optimization_score": 0.93, "distance": 12.5})
    assert cache.get_request(rid).request["priority"] == 7
    response = cache.get_response(rid)
    assert response["distance"] == 12.5 and response["cached_at"] <= time.time()
    cache.invalidate(rid)
    assert cache.get_request(rid) is None and cache.get_response(rid) is None


def test_search_filters_by_vehicle_depot_priority_and_time(cache: ResultCache) -> None:
    start = time.time()
    ids = {}
    for name, fields in {
        "a": {"depot_id": 1, "vehicle_ids": [1, 2], "priority": 9},
        "b": {"depot_id": 1, "vehicle_ids": [3], "priority": 4},
        "c": {"depot_id": 2, "vehicle_id": 7, "priority": 6},
    }.items():
        ids[name] = uuid.uuid4().hex
        cache.put_request(ids[name], fields)
    found = lambda **kw: {c.request_id for c in cache.search(since=start, **kw)}  # noqa: E731
    assert found(depot_id=1) == {ids["a"], ids["b"]}
    assert found(vehicle_id=2) == {ids["a"]}
    assert found(vehicle_id=7) == {ids["c"]}
    assert found(min_priority=5) == {ids["a"], ids["c"]}
    assert found(max_priority=5, depot_id=1) == {ids["b"]}
    assert found(until=start - 1) == set()
    assert len(cache.search(since=start, limit=1000)) == 3


def test_search_returns_at_most_100(tmp_path: Path) -> None:
    cache = ResultCache(DiskStore(tmp_path), "diskcache")
    for i in range(105):
        cache.put_request(f"r{i}", {"depot_id": 1, "priority": 5})
    assert len(cache.search(depot_id=1, limit=500)) == 100


def test_a_dead_cache_never_fails_the_caller() -> None:
    cache = ResultCache(RedisStore(fail_fast_redis("redis://127.0.0.1:1/0")), "redis")
    cache.put_request("x", {"priority": 5})
    cache.put_response("x", {"optimization_score": 1.0})
    assert cache.get_request("x") is None and cache.get_response("x") is None
    assert cache.search(depot_id=1) == []
    cache.invalidate("x")
