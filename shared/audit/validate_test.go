package audit_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/llm-router/router/shared/audit"
)

// The unit list is CloudWatch's, as the AWS SDK enumerates it.
func TestStandardUnitsAreCloudWatchs(t *testing.T) {
	var sdk []string
	for _, u := range types.StandardUnit("").Values() {
		sdk = append(sdk, string(u))
	}
	got := audit.StandardUnits()
	slices.Sort(sdk)
	slices.Sort(got)
	if !slices.Equal(got, sdk) {
		t.Errorf("units %v\nSDK   %v", got, sdk)
	}
}

// awsExample is the EMF line AWS documents as the format's example.
const awsExample = `{"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"LLMRouter",` +
	`"Dimensions":[["Route"],["Model","Provider"]],"Metrics":[{"Name":"CostUSD","Unit":"None"},` +
	`{"Name":"LatencyMs","Unit":"Milliseconds"}]}]},"Route":"triage-low","Model":"deepseek-v3",` +
	`"Provider":"deepseek","CostUSD":0.00042,"LatencyMs":812}`

func TestValidateEMFAccepts(t *testing.T) {
	now := time.UnixMilli(1767225600000)
	for name, line := range map[string]string{
		"spec example": awsExample,
		"value arrays": `{"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"A/b c","Dimensions":[[]],` +
			`"Metrics":[{"Name":"L","Unit":"Milliseconds","StorageResolution":1},{"Name":"N"}]}]},"L":[1,2.5,3],"N":0}`,
		"extra members": strings.Replace(awsExample, `"LatencyMs":812`, `"LatencyMs":812,"request_id":"req_1","status":200,"tags":{"a":1}`, 1),
	} {
		if err := audit.ValidateEMF([]byte(line), now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateEMFRefuses(t *testing.T) {
	now := time.UnixMilli(1767225600000)
	dims := func(n int) string {
		var names, members []string
		for i := range n {
			names = append(names, `"D`+strings.Repeat("x", i)+`"`)
			members = append(members, `"D`+strings.Repeat("x", i)+`":"v"`)
		}
		return `{"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[` +
			strings.Join(names, ",") + `]],"Metrics":[{"Name":"M"}]}]},` + strings.Join(members, ",") + `,"M":1}`
	}
	metrics := func(n int) string {
		var defs, members []string
		for i := range n {
			defs = append(defs, `{"Name":"M`+strings.Repeat("x", i)+`"}`)
			members = append(members, `"M`+strings.Repeat("x", i)+`":1`)
		}
		return `{"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[` +
			strings.Join(defs, ",") + `]}]},` + strings.Join(members, ",") + `}`
	}
	values := func(n int) string {
		return `{"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[{"Name":"M"}]}]},"M":[` +
			strings.TrimSuffix(strings.Repeat("1,", n), ",") + `]}`
	}
	swap := func(old, new string) string { return strings.Replace(awsExample, old, new, 1) }
	tests := []struct{ name, line, want string }{
		{"not JSON", `{"_aws":`, "not a JSON object"},
		{"trailing data", awsExample + ` {}`, "data after"},
		{"no _aws", `{"Route":"r"}`, "no _aws"},
		{"timestamp a string", swap(`"Timestamp":1767225600000`, `"Timestamp":"1767225600000"`), "Timestamp is not a number"},
		{"timestamp fractional", swap(`"Timestamp":1767225600000`, `"Timestamp":1767225600000.5`), "whole number"},
		{"timestamp too old", swap(`"Timestamp":1767225600000`, `"Timestamp":1000`), "outside what CloudWatch accepts"},
		{"unknown _aws member", swap(`"Timestamp"`, `"Extra":1,"Timestamp"`), `"Extra"`},
		{"no directives", swap(`"CloudWatchMetrics":[`, `"CloudWatchMetric":[`), "CloudWatchMetrics is not an array"},
		{"empty namespace", swap(`"Namespace":"LLMRouter"`, `"Namespace":""`), "is empty"},
		{"AWS namespace", swap(`"Namespace":"LLMRouter"`, `"Namespace":"AWS/Lambda"`), "reserves"},
		{"namespace character", swap(`"Namespace":"LLMRouter"`, `"Namespace":"LLM*Router"`), "character"},
		{"namespace too long", swap(`"Namespace":"LLMRouter"`, `"Namespace":"`+strings.Repeat("n", 256)+`"`), "over 255"},
		{"31 dimensions", dims(31), "over 30"},
		{"101 metrics", metrics(101), "over 100"},
		{"101 values", values(101), "over 100"},
		{"dimension not a member", swap(`"Route":"triage-low",`, ``), `"Route" is not a top-level member`},
		{"dimension a number", swap(`"Route":"triage-low"`, `"Route":7`), "not a string"},
		{"dimension blank", swap(`"Route":"triage-low"`, `"Route":"  "`), "not blank"},
		{"dimension not ASCII", swap(`"Route":"triage-low"`, `"Route":"triage-é"`), "printable ASCII"},
		{"dimension name with colon", swap(`["Route"]`, `[":Route"]`), "not starting with ':'"},
		{"dimension twice in a set", swap(`["Route"]`, `["Route","Route"]`), "twice"},
		{"metric not a member", swap(`,"LatencyMs":812`, ``), `"LatencyMs" is not a top-level member`},
		{"metric a string", swap(`"LatencyMs":812`, `"LatencyMs":"812"`), "not a number"},
		{"metric defined twice", swap(`{"Name":"LatencyMs","Unit":"Milliseconds"}`, `{"Name":"CostUSD"}`), "defined twice"},
		{"unknown unit", swap(`"Unit":"Milliseconds"`, `"Unit":"ms"`), "not one of CloudWatch's units"},
		{"bad resolution", swap(`"Unit":"None"}`, `"Unit":"None","StorageResolution":5}`), "StorageResolution"},
		{"unknown definition member", swap(`"Unit":"None"}`, `"Unit":"None","Statistic":"Sum"}`), `"Statistic"`},
		{"unknown directive member", swap(`"Namespace"`, `"Region":"x","Namespace"`), `"Region"`},
		{"metric without name", swap(`{"Name":"CostUSD","Unit":"None"}`, `{"Unit":"None"}`), "not a metric name"},
		{"oversized", swap(`"LatencyMs":812`, `"LatencyMs":812,"pad":"`+strings.Repeat("x", audit.MaxEventBytes)+`"`), "bytes"},
	}
	for _, tt := range tests {
		err := audit.ValidateEMF([]byte(tt.line), now)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

func TestCheckNamespace(t *testing.T) {
	for ns, ok := range map[string]bool{"LLMRouter": true, "Team/LLM Router#1": true, "": false, "AWS/Router": false, "a*b": false} {
		if err := audit.CheckNamespace(ns); (err == nil) != ok {
			t.Errorf("CheckNamespace(%q) = %v", ns, err)
		}
	}
}
