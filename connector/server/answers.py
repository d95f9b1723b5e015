"""What the HTTP API answers: JSON bodies (secrets masked), HTTP statuses from exit codes.

An action's envelope or a playbook's result is written exactly as ``--format json`` prints it;
anything refused before a run is ``{"error": {"type": ..., "message": one line}}``.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import Response, StreamingResponse

from connector.envelope import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_PARTIAL, EXIT_SUCCESS
from connector.execute import deliver
from connector.executor import Executor
from connector.formats import output_format
from connector.output import to_json
from connector.request import RunRequest

EXIT_CODE_HEADER = "X-Connector-Exit-Code"
NDJSON = "application/x-ndjson"

HTTP_STATUS = {EXIT_SUCCESS: 200, EXIT_PARTIAL: 200, EXIT_FAILED: 502, EXIT_BAD_INPUT: 400}
"""HTTP status per exit code. A partial success is 200: the work was done and the body says which
items failed (``status: partial``, ``errors[].item``, and the exit-code header); 207 would promise a
WebDAV multistatus body that this API does not send."""


def json_answer(data: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """``data`` (a pydantic model or plain data) as pretty JSON with every known secret masked."""
    return Response(to_json(data) + "\n", status_code=status, headers=headers, media_type="application/json")


def run_answer(result: Any, exit_code: int) -> Response:
    """An envelope or playbook result, its HTTP status and the exit-code header from ``exit_code``."""
    return json_answer(result, HTTP_STATUS[exit_code], {EXIT_CODE_HEADER: str(exit_code)})


def error_answer(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None, *, exit_code: int | None = None
) -> Response:
    """``{"error": {"type": kind, "message": message}}``; a message of several lines is joined into one."""
    line = "; ".join(part for part in message.splitlines() if part.strip()) or message
    extra = dict(headers or {})
    if exit_code is not None:
        extra[EXIT_CODE_HEADER] = str(exit_code)
    return json_answer({"error": {"type": kind, "message": line}}, status, extra)


async def written_answer(executor: Executor, request: RunRequest) -> Response:
    """The run written whole in its format, with the HTTP status of its exit code."""
    buffer = io.StringIO()
    envelope = await deliver(executor, request, buffer)
    known = executor.host.formats.get(request.format_name)
    media_type = known.media_type if known is not None else "application/json"
    return Response(buffer.getvalue(), status_code=HTTP_STATUS[envelope.exit_code], media_type=media_type,
                    headers={EXIT_CODE_HEADER: str(envelope.exit_code)})


async def ndjson_answer(executor: Executor, request: RunRequest) -> Response:
    """The run's records as NDJSON lines as they come, then its envelope (records list empty) as the last line.

    The lines are the ndjson format's own (the CLI's ``--format ndjson``). The status line goes out
    with the first record, before the run's outcome is known, so a streamed answer is 200 and its
    last line's ``status`` says how the run ended. A run that yields no record (an action without
    records, bad input, a failure before the first page) is answered as a whole.
    """
    stream = executor.stream(request.model_copy(update={"format": "ndjson"}))
    records = aiter(stream)
    try:
        first = await anext(records)
    except StopAsyncIteration:
        return run_answer(stream.envelope, stream.envelope.exit_code)
    buffer = io.StringIO()
    writer = output_format("ndjson", executor.host).writer(buffer)

    def taken() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    async def lines() -> AsyncIterator[str]:
        try:
            assert stream.records_key is not None
            writer.record(stream.envelope_so_far, stream.records_key, first)
            yield taken()
            async for record in records:
                writer.record(stream.envelope_so_far, stream.records_key, record)
                yield taken()
            writer.finish(stream.envelope, stream.records_key)
            yield taken()
        finally:
            await stream.aclose()

    return StreamingResponse(lines(), media_type=NDJSON)
