"""Playwright's sync API on a thread of its own, so Django never sees Playwright's event loop.

Between two calls, Playwright's sync API leaves its asyncio loop marked as running in the calling
thread (`wait_for_future` in playwright/_impl/_greenlets.py). Django then takes the test thread
for async code: ORM calls raise SynchronousOnlyOperation, and `django.db.connections`, an asgiref
`Local`, hands out a second set of connections. The second `default` connection lacks the test
database's serialized contents, so pytest-django's `serialized_rollback` silently restores
nothing and the role groups are gone after the first flush. DJANGO_ALLOW_ASYNC_UNSAFE only hides
the first symptom.

So one thread owns Playwright and runs every call on it; tests hold proxies that forward to it.
A proxy behaves like the Playwright object it wraps (`page.goto(...)`, `page.locator(...)`), and
`expect` here replaces `playwright.sync_api.expect`. Event handlers (`page.on(...)`) run on the
Playwright thread and receive plain Playwright objects.
"""

import functools
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import expect as _playwright_expect


class PlaywrightThread:
    """The one thread that drives Playwright: `call` runs a function there, proxying the result."""

    def __init__(self) -> None:
        # One worker, so every call runs on the same thread, as Playwright requires.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        args = tuple(_unwrap(arg) for arg in args)
        kwargs = {name: _unwrap(value) for name, value in kwargs.items()}
        return self.wrap(self._executor.submit(function, *args, **kwargs).result())

    def wrap(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.wrap(item) for item in value]
        if type(value).__module__.startswith("playwright."):
            return OnPlaywrightThread(value, self)
        return value

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


class OnPlaywrightThread:
    """A Playwright object whose attributes and methods are used on the Playwright thread."""

    __slots__ = ("_target", "_thread")

    def __init__(self, target: Any, thread: PlaywrightThread) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_thread", thread)

    def __getattr__(self, name: str) -> Any:
        value = self._thread.call(getattr, self._target, name)  # properties run there too
        if inspect.ismethod(value):
            return functools.partial(self._thread.call, value)
        return value

    def __repr__(self) -> str:
        return f"<{type(self._target).__name__} on the Playwright thread>"


def expect(actual: OnPlaywrightThread, message: str | None = None) -> Any:
    """`playwright.sync_api.expect`, for proxies: the assertions run on the Playwright thread."""
    return actual._thread.call(_playwright_expect, actual, message)


def _unwrap(value: Any) -> Any:
    return value._target if isinstance(value, OnPlaywrightThread) else value
