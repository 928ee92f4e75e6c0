package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// withDetection is base with a custom detector, phi detected by three
// detectors, and a key and a route that ask for detection.
var withDetection = strings.NewReplacer(
	"data_classes:\n  phi: [hipaa]\n",
	"detectors:\n  patient_id: 'PID-[0-9]{8}'\n  mrn: '\\bMR-[0-9]{6}\\b'\n"+
		"data_classes:\n  phi: {require: [hipaa], detect: [ssn, patient_id, mrn]}\n  internal: []\n  eu: [gdpr]\n",
	"routes: [r1], data_class: phi}",
	"routes: [r1], detect: [phi]}",
	"  - name: r1\n",
	"  - name: r1\n    detect: [phi]\n",
).Replace(base)

func TestDataClassForms(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     DataClass
		wantJSON string
	}{
		{"list", `[hipaa]`, DataClass{Require: []string{"hipaa"}}, `["hipaa"]`},
		{"empty list", `[]`, DataClass{Require: []string{}}, `[]`},
		{"object", `{require: [hipaa], detect: [ssn, mrn]}`,
			DataClass{Require: []string{"hipaa"}, Detect: []string{"ssn", "mrn"}}, `{"require":["hipaa"],"detect":["ssn","mrn"]}`},
		{"object without detectors", `{require: [hipaa]}`, DataClass{Require: []string{"hipaa"}}, `["hipaa"]`},
		{"object with empty detectors", `{require: [hipaa], detect: []}`, DataClass{Require: []string{"hipaa"}}, `["hipaa"]`},
		{"detectors only", `{detect: [email]}`, DataClass{Detect: []string{"email"}}, `{"detect":["email"]}`},
		{"detectors and no tags", `{require: [], detect: [email]}`,
			DataClass{Require: []string{}, Detect: []string{"email"}}, `{"require":[],"detect":["email"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got DataClass
			if err := yaml.Unmarshal([]byte(tt.yaml), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("YAML %s = %#v, want %#v", tt.yaml, got, tt.want)
			}
			j, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(j) != tt.wantJSON {
				t.Errorf("JSON = %s, want %s", j, tt.wantJSON)
			}
			var back DataClass
			if err := json.Unmarshal(j, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.want) {
				t.Errorf("JSON round trip = %#v, want %#v", back, tt.want)
			}
			y, err := yaml.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var yback DataClass
			if err := yaml.Unmarshal(y, &yback); err != nil {
				t.Fatal(err)
			}
			if len(tt.want.Detect) == 0 && !strings.HasPrefix(string(y), "- ") && string(y) != "[]\n" {
				t.Errorf("YAML of a class without detectors is %q, want the list form", y)
			}
			if !reflect.DeepEqual(yback.Detect, tt.want.Detect) || strings.Join(yback.Require, ",") != strings.Join(tt.want.Require, ",") {
				t.Errorf("YAML round trip = %#v, want %#v", yback, tt.want)
			}
		})
	}
}

func TestDataClassJSONErrors(t *testing.T) {
	for _, in := range []string{`"hipaa"`, `{"require":["hipaa"],"colour":"blue"}`, `{"detect":"ssn"}`, `[1]`} {
		t.Run(in, func(t *testing.T) {
			var d DataClass
			if err := json.Unmarshal([]byte(in), &d); err == nil {
				t.Errorf("Unmarshal(%s) = %#v, want an error", in, d)
			}
		})
	}
}

// A configuration without detectors encodes exactly as before data classes
// could have them: the config hash and the DynamoDB items do not change.
func TestListFormEncodesAsBefore(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(base, "  phi: [hipaa]\n", "  phi: [hipaa]\n  internal: []\n  none:\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(c.DataClasses)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"internal":[],"none":null,"phi":["hipaa"]}`; string(got) != want {
		t.Errorf("data classes encode as %s, want %s", got, want)
	}
	whole, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{`"detectors"`, `"detect"`} {
		if strings.Contains(string(whole), member) {
			t.Errorf("a configuration without detection encodes %s: %s", member, whole)
		}
	}
}

func TestDetectionConfig(t *testing.T) {
	c, err := Parse([]byte(withDetection))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := c.Keys[0].Detect; len(got) != 1 || got[0] != "phi" {
		t.Errorf("keys[0].detect = %v, want [phi]", got)
	}
	if got := c.Routes[0].Detect; len(got) != 1 || got[0] != "phi" {
		t.Errorf("routes[0].detect = %v, want [phi]", got)
	}
	tests := []struct {
		class, text, want string
	}{
		{"phi", "SSN 123-45-6789", "ssn"},
		{"phi", "id PID-12345678", "patient_id"},
		{"phi", "chart MR-123456", "mrn"},
		{"phi", "MRN 1234567", ""}, // the built-in MRN is replaced
		{"phi", "jo@example.com", ""},
		{"eu", "SSN 123-45-6789", ""}, // no detectors
		{"nope", "SSN 123-45-6789", ""},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.text, func(t *testing.T) {
			set, err := c.CompileDetectors(tt.class)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := set.Match(tt.text)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Match = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func TestDetectionErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name       string
		from, to   string // replace from with to in withDetection
		wantField  string
		wantSubstr string
	}{
		{"unknown detector", "detect: [ssn, patient_id, mrn]", "detect: [ssn, passport, mrn]", "data_classes.phi.detect[1]", `unknown detector "passport"`},
		{"detector twice", "detect: [ssn, patient_id, mrn]", "detect: [ssn, patient_id, ssn]", "data_classes.phi.detect[2]", "listed twice"},
		{"bad pattern", "patient_id: 'PID-[0-9]{8}'", "patient_id: 'PID-[0-9'", "detectors.patient_id", "does not compile"},
		{"perl syntax", "patient_id: 'PID-[0-9]{8}'", `patient_id: 'PID(?=\d)'`, "detectors.patient_id", "does not compile"},
		{"matches everything", "patient_id: 'PID-[0-9]{8}'", "patient_id: 'x*'", "detectors.patient_id", "empty text"},
		{"built-in name", "patient_id: 'PID-[0-9]{8}'", "ssn: 'PID-[0-9]{8}'", "detectors.ssn", "built-in"},
		{"bad detector name", "patient_id: 'PID-[0-9]{8}'", "'patient id': 'PID-[0-9]{8}'", "detectors.patient id", "bad detector name"},
		{"key detects unknown class", "detect: [phi]}", "detect: [pii]}", "keys[0].detect[0]", `unknown data class "pii"`},
		{"key detects class without detectors", "detect: [phi]}", "detect: [eu]}", "keys[0].detect[0]", `"eu" has no detectors`},
		{"route detects unknown class", "    detect: [phi]\n", "    detect: [phi, pii]\n", "routes[0].detect[1]", `unknown data class "pii"`},
		{"route detects class without detectors", "    detect: [phi]\n", "    detect: [internal]\n", "routes[0].detect[0]", "has no detectors"},
		{"route detects twice", "    detect: [phi]\n", "    detect: [phi, phi]\n", "routes[0].detect[1]", "listed twice"},
		{"scalar class", "  eu: [gdpr]\n", "  eu: gdpr\n", "data_classes.eu", "a data class is a list"},
		{"unknown class field", "{require: [hipaa], detect:", "{require: [hipaa], colour: blue, detect:", "data_classes.phi.colour", "not found"},
		{"bad tag in object", "{require: [hipaa], detect:", "{require: [hip aa], detect:", "data_classes.phi", "bad tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(withDetection, tt.from) {
				t.Fatalf("test setup: %q not in the config", tt.from)
			}
			_, err := Parse([]byte(strings.Replace(withDetection, tt.from, tt.to, 1)))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.wantField && strings.Contains(fe.Message, tt.wantSubstr) {
					return
				}
			}
			t.Errorf("errors = %v; want field %s with %q", err, tt.wantField, tt.wantSubstr)
		})
	}
}
