"""Whose failure is it: the infrastructure's (the store or broker unavailable, slow, or a
transaction in the way) or the event's? An infrastructure failure is retried until it
passes, however long that takes; only the event's failures may end in a dead letter."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaError
from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

TRANSIENT_LABELS = (
    "TransientTransactionError",
    "UnknownTransactionCommitResult",
    "RetryableWriteError",
)
# MongoDB error codes that say "not now" rather than "never": a write conflict, a time
# limit, a node shutting down, stepping down or not yet primary, a transaction aborted.
TRANSIENT_CODES = frozenset(
    {6, 7, 50, 89, 91, 112, 189, 251, 262, 9001, 10107, 11600, 11602, 13435, 13436}
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        return True
    if isinstance(error, PyMongoError):
        if any(error.has_error_label(label) for label in TRANSIENT_LABELS):
            return True
        return isinstance(error, OperationFailure) and error.code in TRANSIENT_CODES
    if isinstance(error, KafkaError):
        return isinstance(error, KafkaConnectionError) or bool(getattr(error, "retriable", False))
    return isinstance(error, OSError | TimeoutError)
