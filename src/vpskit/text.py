"""Small helpers for the words vpskit prints."""

from __future__ import annotations


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 video"``, ``"2 videos"``: ``n`` and the word in the number that fits it."""
    return f"{n} {word if n == 1 else (words or word + 's')}"
