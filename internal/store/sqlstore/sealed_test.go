package sqlstore

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestSealedColumnsListEverySealedColumn reads both drivers' migrations for
// columns whose name says they hold sealed values (…_sealed, sealed_…) and
// fails when one is missing from sealedColumns: a master key rotation would
// leave its values under the old key.
func TestSealedColumnsListEverySealedColumn(t *testing.T) {
	listed := map[string]bool{}
	for _, c := range sealedColumns {
		listed[c.column] = true
	}
	createTable := regexp.MustCompile(`(?is)CREATE TABLE\s+(\w+)\s*\((.*?)\n\);`)
	alterAdd := regexp.MustCompile(`(?i)ALTER TABLE\s+(\w+)\s+ADD COLUMN\s+(\w*sealed\w*)`)
	sealedCol := regexp.MustCompile(`(?im)^\s*(\w*sealed\w*)\s+(TEXT|BLOB|BYTEA)`)
	found := 0
	for _, dir := range []string{"../sqlite/migrations", "../postgres/migrations"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("read migrations in %s: %v (%d files)", dir, err, len(files))
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			check := func(table, col string) {
				found++
				if !listed[col] {
					t.Errorf("%s: %s.%s holds sealed values but is not in sealedColumns (sealed.go)", f, table, col)
				}
			}
			for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
				for _, c := range sealedCol.FindAllStringSubmatch(m[2], -1) {
					check(m[1], c[1])
				}
			}
			for _, m := range alterAdd.FindAllStringSubmatch(string(b), -1) {
				check(m[1], m[2])
			}
		}
	}
	if found < 14 { // 7 columns named sealed, in each driver
		t.Fatalf("found %d sealed columns in the migrations, want at least 14: is the pattern still right?", found)
	}
}
