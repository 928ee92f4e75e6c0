package structured

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Instance returns a small JSON value that matches the schema doc: the
// required properties only, the first const, enum value or anyOf/oneOf
// branch, the least number or shortest string the bounds allow, the fewest
// array items. It is for the simulated provider, so that demos of structured
// routes answer in shape. It is best effort (patterns, most formats and
// allOf beyond its first branch are not honoured), and the router checks
// the result like any answer.
func Instance(doc []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root any
	if dec.Decode(&root) != nil {
		return []byte("{}")
	}
	out, err := json.Marshal(instance(root, root, 0))
	if err != nil {
		return []byte("{}")
	}
	return out
}

// maxInstanceDepth bounds recursion through nested and recursive schemas.
const maxInstanceDepth = 24

func instance(s, root any, depth int) any {
	m, ok := s.(map[string]any)
	if !ok || depth > maxInstanceDepth {
		return nil
	}
	if ref, ok := m["$ref"].(string); ok {
		if target := resolve(root, ref); target != nil {
			return instance(target, root, depth+1)
		}
	}
	if c, ok := m["const"]; ok {
		return c
	}
	if e, ok := m["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if branches, ok := m[k].([]any); ok && len(branches) > 0 {
			return instance(branches[0], root, depth+1)
		}
	}
	typ := m["type"]
	if list, ok := typ.([]any); ok {
		typ = nil
		for _, t := range list {
			if t != "null" {
				typ = t
				break
			}
		}
	}
	if typ == nil {
		if _, ok := m["properties"]; ok {
			typ = "object"
		} else if _, ok := m["items"]; ok {
			typ = "array"
		}
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := m["properties"].(map[string]any)
		req, _ := m["required"].([]any)
		for _, r := range req {
			name, _ := r.(string)
			out[name] = instance(props[name], root, depth+1)
		}
		return out
	case "array":
		n := intOf(m["minItems"], 0)
		out := make([]any, 0, n)
		prefix, _ := m["prefixItems"].([]any)
		for i := 0; i < n; i++ {
			if i < len(prefix) {
				out = append(out, instance(prefix[i], root, depth+1))
			} else {
				out = append(out, instance(m["items"], root, depth+1))
			}
		}
		return out
	case "string":
		return stringInstance(m)
	case "integer", "number":
		return numberInstance(m, typ == "integer")
	case "boolean":
		return false
	}
	return nil
}

// resolve follows a local reference (#/$defs/name, #/definitions/name).
func resolve(root any, ref string) any {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	cur := root
	for _, part := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		cur = m[part]
	}
	return cur
}

func stringInstance(m map[string]any) string {
	s := "example"
	switch m["format"] {
	case "date":
		s = "2026-01-01"
	case "date-time":
		s = "2026-01-01T00:00:00Z"
	case "time":
		s = "00:00:00Z"
	case "email":
		s = "user@example.com"
	case "uri", "url":
		s = "https://example.com/"
	case "uuid":
		s = "00000000-0000-4000-8000-000000000000"
	}
	if n := intOf(m["maxLength"], -1); n >= 0 && len(s) > n {
		s = s[:n]
	}
	if n := intOf(m["minLength"], 0); len(s) < n {
		s += strings.Repeat("x", n-len(s))
	}
	return s
}

func numberInstance(m map[string]any, integer bool) json.Number {
	v := 0.0
	if f, ok := floatOf(m["minimum"]); ok {
		v = f
	}
	if f, ok := floatOf(m["exclusiveMinimum"]); ok {
		v = f + 1
	}
	if f, ok := floatOf(m["maximum"]); ok && v > f {
		v = f
	}
	if integer {
		return json.Number(strconv.FormatInt(int64(math.Ceil(v)), 10))
	}
	return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
}

func floatOf(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func intOf(v any, def int) int {
	if f, ok := floatOf(v); ok && f >= 0 && f < 1<<20 {
		return int(f)
	}
	return def
}
