-- supalove: what Realtime expects to find in the project's database.

CREATE SCHEMA IF NOT EXISTS _realtime;
CREATE SCHEMA IF NOT EXISTS realtime;
GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role;

-- Tables join it with: ALTER PUBLICATION supabase_realtime ADD TABLE <table>;
-- Init runs on a temporary server without the stack's `-c wal_level=logical`, so Postgres would
-- warn that wal_level is too low; the real server has it.
SET client_min_messages = error;
CREATE PUBLICATION supabase_realtime;
RESET client_min_messages;
