package awstest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// BuildBootstrap builds the Go package in dir (a path as `go build` takes
// it) as Lambda runs it: a static binary with the lambda.norpc tag. It
// returns the binary's path, in a directory the test removes.
func BuildBootstrap(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, dir)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Function is a bootstrap process polling its own loopback Runtime API.
type Function struct {
	// RT is the Runtime API the function polls; Invoke sends it events.
	RT *RuntimeAPI
	// Stdout and Stderr hold what the process wrote so far.
	Stdout, Stderr *SyncBuffer
}

// StartFunction starts the bootstrap bin with env and
// AWS_LAMBDA_RUNTIME_API set to a new Runtime API. At the test's end the
// process is killed and the Runtime API closed; when the test failed, its
// output is logged.
func StartFunction(t testing.TB, bin string, env ...string) *Function {
	t.Helper()
	rt, err := NewRuntimeAPI()
	if err != nil {
		t.Fatal(err)
	}
	f := &Function{RT: rt, Stdout: &SyncBuffer{}, Stderr: &SyncBuffer{}}
	cmd := exec.Command(bin)
	cmd.Env = append(env, "AWS_LAMBDA_RUNTIME_API="+rt.Addr)
	cmd.Stdout, cmd.Stderr = f.Stdout, f.Stderr
	if err := cmd.Start(); err != nil {
		_ = rt.Close()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = rt.Close()
		if t.Failed() {
			t.Logf("stderr:\n%s\nstdout:\n%s", f.Stderr.String(), f.Stdout.String())
		}
	})
	return f
}

// SyncBuffer is a bytes.Buffer a process writes to while the test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
