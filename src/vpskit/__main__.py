"""``python -m vpskit``."""

from vpskit.cli import entry

if __name__ == "__main__":
    entry()
