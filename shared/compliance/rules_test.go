package compliance

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Where a required tag comes from. A violation names the sources of the
// tags the receiving provider lacked: that is what tells leaks apart.
const (
	srcRoute      = "the require of the route addressed"
	srcAskedRoute = "the require of the route addressed, kept across a budget downgrade"
	srcDowngrade  = "the require of the budget downgrade's route"
	srcKeyClass   = "the key's data_class"
	srcFirstLine  = "x-router-data-class, first field line"
	srcLaterLine  = "x-router-data-class, a later field line"
)

// Why the rules refuse a request before any provider sees it.
const (
	refAmbiguousAuth   = "two different keys (Authorization, or x-api-key on /v1/messages)"
	refAmbiguousRoute  = "two different x-router-route field lines"
	refModelNotGranted = "a model id called directly without a models grant"
	refRouteNotGranted = "a route the key does not list"
	refUnknownClass    = "an unknown data class"
	refUnknownName     = "an unknown route or model"
	refNoKey           = "no key (Authorization, or x-api-key on /v1/messages)"
)

// Other causes.
const (
	causeOffRoute     = "a provider outside the route's targets"
	causeBadDowngrade = "a downgrade to a route no applicable on_budget rule names"
	causeNoAudit      = "no audit line"
	causeEndpoint     = "an audit line naming another endpoint"
)

// Kinds of violation, strongest first.
const (
	kindLeak     = iota // a provider lacking a required tag received the request
	kindReached         // a request the rules refuse reached a provider
	kindAttempt         // the audit line says a provider lacking a required tag was tried
	kindOffRoute        // a provider outside the route received it
	kindStatus          // a refused request got another status
	kindAudit           // the audit line disagrees with the rules
)

func kindName(k int) string {
	return [...]string{"leak", "refused request reached a provider", "non-compliant attempt in the audit line",
		"off-route provider", "wrong status for a refused request", "audit line disagrees"}[k]
}

type violation struct {
	kind   int
	causes []string
	msg    string
}

// cause names the violation's causes together.
func (v violation) cause() string { return strings.Join(v.causes, " + ") }

func (v violation) String() string {
	return fmt.Sprintf("[%s] %s (cause: %s)", kindName(v.kind), v.msg, strings.Join(v.causes, " + "))
}

// need is a set of required tags, each with where it came from.
type need map[string][]string

func (n need) add(tag, src string) {
	if !slices.Contains(n[tag], src) {
		n[tag] = append(n[tag], src)
	}
}

func (n need) tags() []string {
	out := make([]string, 0, len(n))
	for t := range n {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// missing returns the tags of n that have lacks, and their sources.
func (n need) missing(have []string) (tags, sources []string) {
	for _, t := range n.tags() {
		if slices.Contains(have, t) {
			continue
		}
		tags = append(tags, t)
		for _, s := range n[t] {
			if !slices.Contains(sources, s) {
				sources = append(sources, s)
			}
		}
	}
	sort.Strings(sources)
	return tags, sources
}

// expectation is what the rules say of a request before it is sent.
type expectation struct {
	// refusals maps each reason to refuse the request to its status.
	refusals map[string]int
	key      *Key
	name     string // the route or model id addressed
	route    *Route // nil for a model id
	model    *Model // set for a model id
	// classes are the tags of every data class, by source; route require
	// is added when judging, once it is known whether a downgrade happened.
	classes need
}

func (e *expectation) refused() bool { return len(e.refusals) > 0 }

func (e *expectation) reasons() []string {
	out := make([]string, 0, len(e.refusals))
	for r := range e.refusals {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// distinct returns the different values of a header's field lines.
func distinct(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// expect applies the rules to a request.
func expect(c *Config, r *Request) *expectation {
	e := &expectation{refusals: map[string]int{}, classes: need{}}
	// Rule 4: the key (Authorization, or x-api-key on /v1/messages) and
	// x-router-route have one value.
	switch auth := distinct(r.Auth); len(auth) {
	case 0:
		e.refusals[refNoKey] = 401
	case 1:
		e.key = c.key(auth[0])
	default:
		e.refusals[refAmbiguousAuth] = 400
	}
	e.name = r.Model
	switch hdr := distinct(r.RouteHeader); len(hdr) {
	case 0:
	case 1:
		e.name = hdr[0]
	default:
		e.refusals[refAmbiguousRoute] = 400
	}
	// Rule 3: "*" is every route and no model id; a model id needs a grant.
	e.route, e.model = c.route(e.name), nil
	if e.route == nil {
		e.model = c.model(e.name)
	}
	switch {
	case e.route == nil && e.model == nil:
		e.refusals[refUnknownName] = 404
	case e.key == nil:
	case e.route != nil:
		if !slices.Contains(e.key.Routes, "*") && !slices.Contains(e.key.Routes, e.name) {
			e.refusals[refRouteNotGranted] = 403
		}
	case !slices.Contains(e.key.Models, e.name):
		e.refusals[refModelNotGranted] = 403
	}
	// Rule 1: the key's class and every class of every field line.
	classes := dataClasses()
	if e.key != nil && e.key.DataClass != "" {
		for _, t := range classes[e.key.DataClass] {
			e.classes.add(t, srcKeyClass)
		}
	}
	for i, line := range r.Classes {
		src := srcFirstLine
		if i > 0 {
			src = srcLaterLine
		}
		for _, name := range line {
			tags, ok := classes[name]
			if !ok {
				e.refusals[refUnknownClass] = 400
				continue
			}
			for _, t := range tags {
				e.classes.add(t, src)
			}
		}
	}
	return e
}

// onBudgetRoutes are the routes an on_budget rule that applies to the
// request may move it to: its key's, and those of tag budgets whose tag
// (and value) the key or any x-router-tags field line carries.
func onBudgetRoutes(c *Config, k *Key, r *Request) []string {
	var out []string
	if k != nil && k.Budget != nil && k.Budget.OnBudget != nil {
		out = append(out, k.Budget.OnBudget.Route)
	}
	values := map[string][]string{}
	if k != nil {
		for t, v := range k.Tags {
			values[t] = append(values[t], v)
		}
	}
	for _, line := range r.Tags {
		for _, pair := range strings.Split(line, ",") {
			if t, v, ok := strings.Cut(strings.TrimSpace(pair), "="); ok {
				values[strings.TrimSpace(t)] = append(values[strings.TrimSpace(t)], strings.TrimSpace(v))
			}
		}
	}
	for _, b := range c.Budgets {
		if b.OnBudget == nil || len(values[b.Tag]) == 0 {
			continue
		}
		if b.Value == "" || slices.Contains(values[b.Tag], b.Value) {
			out = append(out, b.OnBudget.Route)
		}
	}
	return out
}

// outcomeOf is what one request did: its status, the router's audit line,
// and the providers whose upstream really received it.
type outcomeOf struct {
	status int
	audit  *auditLine
	hits   []string
}

type auditLine struct {
	Type           string   `json:"type"`
	RequestID      string   `json:"request_id"`
	Endpoint       string   `json:"endpoint"`
	Route          string   `json:"route"`
	DowngradedFrom string   `json:"downgraded_from"`
	Require        []string `json:"require"`
	Provider       string   `json:"provider"`
	Status         int      `json:"status"`
	ErrorCode      string   `json:"error_code"`
	Attempts       []struct {
		Provider string `json:"provider"`
		Outcome  string `json:"outcome"`
	} `json:"attempts"`
}

// judge compares what happened with the rules.
func judge(c *Config, r *Request, e *expectation, got *outcomeOf) []violation {
	var vs []violation
	if e.refused() {
		reasons := e.reasons()
		if len(got.hits) > 0 {
			vs = append(vs, violation{kind: kindReached, causes: reasons,
				msg: fmt.Sprintf("refused by the rules, yet %s received it (status %d)", strings.Join(got.hits, ", "), got.status)})
		} else if got.audit != nil && len(got.audit.Attempts) > 0 {
			vs = append(vs, violation{kind: kindReached, causes: reasons,
				msg: fmt.Sprintf("refused by the rules, yet the audit line lists attempts (status %d)", got.status)})
		}
		ok := false
		for _, s := range e.refusals {
			ok = ok || s == got.status
		}
		if !ok {
			want := []int{}
			for _, s := range e.refusals {
				want = append(want, s)
			}
			sort.Ints(want)
			vs = append(vs, violation{kind: kindStatus, causes: reasons,
				msg: fmt.Sprintf("status %d, want one of %v", got.status, slices.Compact(want))})
		}
		return vs
	}

	// A refused request may be turned away before the router keeps a
	// record; one that is served may not.
	if got.audit == nil {
		vs = append(vs, violation{kind: kindAudit, causes: []string{causeNoAudit},
			msg: fmt.Sprintf("status %d and no audit line", got.status)})
	} else if got.audit.Endpoint != r.endpoint() {
		vs = append(vs, violation{kind: kindAudit, causes: []string{causeEndpoint},
			msg: fmt.Sprintf("audit: endpoint %q for a request to %s", got.audit.Endpoint, r.path())})
	}
	req := need{}
	for t, srcs := range e.classes {
		for _, s := range srcs {
			req.add(t, s)
		}
	}
	var allowed []string
	askedSrc := srcRoute
	downgraded := got.audit != nil && got.audit.DowngradedFrom != ""
	if downgraded {
		askedSrc = srcAskedRoute
	}
	if e.route != nil {
		for _, t := range e.route.Require {
			req.add(t, askedSrc)
		}
		allowed = c.targetProviders(e.route)
	} else {
		allowed = []string{e.model.Provider}
	}
	if downgraded {
		a := got.audit
		if a.DowngradedFrom != e.name || !slices.Contains(onBudgetRoutes(c, e.key, r), a.Route) {
			vs = append(vs, violation{kind: kindAudit, causes: []string{causeBadDowngrade},
				msg: fmt.Sprintf("audit: downgraded from %q to %q", a.DowngradedFrom, a.Route)})
		}
		if to := c.route(a.Route); to != nil {
			for _, t := range to.Require {
				req.add(t, srcDowngrade)
			}
			allowed = append(allowed, c.targetProviders(to)...)
		} else if m := c.model(a.Route); m != nil {
			allowed = append(allowed, m.Provider)
		}
	}
	check := func(kind int, p string) {
		pc := c.provider(p)
		var have []string
		if pc != nil {
			have = pc.Compliance
		}
		if tags, srcs := req.missing(have); len(tags) > 0 {
			vs = append(vs, violation{kind: kind, causes: srcs,
				msg: fmt.Sprintf("provider %s %v received it; it lacks %v of the required %v", p, have, tags, req.tags())})
		}
	}
	for _, p := range got.hits {
		check(kindLeak, p)
		if !slices.Contains(allowed, p) {
			vs = append(vs, violation{kind: kindOffRoute, causes: []string{causeOffRoute},
				msg: fmt.Sprintf("provider %s received it; the route's targets are at %v", p, allowed)})
		}
	}
	if got.audit != nil {
		for _, a := range got.audit.Attempts {
			if !slices.Contains(got.hits, a.Provider) {
				check(kindAttempt, a.Provider)
			}
		}
		if tags, srcs := req.missing(got.audit.Require); len(tags) > 0 {
			vs = append(vs, violation{kind: kindAudit, causes: srcs,
				msg: fmt.Sprintf("audit: require %v lacks %v of the required %v", got.audit.Require, tags, req.tags())})
		}
	}
	return vs
}
