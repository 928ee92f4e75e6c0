package dynamo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/config"
)

// Entity kinds: one config item per provider, model, route, data class and
// key, plus one settings item for everything else in the configuration.
const (
	kindProvider  = "provider"
	kindModel     = "model"
	kindRoute     = "route"
	kindDataClass = "data_class"
	kindKey       = "key"
	kindSettings  = "settings"
)

// listKinds maps the configuration's JSON members held one item per entry
// to their kind. Every other member goes into the settings item, so a field
// added to config.Config later is stored without a change here.
var listKinds = []struct{ member, kind string }{
	{"providers", kindProvider},
	{"models", kindModel},
	{"routes", kindRoute},
	{"data_classes", kindDataClass},
	{"keys", kindKey},
}

// Config item attributes besides the key.
const (
	attrKind = "kind"
	attrName = "name"
	attrPos  = "pos"  // position in the file's list, so order survives
	attrSpec = "spec" // the entity as the config package's JSON, as a DynamoDB map
)

// entity is one config item's content.
type entity struct {
	kind string
	name string
	pos  int
	spec json.RawMessage
}

func (e entity) sortKey() string {
	if e.kind == kindSettings {
		return kindSettings
	}
	return e.kind + "#" + e.name
}

// entities splits a configuration into items, using the config package's
// JSON names, so the table reads like the YAML file.
func entities(c *config.Config) ([]entity, error) {
	doc, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(doc, &members); err != nil {
		return nil, err
	}
	var out []entity
	for _, lk := range listKinds {
		raw := members[lk.member]
		delete(members, lk.member)
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		if lk.kind == kindDataClass {
			var classes map[string]json.RawMessage
			if err := json.Unmarshal(raw, &classes); err != nil {
				return nil, err
			}
			for name, spec := range classes {
				out = append(out, entity{kind: lk.kind, name: name, spec: spec})
			}
			continue
		}
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		for i, spec := range list {
			name, err := entityName(lk.kind, spec)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", lk.member, i, err)
			}
			out = append(out, entity{kind: lk.kind, name: name, pos: i, spec: spec})
		}
	}
	settings, err := json.Marshal(members)
	if err != nil {
		return nil, err
	}
	out = append(out, entity{kind: kindSettings, spec: settings})
	sort.Slice(out, func(i, j int) bool { return out[i].sortKey() < out[j].sortKey() })
	return out, nil
}

func knownKind(kind string) bool {
	for _, lk := range listKinds {
		if lk.kind == kind {
			return true
		}
	}
	return kind == kindSettings
}

// entityName is the unique name of a list entry: a provider's or route's
// name, a model's id, a key's id.
func entityName(kind string, spec json.RawMessage) (string, error) {
	var n struct {
		Name string `json:"name"`
		ID   string `json:"id"`
	}
	if err := json.Unmarshal(spec, &n); err != nil {
		return "", err
	}
	name := n.Name
	if kind == kindModel || kind == kindKey {
		name = n.ID
	}
	if name == "" {
		return "", fmt.Errorf("a %s without a name cannot be stored", kind)
	}
	return name, nil
}

// assemble rebuilds a configuration from its items. Decoding is strict, like
// the YAML loader: an attribute the config model does not know is an error.
func assemble(es []entity) (*config.Config, error) {
	doc := map[string]json.RawMessage{}
	lists := map[string][]entity{}
	for _, e := range es {
		if !knownKind(e.kind) {
			return nil, fmt.Errorf("item %s: unknown kind %q", e.sortKey(), e.kind)
		}
		if e.kind == kindSettings {
			if err := json.Unmarshal(e.spec, &doc); err != nil {
				return nil, fmt.Errorf("settings item: %w", err)
			}
			continue
		}
		lists[e.kind] = append(lists[e.kind], e)
	}
	for _, lk := range listKinds {
		items := lists[lk.kind]
		if len(items) == 0 {
			continue
		}
		var raw []byte
		var err error
		if lk.kind == kindDataClass {
			classes := make(map[string]json.RawMessage, len(items))
			for _, e := range items {
				classes[e.name] = e.spec
			}
			raw, err = json.Marshal(classes)
		} else {
			sort.SliceStable(items, func(i, j int) bool { return items[i].pos < items[j].pos })
			list := make([]json.RawMessage, len(items))
			for i, e := range items {
				list[i] = e.spec
			}
			raw, err = json.Marshal(list)
		}
		if err != nil {
			return nil, err
		}
		doc[lk.member] = raw
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	c := new(config.Config)
	if err := dec.Decode(c); err != nil {
		return nil, err
	}
	return c, nil
}

// contentHash is the hex SHA-256 of the configuration's JSON. encoding/json
// writes struct fields in order and map keys sorted, so equal configurations
// hash equal wherever they were loaded from.
func contentHash(c *config.Config) (string, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// generationOf names a configuration's generation after its content hash.
func generationOf(hash string) string { return hash[:16] }

// item is the DynamoDB item of an entity in partition pk.
func (e entity) item(pk string) (map[string]types.AttributeValue, error) {
	dec := json.NewDecoder(bytes.NewReader(e.spec))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	spec, err := jsonToAttr(v)
	if err != nil {
		return nil, err
	}
	item := key(pk, e.sortKey())
	item[attrKind] = str(e.kind)
	item[attrName] = str(e.name)
	item[attrPos] = &types.AttributeValueMemberN{Value: strconv.Itoa(e.pos)}
	item[attrSpec] = spec
	return item, nil
}

// entityOf reads an item back.
func entityOf(item map[string]types.AttributeValue) (entity, error) {
	e := entity{kind: stringAttr(item, attrKind), name: stringAttr(item, attrName)}
	if p := numberAttr(item, attrPos); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return e, fmt.Errorf("item %s: bad pos %q", stringAttr(item, AttrSK), p)
		}
		e.pos = n
	}
	spec, ok := item[attrSpec]
	if !ok {
		return e, fmt.Errorf("item %s has no spec", stringAttr(item, AttrSK))
	}
	v, err := attrToJSON(spec)
	if err != nil {
		return e, fmt.Errorf("item %s: %w", stringAttr(item, AttrSK), err)
	}
	if e.spec, err = json.Marshal(v); err != nil {
		return e, err
	}
	if want := e.sortKey(); want != stringAttr(item, AttrSK) {
		return e, fmt.Errorf("item %s: kind and name say %s", stringAttr(item, AttrSK), want)
	}
	return e, nil
}

// jsonToAttr converts a JSON value decoded with UseNumber into a DynamoDB
// attribute value: objects become maps, arrays lists, numbers keep their
// decimal text.
func jsonToAttr(v any) (types.AttributeValue, error) {
	switch v := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: v}, nil
	case string:
		return &types.AttributeValueMemberS{Value: v}, nil
	case json.Number:
		return &types.AttributeValueMemberN{Value: v.String()}, nil
	case []any:
		l := make([]types.AttributeValue, len(v))
		for i, e := range v {
			a, err := jsonToAttr(e)
			if err != nil {
				return nil, err
			}
			l[i] = a
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(v))
		for k, e := range v {
			a, err := jsonToAttr(e)
			if err != nil {
				return nil, err
			}
			m[k] = a
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("no DynamoDB form for a JSON %T", v)
}

// attrToJSON is the inverse of jsonToAttr. Sets and binary values, which
// jsonToAttr never writes, are refused.
func attrToJSON(av types.AttributeValue) (any, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberBOOL:
		return v.Value, nil
	case *types.AttributeValueMemberS:
		return v.Value, nil
	case *types.AttributeValueMemberN:
		return json.Number(v.Value), nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			j, err := attrToJSON(e)
			if err != nil {
				return nil, err
			}
			l[i] = j
		}
		return l, nil
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(v.Value))
		for k, e := range v.Value {
			j, err := attrToJSON(e)
			if err != nil {
				return nil, err
			}
			m[k] = j
		}
		return m, nil
	}
	return nil, fmt.Errorf("unsupported attribute type %T (config items hold maps, lists, strings, numbers, booleans and nulls)", av)
}
