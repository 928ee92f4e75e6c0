package providertest

import (
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/scrub"
)

// CheckNoLeak fails t unless err is an *llm.Error that shows none of secrets
// (the provider key, the prompt) anywhere a client or a log could read them:
// Message, Type, Code and Param as they are, Detail once scrub.RequestText
// has removed the text of body (the client's request, as the gateway does),
// and err.Error(). keep is a part of the provider's message that must
// survive in Detail, so the check cannot pass by losing everything.
func CheckNoLeak(t testing.TB, err error, body []byte, keep string, secrets ...string) {
	t.Helper()
	e := llm.AsError(err)
	if e == nil {
		t.Fatalf("got %v, want an *llm.Error", err)
	}
	detail := scrub.RequestText(e.Detail, body)
	fields := map[string]string{"Message": e.Message, "Type": e.Type, "Code": e.Code, "Param": e.Param,
		"Detail after RequestText": detail, "Error()": e.Error()}
	for name, v := range fields {
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				t.Errorf("%s holds %q: %q", name, s, v)
			}
		}
	}
	if !strings.Contains(detail, keep) {
		t.Errorf("Detail %q lost the provider's %q", detail, keep)
	}
}
