"""Errors that sparsernn raises for bad input.

Library code raises :class:`InputError` (a :class:`ValueError`) when a caller hands it
something it cannot use: an unknown cell, a malformed CSV row, a graph with a cycle.
The message is one line that names the problem and says what was expected; the CLI
prints it as is and exits with status 2.
"""


class InputError(ValueError):
    """Bad input from a user: a config value, a data file, a CLI argument."""
