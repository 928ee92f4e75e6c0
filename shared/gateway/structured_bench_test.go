package gateway_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// extractionSchema is a 20-field extraction schema, and extractionAnswer a
// ~2 KB answer to it the way models often send one: prose, then a fence.
func extractionSchema() string {
	var props, req []string
	for i := 0; i < 20; i++ {
		typ := []string{`{"type":"string","maxLength":400}`, `{"type":"integer","minimum":0}`, `{"type":"number"}`,
			`{"type":"boolean"}`, `{"type":"array","items":{"type":"string"}}`}[i%5]
		props = append(props, fmt.Sprintf(`"field_%02d":%s`, i, typ))
		req = append(req, fmt.Sprintf(`"field_%02d"`, i))
	}
	return `{"type":"object","properties":{` + strings.Join(props, ",") + `},"required":[` + strings.Join(req, ",") + `],"additionalProperties":false}`
}

func extractionAnswer() string {
	var fields []string
	for i := 0; i < 20; i++ {
		v := []string{`"` + strings.Repeat("clinical note text ", 15) + `"`, "42", "3.14", "true", `["a","b","c"]`}[i%5]
		fields = append(fields, fmt.Sprintf(`  "field_%02d": %s`, i, v))
	}
	return "Here is the structured extraction you asked for, based on the patient's intake form:\n\n```json\n{\n" +
		strings.Join(fields, ",\n") + "\n}\n```\n\nLet me know if you need anything else."
}

// BenchmarkHandlerStructured is the router's whole work per request on a
// zero-latency mock that answers ~2 KB of prose and fenced JSON: plain asks
// for no JSON (the answer is relayed as it is), json_schema sends a 20-field
// schema (the router extracts, validates and rewrites the answer as
// canonical JSON), and route_schema gets the same schema from its route.
// The difference between plain and the others is the cost of the check.
func BenchmarkHandlerStructured(b *testing.B) {
	schema := extractionSchema()
	cfg := fmt.Sprintf(`
providers: [{name: sim, type: mock, mock: {reply: %s}}]
models: [{id: m, provider: sim, price: {input: 0.15, output: 0.6}}]
routes:
  - {name: bench, targets: [{model: m}]}
  - {name: bench-schema, schema: extraction, targets: [{model: m}]}
schemas:
  extraction: '%s'
`, strconv.Quote(extractionAnswer()), schema)
	gw := benchGateway(b, cfg, nil)
	const msgs = `"messages":[{"role":"user","content":"Extract the intake form."}]`
	bodies := map[string]string{
		"plain":        `{"model":"bench",` + msgs + `}`,
		"json_schema":  `{"model":"bench",` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"name":"extraction","strict":true,"schema":` + schema + `}}}`,
		"route_schema": `{"model":"bench-schema",` + msgs + `}`,
	}
	for _, name := range []string{"plain", "json_schema", "route_schema"} {
		b.Run(name, func(b *testing.B) {
			body := []byte(bodies[name])
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
				w := httptest.NewRecorder()
				gw.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				if name != "plain" && !bytes.Contains(w.Body.Bytes(), []byte(`"content":"{\"field_00\"`)) {
					b.Fatalf("the answer was not made canonical: %s", w.Body)
				}
			}
		})
	}
}
