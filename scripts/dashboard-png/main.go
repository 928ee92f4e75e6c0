// Command dashboard-png draws the CloudWatch dashboard of template.yaml as a
// picture for docs/OPERATIONS.md: it reads the DashboardBody, lays its
// widgets out on CloudWatch's 24-column grid with their titles, legends and
// queries, fills the graphs with illustrative data (never real traffic), and
// has headless Chromium take the screenshot:
//
//	go run ./scripts/dashboard-png [-template template.yaml] [-out docs/dashboard.png]
//
// Chromium comes from the system (Debian: apt-get install chromium); -html
// writes the page only, for any browser.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dashboard-png:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("dashboard-png", flag.ContinueOnError)
	tpl := fs.String("template", "template.yaml", "SAM template holding the dashboard")
	out := fs.String("out", "docs/dashboard.png", "PNG to write")
	htmlOut := fs.String("html", "", "write the HTML page here and take no screenshot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := dashboardBody(*tpl)
	if err != nil {
		return err
	}
	var d dashboard
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		return fmt.Errorf("DashboardBody: %w", err)
	}
	page := render(d)
	if *htmlOut != "" {
		return os.WriteFile(*htmlOut, []byte(page), 0o644)
	}
	dir, err := os.MkdirTemp("", "dashboard-png")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "dashboard.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		return err
	}
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		return errors.New("no Chromium on PATH (apt-get install chromium), or use -html")
	}
	abs, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--force-device-scale-factor=1", fmt.Sprintf("--window-size=%d,%d", pageWidth, pageHeight(d)),
		"--screenshot="+abs, "file://"+file)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", browser, err, b)
	}
	fmt.Println("wrote", *out)
	return nil
}

// dashboardBody is the template's DashboardBody with Fn::Sub resolved:
// parameters at their defaults, resources and pseudo parameters as readable
// placeholders.
func dashboardBody(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", err
	}
	root := doc.Content[0]
	params, resources := field(root, "Parameters"), field(root, "Resources")
	var body *yaml.Node
	for i := 0; resources != nil && i+1 < len(resources.Content); i += 2 {
		r := resources.Content[i+1]
		if t := field(r, "Type"); t != nil && t.Value == "AWS::CloudWatch::Dashboard" {
			body = field(field(r, "Properties"), "DashboardBody")
		}
	}
	if body == nil {
		return "", errors.New("no AWS::CloudWatch::Dashboard with a DashboardBody in " + path)
	}
	pseudo := map[string]string{"AWS::Region": "us-east-1", "AWS::StackName": "llm-router", "AWS::AccountId": "123456789012"}
	s := regexp.MustCompile(`\$\{([^}!][^}]*)\}`).ReplaceAllStringFunc(body.Value, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := pseudo[name]; ok {
			return v
		}
		if d := field(field(params, name), "Default"); d != nil {
			return d.Value
		}
		logical, _, _ := strings.Cut(name, ".")
		return resourceName(field(resources, logical), logical, pseudo)
	})
	return strings.ReplaceAll(s, "${!", "${"), nil
}

// resourceName is the name a resource gets: its AlarmName, LogGroupName or
// other *Name property with pseudo parameters filled in, else a name of the
// form CloudFormation generates (stack, logical id, random suffix).
func resourceName(r *yaml.Node, logical string, pseudo map[string]string) string {
	props := field(r, "Properties")
	for i := 0; props != nil && i+1 < len(props.Content); i += 2 {
		if k, v := props.Content[i].Value, props.Content[i+1]; strings.HasSuffix(k, "Name") && v.Kind == yaml.ScalarNode {
			name := v.Value
			for p, val := range pseudo {
				name = strings.ReplaceAll(name, "${"+p+"}", val)
			}
			return name
		}
	}
	return pseudo["AWS::StackName"] + "-" + logical + "-1X2Y3Z4W5V6U"
}

func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

type dashboard struct {
	Widgets []widget
}

type widget struct {
	Type                string
	X, Y, Width, Height int
	Properties          struct {
		Title, View, Markdown, Query string
		Stacked                      bool
		Metrics                      [][]map[string]any
		Alarms                       []string
	}
}

// Layout: CloudWatch's grid is 24 columns wide; a row unit is about 40 px.
const (
	colW      = 60
	rowH      = 40
	gap       = 6
	pageWidth = 24*colW + 2*gap
)

func pageHeight(d dashboard) int {
	bottom := 0
	for _, w := range d.Widgets {
		bottom = max(bottom, w.Y+w.Height)
	}
	return bottom*rowH + 2*gap + 28
}

func render(d dashboard) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#f2f3f3;font:12px "DejaVu Sans",Arial,sans-serif;color:#16191f}
.bar{height:28px;background:#232f3e;color:#fff;font-size:13px;line-height:28px;padding-left:12px}
.w{position:absolute;background:#fff;border:1px solid #d5dbdb;box-sizing:border-box;padding:6px 8px;overflow:hidden}
.t{font-weight:bold;font-size:12.5px;margin-bottom:4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.big{font-size:30px;color:#0073bb;margin-top:12px}.sub{color:#687078;font-size:11px}
.legend{font-size:10.5px;color:#414d5c;line-height:14px}.legend span{display:inline-block;margin-right:8px;white-space:nowrap}
.sw{display:inline-block;width:9px;height:9px;margin-right:3px;vertical-align:-1px}
.q{position:absolute;bottom:4px;left:8px;right:8px;font:9.5px monospace;color:#879596;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
table{border-collapse:collapse;width:100%;font-size:10.5px}td,th{border-bottom:1px solid #eaeded;padding:2px 4px;text-align:left;white-space:nowrap}
th{color:#545b64}.ok{color:#1d8102;font-weight:bold}.md h2{font-size:15px;margin:2px 0 4px}.md p{margin:0;font-size:11.5px;color:#414d5c}
</style></head><body><div class="bar">CloudWatch &rsaquo; Dashboards &rsaquo; llm-router-llm-router &nbsp;&nbsp;<span style="color:#aab7b8">(layout of template.yaml; illustrative data)</span></div>`)
	for i, w := range d.Widgets {
		left, top := gap+w.X*colW, 28+gap+w.Y*rowH
		width, height := w.Width*colW-gap, w.Height*rowH-gap
		fmt.Fprintf(&b, `<div class="w" style="left:%dpx;top:%dpx;width:%dpx;height:%dpx">`, left, top, width, height)
		switch w.Type {
		case "text":
			b.WriteString(`<div class="md">` + markdown(w.Properties.Markdown) + `</div>`)
		case "alarm":
			b.WriteString(`<div class="t">` + html.EscapeString(w.Properties.Title) + `</div><table><tr><th>Alarm</th><th>State</th><th>Last change</th></tr>`)
			for _, a := range w.Properties.Alarms {
				fmt.Fprintf(&b, `<tr><td>%s</td><td class="ok">OK</td><td>2026-03-14 09:20</td></tr>`, html.EscapeString(a))
			}
			b.WriteString(`</table>`)
		case "log":
			b.WriteString(`<div class="t">` + html.EscapeString(w.Properties.Title) + `</div>` + logTable(w.Properties.Query))
		default:
			b.WriteString(`<div class="t">` + html.EscapeString(w.Properties.Title) + `</div>`)
			b.WriteString(metricWidget(w, i, width, height))
		}
		b.WriteString(`</div>`)
	}
	b.WriteString(`</body></html>`)
	return b.String()
}

func markdown(md string) string {
	var out strings.Builder
	for _, line := range strings.Split(md, "\n") {
		line = html.EscapeString(line)
		line = regexp.MustCompile(`\*\*([^*]+)\*\*`).ReplaceAllString(line, "<b>$1</b>")
		line = regexp.MustCompile("`([^`]+)`").ReplaceAllString(line, "<code>$1</code>")
		if h, ok := strings.CutPrefix(line, "## "); ok {
			out.WriteString("<h2>" + h + "</h2>")
		} else {
			out.WriteString("<p>" + line + "</p>")
		}
	}
	return out.String()
}

// Illustrative legend entries for each dimension set, named after
// infra/config.example.yaml.
var (
	searchRe = regexp.MustCompile(`SEARCH\('\{[^,]+,([^}]*)\} MetricName="([^"]+)"'`)
	groupRe  = regexp.MustCompile(`GROUP BY (\w+)`)
	palette  = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}
)

func seriesNames(dims, metric string) []string {
	switch dims {
	case "Model,Provider":
		return []string{"deepseek-v4-flash deepseek", "claude-sonnet-4-5 anthropic", "gpt-4o-mini openai", "gemini-2.5-flash gemini", "claude-sonnet-bedrock bedrock"}
	case "Provider":
		return []string{"anthropic", "deepseek", "openai", "gemini", "bedrock"}
	case "Route":
		return []string{"triage-low", "triage-medium", "triage-high", "triage-phi", "chinese-intake"}
	case "Status":
		return []string{"healthy", "degraded", "unhealthy"}
	case "Table":
		if metric == "ConfigRefreshFailures" {
			return []string{"llm-router-config " + metric}
		}
		return []string{"llm-router-audit " + metric}
	}
	return []string{"triage", "billing", "intake", "untagged"}
}

func metricWidget(w widget, seed, width, height int) string {
	var legends []string
	var query string
	for _, row := range w.Properties.Metrics {
		for _, m := range row {
			expr, _ := m["expression"].(string)
			if v, ok := m["visible"].(bool); ok && !v {
				continue
			}
			if query == "" || strings.Contains(expr, "SEARCH") || strings.Contains(expr, "SELECT") {
				query = expr
			}
			label, _ := m["label"].(string)
			switch {
			case strings.HasPrefix(expr, "SUM(") || !strings.Contains(expr, "SEARCH") && !strings.Contains(expr, "SELECT"):
				legends = append(legends, label)
			case groupRe.MatchString(expr):
				legends = append(legends, seriesNames(groupRe.FindStringSubmatch(expr)[1], "")...)
			default:
				sm := searchRe.FindStringSubmatch(expr)
				if sm == nil {
					continue
				}
				suffix := strings.TrimSpace(label[strings.LastIndex(label, "}")+1:])
				for _, n := range seriesNames(sm[1], sm[2]) {
					if suffix != "" {
						n = strings.Fields(n)[0] + " " + suffix
					}
					legends = append(legends, n)
				}
			}
		}
	}
	if w.Properties.View == "singleValue" {
		values := map[int]string{0: "412.37", 1: "1,284,559", 2: "312", 3: "9,874"}
		return `<div class="big">` + values[w.X/6] + `</div><div class="sub">` + html.EscapeString(strings.Join(legends, ", ")) +
			` &middot; time range total</div><div class="q">` + html.EscapeString(query) + `</div>`
	}
	if len(legends) > 8 {
		legends = legends[:8]
	}
	plotH := height - 24 - 16*((len(legends)+3)/4) - 20
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg width="%d" height="%d">`, width-16, plotH)
	for g := 1; g <= 3; g++ {
		y := plotH * g / 4
		fmt.Fprintf(&svg, `<line x1="0" x2="%d" y1="%d" y2="%d" stroke="#eaeded"/>`, width-16, y, y)
	}
	n := 48
	base := make([]float64, n+1)
	shape := shapeOf(w.Properties.Title)
	scale := maxScale(w.Properties.Stacked, len(legends), shape)
	for k := range legends {
		pts := make([]string, 0, n+3)
		prev := make([]string, 0, n+1)
		for j := 0; j <= n; j++ {
			v := illustrative(shape, seed, k, j, len(legends))
			x := float64(width-16) * float64(j) / float64(n)
			if w.Properties.Stacked {
				prev = append(prev, fmt.Sprintf("%.1f,%.1f", x, float64(plotH)-4-base[j]*float64(plotH-8)/scale))
				base[j] += v
				v = base[j]
			}
			y := float64(plotH) - 4 - v*float64(plotH-8)/scale
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		color := palette[k%len(palette)]
		if w.Properties.Stacked {
			for j := len(prev) - 1; j >= 0; j-- {
				pts = append(pts, prev[j])
			}
			fmt.Fprintf(&svg, `<polygon fill="%s" fill-opacity="0.35" stroke="%s" stroke-width="1.2" points="%s"/>`, color, color, strings.Join(pts, " "))
			continue
		}
		fmt.Fprintf(&svg, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, color, strings.Join(pts, " "))
	}
	svg.WriteString(`</svg>`)
	var leg strings.Builder
	for k, l := range legends {
		fmt.Fprintf(&leg, `<span><i class="sw" style="background:%s"></i>%s</span>`, palette[k%len(palette)], html.EscapeString(l))
	}
	return svg.String() + `<div class="legend">` + leg.String() + `</div><div class="q">` + html.EscapeString(query) + `</div>`
}

// Shapes of the made-up data, by what a widget shows.
const (
	shapeTraffic = iota // a daily curve
	shapeHealth         // most targets healthy, a few degraded
	shapeRare           // failures: zero with a blip
	shapeSpread         // percentiles: p99 series well above p50
)

func shapeOf(title string) int {
	switch {
	case strings.HasPrefix(title, "Health"):
		return shapeHealth
	case strings.Contains(title, "failures"):
		return shapeRare
	case strings.Contains(title, "p99"):
		return shapeSpread
	}
	return shapeTraffic
}

func maxScale(stacked bool, n, shape int) float64 {
	switch {
	case shape == shapeHealth:
		return 11
	case stacked:
		return float64(n) * 0.75
	}
	return 1.1
}

// illustrative is a smooth made-up value: a daily curve per series, each
// series a little below the one before.
func illustrative(shape, seed, series, j, n int) float64 {
	day := math.Sin(float64(j)/7.6 - 1.2 + float64(seed)/9)
	wiggle := 0.05 * math.Sin(float64(j)/1.7+float64(series*5+seed))
	switch shape {
	case shapeHealth:
		return []float64{9, 1, 0}[series%3] + []float64{0.3, 0.2, 0}[series%3]*day
	case shapeRare:
		if series == 0 && j >= 30 && j <= 32 {
			return 0.6
		}
		return 0.02
	case shapeSpread:
		level := 0.15 + 0.08*float64(series%(n/2+1))
		if series >= (n+1)/2 {
			level += 0.45
		}
		return level + 0.08*day + wiggle
	}
	level := 0.75 - 0.5*float64(series)/float64(max(n, 1))
	return math.Max(0.02, level*(0.7+0.25*day)+wiggle)
}

// logTable shows the columns the Logs Insights query selects, with made-up rows.
func logTable(query string) string {
	_, fields, _ := strings.Cut(query, "| fields ")
	fields, _, _ = strings.Cut(fields, " |")
	cols := strings.Split(fields, ", ")
	sample := map[string][]string{
		"@timestamp": {"2026-03-14 09:26:53.589", "2026-03-14 09:26:51.120", "2026-03-14 09:26:50.004", "2026-03-14 09:26:47.771"},
		"request_id": {"req_3bb21f4095e7cba8", "req_918dc9cb7b5f4c4e", "req_0c4d2a91e6f3b517", "req_7aa01be2c9d04f63"},
		"key_id":     {"triage-app", "triage-app", "billing-app", "triage-app"},
		"route":      {"triage-phi", "triage-low", "triage-medium", "triage-low"},
		"data_class": {"phi", "", "", ""},
		"model":      {"claude-sonnet-bedrock", "mistral-large", "gpt-4o-mini", "deepseek-v4-flash"},
		"provider":   {"bedrock", "mistral", "openai", "deepseek"},
		"status":     {"200", "200", "200", "200"},
		"error_code": {"", "", "", ""},
		"cost_usd":   {"0.003375", "0.000412", "0.0003675", "0.0004424"},
		"latency_ms": {"3813.75", "1204.2", "812.5", "655.1"},
	}
	var b strings.Builder
	b.WriteString("<table><tr>")
	for _, c := range cols {
		b.WriteString("<th>" + html.EscapeString(c) + "</th>")
	}
	b.WriteString("</tr>")
	for r := 0; r < 4; r++ {
		b.WriteString("<tr>")
		for _, c := range cols {
			v := ""
			if s, ok := sample[c]; ok {
				v = s[r]
			}
			b.WriteString("<td>" + html.EscapeString(v) + "</td>")
		}
		b.WriteString("</tr>")
	}
	return b.String() + `</table><div class="q">` + html.EscapeString(query) + `</div>`
}
