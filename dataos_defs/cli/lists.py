"""Lists given on the command line: repeated options and comma-separated values alike.

DataOS users write ``--tags roles:id:a,roles:id:b``; stored as one tag, that text would
match no policy. Every list option goes through :func:`split_commas`, so no value that
reaches the server holds a comma (a tag or a name cannot contain one).
"""

from __future__ import annotations


def split_commas(values: list[str] | None) -> list[str] | None:
    """Each value split at its commas, blanks around the parts and empty parts dropped:
    ``["a,b", " c "]`` → ``["a", "b", "c"]``."""
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


LIST_HELP = "repeatable, or several at once separated by commas"
