-- Account life cycle and login throttling (issue 16, findings 4 and 8).
-- migrations/sqlite/0008 must stay equivalent.

-- A password the administrator set (a new account, a reset) must be
-- changed by its owner at the next login before anything else is allowed.
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at TEXT;

-- The second factor a signatory enrols for sign-off (TOTP, RFC 6238): the
-- secret (hex, 20 bytes), never returned by any API after enrolment; a
-- secret proposed but not yet confirmed with a first code; and the last
-- time step used, so that a code is accepted once.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Login attempts per account name and per client address in a fixed
-- window: 'user:<name>' (whether or not the account exists, so that the
-- answer says nothing about which names exist) and 'addr:<address>'. An
-- attempt is taken with one conditional upsert before the password is
-- checked, so concurrent attempts cannot all pass; a window older than the
-- lockout period starts again at 1, so refused attempts never extend it.
-- users.failed_logins and users.locked_until (0001) are no longer used.
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    attempts      BIGINT NOT NULL,
    window_start  TEXT NOT NULL
);
CREATE INDEX login_throttle_window ON login_throttle (window_start);
