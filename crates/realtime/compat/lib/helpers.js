// Shared plumbing for the compatibility suite: tokens, SQL, waiting, client factories.
import { createHmac, createPrivateKey, randomUUID, sign } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import pg from 'pg'
import WebSocket from 'ws'

const require = createRequire(import.meta.url)

export const PORT = process.env.REALTIME_PORT
export const SECRET = process.env.JWT_SECRET
export const DATABASE_URL = process.env.DATABASE_URL
if (!PORT || !SECRET || !DATABASE_URL) {
  throw new Error('REALTIME_PORT, JWT_SECRET and DATABASE_URL must be set (scripts/test-realtime.sh sets them)')
}
export const SOCKET_URL = `ws://127.0.0.1:${PORT}/socket`
export const HTTP_URL = `http://127.0.0.1:${PORT}`

/** The two realtime-js builds under test: the last one declaring Node 20 support, and the latest. */
export const VARIANTS = [
  { name: 'realtime-js@2.109.0 (node 20)', mod: require('realtime-js-node20') },
  { name: 'realtime-js@2.119.1 (latest)', mod: require('realtime-js-latest') },
]
export const VSNS = ['1.0.0', '2.0.0']

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** Signs an HS256 JWT with the engine's secret. */
export function jwt(claims, secret = SECRET) {
  const head = b64({ alg: 'HS256', typ: 'JWT' })
  const body = b64(claims)
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')
  return `${head}.${body}.${sig}`
}

/**
 * An ES256 token for `role` (kid `compat-es256`), signed with the throwaway key that
 * scripts/test-realtime.sh generates and hands the engine as its API_JWT_JWKS; null without it.
 */
export function es256Token(role) {
  const file = process.env.ES256_JWK_FILE
  if (!file) return null
  const key = createPrivateKey({ key: JSON.parse(readFileSync(file, 'utf8')), format: 'jwk' })
  const head = b64({ alg: 'ES256', typ: 'JWT', kid: 'compat-es256' })
  const body = b64({ role, exp: Math.floor(Date.now() / 1000) + 3600, sub: `user-${role}` })
  const sig = sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' })
  return `${head}.${body}.${sig.toString('base64url')}`
}

/** A token for `role` valid for an hour. */
export const token = (role) => jwt({ role, exp: Math.floor(Date.now() / 1000) + 3600, sub: `user-${role}` })
/** An expired token. */
export const expiredToken = (role) => jwt({ role, exp: Math.floor(Date.now() / 1000) - 60 })

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 })
/** Runs SQL as the superuser. */
export const sql = (text, params) => pool.query(text, params)
/** Closes the SQL pool. */
export const closeSql = () => pool.end()

/** A unique, filter-safe tag. */
export const uniq = (prefix) => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`

/** Waits until `cond()` is truthy; the limit only guards against a hung run. */
export async function until(cond, what, guardMs = 20000) {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > guardMs) throw new Error(`hang guard: still waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A RealtimeClient of `variant` speaking `vsn` with `apikey`. */
export function makeClient(variant, vsn, apikey, extra = {}) {
  const { RealtimeClient } = variant.mod
  return new RealtimeClient(SOCKET_URL, {
    params: { apikey },
    transport: WebSocket,
    vsn,
    heartbeatIntervalMs: 5000,
    ...extra,
  })
}

/**
 * Subscribes `channel` and resolves once it is SUBSCRIBED and, when it has postgres_changes
 * bindings, the server said "Subscribed to PostgreSQL".
 */
export function subscribe(channel, { postgres = false } = {}) {
  return new Promise((resolve, reject) => {
    let subscribed = false
    let pgReady = !postgres
    const done = () => subscribed && pgReady && resolve(channel)
    if (postgres) {
      channel.on('system', {}, (p) => {
        if (p.extension === 'postgres_changes' && p.status === 'ok') {
          pgReady = true
          done()
        } else if (p.status === 'error') {
          reject(new Error(`system error: ${p.message}`))
        }
      })
    }
    channel.subscribe((status, err) => {
      if (status === 'SUBSCRIBED') {
        subscribed = true
        done()
      } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
        reject(new Error(`${status}: ${err?.message ?? ''}`))
      }
    })
  })
}

/** Creates the compat tables once (idempotent). */
export async function ensureSchema() {
  await sql(`
    create table if not exists compat_items (id bigserial primary key, tag text not null, n int);
    alter table compat_items replica identity full;
    create table if not exists compat_notes (id bigserial primary key, tag text, public bool not null);
    alter table compat_notes enable row level security;
    drop policy if exists compat_anon on compat_notes;
    create policy compat_anon on compat_notes for select to anon using (public);
    drop policy if exists compat_auth on compat_notes;
    create policy compat_auth on compat_notes for select to authenticated using (true);
    grant select on compat_items, compat_notes to anon, authenticated, service_role;
    drop policy if exists compat_private_read on realtime.messages;
    create policy compat_private_read on realtime.messages for select to authenticated
      using (realtime.topic() like 'private_%');
    drop policy if exists compat_private_write on realtime.messages;
    create policy compat_private_write on realtime.messages for insert to authenticated
      with check (realtime.topic() like 'private_%');
    do $$ begin
      if not exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime' and tablename = 'compat_items') then
        alter publication supabase_realtime add table compat_items, compat_notes;
      end if;
    end $$;
  `)
}

/**
 * Stops a client for good: channels first (a channel that errored keeps a rejoin timer that
 * would reconnect the socket), then the socket.
 */
export async function shutdown(client) {
  const removal = client.removeAllChannels().catch(() => {})
  await Promise.race([removal, new Promise((r) => setTimeout(r, 1000))])
  client.disconnect()
}
