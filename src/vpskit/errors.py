"""The one exception type for failures a user can act on."""

from __future__ import annotations


class VpsError(Exception):
    """A user-facing failure: names the file (or thing) and what is wrong with it.

    The command line prints ``str(error)`` as one line and exits with code 2.
    """

    def __init__(self, where: object, problem: str | None = None) -> None:
        message = str(where) if problem is None else f"{where}: {problem}"
        super().__init__(message)
        self.where = where
        self.problem = problem

    def __reduce__(self):  # keep the two-argument form across process boundaries
        return (type(self), (self.where, self.problem))


class VpsWarning(UserWarning):
    """Something a user should know about a result that is nonetheless computed as documented
    (e.g. a VPQ window longer than every video). The command line prints it as one line
    ``vpskit: warning: …`` on stderr."""
