//go:build !cgo

package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Driver names the SQLite implementation this binary was built with.
var Driver = "SQLite " + sqlite3.SQLITE_VERSION + " (pure Go, modernc.org/sqlite; a build with cgo uses SQLite's C code, which is faster)"

// openPool opens a pool on path whose every connection runs pragmas (each
// "name = value") before its first use. immediate makes its transactions
// begin IMMEDIATE, taking the write lock up front.
func openPool(path string, immediate bool, pragmas ...string) (*sql.DB, error) {
	params := url.Values{}
	for _, p := range pragmas {
		// modernc's _pragma runs "PRAGMA " + its value on each new connection.
		params.Add("_pragma", strings.Replace(p, " = ", "=", 1))
	}
	if immediate {
		params.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// isUniqueViolation reports whether err is SQLite's unique or primary key violation.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
