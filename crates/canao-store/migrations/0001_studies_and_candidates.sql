-- canao schema version 1: studies and their candidates.
--
-- A study is one search run. Its strategy keeps no state of its own worth storing: it is a
-- function of the seed and of the rewards it was told, so the candidates' records below are the
-- checkpoint a restarted driver replays.
CREATE TABLE canao_studies (
    id          bigserial PRIMARY KEY,
    -- The driver's run folder name: what `canao search --resume` and `canao worker --study` name.
    name        text NOT NULL UNIQUE,
    -- The resolved run configuration (run.ron as JSON): what a worker builds its objective from.
    config      jsonb NOT NULL,
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz
);

CREATE TABLE canao_candidates (
    study       bigint NOT NULL REFERENCES canao_studies (id) ON DELETE CASCADE,
    -- The candidate's identity within its study: one row, hence one kept result, per key.
    key         text NOT NULL,
    -- Order in which the strategy first asked for it.
    idx         bigint NOT NULL,
    point       jsonb NOT NULL,
    state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    worker      text,
    attempts    integer NOT NULL DEFAULT 0,
    lease_until timestamptz,
    heartbeat   timestamptz,
    -- The evaluation a worker wrote (done) or why it failed (failed).
    result      jsonb,
    error       text,
    finished_at timestamptz,
    -- The record as the driver logged it (reward, place in the run): what a resumed run reads.
    record      jsonb,
    PRIMARY KEY (study, key)
);

-- Workers look for the oldest claimable candidate of open studies.
CREATE INDEX canao_candidates_open ON canao_candidates (study, idx) WHERE state IN ('queued', 'running');
