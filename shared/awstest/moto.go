// Package awstest runs the real AWS emulator and the Lambda Runtime API on
// loopback for tests and measurement scripts: moto_server (DynamoDB, Secrets
// Manager, CloudWatch) reached by the real aws-sdk-go-v2 clients over HTTP, a
// request-counting HTTP client, and a Runtime API that runs a real bootstrap
// binary. Nothing here fakes an SDK interface.
package awstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llm-router/router/shared/awshttp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Dummy credentials and region moto accepts; they reach no real account.
const (
	AccessKeyID     = "test"
	SecretAccessKey = "test"
	Region          = "us-east-1"
)

// startTimeout bounds how long moto_server may take to answer after start.
const startTimeout = 30 * time.Second

// Moto is a moto_server process on a loopback port. Its state lives in the
// process: Stop loses it, Restart begins empty on the same port.
type Moto struct {
	// Endpoint is the base URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	port     int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	logs *os.File
}

// Launch starts moto_server on a free loopback port and returns once it
// answers HTTP. Scripts call it directly; tests use Start.
func Launch(ctx context.Context) (*Moto, error) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, fmt.Errorf("awstest: moto_server is not on PATH (pip install 'moto[server]'): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &Moto{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), port: port}
	if err := m.start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Start launches moto_server for one test and stops it when the test ends.
func Start(t testing.TB) *Moto {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	m, err := Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// freePort asks the kernel for an unused loopback port. Another process could
// take it before moto binds it; start then fails with moto's own message.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("awstest: no free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

func (m *Moto) start(ctx context.Context) error {
	logs, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return err
	}
	cmd := exec.Command("moto_server", "-H", "127.0.0.1", "-p", strconv.Itoa(m.port))
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logs.Close()
		os.Remove(logs.Name())
		return fmt.Errorf("awstest: start moto_server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.mu.Lock()
	m.cmd, m.done, m.logs = cmd, done, logs
	m.mu.Unlock()
	if err := waitReady(ctx, m.Endpoint, done); err != nil {
		out, _ := os.ReadFile(logs.Name())
		m.stop()
		return fmt.Errorf("awstest: moto_server on %s: %w\n%s", m.Endpoint, err, out)
	}
	return nil
}

// waitReady polls moto's own API until it answers, the process exits or ctx ends.
func waitReady(ctx context.Context, endpoint string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/moto-api/data.json", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("exited before answering")
		case <-ctx.Done():
			return fmt.Errorf("no answer: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop kills moto_server, to simulate an outage; its state is lost.
func (m *Moto) Stop() { m.stop() }

func (m *Moto) stop() {
	m.mu.Lock()
	cmd, done, logs := m.cmd, m.done, m.logs
	m.cmd, m.done, m.logs = nil, nil, nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	logs.Close()
	os.Remove(logs.Name())
}

// Restart starts a fresh, empty moto_server on the same port.
func (m *Moto) Restart(ctx context.Context) error {
	m.stop()
	return m.start(ctx)
}

// Close stops moto_server for good.
func (m *Moto) Close() error {
	m.stop()
	return nil
}

// Config is an AWS configuration that reaches this moto with dummy
// credentials, through the same guarded HTTP client production uses
// (awshttp.Guard). It keeps the SDK's standard retries, for the occasional
// connection moto's development server drops, but with short backoffs, so a
// test of an outage fails fast.
func (m *Moto) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(m.Endpoint),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 20 * time.Millisecond })
		},
		HTTPClient: awshttp.Guard(&http.Client{Timeout: 10 * time.Second}),
	}
}

// Serial lets one request at a time through c. moto applies an UpdateItem
// ADD as a read-modify-write of the item in a threaded server
// (moto/dynamodb/parsing/executors.py, AddExecutor), so two concurrent ADDs
// to one counter can lose one; DynamoDB applies each atomically. Taking turns
// gives the emulator DynamoDB's atomicity, while the callers and their
// goroutines stay as concurrent as they are.
func Serial(c aws.HTTPClient) aws.HTTPClient { return &serial{base: c} }

type serial struct {
	mu   sync.Mutex
	base aws.HTTPClient
}

// Do sends r once no other request is under way; moto has applied an
// operation once its answer's headers arrive.
func (s *serial) Do(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base.Do(r)
}

// Env is the environment a child process needs to reach this moto through
// the SDK's default configuration chain.
func (m *Moto) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + m.Endpoint,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		// Keep the developer's own profiles and credentials out of it.
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetEnv points the current process's default AWS configuration chain at
// this moto for the rest of the test (t.Setenv: not for parallel tests).
func (m *Moto) SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range m.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}
