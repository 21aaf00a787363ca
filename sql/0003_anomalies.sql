-- Anomaly events: a series' anomaly score crossing the configured threshold.
CREATE TABLE anomalies (
  id        bigserial PRIMARY KEY,
  service   text NOT NULL,
  metric    text NOT NULL,
  labels    jsonb NOT NULL,
  value     double precision NOT NULL,
  score     double precision NOT NULL CHECK (score >= 0 AND score <= 1),
  at        timestamptz NOT NULL
);
CREATE INDEX anomalies_service_at ON anomalies (service, at DESC);
CREATE INDEX anomalies_at ON anomalies (at DESC);
