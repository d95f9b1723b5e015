"""The filters of SentinelOne's ``GET /web/api/v2.1/threats``, by their real camelCase names.

Filters are a table (name -> predicate factory) so the same names serve the query string and the
``filter`` object of POST bodies. Array filters take comma-separated values (or repeated parameters);
string, number and boolean parameters take one value. Errors are SentinelOne's ``ApiError`` answers.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connector.sandbox.common import iso_z
from connector.sandbox.sentinelone.data import (
    ANALYST_VERDICTS,
    CONFIDENCE_LEVELS,
    INCIDENT_STATUSES,
    MITIGATION_STATUSES,
    Threat,
)

Getter = Callable[[Threat], Any]
Predicate = Callable[[Threat], bool]
Builder = Callable[[str, list[str]], Predicate]
"""Turns (parameter name, raw values as received) into a predicate; raises ApiError when a value is bad."""


class ApiError(Exception):
    """An error answer in SentinelOne's shape: ``{"errors": [{"code", "detail", "title"}]}``."""

    def __init__(self, status: int, code: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail

    def body(self) -> dict[str, Any]:
        """The JSON body of this error."""
        return {"errors": [{"code": self.code, "detail": self.detail, "title": self.title}]}


def validation_error(detail: str) -> ApiError:
    """A 400 Validation Error, as the real API answers bad parameters and bodies."""
    return ApiError(400, 4000010, "Validation Error", detail)


def info_field(key: str) -> Getter:
    """Reads ``threatInfo[key]``."""
    return lambda threat: threat["threatInfo"][key]


def realtime_field(key: str) -> Getter:
    """Reads ``agentRealtimeInfo[key]``."""
    return lambda threat: threat["agentRealtimeInfo"][key]


def _detection(key: str) -> Getter:
    return lambda threat: threat["agentDetectionInfo"][key]


def _nested(section: str, key: str) -> Getter:
    return lambda threat: threat[section][key]


def _no_data(threat: Threat) -> None:
    # Sandbox agents carry no cloud metadata (cloudProviders is {} as in the captured payloads) and the
    # record schema has no node labels, so filters on those fields match nothing, as they would live.
    return None


def _hashes(threat: Threat) -> list[str]:
    info = threat["threatInfo"]
    return [value for value in (info["sha1"], info["sha256"], info["md5"]) if value]


def _engine_keys(threat: Threat) -> list[str]:
    return [engine["key"] for engine in threat["threatInfo"]["detectionEngines"]]


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item).lower() for item in value if item is not None]
    return [str(value).lower()]


def _split(name: str, raw: list[str]) -> list[str]:
    values = [part.strip() for item in raw for part in item.split(",") if part.strip()]
    if not values:
        raise validation_error(f"{name}: expected a non-empty comma-separated list")
    return values


def _one_of(get: Getter, allowed: Iterable[str] = (), negate: bool = False) -> Builder:
    known = frozenset(allowed)

    def build(name: str, raw: list[str]) -> Predicate:
        wanted = {value.lower() for value in _split(name, raw)}
        bad = sorted(wanted - known) if known else []
        if bad:
            raise validation_error(f"{name}: {', '.join(bad)} not one of {', '.join(sorted(known))}")
        if negate:
            return lambda threat: not _any_in(wanted, get(threat))
        return lambda threat: _any_in(wanted, get(threat))

    return build


def _any_in(wanted: set[str], value: Any) -> bool:
    if isinstance(value, str):  # the common case, kept cheap: most fields hold one string
        return value.lower() in wanted
    return not wanted.isdisjoint(_strings(value))


def _contains(*getters: Getter) -> Builder:
    def build(name: str, raw: list[str]) -> Predicate:
        needles = [value.lower() for value in _split(name, raw)]

        def match(threat: Threat) -> bool:
            haystack = [text for get in getters for text in _strings(get(threat))]
            return any(needle in text for needle in needles for text in haystack)

        return match

    return build


def parse_bool(name: str, raw: str) -> bool:
    """A query-string boolean (``true``/``false``, any case); 400 otherwise."""
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise validation_error(f"{name}: {raw!r} is not a boolean (true or false)")
    return lowered == "true"


def _flag(get: Getter) -> Builder:
    def build(name: str, raw: list[str]) -> Predicate:
        wanted = parse_bool(name, raw[-1])
        return lambda threat: bool(get(threat)) == wanted

    return build


def parse_time(name: str, raw: str) -> str:
    """An ISO 8601 instant in the records' form (microseconds, Z), so that strings compare in time order."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise validation_error(f"{name}: {raw!r} is not an ISO 8601 date-time") from None
    return iso_z(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _time(get: Getter, compare: Callable[[str, str], bool]) -> Builder:
    def build(name: str, raw: list[str]) -> Predicate:
        bound = parse_time(name, raw[-1])
        return lambda threat: compare(get(threat), bound)

    return build


def _free_text(name: str, raw: list[str]) -> Predicate:
    needle = raw[-1].strip().lower()
    fields = (info_field("threatName"), realtime_field("agentComputerName"), info_field("filePath"), _hashes)
    return lambda threat: any(needle in text for get in fields for text in _strings(get(threat)))


def _resolved(name: str, raw: list[str]) -> Predicate:
    wanted = parse_bool(name, raw[-1])
    return lambda threat: (threat["threatInfo"]["incidentStatus"] == "resolved") == wanted


def _with_nin(filters: dict[str, Builder], name: str, get: Getter, allowed: Iterable[str] = ()) -> None:
    filters[name] = _one_of(get, allowed)
    filters[name + "Nin"] = _one_of(get, allowed, negate=True)


_COMPARISONS = (("gt", operator.gt), ("gte", operator.ge), ("lt", operator.lt), ("lte", operator.le))


def _filter_table() -> dict[str, Builder]:
    filters = _exact_filters()
    for name, get in _CONTAINS.items():
        filters[name + "__contains"] = _contains(get)
    filters["threatDetails__contains"] = _contains(info_field("threatName"), info_field("filePath"))
    for field in ("createdAt", "updatedAt"):
        for suffix, compare in _COMPARISONS:
            filters[f"{field}__{suffix}"] = _time(info_field(field), compare)
    return filters


def _exact_filters() -> dict[str, Builder]:
    """The filters on whole values: lists of ids or values (with their ``nin`` twins), flags, free text."""
    filters: dict[str, Builder] = {
        "ids": _one_of(lambda threat: threat["id"]),
        "accountIds": _one_of(realtime_field("accountId")),
        "siteIds": _one_of(realtime_field("siteId")),
        "groupIds": _one_of(realtime_field("groupId")),
        "agentIds": _one_of(realtime_field("agentId")),
        "collectionIds": _one_of(info_field("collectionId")),
        "contentHashes": _one_of(_hashes),
        "externalTicketIds": _one_of(info_field("externalTicketId")),
        "storylines": _one_of(info_field("storyline")),
        "agentIsActive": _flag(realtime_field("agentIsActive")),
        "externalTicketExists": _flag(info_field("externalTicketExists")),
        "failedActions": _flag(info_field("failedActions")),
        "mitigatedPreemptively": _flag(info_field("mitigatedPreemptively")),
        "pendingActions": _flag(info_field("pendingActions")),
        "rebootRequired": _flag(info_field("rebootRequired")),
        "resolved": _resolved,
        "query": _free_text,
        # The spec gives no semantics for displayName beyond "display name": matched against the threat name.
        "displayName": _contains(info_field("threatName")),
        # All sandbox agents are 64-bit, the only architecture the seeded OS versions ship for.
        "osArchs": _one_of(lambda threat: "64 bit", ("32 bit", "64 bit")),
    }
    _with_nin(filters, "incidentStatuses", info_field("incidentStatus"), INCIDENT_STATUSES)
    _with_nin(filters, "analystVerdicts", info_field("analystVerdict"), ANALYST_VERDICTS)
    _with_nin(filters, "mitigationStatuses", info_field("mitigationStatus"), MITIGATION_STATUSES)
    _with_nin(filters, "confidenceLevels", info_field("confidenceLevel"), CONFIDENCE_LEVELS)
    _with_nin(filters, "classifications", info_field("classification"))
    _with_nin(filters, "classificationSources", info_field("classificationSource"))
    _with_nin(filters, "agentMachineTypes", realtime_field("agentMachineType"))
    _with_nin(filters, "agentVersions", realtime_field("agentVersion"))
    _with_nin(filters, "osNames", realtime_field("agentOsName"))
    _with_nin(filters, "osTypes", realtime_field("agentOsType"))
    _with_nin(filters, "initiatedBy", info_field("initiatedBy"))
    _with_nin(filters, "detectionEngines", _engine_keys)
    _with_nin(filters, "engines", _engine_keys)
    _with_nin(filters, "cloudProvider", lambda threat: list(threat["agentDetectionInfo"]["cloudProviders"]))
    return filters


_CONTAINS: Mapping[str, Getter] = {
    "computerName": realtime_field("agentComputerName"),
    "filePath": info_field("filePath"),
    "commandLineArguments": info_field("maliciousProcessArguments"),
    "originatedProcess": info_field("originatorProcess"),
    "publisherName": info_field("publisherName"),
    "initiatedByUsername": info_field("initiatingUsername"),
    "externalTicketId": info_field("externalTicketId"),
    "storyline": info_field("storyline"),
    "contentHash": _hashes,
    "uuid": realtime_field("agentUuid"),
    "realtimeAgentVersion": realtime_field("agentVersion"),
    "detectionAgentVersion": _detection("agentVersion"),
    "detectionAgentDomain": _detection("agentDomain"),
    "containerImageName": _nested("containerInfo", "image"),
    "containerLabels": _nested("containerInfo", "labels"),
    "containerName": _nested("containerInfo", "name"),
    "k8sClusterName": _nested("kubernetesInfo", "cluster"),
    "k8sControllerLabels": _nested("kubernetesInfo", "controllerLabels"),
    "k8sControllerName": _nested("kubernetesInfo", "controllerName"),
    "k8sNamespaceLabels": _nested("kubernetesInfo", "namespaceLabels"),
    "k8sNamespaceName": _nested("kubernetesInfo", "namespace"),
    "k8sNodeName": _nested("kubernetesInfo", "node"),
    "k8sPodLabels": _nested("kubernetesInfo", "podLabels"),
    "k8sPodName": _nested("kubernetesInfo", "pod"),
    "k8sNodeLabels": _no_data,
    "awsRole": _no_data,
    "awsSecurityGroups": _no_data,
    "awsSubnetIds": _no_data,
    "azureResourceGroup": _no_data,
    "cloudAccount": _no_data,
    "cloudImage": _no_data,
    "cloudInstanceId": _no_data,
    "cloudInstanceSize": _no_data,
    "cloudLocation": _no_data,
    "cloudNetwork": _no_data,
    "gcpServiceAccount": _no_data,
}
"""The ``__contains`` filters: the field each one searches."""


FILTERS = _filter_table()
"""Every documented filter of ``GET /threats``, by its real name; also valid in POST ``filter`` objects."""
