"""Errors that sparsernn raises for bad input.

Library code raises :class:`InputError` (a :class:`ValueError`) when a caller hands it
something it cannot use: an unknown cell, a malformed CSV row, a graph with a cycle.
The message is one line that names the problem and says what was expected; the CLI
prints it as is and exits with status 2. :class:`StorageError` is the same for the
results database and the files next to it: corrupt, read-only, or the disk full.
"""


class InputError(ValueError):
    """Bad input from a user: a config value, a data file, a CLI argument."""


class StorageError(InputError):
    """A results database that cannot be read or written: not ours, corrupt, read-only,
    or its disk full. Whatever was stored before is kept."""


def unreadable(name: str, exc: OSError | ValueError) -> InputError:
    """The one-line error for a file ``name`` that could not be opened or read.

    >>> str(unreadable("data.csv", FileNotFoundError()))
    'data.csv: no such file.'
    """
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{name}: no such file.")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{name}: is a directory, not a file.")
    return InputError(f"{name}: cannot be read ({getattr(exc, 'strerror', None) or exc}).")  # ValueError: a NUL
