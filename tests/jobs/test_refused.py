"""What is pushed onto the queue and is no message a worker can run: kept aside, logged once, the worker goes on."""

from __future__ import annotations

import base64

import orjson
import redis

from connector.jobs import submit_action
from connector.jobs.app import QUEUE
from connector.jobs.refused import DEAD_LETTERS
from tests.jobs.conftest import StartWorkers
from tests.jobs.support import wait_until


def _message(task: str, body: bytes, content_type: str = "application/json") -> bytes:
    """A message as kombu puts it on the list, naming ``task`` (the forger's choice)."""
    return orjson.dumps({
        "body": base64.b64encode(body).decode(), "content-type": content_type, "content-encoding": "utf-8",
        "headers": {"task": task, "id": f"forged-{task}", "lang": "py"},
        "properties": {"delivery_tag": f"tag-{task}", "body_encoding": "base64",
                       "delivery_info": {"exchange": "", "routing_key": QUEUE}},
    })


FORGED = [
    (b"garbage", "not a message: JSONDecodeError"),
    (b"{}", "not a message: KeyError"),
    (_message("x", b"[]").replace(b'"headers":{', b'"headers":[{').replace(b',"properties"', b'],"properties"'),
     "not a message: AttributeError"),
    (_message("os.system", b'[["rm -rf /"], {}, {}]'), "unknown task 'os.system'"),
    (_message("connector.run_action", b"\x80\x04K\x01.", "application/x-python-serialize"),
     "invalid task message: Refusing to deserialize untrusted content of type pickle"),
]


def test_forged_messages_are_kept_aside_and_the_worker_goes_on(broker: str, workers: StartWorkers) -> None:
    (worker,) = workers(1, concurrency=1)
    client = redis.Redis.from_url(broker)
    for raw, _reason in FORGED:
        client.lpush(QUEUE, raw)
    wait_until(lambda: client.llen(DEAD_LETTERS) == len(FORGED), "the forged messages kept aside")
    kept = [orjson.loads(entry) for entry in reversed(client.lrange(DEAD_LETTERS, 0, -1))]
    assert [entry["reason"][:len(reason)] for entry, (_raw, reason) in zip(kept, FORGED, strict=True)] == [
        reason for _raw, reason in FORGED]
    assert kept[0]["message"] == "garbage"
    assert "os.system" in kept[3]["message"]
    # The worker is still there, and runs real work.
    envelope = submit_action("get_threats", {"limit": 1}, connection="s1", broker=broker).get(timeout=60)
    assert envelope.status == "success"
    assert worker.process.poll() is None
    log = worker.text()
    assert log.count("message refused") == len(FORGED)
    assert "went away" not in log and "Traceback" not in log, log
