# supalove: lets the Realtime engine stream changes over a replication connection from its own
# container (initdb only allows replication from the socket and 127.0.0.1). Sourced once, on
# the first start of a fresh data volume, by the postgres image's entrypoint.
printf '\nhost replication all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
