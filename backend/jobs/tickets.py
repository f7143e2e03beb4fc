"""Signed job tickets: the one thing a browser holds between starting a job and running it.

Dash runs a background callback with whatever the browser posts back. The ticket names the
stored request by id and carries an HMAC of that id, so a crafted post can neither invent a
ticket nor point one at another user's request; everything else is read from the database.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

_PURPOSE = b"fleet-job-ticket:v1:"


def sign_ticket(secret: str, request_id: str, user_id: int) -> dict[str, str]:
    """A ticket for `request_id`, bound to the user who recorded it."""
    return {"request_id": request_id, "signature": _mac(secret, request_id, user_id)}


def verify_ticket(secret: str, ticket: Any, user_id: int) -> str | None:
    """The request id of a ticket this server signed for `user_id`, else None."""
    if not isinstance(ticket, dict):
        return None
    request_id, signature = ticket.get("request_id"), ticket.get("signature")
    if not isinstance(request_id, str) or not isinstance(signature, str):
        return None
    if not hmac.compare_digest(signature, _mac(secret, request_id, user_id)):
        return None
    return request_id


def _mac(secret: str, request_id: str, user_id: int) -> str:
    message = _PURPOSE + f"{user_id}:{request_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
