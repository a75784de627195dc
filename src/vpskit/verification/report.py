"""What ``vpskit verify`` returns for every benchmark: :class:`VerifyReport` (the problems, one line
each, and a table of counts per split)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MAX_LISTED = 50
"""How many problems the command line lists before summarising the rest."""

COLUMNS = ("videos", "img", "img_all", "cls", "inst", "labelmap", "panoptic_inst",
           "panoptic_video", "segments", "problems")


@dataclass
class VerifyReport:
    """The result of :func:`verify`: ``ok``, the ``problems`` (one line each) and a summary table."""

    root: Path
    problems: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    columns: tuple[str, ...] = COLUMNS
    """The columns of :attr:`table` (the benchmark's)."""

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    @property
    def table(self) -> str:
        """Counts per split as a text table (``-`` where a folder does not apply)."""
        head = f"{'split':<6}" + "".join(f" {c:>{max(7, len(c))}}" for c in self.columns)
        rows = [head, "-" * len(head)]
        for split, counts in self.counts.items():
            rows.append(f"{split:<6}" + "".join(
                f" {counts.get(c, '-'):>{max(7, len(c))}}" for c in self.columns))
        return "\n".join(rows)

    def __str__(self) -> str:
        lines = [self.table]
        lines += self.problems[:MAX_LISTED]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"… and {len(self.problems) - MAX_LISTED} more problems")
        return "\n".join(lines)
