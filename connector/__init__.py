"""connector: SOAR-style actions against SentinelOne, MySecutec TAM, Nameshield CTI and CISO Assistant."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("connector")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
