"""Lists that follow their cursors: iterating one yields every item of every page, fetching
each page when the one before is used up (nothing is fetched before the iteration starts)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from kycvault.client._http import Call
from kycvault.client.models import Page

T = TypeVar("T")


def _next(call: Call[Page[T]], page: Page[T]) -> Call[Page[T]] | None:
    """The call for the page after ``page``, None after the last one. (An event log's last
    page still has a cursor, to poll for later events: ``has_more`` is what ends a list.)"""
    if not page.has_more or not page.next_cursor:
        return None
    return call.with_cursor(page.next_cursor)


class Paginator(Generic[T]):
    def __init__(self, run: Callable[[Call[Page[T]]], Page[T]], first: Call[Page[T]]) -> None:
        self._run = run
        self._first = first

    def pages(self) -> Iterator[Page[T]]:
        call: Call[Page[T]] | None = self._first
        while call is not None:
            page = self._run(call)
            yield page
            call = _next(call, page)

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.data


class AsyncPaginator(Generic[T]):
    def __init__(
        self, run: Callable[[Call[Page[T]]], Awaitable[Page[T]]], first: Call[Page[T]]
    ) -> None:
        self._run = run
        self._first = first

    async def pages(self) -> AsyncIterator[Page[T]]:
        call: Call[Page[T]] | None = self._first
        while call is not None:
            page = await self._run(call)
            yield page
            call = _next(call, page)

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.data:
                yield item
