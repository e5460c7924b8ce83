-- The holiday arrangements (放假安排) the publication office loaded: one row
-- per year, which replaces the year shipped in policies/calendar/ (also a
-- provisional one) from the moment it is stored, without a restart. The
-- arrangement is the JSON of workdays::YearArrangement, checked before it
-- is stored (calendar::check); loading a year again replaces the row, and
-- every load is a `calendar.load` audit event with who, what and what it
-- replaced. loaded_by is NULL when loaded from the command line.
-- migrations/sqlite/0009 must stay equivalent.
CREATE TABLE calendar_years (
    year         BIGINT PRIMARY KEY,
    source       TEXT NOT NULL,
    arrangement  TEXT NOT NULL,
    loaded_by    TEXT REFERENCES users (id),
    loaded_at    TEXT NOT NULL
);
