"""Property-based abuse of the message core: any text or bytes, any JSON, messages with wrong
types and missing fields, frames over the size limit, another driver's vehicle. Every frame gets
well-formed replies with a known error code, and a rejected message changes nothing stored."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.db.models import Notification, Order, Position, RouteEvent, VehicleState
from backend.realtime.protocol import MESSAGE_PERMISSIONS
from tests.realtime.conftest import fix

KNOWN_CODES = {
    "invalid_json",
    "invalid_message",
    "unknown_message_type",
    "permission_denied",
    "rate_limited",
    "payload_too_large",
    "invalid_connection",
    "server_busy",
    "unavailable",
    "invalid_transition",
    "timestamp_out_of_range",
}
REPLY_TYPES = {"error", "acknowledgment", "pong", "vehicle_location_update"}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "seq",
        "recordedAt",
        "lat",
        "lon",
        "speed",
        "heading",
        "accuracy",
        "vehicleId",
        "positions",
        "eventType",
        "orderId",
        "routeId",
        "data",
        "clientEventId",
        "subscribe",
        "depotId",
        "requestId",
        "occurredAt",
        "snapshot",
    ]
)
messages = st.fixed_dictionaries(
    {"type": st.sampled_from([*MESSAGE_PERMISSIONS, "nope", ""]) | st.text(max_size=10)},
    optional={"requestId": json_values},
).flatmap(
    lambda base: st.dictionaries(field_names, json_values, max_size=6).map(
        lambda extra: {**extra, **base}
    )
)


def fingerprint(database: Any) -> tuple[Any, ...]:
    with database.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Position)),
            session.scalar(select(func.count()).select_from(RouteEvent)),
            session.scalar(select(func.count()).select_from(Notification)),
            tuple(session.execute(select(VehicleState.vehicle_id, VehicleState.seq)).all()),
            tuple(session.execute(select(Order.id, Order.status).order_by(Order.id)).all()),
        )


def check_replies(replies: list[dict[str, Any]]) -> None:
    for reply in replies:
        json.dumps(reply)  # serializable
        assert reply["type"] in REPLY_TYPES
        if reply["type"] == "error":
            assert reply["errorCode"] in KNOWN_CODES
            assert isinstance(reply["errorMessage"], str)


def accepted(replies: list[dict[str, Any]], client: Any) -> bool:
    later = client.received()
    return any(r["type"] in ("acknowledgment", "pong") for r in [*replies, *later]) or any(
        r.get("snapshot") for r in replies
    )


@FUZZ
@given(frame=st.text(max_size=300) | st.binary(max_size=300))
def test_any_frame_gets_well_formed_replies(connect, database, frame) -> None:
    client = connect("driver1")
    before = fingerprint(database)
    replies = client.frame(frame)
    assert replies, "every unacknowledged frame gets an answer"
    check_replies(replies)
    if not accepted(replies, client):
        assert fingerprint(database) == before


@FUZZ
@given(message=messages, who=st.sampled_from(["driver1", "disp", "boss", "root"]))
def test_wrong_types_and_missing_fields_change_nothing(connect, database, message, who) -> None:
    client = connect(who)
    before = fingerprint(database)
    replies = client.frame(json.dumps(message))
    check_replies(replies)
    if not accepted(replies, client):
        assert fingerprint(database) == before


@FUZZ
@given(
    items=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "seq": st.integers(-5, 2**63),
                "lat": json_values,
                "lon": json_values,
                "recordedAt": json_values,
                "speed": json_values,
            },
        ),
        min_size=1,
        max_size=20,
    )
)
def test_bad_position_batches_store_only_their_good_items(connect, database, items) -> None:
    client = connect("driver2")
    before = fingerprint(database)[0]
    replies = client.frame(json.dumps({"type": "vehicle_location_update", "positions": items}))
    check_replies(replies)
    errors = [r for r in replies if r["type"] == "error"]
    [ack] = [r for r in [*replies, *client.received()] if r["type"] == "acknowledgment"]
    assert len(ack["seqs"]) + len(errors) == len(items)
    assert {e["index"] for e in errors}.isdisjoint(
        i for i, item in enumerate(items) if item.get("seq") in ack["seqs"]
    )
    assert fingerprint(database)[0] - before <= len(ack["seqs"])


@FUZZ
@given(size=st.integers(256 * 1024 + 1, 600 * 1024))
def test_frames_over_the_size_limit_are_refused(connect, size) -> None:
    client = connect("driver1")
    padding = "x" * size
    [reply] = client.frame(json.dumps({"type": "ping", "pad": padding}))
    assert reply["errorCode"] == "payload_too_large"


@FUZZ
@given(kind=st.sampled_from(["vehicle_location_update", "route_event"]), seq=st.integers(0, 99))
def test_another_drivers_vehicle_is_refused(connect, database, fleet, kind, seq) -> None:
    client = connect("driver1")
    before = fingerprint(database)
    message = {"type": kind, "vehicleId": fleet.vehicles[2], "eventType": "breakdown", **fix(seq)}
    [reply] = client.frame(json.dumps(message))
    assert reply["errorCode"] == "permission_denied"
    assert client.received() == [] and fingerprint(database) == before


def test_a_flooding_connection_does_not_affect_the_others(connect, database) -> None:
    flooder, other = connect("driver1"), connect("driver2")
    codes = {client.frame('{"type": "ping"}')[0].get("errorCode") for client in [flooder] * 500}
    assert "rate_limited" in codes
    assert other.frame(json.dumps({"type": "vehicle_location_update", **fix(1)})) == []
    assert other.received()[0]["type"] == "acknowledgment"
