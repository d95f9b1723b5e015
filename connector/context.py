"""The run context: what one action run keeps while its binding talks to the vendor.

A vendor binding receives a :class:`RunContext`. It sends requests and walks pages through it
(the context hands them to the HTTP layer, :class:`~connector.http.VendorClient`, which knows
transport, auth, retries, rate limits and paging only), and maps each raw record through
:meth:`RunContext.map_record`, which isolates a record that cannot be mapped (an error item,
``meta.skipped``; with ``strict``, the run fails instead). The context also keeps what becomes
the envelope: output fields beside the records (``total``), meta keys (``existed``,
``dropped_values``, ``resume``), per-item errors, the writes a dry run planned, and the counts.

A dry run's writes are planned here and never reach the HTTP layer; a resumable walk starts from
``input.resume`` and, when a page fails, leaves ``meta.resume`` saying where it stopped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import orjson

from connector import hygiene
from connector.connections import Connection
from connector.envelope import ErrorItem, Meta
from connector.errors import BadInput, BadVendorAnswer, ConnectorError, VendorError
from connector.http import Decode, Events, VendorClient, is_safe
from connector.paging import Page, Paging
from connector.vendor import Vendor

records_log = logging.getLogger("connector.records")

BATCH = 100
"""Records a binding that maps a page at a time yields in one list at most (see
:class:`~connector.runner.RecordStream`): few enough that the runner still turns to the event loop
between two, so the next page's request goes out while this page is written."""


def in_batches(records: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``records`` (mapped as they are taken) in lists of at most :data:`BATCH`. When taking one
    raises (``--strict`` stopping at a record), the records taken before it are handed out first."""
    batch: list[dict[str, Any]] = []
    try:
        for record in records:
            batch.append(record)
            if len(batch) == BATCH:
                yield batch
                batch = []
    except ConnectorError:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


@dataclass
class PlannedRequest:
    """A write that a dry run would have sent (the token is never part of it)."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The request as plain data for the envelope, headers shown redacted."""
        return {
            "method": self.method,
            "path": self.path,
            "params": self.params or {},
            "json": self.json,
            "headers": {"Authorization": "***"},
        }


@dataclass
class RunContext:
    """One action run as its binding sees it (see the module docstring)."""

    http: VendorClient
    action: str = ""
    dry_run: bool = False
    strict: bool = False
    """Whether the first record that cannot be mapped fails the run (else it is skipped and reported)."""
    resume_from: dict[str, Any] | None = None
    """Where a resumable paged read starts (the ``meta.resume`` of a failed run)."""
    planned: list[PlannedRequest] = field(default_factory=list)
    item_errors: list[ErrorItem] = field(default_factory=list)
    """Per-item failures (a bulk change's ids, records that could not be mapped); any makes the run ``partial``."""
    nothing_succeeded: bool = False
    """Set by a bulk binding when every item failed, which makes the envelope ``failed``."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Extra keys for the envelope's meta (``existed``, ``skipped``, ``resume``, ``dropped_values``...)."""
    fields: dict[str, Any] = field(default_factory=dict)
    """Output fields a records binding sets beside its records (``total``...)."""
    emitted: int = 0
    """Records announced with :meth:`emit` (the envelope's ``meta.records``)."""
    _mapped: int = 0
    _total_told: bool = False

    @property
    def vendor(self) -> Vendor:
        """The vendor the run talks to."""
        return self.http.vendor

    @property
    def connection(self) -> Connection:
        """The connection the run uses."""
        return self.http.connection

    @property
    def run_id(self) -> str:
        """The run's id, carried by every event."""
        return self.http.run_id

    @property
    def events(self) -> Events:
        """The lifecycle hooks."""
        return self.http.events

    @property
    def option(self) -> dict[str, Any]:
        """Vendor options: the vendor's defaults overridden by the connection's ``options``."""
        return {**self.vendor.options, **self.connection.options}

    def envelope_meta(self) -> Meta:
        """The envelope's meta as the run stands: counts, records, and the keys bindings added."""
        return Meta(dry_run=self.dry_run, run_id=self.run_id, records=self.emitted, **self.http.counts.as_dict(),
                    **self.meta)

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None, raw: bool = False,
        read_only: bool = False, decode: Decode = orjson.loads,
    ) -> Any:
        """Send one request (see :meth:`VendorClient.request`); in a dry run a write is planned, not sent (None)."""
        if self.dry_run and not is_safe(method, read_only):
            self.planned.append(PlannedRequest(method.upper(), path, params, json))
            return None
        return await self.http.request(method, path, params=params, json=json, raw=raw, read_only=read_only,
                                       decode=decode)

    async def pages(
        self, path: str, params: dict[str, Any], paging: Paging, *, max_records: int | None = None,
        resumable: bool = False, decode: Decode = orjson.loads,
    ) -> AsyncGenerator[Page, None]:
        """Every page of a paged read (see :class:`connector.walk.Walk`).

        A ``resumable`` walk starts where :attr:`resume_from` says, and when a page fails after
        its retries it leaves ``meta.resume``: where to go on from. A read that is not resumable
        refuses a resume point.
        """
        if self.resume_from is not None and not resumable:
            raise BadInput("input.resume: this read cannot resume (it merges or sorts what it reads): run it whole")
        query = self._start(params, paging) if resumable else dict(params)
        walk = self.http.pages(path, query, paging, max_records=max_records, decode=decode)
        try:
            async with aclosing(walk) as pages:
                async for page in pages:
                    yield page
        except VendorError:
            if resumable and paging.resume_key in walk.position:
                self.meta["resume"] = {paging.resume_key: walk.position[paging.resume_key]}
            raise

    def page_fetched(self, path: str, page: int, records: int) -> None:
        """Announce one page of a read a binding pages by hand (``page`` from 1)."""
        self.http.page_fetched(path, page, records)

    def total_known(self, total: int | None, limit: int | None = None) -> None:
        """Announce how many records the read will hand out, from the vendor's total (at most ``limit``);
        once per run, and only when the vendor told one."""
        if total is None or self._total_told:
            return
        self._total_told = True
        self.events.total_known(run_id=self.run_id, action=self.action, total=min(total, limit or total))

    def emit(self, record: dict[str, Any]) -> dict[str, Any]:
        """Count one output record and announce it to the lifecycle hooks; returns it for chaining.

        The hook is fired only when a plugin implements it: a read emits every record, and a
        hook call each would cost more than writing the record out.
        """
        self.emitted += 1
        hook = self.events.record_emitted
        if _subscribed(hook):
            hook(run_id=self.run_id, action=self.action, record=record)
        return record

    def emit_all(self, records: list[dict[str, Any]]) -> None:
        """:meth:`emit` each of ``records``, in order (the hook looked up once)."""
        hook = self.events.record_emitted
        if not _subscribed(hook):
            self.emitted += len(records)
            return
        for record in records:
            self.emitted += 1
            hook(run_id=self.run_id, action=self.action, record=record)

    def items_processed(self, *, succeeded: int, failed: int) -> None:
        """Announce ids of a bulk change settled (see :class:`connector.bulk.BulkReport`)."""
        self.events.items_processed(run_id=self.run_id, action=self.action, succeeded=succeeded, failed=failed)

    def item_failed(self, item: str, kind: str, message: str) -> None:
        """Record that one item failed, keeping the others going."""
        self.item_errors.append(ErrorItem(type=kind, message=message, item=item))

    def map_record(self, mapper: Callable[..., dict[str, Any]], raw: Any, **options: Any) -> dict[str, Any] | None:
        """``mapper(raw, **options)``, or None when this one record cannot be mapped.

        A record that fails is reported as an error item (its vendor id, or ``#<index>`` among the
        records read) and skipped, so one odd record never costs the others; with :attr:`strict`
        it fails the run instead. Values the mapper dropped are counted in ``meta.dropped_values``.
        """
        index = self._mapped
        self._mapped += 1
        with hygiene.recording() as drops:
            try:
                record = mapper(raw, **options)
            # Isolation is the point: whatever one record does to the mapper stays with that record.
            except Exception as exc:
                self._skip(raw, index, exc)
                return None
        if drops:
            self._note_drops(raw, index, drops)
        return record

    def _start(self, params: dict[str, Any], paging: Paging) -> dict[str, Any]:
        if not self.resume_from:
            return dict(params)
        resume, self.resume_from = self.resume_from, None
        unknown = sorted(set(resume) - {paging.resume_key})
        if unknown:
            raise BadInput(
                f"input.resume: {unknown[0]!r} is not where this read resumes from (it takes {paging.resume_key!r})"
            )
        return {**paging.resumed(params), **resume}

    def _skip(self, raw: Any, index: int, error: Exception) -> None:
        item = _record_id(raw) or f"#{index}"
        if isinstance(error, ConnectorError):
            message = error.message
        else:
            message = f"{self.vendor.name}: record {item} cannot be mapped ({type(error).__name__}: {error})"
        message = message.splitlines()[0][:300] if message else type(error).__name__
        if self.strict:
            raise BadVendorAnswer(f"{message} (--strict stops at the first bad record)") from None
        self.item_failed(item, BadVendorAnswer.kind, message)
        self.meta["skipped"] = self.meta.get("skipped", 0) + 1

    def _note_drops(self, raw: Any, index: int, drops: list[hygiene.Dropped]) -> None:
        counted: dict[str, int] = self.meta.setdefault("dropped_values", {})
        for dropped in drops:
            counted[dropped.field] = counted.get(dropped.field, 0) + 1
        if records_log.isEnabledFor(logging.INFO):
            item = _record_id(raw) or f"#{index}"
            for dropped in drops:
                records_log.info("%s: record %s: dropped %s (%s)", self.vendor.name, item, dropped.field, dropped.rule)


def _subscribed(hook: Callable[..., Any]) -> bool:
    """Whether a plugin implements ``hook`` (a stand-in for pluggy's hook relay always counts as one)."""
    implementations = getattr(hook, "get_hookimpls", None)
    return implementations is None or bool(implementations())


def _record_id(raw: Any) -> str | None:
    """A raw record's own id, to name it in an error line (None when it has none worth quoting: a
    masked or redacted id names nothing, and the record is then named by its place)."""
    if isinstance(raw, dict):
        for key in ("id", "uuid", "uid"):
            value = raw.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and _ID.match(str(value)):
                return str(value)
    return None


_ID = re.compile(r"^[\w.:@-]{1,80}$")
