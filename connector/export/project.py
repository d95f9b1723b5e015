"""Who made connector and where it lives, as pyproject declares it: the exports' contact details.

Read from the installed distribution's metadata (``[project] authors`` and ``[project.urls]``),
so an export names the project's real home and never a placeholder.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata

from connector.errors import ConfigError

DISTRIBUTION = "connector-soar"


@cache
def project_urls() -> dict[str, str]:
    """``[project.urls]`` by label (``Homepage``, ``Issues``)."""
    entries = metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    return dict(entry.split(", ", 1) for entry in entries if ", " in entry)


def homepage() -> str:
    """The project's home page; ConfigError when pyproject declares none."""
    url = project_urls().get("Homepage")
    if not url:
        raise ConfigError("export: pyproject.toml: [project.urls] Homepage is missing (the exports' contact URL)")
    return url


def author() -> str:
    """The project's author as pyproject names it."""
    return metadata.metadata(DISTRIBUTION)["Author"] or DISTRIBUTION


def contact() -> dict[str, str]:
    """Shuffle's ``contact_info``: the author and the home page."""
    return {"name": author(), "url": homepage()}
