package awstest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestMotoStopAndRestart(t *testing.T) {
	m := Start(t)
	cfg := m.Config()
	calls := &CountingClient{Base: cfg.HTTPClient}
	cfg.HTTPClient = calls
	db := dynamodb.NewFromConfig(cfg)
	ctx := context.Background()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("t"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}}})
	if err != nil {
		t.Fatalf("CreateTable through the real SDK: %v", err)
	}
	if calls.Count() != 1 {
		t.Errorf("counted %d requests, want 1", calls.Count())
	}

	m.Stop()
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); err == nil {
		t.Fatal("a stopped moto answered")
	}
	if err := m.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := db.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if len(out.TableNames) != 0 {
		t.Errorf("a restarted moto kept tables %v, want it empty", out.TableNames)
	}
	env := strings.Join(m.Env(), " ")
	if !strings.Contains(env, "AWS_ENDPOINT_URL="+m.Endpoint) || !strings.Contains(env, "AWS_ACCESS_KEY_ID=test") {
		t.Errorf("Env = %s", env)
	}
}

// runtimeClient does what aws-lambda-go's runtime client does, by hand.
func runtimeClient(t *testing.T, addr string) (id string, deadline time.Time, payload string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	ms, _ := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	return resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), time.UnixMilli(ms), string(body)
}

func TestRuntimeAPIStreamsTheResponse(t *testing.T) {
	rt, err := NewRuntimeAPI()
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	inv := rt.Invoke([]byte(`{"hello":1}`), time.Minute)
	id, deadline, payload := runtimeClient(t, rt.Addr)
	if id != inv.ID || payload != `{"hello":1}` || deadline.Sub(inv.Deadline).Abs() > time.Millisecond {
		t.Fatalf("next = %s %v %s", id, deadline, payload)
	}

	// A chunked POST whose second part is sent only after the test read the first.
	pr, pw := io.Pipe()
	posted := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+rt.Addr+"/2018-06-01/runtime/invocation/"+id+"/response", pr)
		req.Header.Set("Content-Type", "application/vnd.awslambda.http-integration-response")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				err = errors.New(resp.Status)
			}
		}
		posted <- err
	}()
	go func() { _, _ = io.WriteString(pw, "first|") }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ct, body, err := inv.Response(ctx)
	if err != nil || ct != "application/vnd.awslambda.http-integration-response" {
		t.Fatalf("Response = %q, %v", ct, err)
	}
	buf := make([]byte, len("first|"))
	if _, err := io.ReadFull(body, buf); err != nil || string(buf) != "first|" {
		t.Fatalf("first part = %q, %v", buf, err)
	}
	_, _ = io.WriteString(pw, "second")
	pw.Close()
	rest, err := io.ReadAll(body)
	if err != nil || string(rest) != "second" {
		t.Errorf("rest = %q, %v", rest, err)
	}
	if err := <-posted; err != nil {
		t.Errorf("POST: %v", err)
	}
	taken, err := inv.Taken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The answer ended; the invocation ends only when the function polls
	// again, which it has not yet.
	sent, err := inv.Sent(ctx)
	if err != nil || sent.Before(taken) {
		t.Fatalf("Sent = %v, %v (taken %v)", sent, err, taken)
	}
	select {
	case <-inv.done:
		t.Fatal("the invocation is done before the function polled again")
	default:
	}
	rt.Invoke([]byte(`{}`), time.Minute)
	runtimeClient(t, rt.Addr)
	done, err := inv.Done(ctx)
	if err != nil || done.Before(sent) {
		t.Errorf("Done = %v, %v (sent %v)", done, err, sent)
	}
}

func TestRuntimeAPIFunctionError(t *testing.T) {
	rt, err := NewRuntimeAPI()
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	inv := rt.Invoke([]byte(`{}`), time.Minute)
	id, _, _ := runtimeClient(t, rt.Addr)
	req, _ := http.NewRequest(http.MethodPost, "http://"+rt.Addr+"/2018-06-01/runtime/invocation/"+id+"/error",
		strings.NewReader(`{"errorMessage":"boom","errorType":"errorString"}`))
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "errorString")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = inv.Result(ctx)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Type != "errorString" || !strings.Contains(fe.Body, "boom") {
		t.Errorf("Result error = %v, want the function error", err)
	}
}
