package audit_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
)

// Caller-controlled text (tags, the client request id) with Unicode line and
// paragraph separators or C1 controls leaves the audit line one line: the
// characters are escaped, and decode back to what the caller sent.
func TestAuditLineStaysOneLine(t *testing.T) {
	rec := audit.Record{Time: time.Now(), Route: "r", Status: 200,
		Tags: map[string]string{"team": "a\u2028b\u2029c\u0085d\u009be"}, ClientRequestID: "id\u2028\u0085"}
	line := string(rec.AppendJSON(nil))
	for _, sep := range []string{"\n", "\r", "\u2028", "\u2029", "\u0085", "\u009b"} {
		if strings.Contains(line, sep) {
			t.Errorf("the line holds %q unescaped: %s", sep, line)
		}
	}
	var got struct {
		Tags            map[string]string `json:"tags"`
		ClientRequestID string            `json:"client_request_id"`
	}
	if err := json.Unmarshal([]byte(line), &got); err != nil || got.Tags["team"] != rec.Tags["team"] || got.ClientRequestID != rec.ClientRequestID {
		t.Errorf("line %s decodes to %+v, %v; want the values sent", line, got, err)
	}
}
