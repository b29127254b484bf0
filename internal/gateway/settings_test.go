package gateway

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration table from Settings")

// TestSettingDefaultsParse: every default is a valid value of its setting,
// so a Config left at zero gets defaults that a user could also write.
func TestSettingDefaultsParse(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range Settings() {
		if seen[s.Key] || seen[s.Flag()] {
			t.Errorf("setting %s is listed twice", s.Key)
		}
		seen[s.Key], seen[s.Flag()] = true, true
		if s.Key != strings.ToLower(s.Key) || strings.ContainsAny(s.Key, "- ") {
			t.Errorf("setting key %q: want snake_case", s.Key)
		}
		if s.Doc == "" {
			t.Errorf("setting %s has no doc", s.Key)
		}
		if s.Default == "" {
			continue
		}
		var c Config
		if err := s.Parse(&c, s.Default); err != nil {
			t.Errorf("default of %s (%q) does not parse: %v", s.Key, s.Default, err)
		}
		if got := s.show(&c); got != s.Default {
			t.Errorf("default of %s shows as %q, want %q as written", s.Key, got, s.Default)
		}
	}
	var c Config
	c.setDefaults()
	if c.Addr != ":8080" || c.Database != "sqlite:paygate.db" || c.NotifyConcurrency != 32 || c.NotifyTimeout != 10*time.Second ||
		len(c.NotifyRetrySchedule) != len(DefaultRetrySchedule) || c.LogLevel != "info" || c.WorkerInterval != 5*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	for i, d := range DefaultRetrySchedule {
		if c.NotifyRetrySchedule[i] != d {
			t.Fatalf("default retry schedule %v, want %v", c.NotifyRetrySchedule, DefaultRetrySchedule)
		}
	}
}

// TestLoadPrecedence: a flag beats the environment, which beats the file,
// which beats the default; sources say which won.
func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "paygate.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:7001\nnotify_timeout: 7s\nnotify_concurrency: 7\nno_demo: true\nnotify_retry_schedule: [1s, 2m]\n"), 0o600)
	flags := map[string]string{"config": file, "addr": "127.0.0.1:7003"}
	env := map[string]string{"PAYGATE_ADDR": "127.0.0.1:7002", "PAYGATE_NOTIFY_TIMEOUT": "8s", "PAYGATE_LOG_LEVEL": "",
		"PAYGATE_SHED_LATENCY_TARGET": "off"}
	c, src, err := Load(Inputs{Flag: lookup(flags), Env: lookup(env)})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key, value string
		from       Source
	}{
		{"addr", "127.0.0.1:7003", SourceFlag},
		{"notify_timeout", "8s", SourceEnv},
		{"notify_concurrency", "7", SourceFile},
		{"no_demo", "true", SourceFile},
		{"notify_retry_schedule", "1s,2m", SourceFile},
		{"log_level", "info", ""}, // set to "" in the environment: unset
		{"database", "sqlite:paygate.db", ""},
		{"shed_latency_target", "off", SourceEnv},
		{"max_queue_time", "25ms", ""},
	}
	for _, w := range want {
		s, _ := SettingByKey(w.key)
		if got := s.show(&c); got != w.value || src[w.key] != w.from {
			t.Errorf("%s = %q from %q, want %q from %q", w.key, got, src[w.key], w.value, w.from)
		}
	}
	if c.ShedLatencyTarget >= 0 {
		t.Errorf("shed_latency_target off: %v, want negative", c.ShedLatencyTarget)
	}
	// PAYGATE_CONFIG names the file when --config does not.
	c, _, err = Load(Inputs{Env: lookup(map[string]string{"PAYGATE_CONFIG": file})})
	if err != nil || c.Addr != "127.0.0.1:7001" {
		t.Fatalf("PAYGATE_CONFIG: addr %q, err %v", c.Addr, err)
	}
}

// TestLoadRefusesBadValues: a bad value is an error naming the setting,
// where it came from and the value, never a silent default.
func TestLoadRefusesBadValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(body string) string {
		p := filepath.Join(dir, strings.NewReplacer(" ", "_", ":", "_", "\n", "_").Replace(body)+".yaml")
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	for _, tc := range []struct {
		name       string
		flags, env map[string]string
		want       []string
	}{
		{"addr without a numeric port", map[string]string{"addr": "8080x"}, nil, []string{"addr", "--addr", `"8080x"`, "port"}},
		{"addr port out of range", map[string]string{"addr": ":99999"}, nil, []string{"addr", "65535"}},
		{"log level", map[string]string{"log-level": "verbose"}, nil, []string{"log_level", `"verbose"`, "debug, info, warn or error"}},
		{"bool yes", nil, map[string]string{"PAYGATE_NO_DEMO": "yes"}, []string{"no_demo", "PAYGATE_NO_DEMO", `"yes"`, "true or false"}},
		{"int with a letter O", nil, map[string]string{"PAYGATE_NOTIFY_CONCURRENCY": "3O"}, []string{"notify_concurrency", "PAYGATE_NOTIFY_CONCURRENCY", `"3O"`}},
		{"worker interval", nil, map[string]string{"PAYGATE_WORKER_INTERVAL": "fast"}, []string{"worker_interval", `"fast"`, "duration"}},
		{"zero duration", map[string]string{"notify-timeout": "0s"}, nil, []string{"notify_timeout", "positive"}},
		{"shed target neither off nor a duration", map[string]string{"shed-latency-target": "never"}, nil, []string{"shed_latency_target", `"never"`, "duration"}},
		{"schedule", nil, map[string]string{"PAYGATE_NOTIFY_RETRY_SCHEDULE": "15s,soon"}, []string{"notify_retry_schedule", `"soon"`}},
		{"database", map[string]string{"database": "mysql://x"}, nil, []string{"database", "sqlite:<path> or a postgres:// URL"}},
		{"public url", map[string]string{"public-url": "pay.example.com"}, nil, []string{"public_url", "absolute http(s) URL"}},
		{"master key, masked", nil, map[string]string{"PAYGATE_MASTER_KEY": "not-a-key"}, []string{"master_key", "(masked)", "64 hex digits"}},
		{"file: bool yes", map[string]string{"config": file("no_demo: yes\n")}, nil, []string{"no_demo", "in " + dir, `"yes"`}},
		{"file: unknown key", map[string]string{"config": file("adress: :8080\n")}, nil, []string{`unknown setting "adress"`, "line 1", "addr"}},
		{"file: missing", map[string]string{"config": filepath.Join(dir, "nope.yaml")}, nil, []string{"config file", "nope.yaml"}},
		{"file: not a mapping", map[string]string{"config": file("- addr\n")}, nil, []string{"want a mapping"}},
	} {
		_, _, err := Load(Inputs{Flag: lookup(tc.flags), Env: lookup(tc.env)})
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "not-a-key") {
			t.Errorf("%s: error shows the secret: %q", tc.name, err)
		}
	}
}

// TestValueMasksSecrets: what serve logs never holds a secret.
func TestValueMasksSecrets(t *testing.T) {
	t.Parallel()
	c := Config{AdminToken: "op_secret_token", MasterKey: strings.Repeat("ab", 32), Database: "postgres://paygate:hunter2@db:5432/paygate"}
	for _, s := range Settings() {
		v := s.Value(&c)
		if strings.Contains(v, "op_secret_token") || strings.Contains(v, "abab") || strings.Contains(v, "hunter2") {
			t.Errorf("%s shows %q", s.Key, v)
		}
	}
}

// TestREADMEConfiguration: README.md's configuration table is the one
// Settings renders. After adding or changing a setting, run
// go test ./internal/gateway -run TestREADMEConfiguration -update.
func TestREADMEConfiguration(t *testing.T) {
	const path = "../../README.md"
	const begin, end = "<!-- settings table: generated from internal/gateway/settings.go -->\n", "<!-- end of settings table -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no settings table between %q and %q", begin, end)
	}
	want := MarkdownTable()
	got := readme[i+len(begin) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's configuration table is not the one Settings renders; run\n  go test ./internal/gateway -run TestREADMEConfiguration -update\nwant:\n%s\ngot:\n%s", want, got)
}

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
