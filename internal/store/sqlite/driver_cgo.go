//go:build cgo

package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Driver names the SQLite implementation this binary was built with.
var Driver = "SQLite " + sqlite3Version() + " (C, github.com/mattn/go-sqlite3)"

func sqlite3Version() string {
	v, _, _ := sqlite3.Version()
	return v
}

// openPool opens a pool on path whose every connection runs pragmas (each
// "name = value") before its first use. immediate makes its transactions
// begin IMMEDIATE, taking the write lock up front.
func openPool(path string, immediate bool, pragmas ...string) (*sql.DB, error) {
	// _mutex=no: database/sql hands a connection to one goroutine at a
	// time, so SQLite's own per-connection mutex is only overhead.
	dsn := path + "?_mutex=no"
	if immediate {
		dsn += "&_txlock=immediate"
	}
	d := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		for _, p := range pragmas {
			if _, err := c.Exec("PRAGMA "+p, nil); err != nil {
				return err
			}
		}
		return nil
	}}
	return sql.OpenDB(connector{d: d, dsn: dsn}), nil
}

// connector opens connections of one pool with its own driver (and so its
// own ConnectHook).
type connector struct {
	d   *sqlite3.SQLiteDriver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.d }

// isUniqueViolation reports whether err is SQLite's unique or primary key violation.
func isUniqueViolation(err error) bool {
	var e sqlite3.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.ExtendedCode == sqlite3.ErrConstraintUnique || e.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
}
