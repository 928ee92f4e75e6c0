package structured

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// problem is one reason an instance fails its schema, at a JSON pointer.
type problem struct{ loc, msg string }

// outcome is a validation's result: its problems, and which properties and
// items the schema evaluated (for unevaluatedProperties and unevaluatedItems
// of the schemas around it).
type outcome struct {
	problems []problem
	props    map[string]bool
	items    map[int]bool // items evaluated, by index
	allItems bool         // every item evaluated
}

func (o *outcome) fail(loc, format string, args ...any) {
	o.problems = append(o.problems, problem{loc, fmt.Sprintf(format, args...)})
}

func (o outcome) ok() bool { return len(o.problems) == 0 }

// merge takes a valid subschema's annotations.
func (o *outcome) merge(sub outcome) {
	for p := range sub.props {
		if o.props == nil {
			o.props = map[string]bool{}
		}
		o.props[p] = true
	}
	for i := range sub.items {
		o.markItem(i)
	}
	o.allItems = o.allItems || sub.allItems
}

func (o *outcome) markItem(i int) {
	if o.items == nil {
		o.items = map[int]bool{}
	}
	o.items[i] = true
}

// validate checks v, found at loc, against n.
func (n *node) validate(v any, loc string, depth int) outcome {
	var o outcome
	if depth > maxDepth {
		o.fail(loc, "the schema's references recurse too deep")
		return o
	}
	if n.boolean != nil {
		if !*n.boolean {
			o.fail(loc, "not allowed")
		}
		return o
	}
	if n.ref != nil {
		sub := n.ref.validate(v, loc, depth+1)
		o.problems = append(o.problems, sub.problems...)
		if sub.ok() {
			o.merge(sub)
		}
	}
	if len(n.types) > 0 && !slices.ContainsFunc(n.types, func(t string) bool { return hasType(v, t) }) {
		o.fail(loc, "got %s, want %s", typeOf(v), strings.Join(n.types, " or "))
		return o
	}
	if n.hasConst && !equal(v, n.constant) {
		o.fail(loc, "value must be %s", show(n.constant))
	}
	if n.hasEnum && !slices.ContainsFunc(n.enum, func(e any) bool { return equal(v, e) }) {
		vals := make([]string, len(n.enum))
		for i, e := range n.enum {
			vals[i] = show(e)
		}
		o.fail(loc, "value must be one of %s", strings.Join(vals, ", "))
	}
	switch x := v.(type) {
	case json.Number, float64:
		n.checkNumber(&o, v, loc)
	case string:
		n.checkString(&o, x, loc)
	case []any:
		n.checkArray(&o, x, loc, depth)
	case map[string]any:
		n.checkObject(&o, x, loc, depth)
	}
	n.checkApplicators(&o, v, loc, depth)
	// unevaluated* see what everything above evaluated.
	if list, ok := v.([]any); ok && n.unevalItems != nil && !o.allItems {
		for i := range list {
			if o.items[i] {
				continue
			}
			sub := n.unevalItems.validate(list[i], loc+"/"+strconv.Itoa(i), depth+1)
			o.problems = append(o.problems, sub.problems...)
		}
		o.allItems = true
	}
	if obj, ok := v.(map[string]any); ok && n.unevalProps != nil {
		for _, k := range sortedKeys(obj) {
			if o.props[k] {
				continue
			}
			sub := n.unevalProps.validate(obj[k], loc+"/"+escapePointer(k), depth+1)
			if !sub.ok() && n.unevalProps.boolean != nil {
				o.fail(loc, "unevaluated property '%s' not allowed", k)
				continue
			}
			o.problems = append(o.problems, sub.problems...)
			if o.props == nil {
				o.props = map[string]bool{}
			}
			o.props[k] = true
		}
	}
	return o
}

func (n *node) checkNumber(o *outcome, v any, loc string) {
	r, ok := number(v)
	if !ok {
		return
	}
	if n.minimum != nil && r.Cmp(n.minimum) < 0 {
		o.fail(loc, "must be >= %s but found %s", ratString(n.minimum), ratString(r))
	}
	if n.maximum != nil && r.Cmp(n.maximum) > 0 {
		o.fail(loc, "must be <= %s but found %s", ratString(n.maximum), ratString(r))
	}
	if n.exclMin != nil && r.Cmp(n.exclMin) <= 0 {
		o.fail(loc, "must be > %s but found %s", ratString(n.exclMin), ratString(r))
	}
	if n.exclMax != nil && r.Cmp(n.exclMax) >= 0 {
		o.fail(loc, "must be < %s but found %s", ratString(n.exclMax), ratString(r))
	}
	if n.multipleOf != nil && !new(big.Rat).Quo(r, n.multipleOf).IsInt() {
		o.fail(loc, "%s is not a multiple of %s", ratString(r), ratString(n.multipleOf))
	}
}

func (n *node) checkString(o *outcome, s, loc string) {
	if n.minLength >= 0 || n.maxLength >= 0 {
		l := utf8.RuneCountInString(s)
		if n.minLength >= 0 && l < n.minLength {
			o.fail(loc, "length must be >= %d but found %d", n.minLength, l)
		}
		if n.maxLength >= 0 && l > n.maxLength {
			o.fail(loc, "length must be <= %d but found %d", n.maxLength, l)
		}
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		o.fail(loc, "%s does not match pattern %s", strconv.Quote(s), strconv.Quote(n.pattern.String()))
	}
	if n.assertFormat && n.format != "" && !formatOK(n.format, s) {
		o.fail(loc, "%s is not a valid %s", strconv.Quote(s), n.format)
	}
}

func (n *node) checkArray(o *outcome, list []any, loc string, depth int) {
	if n.minItems >= 0 && len(list) < n.minItems {
		o.fail(loc, "minItems: got %d, want %d", len(list), n.minItems)
	}
	if n.maxItems >= 0 && len(list) > n.maxItems {
		o.fail(loc, "maxItems: got %d, want %d", len(list), n.maxItems)
	}
	if n.uniqueItems {
		for i := range list {
			for j := i + 1; j < len(list); j++ {
				if equal(list[i], list[j]) {
					o.fail(loc, "items at %d and %d are equal", i, j)
				}
			}
		}
	}
	for i, s := range n.prefixItems {
		if i >= len(list) {
			break
		}
		sub := s.validate(list[i], loc+"/"+strconv.Itoa(i), depth+1)
		o.problems = append(o.problems, sub.problems...)
		o.markItem(i)
	}
	if n.items != nil {
		for i := len(n.prefixItems); i < len(list); i++ {
			sub := n.items.validate(list[i], loc+"/"+strconv.Itoa(i), depth+1)
			o.problems = append(o.problems, sub.problems...)
		}
		o.allItems = true
	}
	if n.contains != nil {
		matched := 0
		for i, e := range list {
			if n.contains.validate(e, loc+"/"+strconv.Itoa(i), depth+1).ok() {
				matched++
				o.markItem(i)
			}
		}
		lo := 1
		if n.minContains >= 0 {
			lo = n.minContains
		}
		switch {
		case matched < lo:
			o.fail(loc, "contains: %d items match, want at least %d", matched, lo)
		case n.maxContains >= 0 && matched > n.maxContains:
			o.fail(loc, "contains: %d items match, want at most %d", matched, n.maxContains)
		}
	}
}

func (n *node) checkObject(o *outcome, obj map[string]any, loc string, depth int) {
	if n.minProps >= 0 && len(obj) < n.minProps {
		o.fail(loc, "minProperties: got %d, want %d", len(obj), n.minProps)
	}
	if n.maxProps >= 0 && len(obj) > n.maxProps {
		o.fail(loc, "maxProperties: got %d, want %d", len(obj), n.maxProps)
	}
	var missing []string
	for _, r := range n.required {
		if _, ok := obj[r]; !ok {
			missing = append(missing, "'"+r+"'")
		}
	}
	if len(missing) == 1 {
		o.fail(loc, "missing property %s", missing[0])
	} else if len(missing) > 1 {
		o.fail(loc, "missing properties %s", strings.Join(missing, ", "))
	}
	for _, k := range sortedKeys(n.dependentRequired) {
		if _, ok := obj[k]; !ok {
			continue
		}
		for _, d := range n.dependentRequired[k] {
			if _, ok := obj[d]; !ok {
				o.fail(loc, "property '%s' is required when '%s' is present", d, k)
			}
		}
	}
	var extra []string
	for _, k := range sortedKeys(obj) {
		kloc := loc + "/" + escapePointer(k)
		if n.propertyNames != nil {
			if sub := n.propertyNames.validate(k, kloc, depth+1); !sub.ok() {
				o.fail(loc, "property name '%s' is not valid", k)
			}
		}
		matched := false
		if s, ok := n.properties[k]; ok {
			matched = true
			o.problems = append(o.problems, s.validate(obj[k], kloc, depth+1).problems...)
		}
		for _, pp := range n.patternProps {
			if pp.re.MatchString(k) {
				matched = true
				o.problems = append(o.problems, pp.n.validate(obj[k], kloc, depth+1).problems...)
			}
		}
		if matched {
			o.mark(k)
			continue
		}
		if n.additionalProps != nil {
			sub := n.additionalProps.validate(obj[k], kloc, depth+1)
			if !sub.ok() && n.additionalProps.boolean != nil {
				extra = append(extra, "'"+k+"'")
			} else {
				o.problems = append(o.problems, sub.problems...)
			}
			o.mark(k)
		}
	}
	if len(extra) > 0 {
		o.fail(loc, "additional properties %s not allowed", strings.Join(extra, ", "))
	}
	for _, k := range sortedKeys(n.dependentSchemas) {
		if _, ok := obj[k]; !ok {
			continue
		}
		sub := n.dependentSchemas[k].validate(obj, loc, depth+1)
		o.problems = append(o.problems, sub.problems...)
		if sub.ok() {
			o.merge(sub)
		}
	}
}

func (o *outcome) mark(k string) {
	if o.props == nil {
		o.props = map[string]bool{}
	}
	o.props[k] = true
}

func (n *node) checkApplicators(o *outcome, v any, loc string, depth int) {
	for _, s := range n.allOf {
		sub := s.validate(v, loc, depth+1)
		o.problems = append(o.problems, sub.problems...)
		if sub.ok() {
			o.merge(sub)
		}
	}
	if len(n.anyOf) > 0 {
		var matched bool
		var first []problem
		for _, s := range n.anyOf {
			sub := s.validate(v, loc, depth+1)
			if sub.ok() {
				matched = true
				o.merge(sub)
			} else if first == nil {
				first = sub.problems
			}
		}
		if !matched {
			o.fail(loc, "does not match any of the anyOf schemas")
			o.problems = append(o.problems, first...)
		}
	}
	if len(n.oneOf) > 0 {
		var valid []int
		var first []problem
		var match outcome
		for i, s := range n.oneOf {
			sub := s.validate(v, loc, depth+1)
			if sub.ok() {
				valid = append(valid, i)
				match = sub
			} else if first == nil {
				first = sub.problems
			}
		}
		switch len(valid) {
		case 0:
			o.fail(loc, "does not match any of the oneOf schemas")
			o.problems = append(o.problems, first...)
		case 1:
			o.merge(match)
		default:
			o.fail(loc, "matches oneOf schemas %d and %d, want exactly one", valid[0], valid[1])
		}
	}
	if n.not != nil && n.not.validate(v, loc, depth+1).ok() {
		o.fail(loc, "must not match the schema of not")
	}
	if n.ifN != nil {
		cond := n.ifN.validate(v, loc, depth+1)
		branch := n.elseN
		if cond.ok() {
			o.merge(cond)
			branch = n.thenN
		}
		if branch != nil {
			sub := branch.validate(v, loc, depth+1)
			o.problems = append(o.problems, sub.problems...)
			if sub.ok() {
				o.merge(sub)
			}
		}
	}
}

// hasType reports whether v is of JSON Schema type t; an integer is a
// number with no fraction (1.0 is one).
func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "number":
		_, ok := number(v)
		return ok
	case "integer":
		r, ok := number(v)
		return ok && r.IsInt()
	}
	return false
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if hasType(v, "integer") {
		return "integer"
	}
	return "number"
}

// equal is JSON equality: numbers by value, objects by members.
func equal(a, b any) bool {
	if ra, ok := number(a); ok {
		rb, ok := number(b)
		return ok && ra.Cmp(rb) == 0
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	if _, ok := number(b); ok {
		return false
	}
	return a == b
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// formatOK checks the formats drafts 04 to 07 asserted; others pass.
func formatOK(format, s string) bool {
	switch format {
	case "date-time":
		return isDateTime(s)
	case "date":
		return isFullDate(s)
	case "time":
		return isFullTime(s)
	case "email":
		a, err := mail.ParseAddress(s)
		return err == nil && a.Address == s
	case "ipv4":
		ip := net.ParseIP(s)
		return ip != nil && ip.To4() != nil && !strings.Contains(s, ":")
	case "ipv6":
		ip := net.ParseIP(s)
		return ip != nil && strings.Contains(s, ":")
	case "uri":
		return isURI(s)
	case "uuid":
		if len(s) != 36 {
			return false
		}
		for i, c := range s {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if c != '-' {
					return false
				}
			} else if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
		return true
	}
	return true
}
