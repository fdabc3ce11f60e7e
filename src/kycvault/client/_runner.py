"""What a resource needs of its client: the blocking and the asyncio one offer the same."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from kycvault.client._http import Call
from kycvault.client.downloads import Destination
from kycvault.client.models import Page
from kycvault.client.pagination import AsyncPaginator, Paginator
from kycvault.client.uploads import Progress

T = TypeVar("T")


class Runner(Protocol):
    def request(self, call: Call[T]) -> T: ...

    def download(
        self, call: Call[Any], destination: Destination, progress: Progress | None
    ) -> int: ...

    def paginate(self, call: Call[Page[T]]) -> Paginator[T]: ...


class AsyncRunner(Protocol):
    async def request(self, call: Call[T]) -> T: ...

    async def download(
        self, call: Call[Any], destination: Destination, progress: Progress | None
    ) -> int: ...

    def paginate(self, call: Call[Page[T]]) -> AsyncPaginator[T]: ...


class Resource:
    def __init__(self, runner: Runner) -> None:
        self._run = runner


class AsyncResource:
    def __init__(self, runner: AsyncRunner) -> None:
        self._run = runner
