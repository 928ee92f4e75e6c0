package structured

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The router's own JSON Schema validator: the keywords of draft 2020-12's
// core, applicator, validation and unevaluated vocabularies, and their
// earlier-draft spellings (definitions, dependencies, items as an array,
// additionalItems), with formats as annotations (asserted only for schemas
// that declare draft-07 or older, as those drafts did). It needs nothing at
// start: a schema is checked and compiled when first used. References are
// resolved inside the document only ($ref, $dynamicRef and $recursiveRef to
// a JSON pointer, an $anchor or an $id of the document); a reference to
// anything else is refused when the schema is compiled, so a schema from a
// client never makes the router read a file or the network.

// baseURI is the document's base when it has no $id of its own: a
// hierarchical URL, so relative references resolve to a URL the compiler
// refuses rather than to the schema itself.
const baseURI = "https://schema.llm-router.invalid/request.json"

// maxDepth bounds validation through recursive references.
const maxDepth = 256

// node is one compiled schema or subschema.
type node struct {
	boolean *bool // a true or false schema

	types               []string
	enum                []any
	hasEnum, hasConst   bool
	constant            any
	multipleOf          *big.Rat
	maximum, minimum    *big.Rat
	exclMax, exclMin    *big.Rat
	minLength           int
	maxLength           int
	pattern             *regexp.Regexp
	format              string
	assertFormat        bool
	prefixItems         []*node
	items               *node
	minItems, maxItems  int
	uniqueItems         bool
	contains            *node
	minContains         int
	maxContains         int
	properties          map[string]*node
	patternProps        []patternNode
	additionalProps     *node
	required            []string
	minProps, maxProps  int
	propertyNames       *node
	dependentRequired   map[string][]string
	dependentSchemas    map[string]*node
	allOf, anyOf, oneOf []*node
	not                 *node
	ifN, thenN, elseN   *node
	ref                 *node // $ref, $dynamicRef, $recursiveRef, resolved
	unevalProps         *node
	unevalItems         *node
}

type patternNode struct {
	re *regexp.Regexp
	n  *node
}

// compiler builds the nodes of one document.
type compiler struct {
	byURI    map[string]indexed // absolute URI (no fragment), or URI#anchor -> schema
	compiled map[string]*node   // location or reference target -> node, for references and cycles
	refs     []pendingRef       // references to resolve once the document is compiled
	assert   bool               // formats asserted (draft-07 and older)
}

// indexed is a schema a reference can name, with the base URI in effect
// around it (its own $id, if any, applies on top).
type indexed struct {
	v    any
	base string
}

type pendingRef struct {
	n      *node
	target string // absolute URI with fragment
}

// compileSchema checks doc against the rules of JSON Schema and compiles it.
func compileSchema(doc any) (*node, error) {
	c := &compiler{byURI: map[string]indexed{}, compiled: map[string]*node{}}
	if m, ok := doc.(map[string]any); ok {
		if s, ok := m["$schema"].(string); ok {
			c.assert = legacyDraft(s)
		}
	}
	if err := c.index(doc, baseURI, ""); err != nil {
		return nil, err
	}
	n, err := c.compile(doc, baseURI, "")
	if err != nil {
		return nil, err
	}
	for len(c.refs) > 0 {
		p := c.refs[0]
		c.refs = c.refs[1:]
		target, err := c.lookup(p.target)
		if err != nil {
			return nil, err
		}
		p.n.ref = target
	}
	return n, nil
}

func legacyDraft(s string) bool {
	for _, d := range []string{"draft-04", "draft-06", "draft-07"} {
		if strings.Contains(s, "json-schema.org/"+d+"/schema") {
			return true
		}
	}
	return false
}

// index records every $id and $anchor of the document with its base URI.
func (c *compiler) index(v any, base, ptr string) error {
	m, ok := v.(map[string]any)
	if !ok {
		if list, ok := v.([]any); ok {
			for i, e := range list {
				if err := c.index(e, base, ptr+"/"+strconv.Itoa(i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	outer := base
	if id, ok := m["$id"].(string); ok {
		u, err := resolveURI(base, id)
		if err != nil {
			return fmt.Errorf("%s/$id: %w", ptr, err)
		}
		doc, frag, _ := strings.Cut(u, "#")
		if frag != "" && !strings.HasPrefix(frag, "/") {
			c.byURI[doc+"#"+frag] = indexed{m, outer} // draft-07 anchor written as an $id
		} else {
			base = doc
			c.byURI[doc] = indexed{m, outer}
		}
	}
	if a, ok := m["$anchor"].(string); ok {
		c.byURI[base+"#"+a] = indexed{m, outer}
	}
	if a, ok := m["$dynamicAnchor"].(string); ok {
		c.byURI[base+"#"+a] = indexed{m, outer}
	}
	if ptr == "" {
		c.byURI[base] = indexed{m, outer}
	}
	for k, e := range m {
		if k == "enum" || k == "const" || k == "examples" || k == "default" {
			continue // values, not schemas
		}
		if err := c.index(e, base, ptr+"/"+escapePointer(k)); err != nil {
			return err
		}
	}
	return nil
}

func resolveURI(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("%q is not a URI reference", ref)
	}
	return b.ResolveReference(r).String(), nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// lookup finds the schema a reference names and compiles it.
func (c *compiler) lookup(target string) (*node, error) {
	if n, ok := c.compiled[target]; ok {
		return n, nil
	}
	doc, frag, _ := strings.Cut(target, "#")
	var v any
	var base string
	switch {
	case frag == "" || strings.HasPrefix(frag, "/"):
		root, ok := c.byURI[doc]
		if !ok {
			return nil, fmt.Errorf("external schema references are not allowed (%s)", target)
		}
		p, err := url.PathUnescape(frag)
		if err != nil {
			return nil, fmt.Errorf("bad JSON pointer in %s", target)
		}
		if v, base, ok = pointer(root.v, root.base, p); !ok {
			return nil, fmt.Errorf("the reference %s names nothing in the schema", target)
		}
	default:
		a, ok := c.byURI[target]
		if !ok {
			return nil, fmt.Errorf("external schema references are not allowed (%s)", target)
		}
		v, base = a.v, a.base
	}
	n, err := c.compile(v, base, target)
	if err != nil {
		return nil, err
	}
	c.compiled[target] = n
	return n, nil
}

// pointer follows a JSON pointer ("/a/b~1c") from v, whose surrounding base
// URI is base, and returns the value it names with the base around it.
func pointer(v any, base, p string) (any, string, bool) {
	if p == "" {
		return v, base, true
	}
	for _, tok := range strings.Split(p[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			base = rebase(base, x)
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, "", false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, "", false
			}
			v = x[i]
		default:
			return nil, "", false
		}
	}
	return v, base, true
}

// rebase is the base URI inside schema m: moved by its $id, unless the $id
// is a plain-name fragment (an anchor, which names m and moves nothing).
func rebase(base string, m map[string]any) string {
	if id, ok := m["$id"].(string); ok {
		if u, err := resolveURI(base, id); err == nil {
			if doc, frag, _ := strings.Cut(u, "#"); frag == "" || strings.HasPrefix(frag, "/") {
				return doc
			}
		}
	}
	return base
}

var knownTypes = []string{"null", "boolean", "object", "array", "number", "integer", "string"}

// compile compiles the schema v found at loc (a JSON pointer, for errors).
func (c *compiler) compile(v any, base, loc string) (*node, error) {
	bad := func(kw, format string, args ...any) error {
		return fmt.Errorf("at '%s/%s': %s", loc, kw, fmt.Sprintf(format, args...))
	}
	if b, ok := v.(bool); ok {
		return &node{boolean: &b}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("at '%s': a schema is an object or a boolean", loc)
	}
	if c.compiled[loc] != nil {
		return c.compiled[loc], nil
	}
	n := &node{minLength: -1, maxLength: -1, minItems: -1, maxItems: -1, minContains: -1, maxContains: -1, minProps: -1, maxProps: -1,
		assertFormat: c.assert}
	c.compiled[loc] = n
	if _, ok := m["$ref"]; ok && c.assert {
		// Before 2019-09, $ref replaced the schema it sat in: its siblings,
		// $id included, are ignored.
		m = map[string]any{"$ref": m["$ref"]}
	}
	base = rebase(base, m)
	sub := func(kw string, x any) (*node, error) { return c.compile(x, base, loc+"/"+escapePointer(kw)) }
	subs := func(kw string) ([]*node, error) {
		list, ok := m[kw].([]any)
		if !ok || len(list) == 0 {
			return nil, bad(kw, "want a non-empty array of schemas")
		}
		out := make([]*node, len(list))
		for i, x := range list {
			s, err := c.compile(x, base, loc+"/"+kw+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	schemaMap := func(kw string) (map[string]*node, error) {
		obj, ok := m[kw].(map[string]any)
		if !ok {
			return nil, bad(kw, "want an object of schemas")
		}
		out := make(map[string]*node, len(obj))
		for k, x := range obj {
			s, err := c.compile(x, base, loc+"/"+kw+"/"+escapePointer(k))
			if err != nil {
				return nil, err
			}
			out[k] = s
		}
		return out, nil
	}
	count := func(kw string) (int, error) {
		r, ok := number(m[kw])
		if !ok || !r.IsInt() || r.Sign() < 0 || !r.Num().IsInt64() {
			return 0, bad(kw, "want a non-negative integer")
		}
		return int(r.Num().Int64()), nil
	}
	num := func(kw string) (*big.Rat, error) {
		r, ok := number(m[kw])
		if !ok {
			return nil, bad(kw, "want a number")
		}
		return r, nil
	}

	var err error
	for kw, x := range m {
		switch kw {
		case "type":
			switch t := x.(type) {
			case string:
				n.types = []string{t}
			case []any:
				for _, e := range t {
					s, _ := e.(string)
					n.types = append(n.types, s)
				}
			default:
				return nil, bad(kw, "want a type name or an array of them")
			}
			for _, t := range n.types {
				if !slices.Contains(knownTypes, t) {
					return nil, bad(kw, "%q is not a JSON Schema type", t)
				}
			}
		case "enum":
			list, ok := x.([]any)
			if !ok {
				return nil, bad(kw, "want an array")
			}
			n.enum, n.hasEnum = list, true
		case "const":
			n.constant, n.hasConst = x, true
		case "multipleOf":
			if n.multipleOf, err = num(kw); err == nil && n.multipleOf.Sign() <= 0 {
				err = bad(kw, "want a number above 0")
			}
		case "maximum", "minimum":
			var r *big.Rat
			if r, err = num(kw); err == nil {
				if kw == "maximum" {
					n.maximum = r
				} else {
					n.minimum = r
				}
			}
		case "exclusiveMaximum", "exclusiveMinimum":
			if b, ok := x.(bool); ok { // draft-04
				if b {
					limit := "maximum"
					if kw == "exclusiveMinimum" {
						limit = "minimum"
					}
					r, ok := number(m[limit])
					if !ok {
						err = bad(kw, "needs %s", limit)
						break
					}
					if kw == "exclusiveMaximum" {
						n.exclMax = r
					} else {
						n.exclMin = r
					}
				}
				break
			}
			var r *big.Rat
			if r, err = num(kw); err == nil {
				if kw == "exclusiveMaximum" {
					n.exclMax = r
				} else {
					n.exclMin = r
				}
			}
		case "minLength":
			n.minLength, err = count(kw)
		case "maxLength":
			n.maxLength, err = count(kw)
		case "pattern":
			s, ok := x.(string)
			if !ok {
				return nil, bad(kw, "want a string")
			}
			if n.pattern, err = regexp.Compile(s); err != nil {
				err = bad(kw, "%q is not a regular expression this validator supports", s)
			}
		case "format":
			s, ok := x.(string)
			if !ok {
				return nil, bad(kw, "want a string")
			}
			n.format = s
		case "items":
			if list, ok := x.([]any); ok { // before 2020-12: the tuple form
				for i, e := range list {
					s, err := c.compile(e, base, loc+"/items/"+strconv.Itoa(i))
					if err != nil {
						return nil, err
					}
					n.prefixItems = append(n.prefixItems, s)
				}
				if ai, ok := m["additionalItems"]; ok {
					n.items, err = sub("additionalItems", ai)
				}
				break
			}
			n.items, err = sub(kw, x)
		case "prefixItems":
			if _, legacy := m["items"].([]any); legacy {
				break
			}
			n.prefixItems, err = subs(kw)
		case "minItems":
			n.minItems, err = count(kw)
		case "maxItems":
			n.maxItems, err = count(kw)
		case "uniqueItems":
			b, ok := x.(bool)
			if !ok {
				return nil, bad(kw, "want a boolean")
			}
			n.uniqueItems = b
		case "contains":
			n.contains, err = sub(kw, x)
		case "minContains":
			n.minContains, err = count(kw)
		case "maxContains":
			n.maxContains, err = count(kw)
		case "properties":
			n.properties, err = schemaMap(kw)
		case "patternProperties":
			var pm map[string]*node
			if pm, err = schemaMap(kw); err == nil {
				for p, s := range pm {
					re, rerr := regexp.Compile(p)
					if rerr != nil {
						return nil, bad(kw, "%q is not a regular expression this validator supports", p)
					}
					n.patternProps = append(n.patternProps, patternNode{re, s})
				}
			}
		case "additionalProperties":
			n.additionalProps, err = sub(kw, x)
		case "required":
			list, ok := x.([]any)
			if !ok {
				return nil, bad(kw, "want an array of property names")
			}
			for _, e := range list {
				s, ok := e.(string)
				if !ok {
					return nil, bad(kw, "want an array of property names")
				}
				n.required = append(n.required, s)
			}
		case "minProperties":
			n.minProps, err = count(kw)
		case "maxProperties":
			n.maxProps, err = count(kw)
		case "propertyNames":
			n.propertyNames, err = sub(kw, x)
		case "dependentRequired", "dependencies", "dependentSchemas":
			obj, ok := x.(map[string]any)
			if !ok {
				return nil, bad(kw, "want an object")
			}
			for k, e := range obj {
				if list, ok := e.([]any); ok && kw != "dependentSchemas" {
					if n.dependentRequired == nil {
						n.dependentRequired = map[string][]string{}
					}
					for _, name := range list {
						s, ok := name.(string)
						if !ok {
							return nil, bad(kw, "want arrays of property names")
						}
						n.dependentRequired[k] = append(n.dependentRequired[k], s)
					}
					continue
				}
				if kw == "dependentRequired" {
					return nil, bad(kw, "want arrays of property names")
				}
				s, err := c.compile(e, base, loc+"/"+kw+"/"+escapePointer(k))
				if err != nil {
					return nil, err
				}
				if n.dependentSchemas == nil {
					n.dependentSchemas = map[string]*node{}
				}
				n.dependentSchemas[k] = s
			}
		case "allOf":
			n.allOf, err = subs(kw)
		case "anyOf":
			n.anyOf, err = subs(kw)
		case "oneOf":
			n.oneOf, err = subs(kw)
		case "not":
			n.not, err = sub(kw, x)
		case "if":
			n.ifN, err = sub(kw, x)
		case "then":
			n.thenN, err = sub(kw, x)
		case "else":
			n.elseN, err = sub(kw, x)
		case "unevaluatedProperties":
			n.unevalProps, err = sub(kw, x)
		case "unevaluatedItems":
			n.unevalItems, err = sub(kw, x)
		case "$ref", "$dynamicRef", "$recursiveRef":
			s, ok := x.(string)
			if !ok {
				return nil, bad(kw, "want a URI reference")
			}
			target, rerr := resolveURI(base, s)
			if rerr != nil {
				return nil, bad(kw, "%v", rerr)
			}
			target = strings.TrimSuffix(target, "#")
			doc, _, _ := strings.Cut(target, "#")
			if _, known := c.byURI[doc]; !known {
				return nil, fmt.Errorf("external schema references are not allowed (%s)", s)
			}
			c.refs = append(c.refs, pendingRef{n: n, target: target})
		case "$defs", "definitions":
			if _, err = schemaMap(kw); err != nil {
				return nil, err
			}
		case "$schema", "$id", "$anchor", "$dynamicAnchor", "$comment", "$vocabulary", "title", "description",
			"default", "examples", "deprecated", "readOnly", "writeOnly":
			if kw == "$schema" || kw == "$id" || kw == "$anchor" || kw == "title" || kw == "description" {
				if _, ok := x.(string); !ok {
					return nil, bad(kw, "want a string")
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// number reads a JSON number (json.Number or float64) exactly.
func number(v any) (*big.Rat, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		s = strconv.Itoa(x)
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}
