package console

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/paygate/paygate/internal/money"
)

// assets are the embedded CSS and JavaScript, served under a hash of their
// content so browsers cache them for good.
type assets struct{ files map[string]asset }

type asset struct {
	hash, contentType string
	body              []byte
}

func loadAssets() *assets {
	a := &assets{files: map[string]asset{}}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ct := "application/octet-stream"
		switch path.Ext(e.Name()) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		}
		a.files[e.Name()] = asset{hash: hex.EncodeToString(sum[:6]), contentType: ct, body: b}
	}
	return a
}

// path is the URL of the named asset: {{asset "console.css"}}.
func (a *assets) path(name string) (string, error) {
	f, ok := a.files[name]
	if !ok {
		return "", errors.New("no asset " + name)
	}
	return "/console/assets/" + f.hash + "/" + name, nil
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[r.PathValue("name")]
	if !ok || f.hash != r.PathValue("hash") {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(f.body)
}

// funcs are the templates' helpers.
func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": h.assets.path,
		"major": func(n int64, code string) string { return money.Format(n, code) },
		"short": func(s string, n int) string {
			if len(s) <= n {
				return s
			}
			return s[:n] + "…"
		},
		"pct":       func(f float64) string { return strconvF(f) + "%" },
		"hasPrefix": strings.HasPrefix,
		"mul100":    func(f float64) float64 { return 100 * f },
		"list":      func(s ...string) []string { return s },
		// dict hands a shared table template the page's view and its rows.
		"dict": func(v *view, rows any) tableArgs { return tableArgs{V: v, Rows: rows} },
		"mode": func(live bool) string {
			if live {
				return "live"
			}
			return "test"
		},
	}
}

type tableArgs struct {
	V    *view
	Rows any
}
