"""Options shared by several commands."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator

from ..errors import VpsWarning


def add_jobs_and_progress(parser: argparse.ArgumentParser, jobs_help: str = "worker processes (default: all cores)") -> None:
    """``--jobs/-j N`` and ``--progress/--no-progress``."""
    parser.add_argument("--jobs", "-j", type=int, default=None, metavar="N", help=jobs_help)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show progress bars (default: when stderr is a terminal)")


def name_list(text: str) -> list[str]:
    """Display names from ``"A,B"``, one per prediction (none may be empty)."""
    names = [n.strip() for n in text.split(",")]
    if any(not n for n in names):
        raise argparse.ArgumentTypeError(f"expected comma-separated names, one per prediction, got {text!r}")
    return names


def add_bootstrap(parser: argparse.ArgumentParser) -> None:
    """``--reps N`` and ``--seed N`` of the paired bootstrap over videos that compares predictions."""
    parser.add_argument("--reps", type=int, default=1000, metavar="N",
                        help="bootstrap replicates, each a draw of the videos with replacement "
                        "(default: 1000; more gives steadier interval ends)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the bootstrap draws (default: 0; the same seed gives the same numbers)")


def add_videos_and_stq_void(parser: argparse.ArgumentParser,
                            videos_help: str = "score only these videos") -> None:
    """``--videos LIST`` (numbers and ranges) and ``--stq-void class|miss``, as ``eval`` has them."""
    from ..choices import DEFAULT_VOID_RULE, VOID_RULES
    from .evaluate import video_list

    parser.add_argument("--videos", type=video_list, metavar="LIST",
                        help=f"{videos_help}: comma-separated numbers and ranges, e.g. 1-20,35 (default: all)")
    parser.add_argument("--stq-void", choices=VOID_RULES, default=DEFAULT_VOID_RULE,
                        help="how STQ counts a labelled pixel predicted void: 'class' (default, as deeplab2 "
                        "and every published STQ) or 'miss' (see 'vpskit eval --help')")


def add_vipseg_conventions(p: argparse.ArgumentParser) -> None:
    """``--vpq-windows SET`` and ``--stq-gt-instances RULE`` (VIPSeg's choices of conventions)."""
    p.add_argument("--vpq-windows", metavar="SET", default=None,
                   help="VIPSeg: the VPQ windows, 'official' (default: runs of 1, 2, 4, 6 and 8 "
                   "consecutive frames, named k = 0, 5, 15, 25, 35, as eval_vpq_vspw.py) or 'paper' (1, 2, 4 "
                   "and 6 frames: the windows of the VIPSeg paper's numbers, as its authors state in "
                   "VIPSeg-Dataset issue #7); the final VPQ is the mean over the windows. KITTI-STEP has one set, "
                   "'paper' (1-4 frames)")
    p.add_argument("--stq-gt-instances", metavar="RULE", default=None,
                   help="VIPSeg only: how STQ numbers a video's ground-truth segments, 'from-0' (default, as "
                   "eval_stq_vspw.py and the published numbers: 0, 1, ... in JSON order, so a thing listed "
                   "first is a crowd region left out of AQ) or 'from-1' (every thing is a track)")


def add_benchmark(parser: argparse.ArgumentParser, what: str, kitti_step: str) -> None:
    """``--benchmark NAME`` (default: found from ``what``); ``kitti_step`` says what it means there."""
    from ..profiles import available_benchmarks

    parser.add_argument("--benchmark", choices=available_benchmarks(), default=None,
                        help=f"the benchmark of {what} (default: found from {what}: a folder holding "
                        f"panoptic_maps/, or a zip holding it at any depth, is kitti-step; one holding "
                        f"panomasksRGB/ is vipseg; else cityscapes-vps). kitti-step: {kitti_step}")


@contextlib.contextmanager
def warnings_printed() -> Iterator[None]:
    """Print each distinct :class:`~vpskit.errors.VpsWarning` issued in the block once, as one
    line ``vpskit: warning: …`` on stderr (other warnings as Python shows them)."""
    shown: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("always", VpsWarning)
        original = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202
            if not issubclass(category, VpsWarning):
                original(message, category, filename, lineno, file, line)
            elif str(message) not in shown:
                shown.add(str(message))
                print(f"vpskit: warning: {message}", file=sys.stderr)

        warnings.showwarning = show
        yield
