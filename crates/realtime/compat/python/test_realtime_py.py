"""Compatibility suite: the official Python clients (`realtime`, `supabase` from PyPI) against
supalove-realtime. realtime-py speaks only vsn 1.0.0, so that is the serializer covered here.

Run by scripts/test-realtime.sh, which provides a throwaway Postgres and the engine binary:
ENGINE, PG_PORT, JWT_SECRET. The suite starts its own engine (so it can restart it) and checks
joins, exact postgres_changes payloads, filters and select, RLS for anon vs service_role,
broadcast self/ack, presence through the client's own helpers, private channels, token refresh,
and a server restart with the client's reconnect and rejoin.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import traceback
import uuid

import psycopg
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates
from supabase import acreate_client

ENGINE = os.environ["ENGINE"]
PG_PORT = os.environ["PG_PORT"]
SECRET = os.environ["JWT_SECRET"]
DSN = f"host=127.0.0.1 port={PG_PORT} user=postgres dbname=postgres"
GUARD_S = 20  # hang guard only, not a performance assertion


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(claims: dict) -> str:
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def token(role: str, ttl: int = 3600) -> str:
    return jwt({"role": role, "exp": int(time.time()) + ttl, "sub": f"user-{role}"})


def sql(query: str, params=None) -> None:
    with psycopg.connect(DSN, autocommit=True) as c:
        c.execute(query, params)


def uniq(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Engine:
    """The engine binary as a child process on a fixed port (kept across restarts)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = None

    def start(self) -> None:
        env = dict(
            os.environ,
            PORT=str(self.port),
            DB_HOST="127.0.0.1",
            DB_PORT=PG_PORT,
            DB_NAME="postgres",
            DB_USER="postgres",
            DB_PASSWORD="unused",
            JWT_SECRET=SECRET,
            REPLICATION_MODE="RLS",
            SECURE_CHANNELS="true",
            SLOT_NAME="python_compat_slot",
            TEMPORARY_SLOT="true",
            LOG_LEVEL=os.environ.get("LOG_LEVEL", "warn"),
        )
        self.proc = subprocess.Popen([ENGINE], env=env)
        deadline = time.time() + GUARD_S
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("engine did not listen")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


ENGINE_PROC = Engine()


async def until(cond, what: str) -> None:
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > GUARD_S:
            raise AssertionError(f"hang guard: still waiting for {what}")
        await asyncio.sleep(0.01)


async def subscribed(channel, postgres: bool = False):
    """Subscribes and waits for SUBSCRIBED (and "Subscribed to PostgreSQL" when asked)."""
    states = []
    ready = {"pg": not postgres}

    def on_system(p):
        if p.extension == "postgres_changes" and p.status == "ok":
            ready["pg"] = True

    channel.on_system(on_system)
    await channel.subscribe(lambda s, e: states.append((s, e)))
    await until(lambda: states and ready["pg"], f"{channel.topic} subscribed")
    assert states[-1][0] == RealtimeSubscribeStates.SUBSCRIBED, states
    return channel


def client(role: str = "service_role", **kw) -> AsyncRealtimeClient:
    return AsyncRealtimeClient(ENGINE_PROC.url, token(role), **kw)


def table(name: str, rls: bool = False) -> None:
    sql(
        f"create table {name} (id bigserial primary key, body text, n int, public bool not null default true);"
        f"alter publication supabase_realtime add table {name};"
        + (
            f"alter table {name} enable row level security;"
            f"create policy anon_public on {name} for select to anon using (public);"
            f"create policy auth_all on {name} for select to authenticated using (true);"
            if rls
            else ""
        )
    )


# --- tests ---------------------------------------------------------------------------------


async def test_postgres_changes_exact_payloads():
    t = uniq("py_pc")
    table(t)
    c = client()
    got = []
    ch = c.channel(t).on_postgres_changes("*", got.append, table=t, schema="public")
    await subscribed(ch, postgres=True)
    sql(f"insert into {t} (body, n) values ('hello', 5)")
    sql(f"update {t} set n = 6")
    sql(f"delete from {t}")
    await until(lambda: len(got) == 3, "three changes")
    ins, upd, dele = (g["data"] for g in got)
    assert ins["schema"] == "public" and ins["table"] == t and ins["type"] == "INSERT"
    assert ins["record"] == {"id": 1, "body": "hello", "n": 5, "public": True}, ins
    assert ins["errors"] is None
    assert ins["columns"] == [
        {"name": "id", "type": "int8"},
        {"name": "body", "type": "text"},
        {"name": "n", "type": "int4"},
        {"name": "public", "type": "bool"},
    ], ins["columns"]
    ts = ins["commit_timestamp"]
    assert len(ts) == 24 and ts.endswith("Z") and ts[10] == "T", ts
    assert "old_record" not in ins
    assert upd["type"] == "UPDATE" and upd["record"]["n"] == 6
    assert upd["old_record"] == {"id": 1}
    assert dele["type"] == "DELETE" and dele["old_record"] == {"id": 1}
    assert "record" not in dele
    assert all(isinstance(g["ids"], list) and len(g["ids"]) == 1 for g in got)
    await c.close()


async def test_filters_and_select():
    t = uniq("py_f")
    table(t)
    c = client()
    liked, both, selected = [], [], []
    ch = (
        c.channel(t)
        .on_postgres_changes("INSERT", liked.append, table=t, filter="body=ilike.HEL%")
        .on_postgres_changes("INSERT", both.append, table=t, filter="n=gt.1,body=not.is.null")
        .on_postgres_changes("INSERT", selected.append, table=t, select=["n"])
    )
    await subscribed(ch, postgres=True)
    sql(f"insert into {t} (body, n) values ('Hello', 1), ('x', 2), (null, 3)")
    await until(lambda: len(selected) == 3, "three selected inserts")
    await until(lambda: len(liked) == 1 and len(both) == 1, "filtered inserts")
    assert liked[0]["data"]["record"]["body"] == "Hello"
    assert both[0]["data"]["record"]["body"] == "x"
    assert [s["data"]["record"] for s in selected] == [
        {"id": 1, "n": 1},
        {"id": 2, "n": 2},
        {"id": 3, "n": 3},
    ]
    assert selected[0]["data"]["columns"] == [
        {"name": "id", "type": "int8"},
        {"name": "n", "type": "int4"},
    ]
    await c.close()


async def test_bad_filter_gets_the_official_error():
    t = uniq("py_bad")
    table(t)
    c = client()
    states = []
    ch = c.channel(t).on_postgres_changes("*", lambda p: None, table=t, filter="n=foo.1")
    await ch.subscribe(lambda s, e: states.append((s, e)))
    # The client turns the `system` error push into CHANNEL_ERROR with the payload as JSON.
    await until(
        lambda: any(s == RealtimeSubscribeStates.CHANNEL_ERROR for s, _ in states), "error"
    )
    err = next(e for s, e in states if s == RealtimeSubscribeStates.CHANNEL_ERROR)
    payload = json.loads(str(err))
    assert payload["extension"] == "postgres_changes" and payload["status"] == "error"
    assert payload["message"] == 'Error parsing `filter` params: ["foo", "1"]', payload
    assert payload["channel"] == t
    await c.close()


async def test_rls_anon_vs_service_role():
    t = uniq("py_rls")
    table(t, rls=True)
    anon, service = client("anon"), client("service_role")
    seen_anon, seen_service = [], []
    await subscribed(
        anon.channel(t).on_postgres_changes("INSERT", seen_anon.append, table=t), postgres=True
    )
    await subscribed(
        service.channel(t).on_postgres_changes("INSERT", seen_service.append, table=t),
        postgres=True,
    )
    sql(f"insert into {t} (body, public) values ('secret', false), ('open', true)")
    await until(lambda: len(seen_service) == 2, "service_role sees both")
    await until(lambda: len(seen_anon) == 1, "anon sees the public row")
    assert seen_anon[0]["data"]["record"]["body"] == "open"
    await anon.close()
    await service.close()


async def test_broadcast_self_and_ack():
    c = client("anon")
    got, acks = [], []
    topic = uniq("py_bc")
    ch = c.channel(topic, {"config": {"broadcast": {"ack": True, "self": True}, "private": False}})
    ch.on_broadcast("ping", got.append)
    await subscribed(ch)
    push = await ch.push("broadcast", {"type": "broadcast", "event": "ping", "payload": {"n": 1}})
    push.receive("ok", acks.append)
    await until(lambda: got and acks, "own broadcast and its ack")
    assert got[0]["event"] == "ping" and got[0]["payload"] == {"n": 1}, got
    # Another client without self sees it too; the sender without self does not.
    other = client("anon")
    seen = []
    await subscribed(other.channel(topic).on_broadcast("ping", seen.append))
    await ch.send_broadcast("ping", {"n": 2})
    await until(lambda: seen, "broadcast at the other client")
    assert seen[0]["payload"] == {"n": 2}
    await c.close()
    await other.close()


async def test_presence_with_the_client_helpers():
    topic = uniq("py_pr")
    a, b = client("anon"), client("anon")
    ca = a.channel(topic, {"config": {"presence": {"key": "alice", "enabled": True}}})
    cb = b.channel(topic, {"config": {"presence": {"key": "bob", "enabled": True}}})
    joins, leaves = [], []
    cb.on_presence_join(lambda key, cur, new: joins.append(key))
    cb.on_presence_leave(lambda key, cur, left: leaves.append(key))
    await subscribed(ca)
    await subscribed(cb)
    await ca.track({"status": "online"})
    await cb.track({"status": "away"})
    await until(lambda: set(cb.presence_state()) == {"alice", "bob"}, "both in bob's state")
    await until(lambda: set(ca.presence_state()) == {"alice", "bob"}, "both in alice's state")
    assert cb.presence_state()["alice"][0]["status"] == "online"
    assert "alice" in joins
    await ca.untrack()
    await until(lambda: "alice" not in cb.presence_state(), "alice gone")
    assert "alice" in leaves
    await a.close()
    await b.close()


async def test_private_channels():
    topic = uniq("py_priv")
    sql(
        f"create policy {topic} on realtime.messages for select to authenticated "
        f"using (realtime.topic() = '{topic}')"
    )
    anon, user = client("anon"), client("authenticated")
    private = {"config": {"private": True, "broadcast": {"self": True}}}
    refused = []
    await anon.channel(topic, private).subscribe(
        lambda s, e: refused.append((s, e))
    )
    await until(lambda: refused, "anon join answered")
    assert refused[-1][0] == RealtimeSubscribeStates.CHANNEL_ERROR, refused
    assert "Unauthorized" in str(refused[-1][1]), refused
    await subscribed(user.channel(topic, private))
    await anon.close()
    await user.close()


async def test_token_refresh():
    t = uniq("py_tok")
    table(t, rls=True)
    c = client("anon")
    got = []
    await subscribed(
        c.channel(t).on_postgres_changes("INSERT", got.append, table=t), postgres=True
    )
    sql(f"insert into {t} (body, public) values ('hidden', false)")
    sql(f"insert into {t} (body, public) values ('marker', true)")
    await until(lambda: got, "marker as anon")
    assert [g["data"]["record"]["body"] for g in got] == ["marker"]
    await c.set_auth(token("authenticated"))
    # The refresh has no reply: a private row shows up once the new claims are in use.
    for i in range(200):
        sql(f"insert into {t} (body, public) values ('after-{i}', false)")
        await asyncio.sleep(0.05)
        if any(g["data"]["record"]["body"].startswith("after-") for g in got):
            break
    assert any(g["data"]["record"]["body"].startswith("after-") for g in got), got
    await c.close()


async def test_supabase_py_client():
    t = uniq("py_sb")
    table(t)
    sb = await acreate_client(ENGINE_PROC.http, token("service_role"))
    got = []
    ch = sb.channel(t).on_postgres_changes("INSERT", got.append, table=t)
    await subscribed(ch, postgres=True)
    sql(f"insert into {t} (body) values ('via supabase-py')")
    await until(lambda: got, "change through supabase-py")
    assert got[0]["data"]["record"]["body"] == "via supabase-py"
    await sb.remove_all_channels()


async def test_server_restart_reconnects_and_rejoins():
    t = uniq("py_rs")
    table(t)
    c = client(initial_backoff=0.2, max_retries=20)
    got = []
    ch = c.channel(t).on_postgres_changes("INSERT", got.append, table=t)
    await subscribed(ch, postgres=True)
    ENGINE_PROC.stop()
    ENGINE_PROC.start()
    # The client reconnects and rejoins by itself; the rejoin re-subscribes the bindings.
    for i in range(400):
        sql(f"insert into {t} (body) values ('after-restart-{i}')")
        await asyncio.sleep(0.05)
        if got:
            break
    assert got and got[0]["data"]["record"]["body"].startswith("after-restart-"), got
    assert ch.is_joined
    await c.close()


async def main() -> int:
    ENGINE_PROC.start()
    tests = [v for k, v in globals().items() if k.startswith("test_")]
    failed = 0
    try:
        for t in tests:
            start = time.monotonic()
            try:
                await asyncio.wait_for(t(), 60)
                print(f"ok   {t.__name__} ({time.monotonic() - start:.1f} s)")
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}")
                traceback.print_exc()
    finally:
        ENGINE_PROC.stop()
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
