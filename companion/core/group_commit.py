"""Group commit: callers that arrive together share one transaction.

A busy clinic sends hundreds of chat messages a second and each must be stored before it is
acknowledged. A transaction per message spends most of its time beginning and committing;
here the first caller to find no writer at work becomes the writer: it yields once, so the
callers already runnable can queue their items, writes everything queued in one go, wakes
them, and hands the writer's role to the first caller still waiting. One caller at a time (a
quiet room, the tests) makes batches of one through the same code.

Works with threads and with gevent's greenlets (``threading`` is monkey-patched under gevent).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Ticket(Generic[Item, Result]):
    __slots__ = ("item", "result", "ready", "lead")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.result: Result | BaseException | None = None
        self.ready = threading.Event()
        self.lead = False  # woken to become the writer rather than with a result


class GroupCommit(Generic[Item, Result]):
    """``write(items)`` stores a batch in one transaction and returns, in order, each item's
    result or the exception to raise in its caller; it must leave no transaction open."""

    def __init__(self, write: Callable[[list[Item]], Sequence[Result | BaseException]]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._queue: list[_Ticket[Item, Result]] = []
        self._busy = False

    def submit(self, item: Item) -> Result:
        ticket: _Ticket[Item, Result] = _Ticket(item)
        with self._lock:
            self._queue.append(ticket)
            lead = not self._busy
            self._busy = True
        if not lead:
            ticket.ready.wait()
            lead = ticket.lead
        if lead:
            self._write_batch()
        if isinstance(ticket.result, BaseException):
            raise ticket.result
        return ticket.result  # type: ignore[return-value]

    def _write_batch(self) -> None:
        time.sleep(0)  # let callers that are ready to run join this batch
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            results = list(self._write([t.item for t in batch]))
        except Exception as error:  # the database went away, say: every caller hears it
            results = [error] * len(batch)
        for ticket, result in zip(batch, results, strict=True):
            ticket.result = result
            ticket.ready.set()
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.ready.set()
            else:
                self._busy = False
