// The plain `phoenix` npm client (Phoenix's own JS client, not Supabase's) against the engine:
// joins, broadcast with self and ack, presence through phoenix's Presence helper, postgres
// changes, for vsn 2.0.0 (its built-in serializer) and vsn 1.0.0 (the client's documented
// encode/decode hooks with plain JSON objects, as Phoenix's V1 serializer speaks).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import { Presence, Socket } from 'phoenix'
import { SOCKET_URL, closeSql, ensureSchema, sql, token, uniq, until } from '../lib/helpers.js'

before(ensureSchema)
after(closeSql)

const V1 = {
  vsn: '1.0.0',
  encode: (msg, cb) => cb(JSON.stringify(msg)),
  decode: (raw, cb) => cb(JSON.parse(raw)),
}
const SERIALIZERS = [
  { name: 'vsn 2.0.0 (built-in)', opts: { vsn: '2.0.0' } },
  { name: 'vsn 1.0.0 (encode/decode hooks)', opts: V1 },
]

/** Joins and resolves with the join reply's response. */
function join(channel) {
  return new Promise((resolve, reject) => {
    channel.join().receive('ok', resolve).receive('error', (e) => reject(new Error(JSON.stringify(e))))
      .receive('timeout', () => reject(new Error('join timeout')))
  })
}

for (const { name, opts } of SERIALIZERS) {
  describe(`phoenix@1.8.16 ${name}`, () => {
    const sockets = []
    const socket = (role) => {
      const s = new Socket(SOCKET_URL, { transport: WebSocket, params: { apikey: token(role) }, ...opts })
      s.connect()
      sockets.push(s)
      return s
    }
    after(() => sockets.forEach((s) => s.disconnect()))

    test('broadcast to self with ack', async () => {
      const s = socket('anon')
      const ch = s.channel(`realtime:${uniq('phx')}`, { config: { broadcast: { self: true, ack: true } } })
      const got = []
      ch.on('broadcast', (p) => got.push(p))
      await join(ch)
      const ack = await new Promise((resolve, reject) => {
        ch.push('broadcast', { type: 'broadcast', event: 'hi', payload: { n: 1 } })
          .receive('ok', resolve).receive('error', reject).receive('timeout', () => reject(new Error('no ack')))
      })
      assert.deepEqual(ack, {})
      await until(() => got.length === 1, 'own broadcast')
      assert.deepEqual(got[0], { type: 'broadcast', event: 'hi', payload: { n: 1 } })
    })

    test('presence through the Presence helper', async () => {
      const topic = `realtime:${uniq('phxp')}`
      const a = socket('anon').channel(topic, { config: { presence: { key: 'alice', enabled: true } } })
      const b = socket('anon').channel(topic, { config: { presence: { key: 'bob', enabled: true } } })
      const presence = new Presence(b, { events: { state: 'presence_state', diff: 'presence_diff' } })
      let keys = []
      presence.onSync(() => { keys = presence.list((key) => key).sort() })
      await join(a)
      await join(b)
      a.push('presence', { type: 'presence', event: 'track', payload: { status: 'online' } })
      b.push('presence', { type: 'presence', event: 'track', payload: { status: 'away' } })
      await until(() => keys.join() === 'alice,bob', 'both keys synced')
      const alice = presence.list((key, { metas }) => ({ key, metas })).find((e) => e.key === 'alice')
      assert.equal(alice.metas[0].status, 'online')
      assert.ok(alice.metas[0].phx_ref)
      a.push('presence', { type: 'presence', event: 'untrack' })
      await until(() => keys.join() === 'bob', 'alice left')
    })

    test('postgres_changes with a filter', async () => {
      const tag = uniq('phxpc')
      const ch = socket('service_role').channel(`realtime:${uniq('phxc')}`, {
        config: { postgres_changes: [{ event: 'INSERT', schema: 'public', table: 'compat_items', filter: `tag=eq.${tag}` }] },
      })
      const got = []
      let ready = false
      ch.on('system', (p) => { if (p.extension === 'postgres_changes' && p.status === 'ok') ready = true })
      ch.on('postgres_changes', (p) => got.push(p))
      const reply = await join(ch)
      assert.equal(reply.postgres_changes.length, 1)
      await until(() => ready, 'Subscribed to PostgreSQL')
      await sql('insert into compat_items (tag, n) values ($1, 7)', [tag])
      await until(() => got.length === 1, 'the insert')
      assert.deepEqual(got[0].ids, [reply.postgres_changes[0].id])
      assert.equal(got[0].data.record.n, 7)
      assert.equal(got[0].data.type, 'INSERT')
    })
  })
}
