"""vpskit's version, read from the installed package's metadata."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("vpskit")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"
