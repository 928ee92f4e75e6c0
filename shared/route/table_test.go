package route

import (
	"slices"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
)

const detectCfg = cfg + `
  - name: scanned
    detect: [phi]
    targets: [{model: ma}]
detectors:
  patient_id: 'PID-[0-9]{8}'
data_classes:
  phi: {require: [hipaa], detect: [ssn, patient_id]}
  eu: [gdpr]
`

func TestDataClassesAndDetectors(t *testing.T) {
	tb := table(t, detectCfg)
	tests := []struct {
		class    string
		wantTags []string
		wantOK   bool
		text     string
		wantHit  string
	}{
		{"phi", []string{"hipaa"}, true, "PID-12345678", "patient_id"},
		{"phi", []string{"hipaa"}, true, "no identifiers here", ""},
		{"eu", []string{"gdpr"}, true, "PID-12345678", ""}, // no detectors
		{"nope", nil, false, "PID-12345678", ""},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.text, func(t *testing.T) {
			tags, ok := tb.DataClass(tt.class)
			if !slices.Equal(tags, tt.wantTags) || ok != tt.wantOK {
				t.Errorf("DataClass = %v, %v; want %v, %v", tags, ok, tt.wantTags, tt.wantOK)
			}
			got, hit := tb.Detectors(tt.class).Match(tt.text)
			if got != tt.wantHit || hit != (tt.wantHit != "") {
				t.Errorf("Detectors(%s).Match = %q, %v; want %q", tt.class, got, hit, tt.wantHit)
			}
		})
	}
	if first, again := tb.Detectors("phi"), tb.Detectors("phi"); first != again {
		t.Error("Detectors compiles on every call; want once per table")
	}
	r, _ := tb.Lookup("scanned")
	if !slices.Equal(r.Detect, []string{"phi"}) {
		t.Errorf("route detect = %v, want [phi]", r.Detect)
	}
	r, _ = tb.Lookup("w")
	if len(r.Detect) != 0 {
		t.Errorf("route w detects %v, want nothing", r.Detect)
	}
}

// Compile trusts validation; a configuration that skipped it and cannot
// compile its detectors is a programming error, not a silent loss of them.
func TestCompilePanicsOnUnvalidatedDetectors(t *testing.T) {
	c := &config.Config{DataClasses: map[string]config.DataClass{"phi": {Require: []string{"hipaa"}, Detect: []string{"passport"}}}}
	defer func() {
		r := recover()
		if msg, _ := r.(string); !strings.Contains(msg, "passport") {
			t.Errorf("recovered %v, want a panic naming the detector", r)
		}
	}()
	Compile(c)
	t.Error("Compile returned")
}
