-- supalove: what Realtime expects to find in the project's database.

CREATE SCHEMA IF NOT EXISTS _realtime;
CREATE SCHEMA IF NOT EXISTS realtime;
GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role;

-- Tables join it with: ALTER PUBLICATION supabase_realtime ADD TABLE <table>;
CREATE PUBLICATION supabase_realtime;
