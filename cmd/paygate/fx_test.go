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

func TestFXImport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "fx.db")
	csv := filepath.Join(dir, "rates.csv")
	os.WriteFile(csv, []byte("base,quote,rate,as_of,source\nUSD,CNY,7.1234,2026-03-14T00:00:00Z,boc\nEUR,CNY,7.7501,2026-03-14T00:00:00Z,\n"), 0o600)
	for _, want := range []string{"imported 2 new rates", "imported 0 new rates"} { // a second import adds nothing
		code, out, errOut := paygate(t, nil, "fx", "import", csv, "--database", "sqlite:"+db, "--source", "ops")
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("import: exit %d, %q %q, want %q", code, out, errOut, want)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("base,quote,rate,as_of\nUSD,CNY,1e3,2026-03-14T00:00:00Z\n"), 0o600)
	if code, _, errOut := paygate(t, nil, "fx", "import", bad, "--database", "sqlite:"+db); code == 0 || !strings.Contains(errOut, "rate") {
		t.Fatalf("a bad file: exit %d, %q", code, errOut)
	}
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rates, _, err := st.FXRateList(context.Background(), store.FXRateFilter{Quote: "CNY"})
	if err != nil || len(rates) != 2 {
		t.Fatalf("rates: %v %+v", err, rates)
	}
	for _, r := range rates {
		if (r.Base == "USD" && (r.Rate != "7.1234" || r.Source != "boc")) || (r.Base == "EUR" && (r.Rate != "7.7501" || r.Source != "ops")) {
			t.Fatalf("rate %+v", r)
		}
	}
}
