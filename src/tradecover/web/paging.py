"""The portal's lists by page: where the previous and next pages start."""

from __future__ import annotations


def pager(offset: int, total: int, size: int) -> dict[str, int | None]:
    """The page at ``offset`` of ``total`` items, ``size`` a page: ``previous`` and ``next`` are None at either end."""
    return {
        "offset": offset,
        "total": total,
        "previous": max(offset - size, 0) if offset > 0 else None,
        "next": offset + size if offset + size < total else None,
    }
