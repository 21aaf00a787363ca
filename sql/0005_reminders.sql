-- Reminders: an incident still triggered after the route's repeat_interval is sent again.
-- Updates: alerts joining or resolving in a notified incident, at most once per group_interval.
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_transition_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_transition_check
  CHECK (transition IN ('triggered', 'acknowledged', 'resolved', 'escalated', 'reminder',
                        'updated'));
