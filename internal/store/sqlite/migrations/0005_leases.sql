-- Leases: a named piece of work (a scheduled job, a reconciliation run of
-- one account and day, a settlement batch) held by one node until a time,
-- so that nodes sharing the database run it once. Keep in step with the
-- PostgreSQL migration of the same number.

CREATE TABLE leases (
	name        TEXT NOT NULL PRIMARY KEY,
	holder      TEXT NOT NULL,
	until_at    INTEGER NOT NULL,
	acquired_at INTEGER NOT NULL,
	-- When the work the lease guards last finished (NULL: never): what a
	-- scheduler reads to know when a periodic job is next due.
	done_at     INTEGER
);
