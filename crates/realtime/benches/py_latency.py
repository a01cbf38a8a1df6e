"""Commit→event latency through the official Python client (PyPI `realtime`, vsn 1.0.0).

Driven by the bench (benches/realtime.rs), which inserts the rows: this script subscribes to
INSERTs on TABLE, prints `ready` once the subscription is live, then takes for each event the
time since the row's `sent_us` (wall-clock microseconds the bench read just before the INSERT;
both processes read the same system clock) and, after ROWS events or IDLE_S seconds without
one, prints one JSON line: events, lost, reordered and p50/p95/p99 in milliseconds.

env: REALTIME_URL (ws://host:port/socket), TOKEN, TABLE, ROWS.
"""

import asyncio
import json
import os
import sys
import time

from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

IDLE_S = 10  # hang guard only, not a performance assertion


def pct(sorted_ms, p):
    return sorted_ms[round((len(sorted_ms) - 1) * p)] if sorted_ms else None


async def main() -> int:
    url, token, table = os.environ["REALTIME_URL"], os.environ["TOKEN"], os.environ["TABLE"]
    rows = int(os.environ["ROWS"])
    lat_ms, seqs = [], []

    def on_insert(payload):
        now_us = time.time_ns() // 1000
        record = payload["data"]["record"]
        lat_ms.append((now_us - record["sent_us"]) / 1000.0)
        seqs.append(record["seq"])

    states, live = [], asyncio.Event()

    def on_system(p):
        if p.extension == "postgres_changes" and p.status == "ok":
            live.set()

    client = AsyncRealtimeClient(url, token)
    channel = client.channel(f"pylat_{table}").on_postgres_changes(
        "INSERT", on_insert, table=table, schema="public"
    )
    channel.on_system(on_system)
    await channel.subscribe(lambda s, e: states.append((s, e)))
    await asyncio.wait_for(live.wait(), 20)
    if not states or states[-1][0] != RealtimeSubscribeStates.SUBSCRIBED:
        print(json.dumps({"error": f"not subscribed: {states}"}), flush=True)
        return 1
    print("ready", flush=True)

    seen, idle_since = 0, time.monotonic()
    while len(lat_ms) < rows and time.monotonic() - idle_since < IDLE_S:
        await asyncio.sleep(0.01)
        if len(lat_ms) != seen:
            seen, idle_since = len(lat_ms), time.monotonic()
    await client.close()

    reordered = sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
    s = sorted(lat_ms)
    print(
        json.dumps(
            {
                "events": len(s),
                "lost": rows - len(set(seqs)),
                "reordered": reordered,
                "p50": pct(s, 0.5),
                "p95": pct(s, 0.95),
                "p99": pct(s, 0.99),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
