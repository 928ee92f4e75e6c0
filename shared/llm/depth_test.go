package llm

import (
	"errors"
	"strings"
	"testing"
)

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
