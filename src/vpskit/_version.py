"""vpskit's version, that of the installed package.

Read from the name of the package's ``vpskit-{version}.dist-info`` folder, found on ``sys.path``
in the order :mod:`importlib.metadata` searches it (whose import alone, with its e-mail parser,
costs some 35 ms of every evaluation's start-up); :mod:`importlib.metadata` itself where the
package is installed another way.
"""

from __future__ import annotations

import os
import sys

_PREFIX, _SUFFIX = "vpskit-", ".dist-info"


def _from_dist_info() -> str | None:
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip, or a folder that is gone
            continue
        for name in names:
            if name.startswith(_PREFIX) and name.endswith(_SUFFIX):
                return name[len(_PREFIX):-len(_SUFFIX)]
    return None


def _from_metadata() -> str:
    from importlib import metadata

    try:
        return metadata.version("vpskit")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


__version__ = _from_dist_info() or _from_metadata()
