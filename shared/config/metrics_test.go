package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The tag values that become dimension values are the listed ones and those
// the keys' tags set; nothing a caller sends can add one.
func TestDimensionValues(t *testing.T) {
	c, err := Parse([]byte(base + `
  - {id: k2, hash: "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", routes: [r1], tags: {team: radiology, feature: x}}
metrics:
  tag_dimensions: [team, feature, site]
  tag_values: {team: [triage, billing], site: [north]}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := c.DimensionValues()
	want := map[string][]string{"team": {"billing", "radiology", "triage"}, "feature": {"x"}, "site": {"north"}}
	if len(got) != len(want) {
		t.Fatalf("DimensionValues = %v, want %v", got, want)
	}
	for d, w := range want {
		if !slices.Equal(got[d], w) {
			t.Errorf("%s: %v, want %v", d, got[d], w)
		}
	}
}

func TestTagValuesValidation(t *testing.T) {
	tests := []struct {
		name, metrics, field, msg string
	}{
		{"not a dimension", "{tag_dimensions: [team], tag_values: {feature: [a]}}", "metrics.tag_values.feature", "not one of metrics.tag_dimensions"},
		{"reserved other", "{tag_dimensions: [team], tag_values: {team: [other]}}", "metrics.tag_values.team[0]", "unlisted or missing"},
		{"reserved untagged", "{tag_dimensions: [team], tag_values: {team: [a, untagged]}}", "metrics.tag_values.team[1]", "unlisted or missing"},
		{"blank", `{tag_dimensions: [team], tag_values: {team: [" "]}}`, "metrics.tag_values.team[0]", "printable ASCII"},
		{"not ascii", `{tag_dimensions: [team], tag_values: {team: ["équipe"]}}`, "metrics.tag_values.team[0]", "printable ASCII"},
		{"too long", "{tag_dimensions: [team], tag_values: {team: [" + strings.Repeat("a", 129) + "]}}", "metrics.tag_values.team[0]", "at most 128"},
		{"duplicate", "{tag_dimensions: [team], tag_values: {team: [a, b, a]}}", "metrics.tag_values.team[2]", "duplicate"},
		{"too many", "{tag_dimensions: [team], tag_values: {team: [" + strings.Repeat("v,", MaxTagValues) + "w]}}", "metrics.tag_values.team", "at most 50 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base + "metrics: " + tt.metrics + "\n"))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.msg) {
					return
				}
			}
			t.Errorf("errors = %v; want field %s with %q", err, tt.field, tt.msg)
		})
	}
}
