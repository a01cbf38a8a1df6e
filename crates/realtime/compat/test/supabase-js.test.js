// @supabase/supabase-js createClient against the engine's /realtime/v1 path.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import WebSocket from 'ws'
import { createClient } from '@supabase/supabase-js'
import { HTTP_URL, closeSql, shutdown, ensureSchema, sql, subscribe, token, uniq, until } from '../lib/helpers.js'

before(ensureSchema)
after(closeSql)

for (const vsn of ['1.0.0', '2.0.0']) {
  test(`supabase-js createClient realtime (vsn ${vsn})`, async () => {
    const supabase = createClient(HTTP_URL, token('service_role'), {
      realtime: { transport: WebSocket, vsn },
      auth: { persistSession: false, autoRefreshToken: false },
    })
    assert.match(supabase.realtime.endPoint ?? supabase.realtime.endpointURL?.() ?? '', /\/realtime\/v1/)
    const tag = uniq('sbjs')
    const got = []
    const bcast = []
    const ch = supabase
      .channel(uniq('sbjs'), { config: { broadcast: { self: true, ack: true } } })
      .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'compat_items', filter: `tag=eq.${tag}` }, (p) => got.push(p.new))
      .on('broadcast', { event: 'hi' }, (m) => bcast.push(m.payload))
    await subscribe(ch, { postgres: true })
    await sql('insert into compat_items (tag, n) values ($1, 7)', [tag])
    await until(() => got.length === 1, 'insert via supabase-js')
    assert.equal(got[0].n, 7)
    assert.equal(await ch.send({ type: 'broadcast', event: 'hi', payload: { ok: true } }), 'ok')
    await until(() => bcast.length === 1, 'broadcast via supabase-js')
    await shutdown(supabase.realtime)
  })
}
