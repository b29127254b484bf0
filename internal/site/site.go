// Package site serves the gateway's pages for people outside the API and
// the cashier:
//
//	GET  /                the home page: what is running, links to the API
//	                      reference, the OpenAPI description, the cashier demo
//	                      and, when there is one, the console
//	GET  /docs            the API reference (docs/api.md) rendered as HTML
//	GET  /site.css        their style sheet
//	POST /demo/cashier    makes a test order of the demo merchant and sends
//	                      the browser to its cashier page (only with a demo)
//
// An API client asking for JSON at / gets the API's JSON 404, as at any
// unknown route. Pages carry the cashier's strict Content-Security-Policy:
// nothing inline, nothing from another origin.
package site

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"

	"github.com/paygate/paygate/docs"
)

//go:embed assets/site.css
var css []byte

// Config is what the site needs.
type Config struct {
	// Version is shown on the home page.
	Version string
	// ConsoleURL links the operator console from the home page; "" when
	// there is none.
	ConsoleURL string
	// DemoCashier, when set, makes a test order of the demo merchant and
	// returns its cashier page's path; nil hides the cashier demo.
	DemoCashier func(ctx context.Context) (string, error)
	// NotFound answers what the site does not serve (the API's JSON 404).
	NotFound http.Handler
	Log      *slog.Logger
}

// Handler serves the site. Build it with New.
type Handler struct {
	cfg       Config
	home, ref []byte
	mux       *http.ServeMux
}

// New renders the pages once and returns the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux()}
	md := goldmark.New(goldmark.WithExtensions(extension.Table), goldmark.WithParserOptions(parser.WithAutoHeadingID()))
	var body bytes.Buffer
	if err := md.Convert(docs.APIReference, &body); err != nil {
		return nil, fmt.Errorf("render the API reference: %w", err)
	}
	var err error
	if h.ref, err = render(page{Title: "Paygate API reference", Body: template.HTML(body.String()), Wide: true}); err != nil {
		return nil, err
	}
	if h.home, err = render(page{Title: "Paygate", Home: true, Version: cfg.Version, Console: cfg.ConsoleURL, Demo: cfg.DemoCashier != nil}); err != nil {
		return nil, err
	}
	h.mux.HandleFunc("GET /{$}", h.serveHome)
	h.mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) { h.write(w, "text/html; charset=utf-8", h.ref) })
	h.mux.HandleFunc("GET /site.css", func(w http.ResponseWriter, r *http.Request) { h.write(w, "text/css; charset=utf-8", css) })
	if cfg.DemoCashier != nil {
		h.mux.Handle("POST /demo/cashier", http.NewCrossOriginProtection().Handler(http.HandlerFunc(h.demoCashier)))
	}
	return h, nil
}

// Serves reports whether the site answers r (the gateway sends the rest to the API).
func (h *Handler) Serves(r *http.Request) bool {
	_, pattern := h.mux.Handler(r)
	return pattern != ""
}

// ServeHTTP serves the site's pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
}

// serveHome answers browsers with the home page and JSON clients with the
// API's 404, as any unknown route.
func (h *Handler) serveHome(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r.Header.Get("Accept")) && h.cfg.NotFound != nil {
		h.cfg.NotFound.ServeHTTP(w, r)
		return
	}
	h.write(w, "text/html; charset=utf-8", h.home)
}

// wantsJSON reports whether an Accept header asks for JSON rather than HTML.
func wantsJSON(accept string) bool {
	json, html := false, false
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			json = true
		case mt == "text/html":
			html = true
		}
	}
	return json && !html
}

func (h *Handler) demoCashier(w http.ResponseWriter, r *http.Request) {
	path, err := h.cfg.DemoCashier(r.Context())
	if err != nil {
		h.cfg.Log.Error("demo cashier order", "err", err)
		http.Error(w, "The demo order could not be made; see the gateway's log.", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func (h *Handler) write(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(body)
}

type page struct {
	Title            string
	Body             template.HTML
	Home, Wide, Demo bool
	Version, Console string
}

var layout = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title><link rel="stylesheet" href="/site.css"></head>
<body><main class="{{if .Wide}}wide{{end}}">
{{- if .Home}}
<h1>Paygate is running</h1>
<p>An open-source payment gateway: one signed HTTP API for orders, refunds and webhooks over
WeChat Pay, Alipay, UnionPay, cards and a sandbox, with a double-entry ledger.</p>
<ul class="links">
<li><a href="/docs">API reference</a> — the merchant API (<code>/v1</code>) and the operator API (<code>/admin/v1</code>), with examples</li>
<li><a href="/openapi.yaml">OpenAPI description</a> — for code generators and API tools</li>
{{- if .Console}}
<li><a href="{{.Console}}">Console</a> — for operators</li>
{{- end}}
<li><a href="/healthz">Health</a> and <a href="/readyz">readiness</a></li>
</ul>
{{- if .Demo}}
<h2>Try the cashier</h2>
<p>Make a test order of the demo merchant and open its hosted cashier page, where you pick a
method and pay it with the test buttons. Nothing reaches a real channel.</p>
<form method="post" action="/demo/cashier"><button type="submit">Open the cashier with a test order</button></form>
{{- end}}
<p class="version">{{.Version}}</p>
{{- else}}
<nav><a href="/">Paygate</a> · <a href="/openapi.yaml">OpenAPI description</a></nav>
{{.Body}}
{{- end}}
</main></body></html>
`))

func render(p page) ([]byte, error) {
	var b bytes.Buffer
	if err := layout.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("render %s: %w", p.Title, err)
	}
	return b.Bytes(), nil
}
