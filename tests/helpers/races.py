"""Run one request from many real threads at once (each with its own database connection)."""

from __future__ import annotations

import threading

from django.db import connection
from django.test import Client

THREADS = 20


def race(request_once, threads: int = THREADS) -> list[tuple[int, str]]:
    """Run ``request_once(client)`` in ``threads`` threads released together; (status, error) of each."""
    responses = race_calls(lambda: request_once(Client()), threads)
    for outcome in responses:
        if isinstance(outcome, Exception):
            raise outcome
    return [(response.status_code, response.json().get("error", "")) for response in responses]


def race_calls(call, threads: int = THREADS) -> list[object]:
    """Run ``call()`` in ``threads`` threads released together; what each returned or raised."""
    barrier = threading.Barrier(threads)
    outcomes: list[object] = []
    lock = threading.Lock()

    def worker():
        try:
            barrier.wait()
            try:
                outcome = call()
            except Exception as exc:  # the outcome is what the test inspects
                outcome = exc
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return outcomes
