"""`vpskit demo` (not yet built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the parser(s) of this module."""
