//! Private channels: broadcast/presence authorization through RLS policies on
//! `realtime.messages`, as the official server does from v2.29.
//!
//! A join with `config.private = true` asks, inside a transaction that is always rolled
//! back, whether the JWT's role (with its claims and `realtime.topic()` set to the channel
//! name) can SELECT a `realtime.messages` row of the topic (read: join allowed) and INSERT
//! one (write: may broadcast and track presence).

use tokio_postgres::Client;

use crate::cdc::capture::{connect, describe};
use crate::config::DbConfig;
use crate::jwt::Claims;

/// DDL the engine applies at start so users can write policies on `realtime.messages`.
pub const SCHEMA_SQL: &str = "
create schema if not exists realtime;
create table if not exists realtime.messages (
  id bigserial primary key,
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  inserted_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table realtime.messages enable row level security;
create or replace function realtime.topic() returns text language sql stable
  as $$ select nullif(current_setting('realtime.topic', true), '')::text $$;
do $$ begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    grant usage on schema realtime to anon, authenticated, service_role;
    grant select, insert on realtime.messages to anon, authenticated, service_role;
    grant usage on sequence realtime.messages_id_seq to anon, authenticated, service_role;
  end if;
end $$;
";

/// What a JWT may do on a private channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// May join and receive.
    pub read: bool,
    /// May broadcast and track presence.
    pub write: bool,
}

/// Public channels allow everything.
pub const PUBLIC: Permissions = Permissions {
    read: true,
    write: true,
};

/// Creates `realtime.messages` and `realtime.topic()` if missing (idempotent).
pub async fn ensure_schema(client: &Client) -> Result<(), String> {
    client.batch_execute(SCHEMA_SQL).await.map_err(describe)
}

/// Asks the database what `claims` may do on channel `name` (a fresh connection per join
/// keeps the rolled-back transactions away from shared connections).
pub async fn permissions(
    db: &DbConfig,
    name: &str,
    claims: &Claims,
) -> Result<Permissions, String> {
    let mut client = connect(db, "supalove-realtime-authz")
        .await
        .map_err(describe)?;
    let claims_text = serde_json::Value::Object(claims.raw.clone()).to_string();
    let sub = claims
        .raw
        .get("sub")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let tx = client.transaction().await.map_err(describe)?;
    tx.execute(
        "insert into realtime.messages (topic, extension, event, private) values ($1, 'broadcast', 'authz', true)",
        &[&name],
    )
    .await
    .map_err(describe)?;
    tx.execute(
        "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), \
         set_config('request.jwt.claim.role', $1, true), set_config('request.jwt.claim.sub', $3, true), \
         set_config('realtime.topic', $4, true)",
        &[&claims.role, &claims_text, &sub, &name],
    )
    .await
    .map_err(describe)?;
    let read: bool = tx
        .query_one(
            "select exists(select 1 from realtime.messages where topic = $1)",
            &[&name],
        )
        .await
        .map(|r| r.get(0))
        .unwrap_or(false);
    let write = read
        && tx
            .execute(
                "insert into realtime.messages (topic, extension, event, private) values ($1, 'broadcast', 'authz', true)",
                &[&name],
            )
            .await
            .is_ok();
    let _ = tx.rollback().await;
    Ok(Permissions { read, write })
}
