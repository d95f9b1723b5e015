"""Reading a page of ``GET /threats``: only the fields the threat mapper reads.

A real-size threat is about 4.5 KB of JSON, and the mapper reads a tenth of it. Decoding every
field into Python objects costs more than the mapping of what is kept, so a page is read with
msgspec against the shapes below: fields they do not name are skipped while parsing. Each record
is read on its own, so one that does not fit (``threatInfo`` that is no object, a record that is no
object at all, one without an ``id``) is read whole instead, exactly as before, and the mapper
refuses or maps it as it would have. A page that is not ``{"data": [...]}`` is read whole too, and
its errors are the usual ones. ``include_raw`` reads whole records: the raw record is the vendor's.

Every key the mapper reads must be named here: a test maps every sandbox, messy and real record
both ways and compares, and another records each key the mapper reads.
"""

from __future__ import annotations

from typing import Any, TypedDict

import msgspec
import orjson


class ThreatInfo(TypedDict, total=False):
    """``threatInfo``: what the mapper reads of it."""

    analystVerdict: Any
    classification: Any
    classificationSource: Any
    confidenceLevel: Any
    createdAt: Any
    detectionEngines: Any
    detectionType: Any
    engines: Any
    filePath: Any
    fileSize: Any
    identifiedAt: Any
    incidentStatus: Any
    maliciousProcessArguments: Any
    md5: Any
    mitigationStatus: Any
    originatorProcess: Any
    processUser: Any
    sha1: Any
    sha256: Any
    storyline: Any
    threatId: Any
    threatName: Any
    updatedAt: Any


class AgentRealtimeInfo(TypedDict, total=False):
    """``agentRealtimeInfo``: the endpoint as it is now."""

    agentComputerName: Any
    agentId: Any
    agentMachineType: Any
    agentOsName: Any
    agentVersion: Any
    networkInterfaces: Any


class AgentDetectionInfo(TypedDict, total=False):
    """``agentDetectionInfo``: the endpoint as it was at detection time."""

    agentIpV4: Any
    agentIpV6: Any
    agentOsName: Any
    agentUuid: Any
    agentVersion: Any
    cloudProviders: Any
    externalIp: Any


class Threat(TypedDict, total=False):
    """One threat: the v2.1 objects, and the flat v2.0 fields (see ``threats.FLAT_INFO``)."""

    id: Any
    rank: Any
    threatInfo: ThreatInfo
    agentRealtimeInfo: AgentRealtimeInfo
    agentDetectionInfo: AgentDetectionInfo
    indicators: Any
    containerInfo: Any
    kubernetesInfo: Any
    # The flat v2.0 shape.
    agentComputerName: Any
    agentId: Any
    agentIp: Any
    agentMachineType: Any
    agentOsName: Any
    agentOsType: Any
    agentVersion: Any
    analystVerdict: Any
    classification: Any
    classificationSource: Any
    commandLineArguments: Any
    confidenceLevel: Any
    createdAt: Any
    detectionType: Any
    engines: Any
    fileContentHash: Any
    fileDisplayName: Any
    fileMd5: Any
    filePath: Any
    fileSha256: Any
    fileSize: Any
    identifiedAt: Any
    incidentStatus: Any
    maliciousProcessArguments: Any
    markedAsBenign: Any
    mitigationStatus: Any
    originatorProcess: Any
    processUser: Any
    resolved: Any
    storyline: Any
    threatAgentVersion: Any
    threatId: Any
    threatName: Any
    updatedAt: Any
    username: Any


class _Page(TypedDict, total=False):
    data: list[Threat]
    pagination: Any


class _RawPage(TypedDict, total=False):
    data: list[msgspec.Raw]
    pagination: Any


_PAGE = msgspec.json.Decoder(_Page)
_RAW_PAGE = msgspec.json.Decoder(_RawPage)
_THREAT = msgspec.json.Decoder(Threat)


def threat_page(content: bytes) -> Any:
    """A page of threats, each record holding only what the mapper reads (see the module's text).

    The whole page is read in one pass when every record fits and has its id (the usual page);
    else each record is read on its own.
    """
    try:
        page: dict[str, Any] = dict(_PAGE.decode(content))
    except msgspec.MsgspecError:
        return _by_record(content)
    if all("id" in record for record in page.get("data", ())):
        return page
    return _by_record(content)


def _by_record(content: bytes) -> Any:
    """A page of threats read record by record: one that does not fit is read whole."""
    try:
        page: dict[str, Any] = dict(_RAW_PAGE.decode(content))
    except msgspec.MsgspecError:
        return orjson.loads(content)  # not the documented page: read whole, with orjson's errors
    if "data" in page:
        page["data"] = [_threat(record) for record in page["data"]]
    return page


def _threat(record: msgspec.Raw) -> Any:
    try:
        kept = _THREAT.decode(record)
    except msgspec.ValidationError:
        return orjson.loads(memoryview(record))
    # A record without an id is refused with the keys it has: all of them, not the kept ones.
    return kept if "id" in kept else orjson.loads(memoryview(record))
