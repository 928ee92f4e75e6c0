package llm

import (
	"encoding/json"
	"testing"
)

// A client's output limit above the model's cap is lowered in both the
// parsed request and the body, in copies: the originals are shared by every
// attempt.
func TestClampOutput(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"x"}]`
	tests := []struct {
		name           string
		body           string
		limit          int
		wantMax        *int // max_tokens in the body sent, nil when absent
		wantCompletion *int
		same           bool // the request itself comes back
	}{
		{"above", `{"model":"m",` + msgs + `,"max_tokens":100000}`, 16384, ptr(16384), nil, false},
		{"both above", `{"model":"m",` + msgs + `,"max_tokens":90000,"max_completion_tokens":100000}`, 16384, ptr(16384), ptr(16384), false},
		{"one above", `{"model":"m",` + msgs + `,"max_tokens":100,"max_completion_tokens":100000}`, 16384, ptr(100), ptr(16384), false},
		{"within", `{"model":"m",` + msgs + `,"max_tokens":1000}`, 16384, ptr(1000), nil, true},
		{"none asked", `{"model":"m",` + msgs + `}`, 16384, nil, nil, true},
		{"cap unknown", `{"model":"m",` + msgs + `,"max_tokens":100000}`, 0, ptr(100000), nil, true},
		{"escaped name", `{"model":"m",` + msgs + `,"max_tok\u0065ns":100000}`, 16384, ptr(16384), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chat, err := ParseChat([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req := &Request{Chat: chat, Body: []byte(tt.body), Model: "m", Upstream: "up"}
			got, err := req.ClampOutput(tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if (got == req) != tt.same {
				t.Fatalf("same request returned: %v, want %v", got == req, tt.same)
			}
			var sent struct {
				MaxTokens           *int `json:"max_tokens"`
				MaxCompletionTokens *int `json:"max_completion_tokens"`
			}
			if err := json.Unmarshal(got.Body, &sent); err != nil {
				t.Fatalf("body %s: %v", got.Body, err)
			}
			if !equal(sent.MaxTokens, tt.wantMax) || !equal(sent.MaxCompletionTokens, tt.wantCompletion) ||
				!equal(got.Chat.MaxTokens, tt.wantMax) || !equal(got.Chat.MaxCompletionTokens, tt.wantCompletion) {
				t.Errorf("body %s, chat max_tokens %v max_completion_tokens %v; want %v %v",
					got.Body, deref(got.Chat.MaxTokens), deref(got.Chat.MaxCompletionTokens), deref(tt.wantMax), deref(tt.wantCompletion))
			}
			if string(req.Body) != tt.body {
				t.Errorf("the shared body was modified: %s", req.Body)
			}
			if again, _ := ParseChat([]byte(tt.body)); !equal(req.Chat.MaxTokens, again.MaxTokens) {
				t.Error("the shared parsed request was modified")
			}
		})
	}
}

func ptr(n int) *int { return &n }

func equal(a, b *int) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
