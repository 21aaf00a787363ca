-- Alerts from rule evaluation: the ones pending or firing now (restored after a restart, as
-- Prometheus restores its for-state) and every transition ever made.

CREATE TABLE alerts_current (
  fingerprint        text PRIMARY KEY,          -- rule scope + group + rule + output labels
  scope              text NOT NULL,             -- the service whose evaluator owns it, '' = global
  rule_group         text NOT NULL,
  rule_name          text NOT NULL,
  service            text NOT NULL,             -- the alert's service label, '' when none
  labels             jsonb NOT NULL,
  annotations        jsonb NOT NULL,
  state              text NOT NULL CHECK (state IN ('pending', 'firing')),
  value              double precision NOT NULL,
  active_at          timestamptz NOT NULL,
  fired_at           timestamptz,
  keep_firing_since  timestamptz,
  updated_at         timestamptz NOT NULL
);
CREATE INDEX alerts_current_scope ON alerts_current (scope);

CREATE TABLE alert_history (
  id           bigserial PRIMARY KEY,
  fingerprint  text NOT NULL,
  scope        text NOT NULL,
  rule_group   text NOT NULL,
  rule_name    text NOT NULL,
  service      text NOT NULL,
  labels       jsonb NOT NULL,
  annotations  jsonb NOT NULL,
  from_state   text NOT NULL,
  to_state     text NOT NULL CHECK (to_state IN ('pending', 'firing', 'inactive')),
  value        double precision NOT NULL,
  active_at    timestamptz NOT NULL,
  fired_at     timestamptz,
  resolved_at  timestamptz,
  at           timestamptz NOT NULL
);
CREATE INDEX alert_history_service_at ON alert_history (service, at DESC);
CREATE INDEX alert_history_at ON alert_history (at DESC);
