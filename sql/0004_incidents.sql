-- Incidents with their alerts and timeline, the notification outbox, the audit log of REST
-- writes and the silences created over the API. Times are timestamptz like the rest of the
-- schema; NULL where the model says 0 ("not yet").

-- Ids are assigned by the application (the incident manager), not by a sequence, so an
-- incident's id is known before its first commit and can go into its outbox rows.
CREATE TABLE incidents (
  id                     bigint PRIMARY KEY CHECK (id > 0),
  group_key              text NOT NULL CHECK (group_key <> ''),
  service                text NOT NULL,
  title                  text NOT NULL,
  severity               text NOT NULL CHECK (severity IN ('critical', 'error', 'warning', 'info')),
  status                 text NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
  group_labels           jsonb NOT NULL,
  opened_at              timestamptz NOT NULL,
  updated_at             timestamptz NOT NULL,
  acknowledged_at        timestamptz,
  acknowledged_by        text NOT NULL,
  resolved_at            timestamptz,
  resolved_by            text NOT NULL,
  assignee               text NOT NULL,
  created_by             text NOT NULL,
  escalation_policy      text NOT NULL,
  escalation_started_at  timestamptz,
  escalated              jsonb NOT NULL,  -- [[level, repetition], ...] already paged
  reopen_count           integer NOT NULL CHECK (reopen_count >= 0),
  notified_receivers     jsonb NOT NULL,  -- ["receiver", ...] that were sent "triggered"
  related_to             bigint,          -- root-cause incident; no foreign key, ids come first
  version                bigint NOT NULL CHECK (version >= 0)
);
-- At most one unresolved incident per group: two writers cannot both open one.
CREATE UNIQUE INDEX incidents_open_group ON incidents (group_key) WHERE status <> 'resolved';
-- Reopening looks up the newest resolved incident of a group.
CREATE INDEX incidents_resolved_group ON incidents (group_key, resolved_at DESC)
  WHERE status = 'resolved';
-- The list: newest opened first, optionally by service, status or severity.
CREATE INDEX incidents_opened ON incidents (opened_at DESC, id DESC);
CREATE INDEX incidents_service_opened ON incidents (service, opened_at DESC, id DESC);
CREATE INDEX incidents_status_opened ON incidents (status, opened_at DESC, id DESC);
CREATE INDEX incidents_severity_opened ON incidents (severity, opened_at DESC, id DESC);

-- The alerts of an incident, replaced as a whole on every commit; position keeps their order.
CREATE TABLE incident_alerts (
  incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  fingerprint  text NOT NULL CHECK (fingerprint <> ''),
  position     integer NOT NULL,
  alertname    text NOT NULL,
  service      text NOT NULL,
  labels       jsonb NOT NULL,
  annotations  jsonb NOT NULL,
  firing       boolean NOT NULL,
  value        double precision NOT NULL,
  starts_at    timestamptz NOT NULL,
  ends_at      timestamptz,
  related      boolean NOT NULL,
  PRIMARY KEY (incident_id, fingerprint)
);

-- Append-only history; id is the order.
CREATE TABLE incident_timeline (
  id           bigserial PRIMARY KEY,
  incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  at           timestamptz NOT NULL,
  kind         text NOT NULL CHECK (kind <> ''),
  actor        text NOT NULL,
  text         text NOT NULL,
  detail       jsonb NOT NULL
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);

-- Transactional outbox: rows commit with the transition that caused them; the notifier
-- delivers at least once. dedup_key makes a repeated insert of one transition a no-op.
CREATE TABLE notification_outbox (
  id               bigserial PRIMARY KEY,
  incident_id      bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  receiver         text NOT NULL CHECK (receiver <> ''),
  channel          text NOT NULL CHECK (channel IN ('slack', 'pagerduty', 'webhook', 'email')),
  transition       text NOT NULL
                   CHECK (transition IN ('triggered', 'acknowledged', 'resolved', 'escalated')),
  dedup_key        text NOT NULL UNIQUE CHECK (dedup_key <> ''),
  delivery_key     text NOT NULL,
  target           text NOT NULL,
  body             text NOT NULL,
  state            text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL CHECK (attempts >= 0),
  created_at       timestamptz NOT NULL,
  next_attempt_at  timestamptz NOT NULL,
  delivered_at     timestamptz,
  last_status      integer NOT NULL,
  last_error       text NOT NULL
);
-- Only pending rows are polled; delivered and failed ones drop out of this index.
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at, id)
  WHERE state = 'pending';
CREATE INDEX notification_outbox_incident ON notification_outbox (incident_id, id);

-- Who changed what over REST, and when.
CREATE TABLE audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL,
  actor   text NOT NULL,
  role    text NOT NULL,
  action  text NOT NULL CHECK (action <> ''),
  target  text NOT NULL,
  detail  jsonb NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- Silences created over the API (configured ones live in the configuration). Matchers are
-- kept as Alertmanager's text form (e.g. service="db") and parsed again on load.
CREATE TABLE silences (
  id          text PRIMARY KEY CHECK (id <> ''),
  matchers    text[] NOT NULL CHECK (cardinality(matchers) > 0),
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL,
  created_by  text NOT NULL,
  comment     text NOT NULL,
  created_at  timestamptz NOT NULL,
  CHECK (starts_at <= ends_at)
);
CREATE INDEX silences_ends_at ON silences (ends_at);
