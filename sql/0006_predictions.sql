-- Capacity predictions, recorded when they change (the time to the threshold moves by more than
-- a tenth, crosses into or out of the horizon, or the value at the horizon moves by a tenth).
-- seconds_to_threshold NULL: not within the horizon.
CREATE TABLE predictions (
  id                    bigserial PRIMARY KEY,
  prediction            text NOT NULL,
  labels                jsonb NOT NULL,
  method                text NOT NULL,
  seconds_to_threshold  double precision,
  value_at_horizon      double precision NOT NULL,
  at                    timestamptz NOT NULL
);
CREATE INDEX predictions_name_at ON predictions (prediction, at DESC);
CREATE INDEX predictions_at ON predictions (at DESC);
