"""Options shared by several commands."""

from __future__ import annotations

import argparse


def add_jobs_and_progress(parser: argparse.ArgumentParser, jobs_help: str = "worker processes (default: all cores)") -> None:
    """``--jobs/-j N`` and ``--progress/--no-progress``."""
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N", help=jobs_help)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show progress bars (default: when stderr is a terminal)")
