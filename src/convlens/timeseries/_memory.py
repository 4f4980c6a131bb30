"""The memory guard of the time-series functions: refuse up front, naming the function the user called."""

from __future__ import annotations

from .._validation import InsufficientMemoryError, available_memory

# Below this a request cannot exhaust any machine's memory: skip reading /proc.
_SMALL = 256 << 20


def refuse_if_too_big(func: str, what: str, nbytes: int) -> None:
    """Raise InsufficientMemoryError if ``nbytes`` of working memory would not fit."""
    if nbytes < _SMALL:
        return
    limit = available_memory()
    if nbytes > limit:
        raise InsufficientMemoryError(
            f"{func}({what}) would need about {nbytes / 2**30:.3g} GiB of working memory, but only "
            f"{limit / 2**30:.3g} GiB is available; ask for less ({what} is the size that sets it)"
        )
