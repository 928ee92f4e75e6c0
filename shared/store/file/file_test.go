package file

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const good = `
providers: [{name: sim, type: mock}]
models: [{id: m, provider: sim}]
routes: [{name: r, targets: [{model: m}]}]
`

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// write replaces the file the way scripts/keys does: a new file renamed over
// the old one.
func write(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestReloadsWithinTTLAndFailsStatic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router.yaml")
	write(t, path, good)
	clk := &clock{t: time.Unix(1e9, 0)}
	var logs bytes.Buffer
	s := &Source{Path: path, TTL: 5 * time.Second, Now: clk.Now, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	first, err := s.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Config(ctx)
	if again != first {
		t.Error("an unchanged file gave a new configuration")
	}

	write(t, path, strings.Replace(good, "name: r,", "name: r2,", 1))
	if c, _ := s.Config(ctx); c != first {
		t.Error("the file was read again before the TTL passed")
	}
	clk.Add(5 * time.Second)
	changed, _ := s.Config(ctx)
	if changed == first || changed.Routes[0].Name != "r2" {
		t.Fatalf("after the TTL: routes %+v", changed.Routes)
	}

	// A broken file keeps the last good configuration, logged once.
	write(t, path, "providers: [{name: sim, type: nope}]")
	for i := 0; i < 3; i++ {
		clk.Add(5 * time.Second)
		if c, _ := s.Config(ctx); c != changed {
			t.Fatal("a broken file replaced the configuration")
		}
	}
	if n := strings.Count(logs.String(), "new configuration refused"); n != 1 {
		t.Errorf("refusal logged %d times, want once:\n%s", n, logs.String())
	}
	write(t, path, good)
	clk.Add(5 * time.Second)
	if c, _ := s.Config(ctx); c.Routes[0].Name != "r" {
		t.Errorf("the repaired file was not loaded: %+v", c.Routes)
	}
}

func TestLoadErrors(t *testing.T) {
	s := &Source{Path: filepath.Join(t.TempDir(), "missing.yaml")}
	if _, err := s.Config(context.Background()); err == nil {
		t.Error("a missing file loaded")
	}
}
