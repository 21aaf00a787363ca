-- Watchkeeper initial schema. Applied once, in one transaction, by the migration runner
-- (persistence/migrations.cpp), which also owns the schema_migrations table.

-- One row per series ever written. fingerprint is the tsdb's 64-bit label hash, stored as
-- the signed bigint with the same bits.
CREATE TABLE series (
  fingerprint bigint PRIMARY KEY,
  metric      text   NOT NULL,
  labels      jsonb  NOT NULL,
  first_seen  timestamptz NOT NULL DEFAULT now()
);

-- Compressed sample chunks, append-only and written with COPY. No primary key and no foreign
-- key: both would cost a lookup per row on the ingest path. BRIN on min_t serves time-range
-- scans at almost no write cost; the btree serves per-series reads.
CREATE TABLE sample_chunks (
  fingerprint bigint NOT NULL,
  min_t       bigint NOT NULL,
  max_t       bigint NOT NULL,
  num_samples int    NOT NULL,
  data        bytea  NOT NULL,
  CHECK (min_t <= max_t),
  CHECK (num_samples > 0)
);
CREATE INDEX sample_chunks_min_t_brin ON sample_chunks USING brin (min_t);
CREATE INDEX sample_chunks_fingerprint_min_t ON sample_chunks (fingerprint, min_t);

-- Services added at run time over REST; spec is the service definition as YAML or JSON text.
CREATE TABLE services (
  name       text PRIMARY KEY,
  spec       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every health state change, newest last.
CREATE TABLE health_transitions (
  id         bigserial PRIMARY KEY,
  service    text NOT NULL,
  check_name text NOT NULL,
  from_state text NOT NULL,
  to_state   text NOT NULL,
  reason     text NOT NULL,
  latency_ms double precision NOT NULL,
  at         timestamptz NOT NULL
);
CREATE INDEX health_transitions_service_at ON health_transitions (service, at DESC, id DESC);

-- The latest state per (service, check). transition_id points at the history row that set it,
-- without a foreign key so history can be pruned independently.
CREATE TABLE health_current (
  service       text NOT NULL,
  check_name    text NOT NULL,
  state         text NOT NULL,
  since         timestamptz NOT NULL,
  reason        text NOT NULL,
  transition_id bigint NOT NULL,
  PRIMARY KEY (service, check_name)
);
