package scrub

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSecrets(t *testing.T) {
	tests := []struct {
		name string
		in   string
		keys []string
		want string
	}{
		{"the key sent", "Incorrect API key provided: my-vllm-key-1. You can find your key at…",
			[]string{"my-vllm-key-1"}, "Incorrect API key provided: [key]. You can find your key at…"},
		{"every occurrence", "k=abcdefgh k=abcdefgh", []string{"abcdefgh"}, "k=[key] k=[key]"},
		{"overlapping occurrences", "abcdabcdefghefgh", []string{"abcdefgh"}, "abcd[key]efgh"},
		{"short keys are left", "x is wrong", []string{"x"}, "x is wrong"},
		{"bearer", "Authorization: Bearer sk-up-0123456789abcdef", nil, "Authorization: Bearer [redacted]"},
		{"bearer of any shape", `header "Bearer customtoken" rejected`, nil, `header "Bearer [redacted]" rejected`},
		{"basic", "Basic dXNlcjpwYXNz", nil, "Basic [redacted]"},
		{"openai key", "Incorrect API key provided: sk-proj-AbCdEf***************wxyz.", nil, "Incorrect API key provided: [redacted]"},
		{"anthropic key", "key sk-ant-api03-abcdefghijklmnop", nil, "key [redacted]"},
		{"aws access key id", "Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/bedrock/aws4_request,", nil, "[redacted],"},
		{"google key in a URL", "GET https://x.googleapis.com/v1/models?key=AIzaSyA1234567890abcdefghijklmnop failed", nil, "GET [redacted] failed"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", nil, "token [redacted]"},
		{"long hex", "signature 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", nil, "signature [redacted]"},
		{"random alphanumerics", "request req_011CSHoEeqs5C35K2UUqR7Fy failed", nil, "request [redacted] failed"},
		{"base64 with + and /", "secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY= leaked", nil, "secret [redacted] leaked"},
		{"hugging face model names", "meta-llama/Llama-3.3-70B-Instruct-Turbo and mistralai/Mixtral-8x22B-Instruct-v0.1 and Qwen/Qwen2.5-72B-Instruct", nil,
			"meta-llama/Llama-3.3-70B-Instruct-Turbo and mistralai/Mixtral-8x22B-Instruct-v0.1 and Qwen/Qwen2.5-72B-Instruct"},
		{"urls", "see https://errors.pydantic.dev/2.10/v/extra_forbidden and https://platform.openai.com/account/api-keys", nil,
			"see https://errors.pydantic.dev/2.10/v/extra_forbidden and https://platform.openai.com/account/api-keys"},
		{"name=value", "upstream said api_key=hunter2hunter2 is wrong", nil, "upstream said [redacted] is wrong"},
		{"json name and value", `{"x-api-key": "plain-words-key", "model": "gpt-4o"}`, nil, `{"x-api-key": "[redacted]", "model": "gpt-4o"}`},
		{"header line", "x-goog-api-key: my-google-key", nil, "x-goog-api-key: [redacted]"},
		{"camel case name", `apiKey="whatever-it-is"`, nil, `apiKey="[redacted]"`},
		// What a client needs to fix its request stays.
		{"model names", "The model `gpt-4o-mini-2024-07-18` does not exist", nil, "The model `gpt-4o-mini-2024-07-18` does not exist"},
		{"bedrock model", "anthropic.claude-3-5-sonnet-20240620-v1:0 is not available", nil, "anthropic.claude-3-5-sonnet-20240620-v1:0 is not available"},
		{"gemini path", "models/gemini-2.5-flash-preview-05-20 is not found for API version v1beta", nil,
			"models/gemini-2.5-flash-preview-05-20 is not found for API version v1beta"},
		{"parameters", "max_tokens: 100000 > 8192, which is the maximum allowed number of output tokens", nil,
			"max_tokens: 100000 > 8192, which is the maximum allowed number of output tokens"},
		{"token counts", "This model's maximum context length is 128000 tokens. However, you requested 130021 tokens", nil,
			"This model's maximum context length is 128000 tokens. However, you requested 130021 tokens"},
		{"words", "Tool call id was call_0fypS1hVX but must be a-z, A-Z, 0-9, with a length of 9.", nil,
			"Tool call id was call_0fypS1hVX but must be a-z, A-Z, 0-9, with a length of 9."},
		{"a name without a value", "invalid x-api-key", nil, "invalid x-api-key"},
		{"risk- is no sk- prefix", "risk-assessment-framework", nil, "risk-assessment-framework"},
		{"a second pass changes nothing", "Bearer [redacted] and Bearer [key]", nil, "Bearer [redacted] and Bearer [key]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Secrets(tt.in, tt.keys...); got != tt.want {
				t.Errorf("Secrets(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
			}
		})
	}
}

// Clean text costs no allocation: every upstream error passes through.
func TestSecretsCleanTextDoesNotAllocate(t *testing.T) {
	in := "This model's maximum context length is 128000 tokens. Please reduce the length of the messages."
	if n := testing.AllocsPerRun(100, func() { _ = Secrets(in) }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

func TestRequestText(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"Patient Jane Doe, born 1970-01-01, reports chest pain."},` +
		`{"role":"user","content":"line one\nline two of the note \u00e9t\u00e9 here"}],"tools":[{"type":"function","function":{"name":"lookup_patient_record_by_id"}}]}`
	tests := []struct {
		name, in, want string
	}{
		{"quoted prompt", "Invalid content: 'Patient Jane Doe, born 1970-01-01, reports chest pain.' is too long",
			"Invalid content: '[request text]' is too long"},
		{"part of the prompt", "near 'born 1970-01-01, reports chest' at position 12", "near '[request text]' at position 12"},
		{"escaped text is compared unescaped", "bad text: line two of the note été here!", "bad text: [request text]!"},
		{"member names and tool names too", "function lookup_patient_record_by_id is unknown", "function [request text] is unknown"},
		{"short runs stay", "messages[0].content: Patient Jane is invalid", "messages[0].content: Patient Jane is invalid"},
		{"nothing in common", "max_tokens is too large for this model", "max_tokens is too large for this model"},
		{"short text", "bad", "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RequestText(tt.in, []byte(body)); got != tt.want {
				t.Errorf("RequestText(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
			}
		})
	}
}

// A request that contains the mark cannot make a removal rebuild its text:
// what is left shares no run with the request, or is dropped.
func TestRequestTextWithTheMarkInTheRequest(t *testing.T) {
	prompt := "aaaa" + RequestMark + "bbbbbbbbbbbbbbbbbbbb"
	body, _ := json.Marshal(map[string]string{"content": "cccccccccccccccccccccc " + prompt})
	in := "echo: cccccccccccccccccccccc" + "aaaa" + RequestMark + "bbbbbbbbbbbbbbbbbbbb end"
	got := RequestText(in, body)
	if shares(got, body) {
		t.Errorf("RequestText left %q, which shares a run with the request", got)
	}
}

// shares reports whether s has a MinRun-byte window in common with a string
// of body, by brute force.
func shares(s string, body []byte) bool {
	for _, str := range stringsOf(body) {
		for k := 0; k+MinRun <= len(str); k++ {
			if strings.Contains(s, string(str[k:k+MinRun])) {
				return true
			}
		}
	}
	return false
}

// FuzzRequestText holds RequestText to its promise on any text and request:
// nothing of MinRun bytes or more that the request's strings hold survives,
// and text without such runs is untouched.
func FuzzRequestText(f *testing.F) {
	f.Add("Invalid content: 'Patient Jane Doe reports chest pain' too long", "Patient Jane Doe reports chest pain")
	f.Add("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaa")
	f.Add("x"+RequestMark+"yyyyyyyyyyyyyyyyyy", RequestMark+"yyyyyyyyyyyyyy")
	f.Add("é"+strings.Repeat("\u00e9", 12), strings.Repeat("\u00e9", 9))
	f.Fuzz(func(t *testing.T, detail, prompt string) {
		body, err := json.Marshal(map[string]any{"model": "m", "messages": []any{map[string]string{"role": "user", "content": prompt}}})
		if err != nil {
			t.Skip()
		}
		got := RequestText(detail, body)
		if shares(got, body) {
			t.Fatalf("RequestText(%q) = %q shares a run with the request %s", detail, got, body)
		}
		if !shares(detail, body) && got != detail {
			t.Fatalf("RequestText(%q) = %q changed text the request does not share", detail, got)
		}
	})
}

// FuzzSecrets: a key never survives, whatever surrounds it, and scrubbing
// twice (the adapter, then httpapi with the key) is scrubbing once.
func FuzzSecrets(f *testing.F) {
	f.Add("Incorrect API key provided: ", "sk-up-0123456789", " trailing")
	f.Add("[key", "[key]]]]]]", "]")
	f.Add("", "abcdefgh", "abcdefgh")
	f.Add("Authorization: Bearer ", "plain.key.for.tests", " x-api-key: other-secret-value")
	f.Fuzz(func(t *testing.T, before, key, after string) {
		in := before + key + after + key
		once := Secrets(in)
		if twice := Secrets(once); twice != once {
			t.Fatalf("Secrets is not idempotent on %q: %q, then %q", in, once, twice)
		}
		if len(key) < MinKeyLen {
			return
		}
		got := Secrets(once, key)
		if strings.Contains(got, key) {
			t.Fatalf("Secrets kept the key %q: %q", key, got)
		}
	})
}

func BenchmarkRequestText(b *testing.B) {
	prompt := strings.Repeat("The patient reports mild headache for two days, no fever. ", 200)
	body, _ := json.Marshal(map[string]any{"model": "m", "messages": []any{map[string]string{"role": "user", "content": prompt}}})
	detail := "Invalid 'messages[0].content': string too long. Expected a string with maximum length 10000, but got a string with length 11800 instead: '" + prompt[:300] + "'"
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = RequestText(detail, body)
	}
}

func BenchmarkSecrets(b *testing.B) {
	for _, bm := range []struct{ name, s string }{
		{"clean", "This model's maximum context length is 128000 tokens. However, you requested 130021 tokens (129021 in the messages, 1000 in the completion)."},
		{"key", "Incorrect API key provided: sk-proj-AbCdEf0123456789ghijKLMNopqr. You can find your API key at https://platform.openai.com/account/api-keys."},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Secrets(bm.s, "sk-proj-AbCdEf0123456789ghijKLMNopqr")
			}
		})
	}
}

func TestRollOut(t *testing.T) {
	var want uint64 = 1
	for range MinRun {
		want *= rollBase
	}
	if rollOut != want {
		t.Errorf("rollOut = %#x, want %#x", uint64(rollOut), want)
	}
	// Rolling gives the hash of the next window.
	s := "abcdefghijklmnopqrstuvwxyz0123456789"
	for k := 0; k+MinRun < len(s); k++ {
		if got, want := roll(rollInit(s[k:k+MinRun]), s[k], s[k+MinRun]), rollInit(s[k+1:k+1+MinRun]); got != want {
			t.Fatalf("roll at %d = %#x, want %#x", k, got, want)
		}
	}
}
