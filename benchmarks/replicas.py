"""Reads per second through one primary versus primary plus a replica, and
what read-your-writes costs.

Usage::

    python benchmarks/replicas.py                   # 4 reader threads, 5 s per figure
    python benchmarks/replicas.py --threads 8 --seconds 10
    python benchmarks/replicas.py --smoke           # tiny, for the test suite

Starts a private primary and a streaming replica (``tests/pgserver``: initdb,
``pg_basebackup -R``; never the shared server), loads chats of 50 messages
for ``--users`` users, then measures:

1. Throughput: ``--threads`` threads reading the newest page (``messages.list``)
   of the users' chats for ``--seconds``, through ``Synergia(primary)`` and
   through ``Synergia(primary, replicas=[replica])``.
2. Per-read latency and client CPU in one thread: primary only, and routed
   to the replica (the same server-side work on the same machine: the
   difference is the routing, including its replay-position checks, one per
   0.25 s; CPU time leaves the waiting out, so it is steadier).
3. The routing decision alone (the per-user map lookup), with a full map.
4. Per-write latency: an append without and with replicas (the write's WAL
   position is read after the commit: one more round trip).

On one machine the replica shares the CPUs with the primary and the client,
so (1) shows the cost of routing more than any gain: see docs/scaling.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from synergia_core import ChatCreate, MessageCreate, Synergia, migrate  # noqa: E402
from synergia_core._replicas import ReplicaRouter  # noqa: E402
from tests.pgserver import private_replication_pair  # noqa: E402


def _per_call(function: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


def _cpu_per_call(function: Callable[[], object], calls: int) -> float:
    """Client CPU seconds per call (the waiting on servers left out: steadier
    than wall time on a loaded machine)."""
    started = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - started) / calls


def _throughput(
    sy: Synergia, chats: list[tuple[str, uuid.UUID]], threads: int, seconds: float
) -> float:
    """Reads per second of ``threads`` threads reading the newest page."""
    counts = [0] * threads
    stop = threading.Event()

    def reader(index: int) -> None:
        n = 0
        while not stop.is_set():
            user, chat = chats[(index + n) % len(chats)]
            sy.messages.list(chat, user_id=user)
            n += 1
        counts[index] = n

    workers = [threading.Thread(target=reader, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / seconds


def _compare(
    title: str,
    measure: Callable[[Callable[[], object], int], float],
    calls: tuple[Callable[[], object], Callable[[], object]],
    count: int,
    names: tuple[str, str],
    *,
    routing: bool = True,
) -> None:
    """Print the median of 3 interleaved rounds of ``measure`` for the
    single-server facade and the routed one, and (``routing``) the difference."""
    rounds = [(measure(calls[0], count), measure(calls[1], count)) for _ in range(3)]
    plain = statistics.median(r[0] for r in rounds)
    via = statistics.median(r[1] for r in rounds)
    print(f"## {title} (median of 3 rounds)")
    print(f"{names[0]:>20}: {plain * 1e6:8.1f} us")
    print(f"{names[1]:>20}: {via * 1e6:8.1f} us")
    if routing:
        print(f"{'routing':>20}: {(via - plain) * 1e6:+8.1f} us per call")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--calls", type=int, default=2000, help="reads timed one by one")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (for the tests)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.threads, args.seconds, args.users, args.calls = 2, 0.3, 3, 20

    with private_replication_pair() as (primary, replica):
        primary.create_database("bench")
        url, replica_url = primary.url("bench"), replica.url("bench")
        migrate(url)
        chats: list[tuple[str, uuid.UUID]] = []
        with Synergia(url) as loader:
            for index in range(args.users):
                user = f"user{index}"
                chat = loader.chats.create(ChatCreate(user_id=user)).id
                for turn in range(50):
                    role = "user" if turn % 2 == 0 else "assistant"
                    loader.messages.add(
                        chat, MessageCreate(role=role, content=f"message {turn}"), user_id=user
                    )
                chats.append((user, chat))
        primary.execute("ANALYZE", database="bench")
        replica.wait_for_replay(primary.current_lsn())

        single = Synergia(url, replicas=[])
        routed = Synergia(url, replicas=[replica_url])
        try:
            for sy in (single, routed):  # warm the pools and the caches
                _throughput(sy, chats, args.threads, min(args.seconds, 1.0))
            figures = {
                "primary only": _throughput(single, chats, args.threads, args.seconds),
                "primary + replica": _throughput(routed, chats, args.threads, args.seconds),
            }
            print(f"## reads/s, {args.threads} threads, newest page of 50 ({args.seconds:g} s)")
            for name, value in figures.items():
                print(f"{name:>20}: {value:8.0f} reads/s")
            ratio = figures["primary + replica"] / figures["primary only"]
            print(f"{'ratio':>20}: {ratio:8.2f}x")

            user, chat = chats[0]

            def read(sy: Synergia) -> Callable[[], object]:
                return lambda: sy.messages.list(chat, user_id=user)

            _compare(
                "one thread, per read",
                _per_call,
                (read(single), read(routed)),
                args.calls,
                ("primary only", "routed to replica"),
            )
            _compare(
                "one thread, client CPU per read",
                _cpu_per_call,
                (read(single), read(routed)),
                args.calls,
                ("primary only", "routed to replica"),
            )

            router = ReplicaRouter(routed.engine, [])
            with routed.engine.connect() as connection:
                router.note_write(connection, [f"writer{i}" for i in range(100_000)])
            lookup = _per_call(lambda: router.needed_lsn("writer5"), 100_000)
            print(f"{'map lookup':>20}: {lookup * 1e9:8.0f} ns (100 000 users tracked)")

            says = MessageCreate(role="user", content="hello")

            def append(sy: Synergia) -> Callable[[], object]:
                return lambda: sy.messages.add(chat, says, user_id=user)

            _compare(
                "one thread, per append (with replicas: + reading the WAL position)",
                _per_call,
                (append(single), append(routed)),
                args.calls // 4,
                ("primary only", "with replicas"),
                routing=False,
            )
        finally:
            single.close()
            routed.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
