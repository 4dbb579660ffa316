-- History: what the log held, kept for years, in the shape supervisors ask about.
-- Every row carries the log position (seq) it came from; the writer commits rows and
-- its position in one transaction, so a row is never written twice or lost.
CREATE EXTENSION IF NOT EXISTS postgis;

-- How far each log (one per region) has been written.
CREATE TABLE history_position (
    stream  text PRIMARY KEY,
    seq     bigint NOT NULL,
    t       timestamptz NOT NULL,
    written timestamptz NOT NULL DEFAULT now()
);

-- The log itself, message by message, so a replay can go back further than the log
-- keeps. Partitioned by day, like fixes, and dropped with them.
CREATE TABLE log_messages (
    seq  bigint NOT NULL,
    t    timestamptz NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (t, seq)
) PARTITION BY RANGE (t);
CREATE INDEX log_messages_seq ON log_messages (seq);

-- The engine's state after message seq, every few minutes of log time: where a
-- replay or a restarted writer starts from.
CREATE TABLE engine_states (
    seq    bigint PRIMARY KEY,
    t      timestamptz NOT NULL,
    engine bytea NOT NULL
);
CREATE INDEX engine_states_t ON engine_states (t);

CREATE TABLE units (
    id       text PRIMARY KEY,
    callsign text,
    force    text NOT NULL,
    mode     text NOT NULL,
    seq      bigint NOT NULL
);

CREATE TABLE cameras (
    id   text PRIMARY KEY,
    name text,
    geom geometry(Point, 4326) NOT NULL,
    cell bigint NOT NULL,
    seq  bigint NOT NULL
);

-- The latest state of each incident; doc is the incident as the API gives it.
CREATE TABLE incidents (
    id              text PRIMARY KEY,
    status          text NOT NULL,
    priority        int NOT NULL,
    category        text NOT NULL,
    received        timestamptz NOT NULL,
    closed          timestamptz,
    geom            geometry(Point, 4326) NOT NULL,
    cell            bigint NOT NULL,
    zone            text,
    tier1           text,
    tier2           text,
    tier3           text,
    first_arrival_s double precision,
    doc             jsonb NOT NULL,
    seq             bigint NOT NULL
);
CREATE INDEX incidents_received ON incidents (received);
CREATE INDEX incidents_geom ON incidents USING gist (geom);
CREATE INDEX incidents_cell ON incidents (cell);

CREATE TABLE alerts (
    id        text PRIMARY KEY,
    seq       bigint NOT NULL,
    t         timestamptz NOT NULL,
    incident  text,
    duplicate boolean NOT NULL DEFAULT false,
    category  text NOT NULL,
    priority  int NOT NULL,
    geom      geometry(Point, 4326) NOT NULL,
    cell      bigint NOT NULL,
    address   text,
    caller    text,
    text      text
);
CREATE INDEX alerts_t ON alerts (t);
CREATE INDEX alerts_incident ON alerts (incident);

-- One row per unit sent to an incident's tier; met: it arrived by the tier's deadline.
CREATE TABLE assignments (
    incident text NOT NULL,
    unit     text NOT NULL,
    tier     int NOT NULL,
    assigned timestamptz,
    eta_s    double precision,
    arrived  timestamptz,
    cleared  timestamptz,
    released timestamptz,
    due      timestamptz NOT NULL,
    met      boolean NOT NULL DEFAULT false,
    seq      bigint NOT NULL,
    PRIMARY KEY (incident, unit, tier)
);
CREATE INDEX assignments_unit ON assignments (unit, assigned);

CREATE TABLE camera_events (
    id         text PRIMARY KEY,
    seq        bigint NOT NULL,
    t          timestamptz NOT NULL,
    camera     text NOT NULL,
    type       text NOT NULL,
    confidence double precision NOT NULL,
    snapshot   text,
    incident   text
);
CREATE INDEX camera_events_t ON camera_events (t);

CREATE TABLE fixes (
    seq      bigint NOT NULL,
    t        timestamptz NOT NULL,
    unit     text NOT NULL,
    geom     geometry(Point, 4326) NOT NULL,
    cell     bigint NOT NULL,
    speed    real,
    heading  real,
    accuracy real
) PARTITION BY RANGE (t);
-- Fixes arrive in time order: a BRIN index on time costs nearly nothing to keep. A
-- unit's track needs (unit, t), which costs as much to keep up as the rest of the
-- write (rows come in unit-random order), so each day gets it once the day is over
-- (Store.IndexDaysBefore).
CREATE INDEX fixes_t ON fixes USING brin (t);

-- Every command and every change to the roster or cameras: who did what, when.
CREATE TABLE audit (
    seq     bigint NOT NULL,
    n       int NOT NULL,
    t       timestamptz NOT NULL,
    kind    text NOT NULL,
    actor   text,
    subject text,
    body    jsonb NOT NULL,
    PRIMARY KEY (seq, n)
);
CREATE INDEX audit_t ON audit (t);
CREATE INDEX audit_subject ON audit (subject, t);
