package gateway_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

// A key or route with detect: [phi] treats a request whose text matches one
// of phi's detectors as phi: it is routed under phi's tags (so never to a
// provider without hipaa), and the audit line names the detector, never the
// text it matched. Detection only adds: a request that matches nothing goes
// where it would have gone.
func TestDetectionEscalatesToPHI(t *testing.T) {
	const ssn = "123-45-6789"
	for _, tc := range []struct {
		name, where, text string
		phi               bool
		detector          string
	}{
		{"ssn on a detecting key", "key", "Patient SSN " + ssn + ", please summarise.", true, "ssn"},
		{"dob on a detecting route", "route", "Summarise: DOB 03/14/1962, headache.", true, "dob"},
		{"custom pattern", "route", "Chart PID-12345678 needs a summary.", true, "patient_id"},
		{"nothing to detect", "key", "Summarise the visit: mild headache, no fever.", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyDetect, routeDetect := "", ""
			if tc.where == "key" {
				keyDetect = ", detect: [phi]"
			} else {
				routeDetect = ", detect: [phi]"
			}
			cfg := strings.Replace(requirementProviders, "data_classes:\n  phi: [hipaa]",
				"detectors:\n  patient_id: 'PID-[0-9]{8}'\ndata_classes:\n  phi: {require: [hipaa], detect: [ssn, phone, email, dob, mrn, patient_id]}", 1) + `
routes:
  # The public target comes first: only the requirement keeps it out.
  - {name: notes, targets: [{model: pub-model}, {model: hip-model}]` + routeDetect + `}
keys:
  - {id: app, hash: "` + keyHash(appKey) + `", routes: ["*"]` + keyDetect + `}
`
			h, hip, pub := requirementHarness(t, cfg)
			params := openai.ChatCompletionNewParams{Model: "notes", Messages: []openai.ChatCompletionMessageParamUnion{
				openai.SystemMessage("You are a clinical scribe."), openai.UserMessage(tc.text)}}
			for _, stream := range []bool{false, true} {
				if stream {
					s := h.client(appKey).Chat.Completions.NewStreaming(context.Background(), params)
					for s.Next() {
					}
					if err := s.Err(); err != nil {
						t.Fatal(err)
					}
				} else if _, err := h.client(appKey).Chat.Completions.New(context.Background(), params); err != nil {
					t.Fatal(err)
				}
				rec := h.audit.next(t)
				line := string(rec.AppendJSON(nil))
				if tc.phi {
					want := "detector:" + tc.detector
					if rec.Provider != "hip" || !slices.Equal(rec.Require, []string{"hipaa"}) || rec.DataClass != "phi" ||
						!strings.Contains(line, `"hipaa":["`+want+`"]`) {
						t.Errorf("stream %v: provider %q require %v class %q; line %s", stream, rec.Provider, rec.Require, rec.DataClass, line)
					}
				} else if rec.Provider != "pub" || len(rec.Require) != 0 {
					t.Errorf("stream %v: nothing detected, yet provider %q require %v", stream, rec.Provider, rec.Require)
				}
				for _, secret := range []string{ssn, "03/14/1962", "PID-12345678"} {
					if strings.Contains(line, secret) || strings.Contains(h.stderr.String(), secret) {
						t.Errorf("the matched text %q reached the audit line or the log", secret)
					}
				}
			}
			if tc.phi && pub.Calls() != 0 {
				t.Errorf("a request detected as phi reached the public provider %d times", pub.Calls())
			}
			if !tc.phi && hip.Calls() != 0 {
				t.Errorf("a request with nothing detected went to hip %d times", hip.Calls())
			}
		})
	}
}
