package infra_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/respcache/cachetable"
)

// These tests read template.yaml as CloudFormation receives it: after the
// AWS SAM transform, run by the translator the SAM CLI and cfn-lint use
// (python package aws-sam-translator). CI machines have it; a machine
// without it fails here rather than skipping the checks.

// transformScript prints the transformed template as JSON. CodeUri is set to
// an S3 location as `sam package` would, since the translator refuses a
// local path.
const transformScript = `
import json, os, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
from samtranslator.yaml_helper import yaml_parse
from samtranslator.translator.transform import transform
with open(sys.argv[1]) as f:
    tpl = yaml_parse(f.read())
tpl["Globals"]["Function"]["CodeUri"] = "s3://llm-router-artifacts/bootstrap.zip"
class NoManagedPolicies:
    def load(self):
        return {}
print(json.dumps(transform(tpl, {}, NoManagedPolicies())))
`

type template struct {
	Parameters map[string]map[string]any
	Conditions map[string]any
	Mappings   map[string]map[string]map[string]string
	Resources  map[string]resource
	Outputs    map[string]map[string]any
}

type resource struct {
	Type                string
	Condition           string
	DependsOn           any
	DeletionPolicy      string
	UpdateReplacePolicy string
	Properties          map[string]any
	Metadata            map[string]any
}

// TestTemplate transforms the template once and holds it to every rule.
func TestTemplate(t *testing.T) {
	tpl := transformed(t)
	t.Run("NamesAreStackScoped", func(t *testing.T) { checkNamesAreStackScoped(t, tpl) })
	t.Run("DataIsRetained", func(t *testing.T) { checkDataIsRetained(t, tpl) })
	t.Run("ProviderKeysSecret", func(t *testing.T) { checkProviderKeysSecret(t, tpl) })
	t.Run("Edge", func(t *testing.T) { checkEdge(t, tpl) })
	t.Run("ScheduleIsNotRetried", func(t *testing.T) { checkScheduleIsNotRetried(t, tpl) })
	t.Run("BenchmarkFunction", func(t *testing.T) { checkBenchmarkFunction(t, tpl) })
	t.Run("RetentionAndTimeouts", func(t *testing.T) { checkRetentionAndTimeouts(t, tpl) })
	t.Run("DashboardURL", func(t *testing.T) { checkDashboardURL(t, tpl) })
	t.Run("AlarmsAreValidByConstruction", func(t *testing.T) { checkAlarmsAreValidByConstruction(t, tpl) })
	t.Run("AlarmSet", func(t *testing.T) { checkAlarmSet(t, tpl) })
	t.Run("ResponseCacheTable", func(t *testing.T) { checkResponseCacheTable(t, tpl) })
}

func transformed(t *testing.T) *template {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not on PATH; the template tests need it with aws-sam-translator (pip install aws-sam-translator)")
	}
	cmd := exec.Command(py, "-c", transformScript, "../template.yaml")
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("the SAM transform failed (is aws-sam-translator installed?): %s", msg)
	}
	var tpl template
	if err := json.Unmarshal(out, &tpl); err != nil {
		t.Fatalf("transformed template: %v", err)
	}
	return &tpl
}

func (tpl *template) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for name, r := range tpl.Resources {
		if r.Type == typ {
			out[name] = r
		}
	}
	return out
}

func (tpl *template) res(t *testing.T, name string) resource {
	t.Helper()
	r, ok := tpl.Resources[name]
	if !ok {
		t.Fatalf("no resource %s", name)
	}
	return r
}

// js is v as compact JSON, for comparing intrinsic functions.
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func ref(name string) string { return js(map[string]any{"Ref": name}) }

func getAtt(name, attr string) string { return js(map[string]any{"Fn::GetAtt": []any{name, attr}}) }

// nameProperties are the properties that fix a resource's physical name.
var nameProperties = []string{"Name", "AlarmName", "DashboardName", "TableName", "LogGroupName", "FunctionName",
	"RoleName", "TopicName", "RuleName", "ApiName", "StateMachineName", "BucketName", "QueueName", "ExportName"}

// Two stacks of this template live side by side in one account and region:
// every name the template fixes carries the stack's name, and everything
// else is named by CloudFormation.
func checkNamesAreStackScoped(t *testing.T, tpl *template) {
	for name, r := range tpl.Resources {
		if r.Type == "AWS::Lambda::Permission" || r.Type == "AWS::Lambda::EventInvokeConfig" {
			continue // FunctionName there names the function to act on
		}
		for _, p := range nameProperties {
			v, ok := r.Properties[p]
			if !ok {
				continue
			}
			if !strings.Contains(js(v), "${AWS::StackName}") {
				t.Errorf("%s (%s) fixes %s to %s, which a second stack would collide with", name, r.Type, p, js(v))
			}
		}
	}
	for name, o := range tpl.Outputs {
		if e, ok := o["Export"]; ok && !strings.Contains(js(e), "AWS::StackName") {
			t.Errorf("output %s exports a name without the stack's: %s", name, js(e))
		}
	}
	for _, must := range []string{"ProviderKeysSecret", "Dashboard", "ErrorRateAlarm"} {
		if _, ok := tpl.Resources[must]; !ok {
			t.Errorf("no %s", must)
		}
	}
}

// The data the stack holds outlives it: tables, the secret, and the log
// groups (audit lines) are retained on deletion and on replacement.
func checkDataIsRetained(t *testing.T, tpl *template) {
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"} {
		for name, r := range tpl.ofType(typ) {
			if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
				t.Errorf("%s (%s): DeletionPolicy %q, UpdateReplacePolicy %q; want Retain for both", name, typ, r.DeletionPolicy, r.UpdateReplacePolicy)
			}
		}
	}
	for _, name := range []string{"ConfigTable", "StateTable", "AuditLogTable", "ProviderKeysSecret"} {
		if r := tpl.res(t, name); r.DeletionPolicy != "Retain" {
			t.Errorf("%s is not retained", name)
		}
	}
}

// The secret is never regenerated: its value is a fixed literal
// CloudFormation writes at creation only, or an existing secret is used.
func checkProviderKeysSecret(t *testing.T, tpl *template) {
	sec := tpl.res(t, "ProviderKeysSecret")
	if _, ok := sec.Properties["GenerateSecretString"]; ok {
		t.Error("GenerateSecretString regenerates the value whenever its block changes, replacing the keys")
	}
	if v, ok := sec.Properties["SecretString"].(string); !ok || !json.Valid([]byte(v)) {
		t.Errorf("SecretString = %s, want a fixed JSON literal", js(sec.Properties["SecretString"]))
	}
	if got := js(sec.Properties["Name"]); got != js(map[string]any{"Fn::Sub": "${AWS::StackName}/provider-keys"}) {
		t.Errorf("secret name %s", got)
	}
	if sec.Condition != "CreateProviderKeysSecret" ||
		js(tpl.Conditions["CreateProviderKeysSecret"]) != js(map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "ExistingProviderKeysSecretArn"}, ""}}) {
		t.Errorf("the secret is not created exactly when ExistingProviderKeysSecretArn is empty: %s", js(tpl.Conditions["CreateProviderKeysSecret"]))
	}
	want := js(map[string]any{"Fn::If": []any{"CreateProviderKeysSecret", map[string]any{"Ref": "ProviderKeysSecret"},
		map[string]any{"Ref": "ExistingProviderKeysSecretArn"}}})
	for name, fn := range tpl.ofType("AWS::Lambda::Function") {
		if got := js(env(fn)["ROUTER_SECRET_ID"]); got != want {
			t.Errorf("%s: ROUTER_SECRET_ID = %s, want %s", name, got, want)
		}
	}
	for _, role := range []string{"RouterRole", "HealthCheckRole", "BenchmarkRole"} {
		if !strings.Contains(js(tpl.res(t, role).Properties), `"Action":"secretsmanager:GetSecretValue","Effect":"Allow","Resource":`+want) {
			t.Errorf("%s may not read the secret the functions use", role)
		}
	}
}

func env(fn resource) map[string]any {
	e, _ := fn.Properties["Environment"].(map[string]any)
	v, _ := e["Variables"].(map[string]any)
	return v
}

func stage(t *testing.T, tpl *template) (string, resource) {
	t.Helper()
	stages := tpl.ofType("AWS::ApiGateway::Stage")
	if len(stages) != 1 {
		t.Fatalf("%d API stages", len(stages))
	}
	for name, s := range stages {
		return name, s
	}
	return "", resource{}
}

// The edge: throttled stage, JSON access logs with the stack's retention,
// X-Ray on the stage and the functions when Tracing is on, a WAF association
// when a web ACL is given.
func checkEdge(t *testing.T, tpl *template) {
	stageName, st := stage(t, tpl)
	ms, _ := st.Properties["MethodSettings"].([]any)
	if len(ms) != 1 {
		t.Fatalf("MethodSettings %s", js(ms))
	}
	m := ms[0].(map[string]any)
	if m["ResourcePath"] != "/*" || m["HttpMethod"] != "*" || js(m["ThrottlingRateLimit"]) != ref("ThrottleRateLimit") ||
		js(m["ThrottlingBurstLimit"]) != ref("ThrottleBurstLimit") {
		t.Errorf("stage throttling %s", js(m))
	}
	for p, want := range map[string]float64{"ThrottleRateLimit": 50, "ThrottleBurstLimit": 100} {
		if d, _ := tpl.Parameters[p]["Default"].(float64); d != want {
			t.Errorf("%s defaults to %v, want %v", p, tpl.Parameters[p]["Default"], want)
		}
	}

	als, _ := st.Properties["AccessLogSetting"].(map[string]any)
	dest := js(als["DestinationArn"])
	var group string
	for name := range tpl.ofType("AWS::Logs::LogGroup") {
		if dest == getAtt(name, "Arn") {
			group = name
		}
	}
	if group == "" {
		t.Fatalf("access logs go to %s, not a log group of the stack", dest)
	}
	if js(tpl.res(t, group).Properties["RetentionInDays"]) != ref("LogRetentionDays") {
		t.Errorf("the access log group keeps logs %s", js(tpl.res(t, group).Properties["RetentionInDays"]))
	}
	format, _ := als["Format"].(string)
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("access log format is not one JSON object: %v\n%s", err, format)
	}
	for _, f := range []string{"requestId", "ip", "httpMethod", "resourcePath", "status", "responseLatency", "wafStatus"} {
		if !strings.HasPrefix(fields[f], "$context.") {
			t.Errorf("access log field %s = %q", f, fields[f])
		}
	}
	// Access logs need the account's CloudWatch role set before the stage.
	if !dependsOnAccountRole(tpl, st) {
		t.Error("the stage is not ordered after the account's API Gateway CloudWatch role")
	}

	tracing := js(map[string]any{"Fn::If": []any{"WithTracing", true, false}})
	if js(st.Properties["TracingEnabled"]) != tracing {
		t.Errorf("stage TracingEnabled %s", js(st.Properties["TracingEnabled"]))
	}
	if js(tpl.Conditions["WithTracing"]) != js(map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Tracing"}, "true"}}) {
		t.Errorf("WithTracing = %s", js(tpl.Conditions["WithTracing"]))
	}
	for name, fn := range tpl.ofType("AWS::Lambda::Function") {
		if got := js(fn.Properties["TracingConfig"]); got != js(map[string]any{"Mode": map[string]any{"Fn::If": []any{"WithTracing", "Active", "PassThrough"}}}) {
			t.Errorf("%s TracingConfig %s", name, got)
		}
		if got := js(env(fn)["ROUTER_TRACING"]); got != js(map[string]any{"Fn::If": []any{"WithTracing", "1", "0"}}) {
			t.Errorf("%s ROUTER_TRACING %s", name, got)
		}
	}
	for _, role := range []string{"RouterRole", "HealthCheckRole", "BenchmarkRole"} {
		if !strings.Contains(js(tpl.res(t, role).Properties), `{"Fn::If":["WithTracing",{"Action":["xray:PutTraceSegments","xray:PutTelemetryRecords"]`) {
			t.Errorf("%s may not send traces when Tracing is on", role)
		}
	}

	waf := tpl.ofType("AWS::WAFv2::WebACLAssociation")
	if len(waf) != 1 {
		t.Fatalf("%d WAF associations", len(waf))
	}
	for name, a := range waf {
		if a.Condition == "" || js(tpl.Conditions[a.Condition]) != js(map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "WebAclArn"}, ""}}}}) {
			t.Errorf("%s is not conditional on WebAclArn being set", name)
		}
		if js(a.Properties["WebACLArn"]) != ref("WebAclArn") || !strings.Contains(js(a.Properties["ResourceArn"]), "/stages/${"+stageName+"}") {
			t.Errorf("%s associates %s with %s", name, js(a.Properties["WebACLArn"]), js(a.Properties["ResourceArn"]))
		}
	}
	if d, _ := tpl.Parameters["WebAclArn"]["Default"].(string); d != "" {
		t.Errorf("WebAclArn defaults to %q", d)
	}
}

// dependsOnAccountRole follows DependsOn and references from the stage to
// the API Gateway account setting (when the stack creates it).
func dependsOnAccountRole(tpl *template, st resource) bool {
	seen := map[string]bool{}
	var reach func(r resource) bool
	reach = func(r resource) bool {
		var next []string
		switch d := r.DependsOn.(type) {
		case string:
			next = append(next, d)
		case []any:
			for _, x := range d {
				next = append(next, fmt.Sprint(x))
			}
		}
		for _, m := range regexp.MustCompile(`"(?:Ref|Fn::GetAtt)":\[?"([A-Za-z0-9]+)"`).FindAllStringSubmatch(js(r.Properties)+js(r.Metadata), -1) {
			next = append(next, m[1])
		}
		for _, n := range next {
			if n == "ApiGatewayAccount" {
				return true
			}
			if r2, ok := tpl.Resources[n]; ok && !seen[n] {
				seen[n] = true
				if reach(r2) {
					return true
				}
			}
		}
		return false
	}
	return reach(st)
}

// The scheduled functions are never retried: not by EventBridge, not by
// Lambda's asynchronous retries. The health function's next minute is its
// retry; the benchmark's next week (a retry would pay for the run again).
func checkScheduleIsNotRetried(t *testing.T, tpl *template) {
	rules := tpl.ofType("AWS::Events::Rule")
	schedules := map[string]string{} // function -> schedule
	for name, r := range rules {
		targets, _ := r.Properties["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("%s targets %s", name, js(targets))
		}
		tg := targets[0].(map[string]any)
		for _, fn := range []string{"HealthCheckFunction", "BenchmarkFunction"} {
			if js(tg["Arn"]) == getAtt(fn, "Arn") {
				schedules[fn] = js(r.Properties["ScheduleExpression"])
			}
		}
		if rp, _ := tg["RetryPolicy"].(map[string]any); rp["MaximumRetryAttempts"] != 0.0 {
			t.Errorf("%s RetryPolicy %s, want MaximumRetryAttempts 0", name, js(rp))
		}
	}
	if len(rules) != 2 || schedules["HealthCheckFunction"] != `"rate(1 minute)"` || schedules["BenchmarkFunction"] != ref("BenchmarkSchedule") {
		t.Errorf("%d rules; schedules %v", len(rules), schedules)
	}
	for _, fn := range []string{"HealthCheckFunction", "BenchmarkFunction"} {
		var found bool
		for _, c := range tpl.ofType("AWS::Lambda::EventInvokeConfig") {
			if js(c.Properties["FunctionName"]) == ref(fn) {
				found = true
				if c.Properties["MaximumRetryAttempts"] != 0.0 {
					t.Errorf("%s asynchronous retries %v, want 0", fn, c.Properties["MaximumRetryAttempts"])
				}
			}
		}
		if !found {
			t.Errorf("no EventInvokeConfig turns off Lambda's retries of %s", fn)
		}
	}
}

// The benchmark function runs weekly by default, as long as Lambda allows,
// logs to a group of its own, and may only read the configuration and the
// keys, call models, and put items in the state table.
func checkBenchmarkFunction(t *testing.T, tpl *template) {
	if d, _ := tpl.Parameters["BenchmarkSchedule"]["Default"].(string); d != "cron(0 6 ? * MON *)" {
		t.Errorf("BenchmarkSchedule defaults to %q, want weekly", d)
	}
	fn := tpl.res(t, "BenchmarkFunction").Properties
	if fn["Timeout"] != 900.0 || js(fn["Role"]) != getAtt("BenchmarkRole", "Arn") {
		t.Errorf("benchmark function Timeout %v, Role %s", fn["Timeout"], js(fn["Role"]))
	}
	if got := js(fn["LoggingConfig"]); !strings.Contains(got, ref("BenchmarkLogGroup")) {
		t.Errorf("benchmark function logs to %s", got)
	}
	stmts := map[string]string{}
	policies, _ := tpl.res(t, "BenchmarkRole").Properties["Policies"].([]any)
	for _, p := range policies {
		doc, _ := p.(map[string]any)["PolicyDocument"].(map[string]any)
		list, _ := doc["Statement"].([]any)
		for _, st := range list {
			m, _ := st.(map[string]any)
			if sid, ok := m["Sid"].(string); ok {
				stmts[sid] = js(m["Action"]) + " on " + js(m["Resource"])
			}
		}
	}
	want := map[string]string{
		"Logs":         `["logs:CreateLogStream","logs:PutLogEvents"] on ` + getAtt("BenchmarkLogGroup", "Arn"),
		"ReadConfig":   `["dynamodb:GetItem","dynamodb:Query"] on ` + getAtt("ConfigTable", "Arn"),
		"WriteResults": `"dynamodb:PutItem" on ` + getAtt("StateTable", "Arn"),
		"ProviderKeys": `"secretsmanager:GetSecretValue" on {"Fn::If":["CreateProviderKeysSecret",{"Ref":"ProviderKeysSecret"},{"Ref":"ExistingProviderKeysSecretArn"}]}`,
		"Bedrock":      `["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"] on `,
	}
	for sid, w := range want {
		if got, ok := stmts[sid]; !ok || !strings.HasPrefix(got, w) {
			t.Errorf("BenchmarkRole %s: %q, want %q", sid, got, w)
		}
	}
	if len(stmts) != len(want) {
		t.Errorf("BenchmarkRole statements %v, want only %v (and X-Ray when tracing)", stmts, want)
	}
	for _, o := range []string{"BenchmarkFunctionName", "BenchmarkLogGroupName"} {
		if _, ok := tpl.Outputs[o]; !ok {
			t.Errorf("no output %s", o)
		}
	}
}

// Regulated defaults: six years of logs and audit items, the audit table on
// with point-in-time recovery; the functions know their own timeout.
func checkRetentionAndTimeouts(t *testing.T, tpl *template) {
	for p, want := range map[string]any{"LogRetentionDays": 2192.0, "AuditRetentionDays": 2192.0, "AuditTable": "true"} {
		if got := tpl.Parameters[p]["Default"]; got != want {
			t.Errorf("%s defaults to %v, want %v", p, got, want)
		}
	}
	for name, g := range tpl.ofType("AWS::Logs::LogGroup") {
		if js(g.Properties["RetentionInDays"]) != ref("LogRetentionDays") {
			t.Errorf("log group %s keeps logs %s", name, js(g.Properties["RetentionInDays"]))
		}
	}
	pitr, _ := tpl.res(t, "AuditLogTable").Properties["PointInTimeRecoverySpecification"].(map[string]any)
	if pitr["PointInTimeRecoveryEnabled"] != true {
		t.Error("the audit table has no point-in-time recovery")
	}
	for name, want := range map[string]string{"ChatFunction": ref("RouterTimeout"), "RouterFunction": `"30"`} {
		fn := tpl.res(t, name)
		if got := js(env(fn)["ROUTER_FUNCTION_TIMEOUT"]); got != want {
			t.Errorf("%s ROUTER_FUNCTION_TIMEOUT %s, want %s", name, got, want)
		}
		timeout := js(fn.Properties["Timeout"])
		if strings.Trim(timeout, `"`) != strings.Trim(js(env(fn)["ROUTER_FUNCTION_TIMEOUT"]), `"`) {
			t.Errorf("%s: Timeout %s but ROUTER_FUNCTION_TIMEOUT %s", name, timeout, js(env(fn)["ROUTER_FUNCTION_TIMEOUT"]))
		}
	}
}

// The console link works in every partition: the console's host is not
// the API endpoints' domain (AWS::URLSuffix).
func checkDashboardURL(t *testing.T, tpl *template) {
	v := js(tpl.Outputs["DashboardUrl"]["Value"])
	if strings.Contains(v, "URLSuffix") || !strings.Contains(v, `"Fn::FindInMap":["Partition",{"Ref":"AWS::Partition"},"Console"]`) {
		t.Errorf("DashboardUrl %s", v)
	}
	if got := tpl.Mappings["Partition"]["aws"]["Console"]; got != "console.aws.amazon.com" {
		t.Errorf("console host in aws: %q", got)
	}
	for _, p := range []string{"aws", "aws-cn", "aws-us-gov"} {
		if tpl.Mappings["Partition"][p]["Console"] == "" {
			t.Errorf("no console host for partition %s", p)
		}
	}
}

// The response cache's table has the key and TTL attribute the code uses,
// encryption at rest and no point-in-time recovery (backups would outlive
// the answers' TTL); only the chat function is told its name, and the
// router's role may only get and put its items.
func checkResponseCacheTable(t *testing.T, tpl *template) {
	p := tpl.res(t, "ResponseCacheTable").Properties
	want := map[string]string{
		"KeySchema":                        js([]any{map[string]any{"AttributeName": cachetable.AttrKey, "KeyType": "HASH"}}),
		"AttributeDefinitions":             js([]any{map[string]any{"AttributeName": cachetable.AttrKey, "AttributeType": "S"}}),
		"TimeToLiveSpecification":          js(map[string]any{"AttributeName": cachetable.AttrExpires, "Enabled": true}),
		"SSESpecification":                 js(map[string]any{"SSEEnabled": true}),
		"PointInTimeRecoverySpecification": js(map[string]any{"PointInTimeRecoveryEnabled": false}),
		"BillingMode":                      js("PAY_PER_REQUEST"),
	}
	for k, v := range want {
		if got := js(p[k]); got != v {
			t.Errorf("ResponseCacheTable %s = %s, want %s", k, got, v)
		}
	}
	for name, fn := range tpl.ofType("AWS::Lambda::Function") {
		got, set := env(fn)["ROUTER_CACHE_TABLE"]
		if name == "ChatFunction" && js(got) != ref("ResponseCacheTable") || name != "ChatFunction" && set {
			t.Errorf("%s ROUTER_CACHE_TABLE = %s", name, js(got))
		}
	}
	arn := getAtt("ResponseCacheTable", "Arn")
	var grants []string
	for _, role := range []string{"RouterRole", "HealthCheckRole"} {
		var doc struct {
			Policies []struct {
				PolicyDocument struct{ Statement []json.RawMessage }
			}
		}
		b, _ := json.Marshal(tpl.res(t, role).Properties)
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, pol := range doc.Policies {
			for _, st := range pol.PolicyDocument.Statement {
				if strings.Contains(string(st), arn) {
					grants = append(grants, role+" "+string(st))
				}
			}
		}
	}
	wantGrant := `RouterRole {"Action":["dynamodb:GetItem","dynamodb:PutItem"],"Effect":"Allow","Resource":` + arn + `,"Sid":"ResponseCache"}`
	if len(grants) != 1 || grants[0] != wantGrant {
		t.Errorf("grants on the cache table %v, want only %s", grants, wantGrant)
	}
}

// --------------------------------------------------------------- alarms

var (
	queryID      = regexp.MustCompile(`^[a-z][A-Za-z0-9_]*$`)
	insightsForm = regexp.MustCompile(`^SELECT (AVG|SUM|MIN|MAX|COUNT)\(\w+\) FROM SCHEMA\("[^"]+"(, \w+)*\)$`)
	identifier   = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
)

// Every alarm is one CloudWatch accepts, by the rules CloudWatch documents
// for metric math and Metrics Insights alarms, and the one CloudFormation
// enforces without cfn-lint noticing: a Period on every query and
// expression of a Metrics array.
func checkAlarmsAreValidByConstruction(t *testing.T, tpl *template) {
	alarms := tpl.ofType("AWS::CloudWatch::Alarm")
	if len(alarms) < 8 {
		t.Errorf("%d alarms", len(alarms))
	}
	for name, a := range alarms {
		p := a.Properties
		where := "alarm " + name
		if !strings.Contains(js(p["AlarmName"]), "${AWS::StackName}") {
			t.Errorf("%s: AlarmName %s", where, js(p["AlarmName"]))
		}
		if p["TreatMissingData"] == nil || p["ComparisonOperator"] == nil || p["Threshold"] == nil {
			t.Errorf("%s: TreatMissingData, ComparisonOperator and Threshold are required here", where)
		}
		eval, _ := p["EvaluationPeriods"].(float64)
		if dta, ok := p["DatapointsToAlarm"].(float64); eval < 1 || ok && (dta < 1 || dta > eval) {
			t.Errorf("%s: EvaluationPeriods %v, DatapointsToAlarm %v", where, p["EvaluationPeriods"], p["DatapointsToAlarm"])
		}
		metrics, isMath := p["Metrics"].([]any)
		single := p["MetricName"] != nil
		if isMath == single {
			t.Errorf("%s: want either MetricName or Metrics", where)
			continue
		}
		if single {
			period, _ := p["Period"].(float64)
			if p["Namespace"] == nil || (p["Statistic"] == nil) == (p["ExtendedStatistic"] == nil) || period < 60 || int(period)%60 != 0 {
				t.Errorf("%s: Namespace %v, Statistic %v, Period %v", where, p["Namespace"], p["Statistic"], p["Period"])
			}
			if period*eval > 86400 {
				t.Errorf("%s evaluates %v s, more than a day", where, period*eval)
			}
			continue
		}
		checkMetrics(t, where, metrics, eval)
	}
}

func checkMetrics(t *testing.T, where string, metrics []any, eval float64) {
	t.Helper()
	if len(metrics) == 0 || len(metrics) > 20 {
		t.Errorf("%s: %d queries", where, len(metrics))
		return
	}
	ids := map[string]bool{}
	periods := map[float64]bool{}
	returned, stats, exprs, insights := 0, 0, 0, 0
	var expressions []string
	for _, raw := range metrics {
		q, _ := raw.(map[string]any)
		id, _ := q["Id"].(string)
		if !queryID.MatchString(id) || ids[id] {
			t.Errorf("%s: query id %q (lowercase first, letters, digits, _; unique)", where, id)
		}
		ids[id] = true
		expr, hasExpr := q["Expression"]
		stat, hasStat := q["MetricStat"].(map[string]any)
		if hasExpr == hasStat {
			t.Errorf("%s %s: want exactly one of Expression and MetricStat", where, id)
			continue
		}
		var period float64
		if hasStat {
			stats++
			period, _ = stat["Period"].(float64)
			if q["Period"] != nil {
				t.Errorf("%s %s: Period goes in MetricStat", where, id)
			}
		} else {
			exprs++
			var ok bool
			if period, ok = q["Period"].(float64); !ok {
				t.Errorf("%s %s: an expression without Period (CloudFormation: Period must not be null)", where, id)
			}
			s := exprText(expr)
			if len(s) > 1024 {
				t.Errorf("%s %s: expression of %d characters", where, id, len(s))
			}
			switch {
			case strings.Contains(s, "SEARCH("):
				t.Errorf("%s %s: SEARCH is not allowed in alarms", where, id)
			case strings.HasPrefix(s, "SELECT"):
				insights++
				if !insightsForm.MatchString(s) {
					t.Errorf("%s %s: %q is not SELECT FUNCTION(metric) FROM SCHEMA(\"namespace\", dims...) with one series (no WHERE, GROUP BY, ORDER BY or LIMIT)", where, id, s)
				}
			default:
				expressions = append(expressions, s)
			}
		}
		if period < 60 || int(period)%60 != 0 {
			t.Errorf("%s %s: Period %v", where, id, period)
		}
		periods[period] = true
		switch q["ReturnData"] {
		case true:
			returned++
		case false:
		default:
			t.Errorf("%s %s: ReturnData must be given (it defaults to true)", where, id)
		}
	}
	if returned != 1 {
		t.Errorf("%s returns %d series, want exactly 1", where, returned)
	}
	if len(periods) != 1 {
		t.Errorf("%s mixes periods %v", where, periods)
	}
	if stats > 10 || exprs > 10 {
		t.Errorf("%s: %d metrics and %d expressions (10 each at most)", where, stats, exprs)
	}
	if insights > 1 {
		t.Errorf("%s: %d Metrics Insights queries; an alarm may have one", where, insights)
	}
	if insights == 1 {
		for p := range periods {
			if p*eval > 3*3600 {
				t.Errorf("%s: Metrics Insights alarms see 3 hours, this one evaluates %v s", where, p*eval)
			}
		}
	}
	functions := map[string]bool{"IF": true, "AND": true, "OR": true, "SUM": true, "AVG": true, "MIN": true, "MAX": true,
		"FILL": true, "ABS": true, "METRICS": true, "RATE": true, "DIFF": true, "REPEAT": true, "LINEAR": true}
	for _, e := range expressions {
		for _, word := range identifier.FindAllString(e, -1) {
			if !functions[word] && !ids[word] {
				t.Errorf("%s: %q in %q is neither a query id nor a function", where, word, e)
			}
		}
	}
}

// exprText is an expression's text, with Fn::Sub variables left in place.
func exprText(v any) string {
	switch e := v.(type) {
	case string:
		return e
	case map[string]any:
		if s, ok := e["Fn::Sub"].(string); ok {
			return s
		}
	}
	return js(v)
}

// Which alarms the stack has, for what.
func checkAlarmSet(t *testing.T, tpl *template) {
	var names []string
	for name := range tpl.ofType("AWS::CloudWatch::Alarm") {
		names = append(names, name)
	}
	sort.Strings(names)
	want := []string{"AuditTableWriteFailuresAlarm", "BenchmarkFailuresAlarm", "ConfigRefreshFailuresAlarm", "ErrorRateAlarm", "FailedAttemptsAlarm",
		"FallbackRateAlarm", "HealthCheckFailuresAlarm", "MonthlyCostAlarm", "UnhealthyTargetsAlarm"}
	if !slices.Equal(names, want) {
		t.Errorf("alarms %v, want %v", names, want)
	}
	for alarm, fn := range map[string]string{"HealthCheckFailuresAlarm": "HealthCheckFunction", "BenchmarkFailuresAlarm": "BenchmarkFunction"} {
		a := tpl.res(t, alarm).Properties
		if a["Namespace"] != "AWS/Lambda" || a["MetricName"] != "Errors" || !strings.Contains(js(a["Dimensions"]), ref(fn)) {
			t.Errorf("%s watches %v %v %s", alarm, a["Namespace"], a["MetricName"], js(a["Dimensions"]))
		}
	}
	cr := tpl.res(t, "ConfigRefreshFailuresAlarm").Properties
	if !strings.Contains(js(cr["Dimensions"]), ref("ConfigTable")) {
		t.Errorf("config refresh alarm dimensions %s, want the config table the routers read", js(cr["Dimensions"]))
	}
}
