package dynamo

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/config"
)

// Data classes without detectors are stored as they always were: the same
// item specs and the same content hash, so a table written before detection
// existed reads back unchanged and re-seeding it makes no new generation.
func TestListFormClassesStoreAsBefore(t *testing.T) {
	c := loadFile(t, "testdata/full.yaml")
	// contentHash of testdata/full.yaml as written by the code before data
	// classes could carry detectors.
	const before = "64f136566c715920f5e14f20680622949c7f07e4c9a555a3a709a6ad302e471b"
	if h, err := contentHash(c); err != nil || h != before {
		t.Errorf("contentHash = %s, %v; want %s", h, err, before)
	}
	es, err := entities(c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"phi": `["hipaa"]`, "internal": `[]`, "pci": `["soc2"]`}
	got := map[string]string{}
	for _, e := range es {
		if e.kind == kindDataClass {
			got[e.name] = string(e.spec)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("data class specs = %v, want %v", got, want)
	}
}

// detectionConfig is testdata/full.yaml with custom detectors, a data class
// with detectors, and a key and a route that ask for detection.
func detectionConfig(t *testing.T) *config.Config {
	t.Helper()
	c := loadFile(t, "testdata/full.yaml")
	c.Detectors = map[string]string{"patient_id": `PID-[0-9]{8}`, "mrn": `\bMR-[0-9]{6}\b`}
	c.DataClasses["phi"] = config.DataClass{Require: []string{"hipaa"}, Detect: []string{"ssn", "patient_id", "mrn"}}
	c.DataClasses["contact"] = config.DataClass{Detect: []string{"email", "phone"}}
	c.Keys[0].Detect = []string{"phi"}
	c.Routes[0].Detect = []string{"phi", "contact"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDetectionConfigRoundTrips(t *testing.T) {
	want := detectionConfig(t)
	es, err := entities(want)
	if err != nil {
		t.Fatal(err)
	}
	// Through the DynamoDB attribute form, without a table.
	for i, e := range es {
		item, err := e.item("pk")
		if err != nil {
			t.Fatal(err)
		}
		if e.kind == kindDataClass && e.name == "phi" {
			spec, ok := item[attrSpec].(*types.AttributeValueMemberM)
			if !ok || spec.Value["require"] == nil || spec.Value["detect"] == nil {
				t.Errorf("phi item spec = %#v, want a map with require and detect", item[attrSpec])
			}
		}
		back, err := entityOf(item)
		if err != nil {
			t.Fatal(err)
		}
		es[i] = back
	}
	got, err := assemble(es)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("config read back differs\ngot:  %s\nwant: %s", gj, wj)
	}
}

func TestDetectionConfigThroughTheTable(t *testing.T) {
	f := newFixture(t)
	want := detectionConfig(t)
	f.write(t, want)
	got, err := f.source().Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("config read back from DynamoDB differs")
	}
}
