"""The ``vpskit`` command line: argument parsing and error reporting; the work is in the API."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import VpsError

# Each module of this package named here defines ``register(subparsers)``; the parsers it
# adds set ``func`` to a callable taking the parsed arguments and returning an exit code.
COMMAND_MODULES = ("synth", "prepare", "evaluate", "submission", "convert", "perturb", "show", "report",
                   "compare", "demo")


class _Parser(argparse.ArgumentParser):
    """A parser whose usage errors are one line, with where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = _Parser(
        prog="vpskit",
        description="Prepare, verify and evaluate the Cityscapes-VPS video panoptic segmentation "
        "benchmark: build the dataset straight from the public downloads (folders or zips), check "
        "it, score predictions with VPQ and STQ, and see where they go wrong (show, report, "
        "compare). For training loops, see the Python module vpskit.data.",
        epilog="Run 'vpskit COMMAND --help' for the options of a command. "
        "Errors print one line and exit with code 2; add --debug for a traceback.",
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"vpskit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the per-video work on a Dask cluster (e.g. tcp://host:8786; needs "
                        "vpskit[dask] and the same paths on every worker) instead of local processes")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line, before or after the command.
    debug = "--debug" in argv or os.environ.get("VPSKIT_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    try:  # the parser imports the commands' modules: a Ctrl-C there is caught too
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        if args.scheduler:
            from ..parallel import use_scheduler

            use_scheduler(args.scheduler)
        return int(args.func(args) or 0)
    except VpsError as exc:
        if debug:
            raise
        print(f"vpskit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader of our output went away (``vpskit … | head``): stop quietly, as `cat` does
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        if debug:
            raise
        where = exc.filename if exc.filename is not None else "I/O"
        print(f"vpskit: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vpskit: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """Console-script entry point."""
    code = main()
    if code == 130:
        # Interrupted, and said so: a Ctrl-C still pending (blocked while workers started, or
        # sent again) must not kill the exiting interpreter, whose handlers are then the default
        # ones, and turn exit status 130 into death by SIGINT.
        import signal

        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)
