// The official realtime-js clients (Node-20 pin and latest) x serializers 1.0.0 and 2.0.0.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import {
  VARIANTS, VSNS, SOCKET_URL, closeSql, ensureSchema, es256Token, expiredToken, jwt, makeClient, sql,
  shutdown, subscribe, token, uniq, until,
} from '../lib/helpers.js'

before(ensureSchema)
after(closeSql)

for (const variant of VARIANTS) {
  for (const vsn of VSNS) {
    describe(`${variant.name} vsn ${vsn}`, () => {
      const clients = []
      const client = (key, extra) => {
        const c = makeClient(variant, vsn, key, extra)
        clients.push(c)
        return c
      }
      after(async () => {
        for (const c of clients) await shutdown(c)
      })

      test('INSERT, UPDATE, DELETE and * bindings', async () => {
        const tag = uniq('crud')
        const c = client(token('service_role'))
        const got = { INSERT: [], UPDATE: [], DELETE: [], '*': [] }
        const filter = `tag=eq.${tag}`
        const ch = c.channel(uniq('pc'))
        for (const event of Object.keys(got)) {
          ch.on('postgres_changes', { event, schema: 'public', table: 'compat_items', filter }, (p) => got[event].push(p))
        }
        await subscribe(ch, { postgres: true })
        const { rows } = await sql('insert into compat_items (tag, n) values ($1, 1) returning id', [tag])
        const id = Number(rows[0].id)
        await sql('update compat_items set n = 2 where id = $1', [id])
        await sql('delete from compat_items where id = $1', [id])
        await until(() => got['*'].length === 3 && got.DELETE.length === 1, 'three changes')
        assert.equal(got.INSERT.length, 1)
        assert.equal(got.UPDATE.length, 1)
        const [ins, upd, del] = got['*']
        assert.equal(ins.eventType, 'INSERT')
        assert.deepEqual(ins.new, { id, tag, n: 1 })
        assert.equal(ins.schema, 'public')
        assert.equal(ins.table, 'compat_items')
        assert.match(ins.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
        assert.equal(upd.eventType, 'UPDATE')
        assert.equal(upd.new.n, 2)
        assert.equal(upd.old.n, 1)
        assert.equal(del.eventType, 'DELETE')
        assert.deepEqual(del.old, { id, tag, n: 2 })
        assert.deepEqual(got.DELETE[0].old, del.old)
      })

      test('each filter operator', async () => {
        const c = client(token('service_role'))
        const ops = ['eq.5', 'neq.5', 'lt.5', 'lte.5', 'gt.5', 'gte.5', 'in.(1,5,9)']
        const seen = Object.fromEntries(ops.map((o) => [o, []]))
        const ch = c.channel(uniq('filters'))
        for (const op of ops) {
          ch.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'compat_items', filter: `n=${op}` }, (p) => seen[op].push(p.new.n))
        }
        await subscribe(ch, { postgres: true })
        const tag = uniq('f')
        for (const n of [4, 5, 6, 9]) await sql('insert into compat_items (tag, n) values ($1, $2)', [tag, n])
        // A final row every "greater" filter matches: once it arrived, everything before it has.
        await sql('insert into compat_items (tag, n) values ($1, 100)', [tag])
        await until(() => seen['gt.5'].includes(100) && seen['neq.5'].includes(100) && seen['gte.5'].includes(100), 'sentinel row')
        assert.deepEqual(seen['eq.5'], [5])
        assert.deepEqual(seen['neq.5'], [4, 6, 9, 100])
        assert.deepEqual(seen['lt.5'], [4])
        assert.deepEqual(seen['lte.5'], [4, 5])
        assert.deepEqual(seen['gt.5'], [6, 9, 100])
        assert.deepEqual(seen['gte.5'], [5, 6, 9, 100])
        assert.deepEqual(seen['in.(1,5,9)'], [5, 9])
      })

      if (variant.name.includes('latest')) {
        test('postgres_changes_options.wait: SUBSCRIBED means changes are live', async () => {
          const c = client(token('service_role'))
          const tag = uniq('wait')
          const got = []
          const ch = c.channel(uniq('wait'), { config: { postgres_changes_options: { wait: true, timeout: 10000 } } })
            .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'compat_items', filter: `tag=eq.${tag}` }, (p) => got.push(p.new.tag))
          await new Promise((resolve, reject) => ch.subscribe((s, err) => (s === 'SUBSCRIBED' ? resolve() : s !== 'CLOSED' && reject(new Error(`${s} ${err?.message}`)))))
          await sql('insert into compat_items (tag, n) values ($1, 1)', [tag])
          await until(() => got.length === 1, 'change right after SUBSCRIBED')
          assert.deepEqual(got, [tag])
        })
      }

      test('RLS: anon sees only rows its policy allows, service_role sees all', async () => {
        const anon = client(token('anon'))
        const service = client(token('service_role'))
        const tag = uniq('rls')
        const anonGot = []
        const serviceGot = []
        const opts = { event: 'INSERT', schema: 'public', table: 'compat_notes' }
        await subscribe(anon.channel(uniq('rls')).on('postgres_changes', opts, (p) => p.new.tag === tag && anonGot.push(p.new.public)), { postgres: true })
        await subscribe(service.channel(uniq('rls')).on('postgres_changes', opts, (p) => p.new.tag === tag && serviceGot.push(p.new.public)), { postgres: true })
        await sql('insert into compat_notes (tag, public) values ($1, false), ($1, true)', [tag])
        await until(() => serviceGot.length === 2 && anonGot.length >= 1, 'both rows for service_role')
        assert.deepEqual(serviceGot, [false, true])
        assert.deepEqual(anonGot, [true])
      })

      test('broadcast with self and ack', async () => {
        const a = client(token('anon'))
        const b = client(token('anon'))
        const room = uniq('room')
        const aGot = []
        const bGot = []
        const chA = a.channel(room, { config: { broadcast: { self: true, ack: true } } })
          .on('broadcast', { event: 'ping' }, (m) => aGot.push(m.payload))
        const chB = b.channel(room, { config: { broadcast: { self: false } } })
          .on('broadcast', { event: 'ping' }, (m) => bGot.push(m.payload))
        await subscribe(chA)
        await subscribe(chB)
        assert.equal(await chA.send({ type: 'broadcast', event: 'ping', payload: { from: 'a' } }), 'ok')
        await until(() => aGot.length === 1 && bGot.length === 1, 'broadcast on both sides')
        assert.deepEqual(aGot[0], { from: 'a' })
        assert.deepEqual(bGot[0], { from: 'a' })
        await chB.send({ type: 'broadcast', event: 'ping', payload: { from: 'b' } })
        await until(() => aGot.length === 2, 'b to a')
        assert.deepEqual(aGot[1], { from: 'b' })
        assert.equal(bGot.length, 1, 'self=false: b does not hear itself')
      })

      test('private channels: policy on realtime.messages decides', async () => {
        const user = client(token('authenticated'))
        const anon = client(token('anon'))
        const topic = uniq('private')
        const got = []
        const ch = user.channel(topic, { config: { private: true, broadcast: { self: true, ack: true } } })
          .on('broadcast', { event: 'secret' }, (m) => got.push(m.payload))
        await subscribe(ch)
        assert.equal(await ch.send({ type: 'broadcast', event: 'secret', payload: { ok: 1 } }), 'ok')
        await until(() => got.length === 1, 'private broadcast')
        await assert.rejects(subscribe(anon.channel(topic, { config: { private: true } })), /CHANNEL_ERROR|Unauthorized/)
      })

      if (vsn === '2.0.0') {
        test('binary (ArrayBuffer) broadcast round trip', async () => {
          const a = client(token('anon'))
          const b = client(token('anon'))
          const room = uniq('bin')
          const got = []
          const chA = a.channel(room)
          const chB = b.channel(room).on('broadcast', { event: 'bytes' }, (m) => got.push(m.payload))
          await subscribe(chA)
          await subscribe(chB)
          await chA.send({ type: 'broadcast', event: 'bytes', payload: new Uint8Array([1, 2, 250]).buffer })
          await until(() => got.length === 1, 'binary broadcast')
          assert.deepEqual([...new Uint8Array(got[0])], [1, 2, 250])
        })
      }

      test('presence sync, join and leave', async () => {
        const a = client(token('anon'))
        const b = client(token('anon'))
        const room = uniq('presence')
        const events = []
        const chA = a.channel(room, { config: { presence: { key: 'alice' } } })
        const chB = b.channel(room, { config: { presence: { key: 'bob' } } })
          .on('presence', { event: 'sync' }, () => events.push('sync'))
          .on('presence', { event: 'join' }, ({ key }) => events.push(`join:${key}`))
          .on('presence', { event: 'leave' }, ({ key }) => events.push(`leave:${key}`))
        await subscribe(chB)
        await subscribe(chA)
        assert.equal(await chA.track({ online_at: 'now' }), 'ok')
        await until(() => events.includes('join:alice'), 'join')
        await until(() => chB.presenceState().alice?.[0]?.online_at === 'now', 'state synced')
        assert.ok(events.includes('sync'))
        await chA.untrack()
        await until(() => events.includes('leave:alice'), 'leave')
        assert.equal(chB.presenceState().alice, undefined)
      })

      test('ES256 tokens verified through the JWKS: connect, RLS by their role, refresh', {
        skip: !process.env.ES256_JWK_FILE && 'no ES256 key (scripts/test-realtime.sh makes one)',
      }, async () => {
        const c = client(es256Token('authenticated'))
        const tag = uniq('es256')
        const got = []
        const ch = c.channel(uniq('es256'), { config: { broadcast: { ack: true } } })
          .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'compat_notes' }, (p) => p.new.tag === tag && got.push(p.new.public))
        await subscribe(ch, { postgres: true })
        await sql('insert into compat_notes (tag, public) values ($1, false)', [tag])
        await until(() => got.length === 1, 'private row seen as authenticated')
        await c.setAuth(es256Token('anon'))
        assert.equal(await ch.send({ type: 'broadcast', event: 'sync', payload: {} }), 'ok')
        await sql('insert into compat_notes (tag, public) values ($1, false), ($1, true)', [tag])
        await until(() => got.length === 2, 'public row after the refresh to anon')
        assert.deepEqual(got, [false, true])
      })

      test('access token refresh changes what RLS lets through', async () => {
        const c = client(token('anon'))
        const tag = uniq('refresh')
        const got = []
        const ch = c.channel(uniq('refresh'), { config: { broadcast: { ack: true } } })
          .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'compat_notes' }, (p) => p.new.tag === tag && got.push(p.new.public))
        await subscribe(ch, { postgres: true })
        await c.setAuth(token('authenticated'))
        // Frames are handled in order: once this ack is back, the refresh was applied.
        assert.equal(await ch.send({ type: 'broadcast', event: 'sync', payload: {} }), 'ok')
        await sql('insert into compat_notes (tag, public) values ($1, false)', [tag])
        await until(() => got.length === 1, 'private row after refresh')
        assert.deepEqual(got, [false])
      })

      for (const [label, key] of [['bad', 'not-a-jwt'], ['expired', expiredToken('anon')], ['wrong secret', jwt({ role: 'anon', exp: 9999999999 }, 'another-secret-another-secret-12345')]]) {
        test(`${label} token is refused before the upgrade`, async () => {
          const status = await new Promise((resolve) => {
            const ws = new WebSocket(`${SOCKET_URL}/websocket?apikey=${encodeURIComponent(key)}&vsn=${vsn}`)
            ws.on('unexpected-response', (req, res) => { req.destroy(); resolve(res.statusCode) })
            ws.on('open', () => { ws.close(); resolve('open') })
            ws.on('error', () => {})
          })
          assert.equal(status, 401) // current official: 401 with the reason (user_socket.ex:149-171)
          const c = client(key)
          const outcome = await new Promise((resolve) => {
            c.channel(uniq('denied')).subscribe((s) => { if (s !== 'SUBSCRIBED') resolve(s) ; else resolve('SUBSCRIBED') })
          })
          assert.notEqual(outcome, 'SUBSCRIBED')
          await shutdown(c)
        })
      }
    })
  }
}
