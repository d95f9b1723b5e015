"""Messages a worker refuses: kept in a dead-letter list for an operator, logged once, never fatal.

Anything can be pushed onto the queue's Redis list: text that is not a message at all, a message
whose body cannot be decoded, a task this worker does not know, or arguments no task takes. A
worker takes each such message off the queue, keeps it (with why) at the head of the Redis list
``connector.refused`` (the newest :data:`KEEP` of them), logs one line, and goes on.

Two places see them: the broker's channel (:class:`Transport`), for what is not even a message
(kombu would otherwise stop the worker), and Celery's consumer (:class:`Consumer`) for messages
whose body or task is wrong.
"""

from __future__ import annotations

import logging
from queue import Empty
from typing import Any

import orjson
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu.transport import redis as kombu_redis

DEAD_LETTERS = "connector.refused"
"""The Redis list where refused messages are kept, newest first."""
KEEP = 1000
"""How many refused messages the list keeps: a flood of them cannot fill the broker."""
_SHOWN = 120

log = logging.getLogger("connector.worker")


def keep(client: Any, reason: str, message: str) -> None:
    """Push a refused ``message`` and ``reason`` on the dead-letter list (trimmed), and log it in one line."""
    entry = orjson.dumps({"reason": reason, "message": message})
    with client.pipeline() as pipe:
        pipe.lpush(DEAD_LETTERS, entry).ltrim(DEAD_LETTERS, 0, KEEP - 1).execute()
    shown = " ".join(message.split())[:_SHOWN]
    log.error("message refused (%s), kept in the Redis list %s: %s", reason, DEAD_LETTERS, shown)


class Channel(kombu_redis.Channel):
    """kombu's Redis channel, keeping what is not a message instead of raising on it."""

    def _brpop_read(self, **options: Any) -> bool:
        """One BRPOP answer: delivered when it is a message, kept as refused otherwise."""
        try:
            try:
                answer = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                # As kombu does: the next poll reconnects.
                self.client.connection.disconnect()
                raise
            if not answer:
                raise Empty()
            dest, item = answer
            dest = _text(dest).rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(dest)
            payload = self._message_or_none(item)
            if payload is not None:
                self.connection._deliver(payload, dest)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]
            self._flush_brpop_reauth()  # type: ignore[no-untyped-call]

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        """The next message of ``queue`` (kombu's polling read), what is not one kept as refused."""
        with self.conn_or_acquire() as client:
            for priority in self.priority_steps:
                item = client.rpop(self._q_for_pri(queue, priority))  # type: ignore[no-untyped-call]
                payload = self._message_or_none(item) if item else None
                if payload is not None:
                    return payload
        raise Empty()

    def _message_or_none(self, item: bytes) -> dict[str, Any] | None:
        """``item`` as a message kombu can deliver, or None once it is kept as refused."""
        text = _text(item)
        try:
            payload = orjson.loads(text)
            info = self.Message(payload, channel=self).delivery_info  # type: ignore[no-untyped-call]
            # Where the message was published to: kombu reads both before any check of its own.
            missing = {"exchange", "routing_key"} - set(info)
            if missing:
                raise KeyError(", ".join(sorted(missing)))
            if not isinstance(payload.get("headers"), dict):
                raise TypeError("headers is not an object")
        except Exception as exc:  # whatever the text is, it must not stop the worker
            with self.conn_or_acquire() as client:
                keep(client, f"not a message: {type(exc).__name__}", text)
            return None
        message: dict[str, Any] = payload
        return message


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel


class Consumer(CeleryConsumer):  # type: ignore[misc]
    """Celery's consumer, keeping a message it cannot run instead of only logging it."""

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        """A body that cannot be decoded (not JSON, or a content type this app refuses)."""
        self._refuse(message, f"cannot decode: {type(exc).__name__}: {exc}")
        message.ack()

    def on_unknown_message(self, body: Any, message: Any) -> None:
        """A message that names no task."""
        self._refuse(message, "names no task")
        message.reject_log_error(log, self.connection_errors)

    def on_unknown_task(self, body: Any, message: Any, exc: Exception) -> None:
        """A task this worker does not run."""
        self._refuse(message, f"unknown task {message.headers.get('task')!r}")
        message.reject_log_error(log, self.connection_errors)

    def on_invalid_task(self, body: Any, message: Any, exc: Exception) -> None:
        """A task message that is not well formed."""
        self._refuse(message, f"invalid task message: {exc}")
        message.reject_log_error(log, self.connection_errors)

    def _refuse(self, message: Any, reason: str) -> None:
        raw = orjson.dumps({"headers": message.headers, "body": _text(message.body)}, default=str)
        with self.app.connection_for_write() as connection:
            keep(connection.default_channel.client, " ".join(reason.split())[:200], raw.decode())
