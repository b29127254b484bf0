package gateway_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/store/postgres/postgrestest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// paygateBinary builds cmd/paygate once per test run.
func paygateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "paygate-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "paygate")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/paygate/paygate/cmd/paygate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a paygate serve child process.
type process struct {
	cmd           *exec.Cmd
	url           string
	secretKey     string // the demo app's, printed at first start
	webhookSecret string
}

var (
	listenRe = regexp.MustCompile(`paygate listening on (\S+)`)
	skRe     = regexp.MustCompile(`secret key\s+(sk_test_\S+)`)
	whsecRe  = regexp.MustCompile(`webhook secret\s+(whsec_\S+)`)
)

// startProcess runs the built binary's serve on database with extra flags,
// and reads its address and the demo app's keys from its output.
func startProcess(t *testing.T, database string, extra ...string) *process {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--database", database, "--log-level", "error"}, extra...)
	cmd := exec.Command(paygateBinary(t), args...)
	cmd.Env = append(os.Environ(), "PAYGATE_ADMIN_TOKEN="+adminToken,
		"PAYGATE_MASTER_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		// Not a test of shedding: on a busy test machine the bound that
		// follows the CPU, and a queue time of 25 ms counted from when the
		// kernel received a request, would refuse these tests' bursts.
		"PAYGATE_SHED_LATENCY_TARGET=off", "PAYGATE_MAX_QUEUE_TIME=1s")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &process{cmd: cmd}
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		if m := skRe.FindStringSubmatch(line); m != nil {
			p.secretKey = m[1]
		}
		if m := whsecRe.FindStringSubmatch(line); m != nil {
			p.webhookSecret = m[1]
		}
		if m := listenRe.FindStringSubmatch(line); m != nil {
			p.url = "http://" + m[1]
			break
		}
	}
	if p.url == "" {
		t.Fatal("paygate serve did not report its address")
	}
	go io.Copy(io.Discard, stdout)
	return p
}

// pgSchemaURL makes a schema for a child process and returns a URL that selects it.
func pgSchemaURL(t *testing.T) string {
	base := postgrestest.URL(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "paygate_crash_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, _ := sql.Open("pgx", base)
		defer db.Close()
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestSIGKILLLosesNothing kills the gateway with SIGKILL during a burst of
// creates and payments, restarts it, and checks that every acknowledged order
// is there in its acknowledged state and that the ledger verifies.
func TestSIGKILLLosesNothing(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			database := "sqlite:" + filepath.Join(t.TempDir(), "crash.db")
			if kind == "postgres" {
				database = pgSchemaURL(t)
			}
			p := startProcess(t, database)
			c, err := client.New(p.url, client.WithSecretKey(p.secretKey))
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			created := map[string]string{} // order id → out_trade_no
			paid := map[string]bool{}
			var acked atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ctx.Err() == nil && i < 10000; i++ {
						no := fmt.Sprintf("crash-%d-%d", w, i)
						o, err := c.CreateOrder(ctx, orderParams(no, 100+int64(i)))
						if err != nil {
							return // the server died
						}
						mu.Lock()
						created[o.ID] = no
						mu.Unlock()
						acked.Add(1)
						if i%2 == 0 {
							po, err := c.TestPayOrder(ctx, o.ID, "succeeded")
							if err != nil {
								return
							}
							if po.Status == "succeeded" {
								mu.Lock()
								paid[o.ID] = true
								mu.Unlock()
							}
						}
					}
				}()
			}
			for acked.Load() < 150 {
				time.Sleep(5 * time.Millisecond)
			}
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.cmd.Wait()
			cancel()
			wg.Wait()
			t.Logf("killed after %d acknowledged creates, %d acknowledged payments", len(created), len(paid))

			p2 := startProcess(t, database)
			c2, _ := client.New(p2.url, client.WithSecretKey(p.secretKey))
			for id, no := range created {
				o, err := c2.GetOrder(context.Background(), id)
				if err != nil {
					t.Fatalf("acknowledged order %s (%s) lost: %v", id, no, err)
				}
				if paid[id] && o.Status != "succeeded" {
					t.Fatalf("acknowledged payment of %s lost: status %s", id, o.Status)
				}
			}
			p2.cmd.Process.Signal(syscall.SIGTERM)
			p2.cmd.Wait()
			out, err := exec.Command(paygateBinary(t), "ledger", "verify", "--database", database).CombinedOutput()
			if err != nil {
				t.Fatalf("ledger verify after the crash: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "ledger verify: ok") {
				t.Fatalf("ledger verify said: %s", out)
			}
		})
	}
}
