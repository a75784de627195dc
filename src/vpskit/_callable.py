"""Modules that can be called as their main function (``vpskit.evaluate(...)``, …)."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


def make_module_callable(name: str, func: Callable[..., Any]) -> None:
    """Make the imported module ``name`` callable: calling it calls ``func``.

    ``vpskit.prepare``, ``vpskit.verify`` and ``vpskit.evaluate`` each name both a module and
    its main function; once the module is imported, the attribute of ``vpskit`` is the module,
    so the module itself must do what the function does.
    """

    class CallableModule(types.ModuleType):
        __doc__ = func.__doc__

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

    sys.modules[name].__class__ = CallableModule
