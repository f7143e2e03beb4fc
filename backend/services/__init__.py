"""Business verbs (load, compute, commit, then publish) and the errors they raise.

The errors carry a stable `code`, a message and, for bad input, the `field` at fault; the REST
layer maps them to 404, 409 and 422, and a Dash callback can show `message` as is.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, Strict, StringConstraints


class ServiceError(Exception):
    """A business rule refused the request; nothing was stored."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotFoundError(ServiceError):
    """The row does not exist or lies outside the caller's depot scope (never say which)."""

    code = "not_found"


class ConflictError(ServiceError):
    """The request clashes with the stored state (illegal transition, duplicate name...)."""

    code = "conflict"


class ForbiddenError(ServiceError):
    """The caller's role may not do this (whatever the data)."""

    code = "forbidden"


class InvalidInputError(ServiceError):
    """A value is well-formed but refused by a rule that needs the database (unknown depot)."""

    code = "invalid"


MAX_ID = 2**31 - 1  # INTEGER primary keys; a larger id would be a database error, not a 404


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded at all.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# Every free-text field goes through this, e.g. Annotated[str, StringConstraints(...), STORABLE].
STORABLE = AfterValidator(_storable)

Id = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
Latitude = Annotated[float, Strict(), Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Strict(), Field(ge=-180, le=180, allow_inf_nan=False)]
NonNegative = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)]
Unit = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$")]
Skill = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,32}$")]
MAX_SKILLS = 20
Skills = Annotated[list[Skill], Field(max_length=MAX_SKILLS)]
Address = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, max_length=255), STORABLE
]
