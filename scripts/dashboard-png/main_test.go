package main

import (
	"encoding/json"
	"html"
	"strings"
	"testing"
)

// The picture is drawn from the template's own dashboard: every widget, with
// parameters and resource names resolved.
func TestRenderTemplateDashboard(t *testing.T) {
	body, err := dashboardBody("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, "${") && !strings.Contains(body, "${PROP(") {
		t.Errorf("unresolved substitution left in the body")
	}
	var d dashboard
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Widgets) < 10 {
		t.Fatalf("%d widgets", len(d.Widgets))
	}
	page := render(d)
	for _, w := range d.Widgets {
		if w.Properties.Title != "" && !strings.Contains(page, html.EscapeString(w.Properties.Title)) {
			t.Errorf("widget %q is not drawn", w.Properties.Title)
		}
	}
	for _, want := range []string{"llm-router-error-rate", "llm-router-ChatLogGroup-", "Cost per team (USD per hour)"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
