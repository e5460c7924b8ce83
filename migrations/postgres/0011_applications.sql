-- The application register (依申请公开申请登记, issue 19): every application
-- for disclosure, from receipt to its answer, and the third parties
-- consulted about it (art. 32: their time is not counted). Not the 台账
-- (`register`, the items kept 依申请公开 or 不予公开).
--
-- applicant_name (for a person) and contact (JSON of applications::Contact)
-- are personal data: only the office reads them whole; they never enter an
-- audit event, a seal, a feed or a log line. Dates are China dates
-- YYYY-MM-DD; the deadline is computed from them and the holiday calendar,
-- never stored. reply_item_id is the 答复 (an item of kind `reply` for the
-- `applicant` channel) drafted for it; result is that reply's category,
-- and the application is answered only once the reply is sealed. Every change is an `application.*` audit event in the same
-- transaction. migrations/sqlite/0011 must stay equivalent.
CREATE TABLE applications (
    id                       TEXT PRIMARY KEY,
    number                   TEXT NOT NULL UNIQUE,
    applicant_kind           TEXT NOT NULL,
    applicant_name           TEXT NOT NULL,
    contact                  TEXT NOT NULL,
    channel                  TEXT NOT NULL,
    received_on              TEXT NOT NULL,
    request                  TEXT NOT NULL,
    state                    TEXT NOT NULL,
    correction_requested_on  TEXT,
    correction_note          TEXT,
    corrected_on             TEXT,
    extended_on              TEXT,
    extended_by              TEXT REFERENCES users (id),
    extension_reason         TEXT,
    result                   TEXT,
    answered_on              TEXT,
    withdrawn_on             TEXT,
    reply_item_id            TEXT REFERENCES items (id),
    registered_by            TEXT NOT NULL REFERENCES users (id),
    registered_at            TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);

CREATE INDEX applications_received ON applications (received_on);

-- Register numbers: one counter per year of registration, taken with an
-- upsert so that concurrent registrations never share a number.
CREATE TABLE application_counters (
    year  BIGINT PRIMARY KEY,
    last  BIGINT NOT NULL
);

CREATE TABLE application_consultations (
    application_id  TEXT NOT NULL REFERENCES applications (id),
    seq             BIGINT NOT NULL,
    third_party     TEXT NOT NULL,
    sent_on         TEXT NOT NULL,
    answered_on     TEXT,
    PRIMARY KEY (application_id, seq)
);

-- 行政复议 and 行政诉讼 brought against an answer (the annual report's table
-- 四): one row per kind (reconsideration, litigation_direct,
-- litigation_after_reconsideration), its outcome (upheld, corrected, other,
-- pending) updated as it is decided; filed_on places it in a year.
CREATE TABLE application_remedies (
    application_id  TEXT NOT NULL REFERENCES applications (id),
    kind            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    filed_on        TEXT NOT NULL,
    PRIMARY KEY (application_id, kind)
);
