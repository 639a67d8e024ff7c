"""Work the simulator does later and outside any request: outcomes that come
due (autopay, timeouts, error triggers) and callbacks to the merchant.

One daemon thread per process keeps a queue ordered by due time and hands due
jobs to a small pool, so a thousand waiting requests cost no thousand threads.
Callbacks go to a pool of their own, larger: each waits for the merchant's
answer, and Swish does not hold one merchant's callbacks behind its answers
to others.
State lives in the database: a job lost with its process only delays what the
next read of the request does anyway (see services.advance_payment).
"""

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

logger = logging.getLogger(__name__)


class Scheduler:
    # Swish calls back in parallel at whatever pace payments settle; four
    # workers kept the simulator's callbacks about 3 s behind a release of
    # 25 approvals a second (bench/README.md, "release"), a delay production
    # Swish does not add. Sixteen still held them 12 s behind a busy shop's
    # answers on a slow machine, so callbacks have their own, larger pool
    # (``callback_workers``): a callback's thread only waits on a socket.
    def __init__(self, workers: int = 16, callback_workers: int = 128) -> None:
        self._queue: list[tuple[float, int, Callable, tuple, bool]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._running = 0
        self._workers = workers
        self._callback_workers = callback_workers
        self._pool: ThreadPoolExecutor | None = None
        self._callback_pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, fn: Callable, *args, callback=False) -> None:
        """Run ``fn(*args)`` in the background after ``delay`` seconds (on
        the callbacks' pool if ``callback``)."""
        with self._cv:
            if self._thread is None or not self._thread.is_alive():
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="swish-sim"
                )
                self._callback_pool = ThreadPoolExecutor(
                    max_workers=self._callback_workers,
                    thread_name_prefix="swish-sim-callback",
                )
                self._thread = threading.Thread(
                    target=self._loop, name="swish-sim-scheduler", daemon=True
                )
                self._thread.start()
            due = time.monotonic() + max(0.0, delay)
            heapq.heappush(self._queue, (due, next(self._seq), fn, args, callback))
            self._cv.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._queue or self._queue[0][0] > time.monotonic():
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cv.wait(timeout=wait)
                _, _, fn, args, callback = heapq.heappop(self._queue)
                self._running += 1
                pool = self._callback_pool if callback else self._pool
            pool.submit(self._run, fn, args)

    def _run(self, fn: Callable, args: tuple) -> None:
        try:
            fn(*args)
        except Exception:
            logger.exception("simulator job %s failed", getattr(fn, "__name__", fn))
        finally:
            # Pool threads outlive the job: give their connections back.
            connections.close_all()
            with self._cv:
                self._running -= 1
                self._cv.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no job is running or due now (tests use this)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._running or (
                self._queue and self._queue[0][0] <= time.monotonic()
            ):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(timeout=min(left, 0.05))
        return True

    def clear(self) -> None:
        """Forget jobs not yet due (tests use this between tests)."""
        with self._cv:
            self._queue.clear()


scheduler = Scheduler()
