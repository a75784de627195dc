"""What an evaluation tells its user besides the numbers: VPQ windows no video is long enough
to hold.

Such a window has no tube anywhere, so its VPQ is 0 and it still counts in the final mean over
the windows (docs/specification.md, section 10; VIPSeg's official ``eval_vpq_vspw.py`` divides
by zero there instead). The numbers are left as they are; the user is told, as a
:class:`~vpskit.errors.VpsWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

from ..errors import VpsWarning
from ..text import plural


def _listed(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def short_windows(window_frames: Sequence[int], spans: Sequence[int], lengths: Iterable[int],
                  frame: str = "frame") -> str | None:
    """The warning about the windows of ``window_frames`` consecutive frames (named ``spans``)
    longer than every video of ``lengths`` (each video's number of ``frame``: ``"annotated
    frame"`` where windows count those only), or None when a video holds every window (or there
    is no video)."""
    lengths = list(lengths)
    if not lengths:
        return None
    longest = max(lengths)
    short = [(n, k) for n, k in zip(window_frames, spans, strict=True) if n > longest]
    if not short:
        return None
    sizes = _listed([f"{n}-" for n, _ in short[:-1]] + [f"{short[-1][0]}-frame"])
    names = _listed([str(k) for _, k in short])
    if len(short) == 1:
        what = f"the {sizes} window's VPQ (k = {names}) counts"
    else:
        what = f"the {sizes} windows' VPQ (k = {names}) each count"
    return (f"no video has {plural(short[0][0], frame)}: {what} as 0 in the mean "
            f"(longest video: {plural(longest, frame)})")


def warn_short_windows(window_frames: Sequence[int], spans: Sequence[int], lengths: Iterable[int],
                       frame: str = "frame") -> None:
    """Issue :func:`short_windows`' text, if any, as a :class:`~vpskit.errors.VpsWarning`."""
    text = short_windows(window_frames, spans, lengths, frame)
    if text is not None:
        warnings.warn(text, VpsWarning, stacklevel=3)
