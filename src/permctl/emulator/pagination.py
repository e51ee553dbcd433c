"""Pagination, the two ways the APIs do it: an opaque NextToken / Marker, or PageNumber.

Tokens are keyset cursors (the key of the last item returned), not offsets, so that an
assignment created or deleted between two pages neither repeats nor hides another one.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from permctl.emulator.errors import invalid

T = TypeVar("T")

_TOKEN_PREFIX = "permctl-emulator:"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    next_token: str | None = None  # None: nothing follows
    # The cursor after the last item returned, even on the last page: what the documented
    # responses carry in NextToken alongside IsTruncated false.
    end_token: str | None = None

    @property
    def is_truncated(self) -> bool:
        return self.next_token is not None


def by_token(keyed: Iterable[tuple[str, T]], token: str | None, size: int, param: str) -> Page[T]:
    """Up to `size` items after the cursor `token`. `keyed` pairs each item with its cursor,
    a string that orders the listing."""
    ordered = sorted(keyed, key=_cursor)
    start = bisect_right(ordered, _decode(token, param), key=_cursor) if token else 0
    chunk = ordered[start : start + size]
    end = _encode(chunk[-1][0]) if chunk else token
    more = start + size < len(ordered)
    return Page([item for _, item in chunk], len(ordered), end if more else None, end)


def in_order(items: Iterable[T]) -> list[tuple[str, T]]:
    """Items keyed by their position: for listings that never change order."""
    return [(f"{index:09d}", item) for index, item in enumerate(items)]


def _cursor(pair: tuple[str, object]) -> str:
    return pair[0]


def by_number(items: Sequence[T], number: int, size: int) -> Page[T]:
    start = (number - 1) * size
    return Page(list(items[start : start + size]), len(items))


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode((_TOKEN_PREFIX + key).encode()).decode()


def _decode(token: str, param: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_TOKEN_PREFIX):
        raise invalid(param, f"The specified {param} is not valid.")
    return text[len(_TOKEN_PREFIX) :]
