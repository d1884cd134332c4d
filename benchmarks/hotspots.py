"""Where the time of one workload goes: cProfile of the library beside the floor.

Usage::

    python benchmarks/hotspots.py --backend sqlite --workload newest
    python benchmarks/hotspots.py --backend postgresql --workload append --calls 3000 --top 25
    python benchmarks/hotspots.py --backend sqlite --workload priced   # a reply under a budget

Sets up a scratch database as ``run.py`` does (a chat of ``--size`` messages,
``ANALYZE``d), warms up, then profiles ``--calls`` operations of the library
and, for scale, of the floor. Prints the wall time and the client CPU time
per operation of both (CPU time leaves out the waiting on the server, so it
shows the library's own cost even on a loaded machine), then the library's
top functions by own time (``tottime``) and by cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import SMOKE, USER, Backend, _read_all, load_chats
from synergia_core import AsyncSynergia, ChatCreate, MessageCreate, ModelCreate, Usage

WORKLOADS = ("append", "priced", "newest", "thread", "all", "chats", "async-append", "async-newest")


def _timed(function: Callable[[], object], calls: int) -> tuple[float, float]:
    """Wall and CPU seconds per call (CPU: this process's, all threads; the
    time spent waiting on a database server is not in it)."""
    cpu, started = time.process_time(), time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls, (time.process_time() - cpu) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workload", choices=WORKLOADS, default="newest")
    parser.add_argument("--size", type=int, default=10_000, help="messages of the chat read")
    parser.add_argument("--calls", type=int, default=2000, help="operations profiled")
    parser.add_argument("--top", type=int, default=20, help="functions listed")
    parser.add_argument("--limit", type=int, default=50, help="page size of newest and thread")
    args = parser.parse_args(argv)

    backend = Backend(args.backend, SMOKE)
    loop = asyncio.new_event_loop()
    try:
        sy, floor = backend.sy, backend.floor
        chat = backend.new_chat(args.size)
        if args.workload == "chats":
            load_chats(backend.loader, 5000)
        backend.analyze()
        says = MessageCreate(role="user", content="How long does the Colosseum tour take?")
        lib_chat, floor_chat = backend.new_chat(), backend.new_chat()
        asy = AsyncSynergia(backend.url)
        async_chat = loop.run_until_complete(asy.chats.create(ChatCreate(user_id=USER))).id

        def run_async(call: Callable[[], object]) -> Callable[[], object]:
            async def many() -> None:
                for _ in range(args.calls):
                    await call()  # type: ignore[misc]

            return lambda: loop.run_until_complete(many())

        # "priced": a reply with usage by a user with a monthly budget.
        model = sy.models.upsert(
            ModelCreate.model_validate(
                {"provider": "bench", "name": "priced", "price_per_million_tokens": "2.5"}
            )
        )
        sy.budgets.set(USER, "1000000", period="month")
        tokens = (120, 80)
        reply = MessageCreate(
            role="assistant",
            content="About an hour.",
            model_id=model.id,
            usage=Usage(input_tokens=tokens[0], output_tokens=tokens[1]),
        )
        sy.messages.add(lib_chat, reply, user_id=USER)  # makes the month's spend row

        pairs: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "append": (
                lambda: sy.messages.add(lib_chat, says, user_id=USER),
                lambda: floor.append(floor_chat, USER, says.content or ""),
            ),
            "priced": (
                lambda: sy.messages.add(lib_chat, reply, user_id=USER),
                lambda: floor.priced_append(floor_chat, USER, "About an hour.", model.id, tokens),
            ),
            "newest": (
                lambda: sy.messages.list(chat, user_id=USER, limit=args.limit),
                lambda: floor.tail(chat, USER, args.limit),
            ),
            "thread": (
                lambda: sy.messages.thread(chat, user_id=USER, limit=args.limit),
                lambda: floor.thread(chat, USER, args.limit),
            ),
            "all": (lambda: _read_all(sy, chat), lambda: floor.full(chat, USER)),
            "chats": (
                lambda: sy.chats.list(user_id="lister", limit=20),
                lambda: floor.chats("lister", 21, None),
            ),
            "async-append": (
                lambda: asy.messages.add(async_chat, says, user_id=USER),
                lambda: sy.messages.add(lib_chat, says, user_id=USER),
            ),
            "async-newest": (
                lambda: asy.messages.list(chat, user_id=USER, limit=50),
                lambda: sy.messages.list(chat, user_id=USER, limit=50),
            ),
        }
        library, floor_call = pairs[args.workload]
        calls = args.calls if args.workload != "all" else max(1, args.calls // 100)
        if args.workload.startswith("async-"):
            batch = run_async(library)
            batch()  # warm-up
            library_s, library_cpu = _timed(batch, 1)
            library_s, library_cpu = library_s / args.calls, library_cpu / args.calls
            floor_s, floor_cpu = _timed(floor_call, args.calls)
            profiled: Callable[[], object] = batch
            against = "the sync facade"
        else:
            for function in (library, floor_call):
                _timed(function, min(calls, 50))
            library_s, library_cpu = _timed(library, calls)
            floor_s, floor_cpu = _timed(floor_call, calls)

            def profiled() -> None:
                for _ in range(calls):
                    library()

            against = "the floor"
        print(
            f"# {args.backend} {args.workload}: library {library_s * 1e6:.0f} us/op, "
            f"{against} {floor_s * 1e6:.0f} us/op ({library_s / floor_s:.2f}x); client CPU "
            f"{library_cpu * 1e6:.0f} us/op against {floor_cpu * 1e6:.0f} us/op; "
            f"profile of {calls if not args.workload.startswith('async-') else args.calls} "
            "library calls"
        )
        profile = cProfile.Profile()
        profile.runcall(profiled)
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            stats.sort_stats(order).print_stats(args.top)
            text = out.getvalue()
            print(f"## by {order}")
            print(text[text.index("   ncalls") :].rstrip())
        loop.run_until_complete(asy.close())
    finally:
        loop.close()
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
