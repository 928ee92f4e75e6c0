package llm

import (
	"errors"
	"strings"
	"testing"
)

func TestTooDeep(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		body string
		max  int
		want bool
	}{
		{"flat", `{"a":1}`, 1, false},
		{"at the limit", nest(64), 64, false},
		{"one over", nest(65), 64, true},
		{"brackets in strings do not count", `{"a":"[[[[[[[[{{{{"}`, 2, false},
		{"escaped quote keeps the string open", `{"a":"\"[[[[[[["}`, 2, false},
		{"escaped backslash closes the string", `{"a":"\\",  "b":[[[[]]]]}`, 3, true},
		{"unterminated string", `{"a":"[[[[`, 2, false},
		{"unbalanced and invalid", `{{{]`, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TooDeep([]byte(tt.body), tt.max); got != tt.want {
				t.Errorf("TooDeep(%s, %d) = %v, want %v", tt.body, tt.max, got, tt.want)
			}
		})
	}
}

// A deeply nested body is refused by both parsers with a 400 naming the
// limit, before any decoder recurses into it.
func TestParseRefusesDeepNesting(t *testing.T) {
	deep := `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	_, err := ParseChat([]byte(deep))
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != CodeTooDeep {
		t.Errorf("ParseChat: %v", err)
	}
	_, _, err = ParseEmbedding([]byte(`{"model":"m","input":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`))
	if !errors.As(err, &e) || e.Code != CodeTooDeep {
		t.Errorf("ParseEmbedding: %v", err)
	}
	// A realistic nested tool schema is well within the limit.
	schema := `{"type":"object","properties":{"a":{"type":"array","items":{"type":"object","properties":{"b":{"type":"string"}}}}}}`
	ok := `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":` + schema + `}}]}`
	if _, err := ParseChat([]byte(ok)); err != nil {
		t.Errorf("a nested tool schema was refused: %v", err)
	}
}

func BenchmarkTooDeep(b *testing.B) {
	body := []byte(benchChat)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		TooDeep(body, MaxJSONDepth)
	}
}
