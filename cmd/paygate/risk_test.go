package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite"
)

func TestRiskImportCountries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "risk.db")
	csv := filepath.Join(dir, "ip.csv")
	os.WriteFile(csv, []byte("network,country\n203.0.113.0/24,US\n2001:db8::/32,JP\n"), 0o600)
	code, out, errOut := paygate(t, nil, "risk", "import-ip-countries", csv, "--database", "sqlite:"+db)
	if code != 0 || !strings.Contains(out, "imported 2 ranges") {
		t.Fatalf("import: exit %d, %q %q", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("203.0.113.0/24,US\nnot an address,CN\n"), 0o600)
	if code, _, errOut := paygate(t, nil, "risk", "import-bin-countries", bad, "--database", "sqlite:"+db); code == 0 || !strings.Contains(errOut, "Line 2") {
		t.Fatalf("a bad file: exit %d, %q", code, errOut)
	}
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs, err := st.RiskRanges(context.Background(), store.RiskRangesIP)
	if err != nil || len(rs) != 2 || rs[0].Country != "US" || rs[1].Country != "JP" {
		t.Fatalf("ranges: %v %+v", err, rs)
	}
}
