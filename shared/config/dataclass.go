package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/llm-router/router/shared/detect"
)

// DataClass is a request classification (phi, pci, …): the compliance tags a
// provider needs to receive such data, and the detectors that recognise it in
// the text of requests on keys and routes that ask for detection.
//
// It is written as a list of tags (phi: [hipaa]) or, with detectors, as
// {require: [hipaa], detect: [ssn, phone, patient_id]}. Without detectors it
// is always written back as the list, so configurations from before
// detection encode, hash and store exactly as they did.
type DataClass struct {
	// Require lists the compliance tags, e.g. [hipaa].
	Require []string
	// Detect names the detectors that mark a request as this class: built-in
	// (ssn, phone, email, dob, mrn) or custom ones under detectors.
	Detect []string
}

// dataClassObject is the object form.
type dataClassObject struct {
	Require []string `yaml:"require" json:"require"`
	Detect  []string `yaml:"detect" json:"detect"`
}

// class is the DataClass of the object form. An empty detect list is no
// list, so the class encodes as the list form and reads back the same.
func (o dataClassObject) class() DataClass {
	if len(o.Detect) == 0 {
		o.Detect = nil
	}
	return DataClass(o)
}

// detectOnly is the object form of a class without require, which writes no
// require member rather than a null one.
type detectOnly struct {
	Detect []string `yaml:"detect" json:"detect"`
}

// UnmarshalYAML reads the list or the object form. Its errors are
// *yaml.TypeError with the line, so Parse can name the field.
func (d *DataClass) UnmarshalYAML(n *yaml.Node) error {
	typeErr := func(format string, args ...any) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)}}
	}
	switch n.Kind {
	case yaml.SequenceNode:
		var tags []string
		if err := n.Decode(&tags); err != nil {
			return err
		}
		*d = DataClass{Require: tags}
		return nil
	case yaml.MappingNode:
		// Node.Decode ignores unknown fields; the config is strict.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value != "require" && k.Value != "detect" {
				return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: field %s not found in type config.DataClass (want require and detect)", k.Line, k.Value)}}
			}
		}
		var o dataClassObject
		if err := n.Decode(&o); err != nil {
			return err
		}
		*d = o.class()
		return nil
	}
	return typeErr("a data class is a list of compliance tags, or {require: [tags], detect: [detectors]}")
}

// MarshalYAML writes the list form when there are no detectors.
func (d DataClass) MarshalYAML() (any, error) {
	switch {
	case len(d.Detect) == 0:
		return d.Require, nil
	case d.Require == nil:
		return detectOnly{Detect: d.Detect}, nil
	}
	return dataClassObject(d), nil
}

// UnmarshalJSON reads the list or the object form (unknown members are an
// error, as everywhere in the config table).
func (d *DataClass) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var o dataClassObject
		if err := dec.Decode(&o); err != nil {
			return err
		}
		*d = o.class()
		return nil
	case bytes.Equal(b, []byte("null")):
		*d = DataClass{}
		return nil
	}
	var tags []string
	if err := json.Unmarshal(b, &tags); err != nil {
		return errors.New("a data class is a list of compliance tags, or {\"require\": [...], \"detect\": [...]}")
	}
	*d = DataClass{Require: tags}
	return nil
}

// MarshalJSON writes the list form when there are no detectors.
func (d DataClass) MarshalJSON() ([]byte, error) {
	switch {
	case len(d.Detect) == 0:
		return json.Marshal(d.Require)
	case d.Require == nil:
		return json.Marshal(detectOnly{Detect: d.Detect})
	}
	return json.Marshal(dataClassObject(d))
}

// CompileDetectors compiles the detectors of data class name. Validate
// refuses every configuration where this fails, so for a validated
// configuration the error is nil; the Set is nil when the class has none.
func (c *Config) CompileDetectors(name string) (*detect.Set, error) {
	dc := c.DataClasses[name]
	if len(dc.Detect) == 0 {
		return nil, nil
	}
	return detect.Compile(dc.Detect, c.Detectors)
}

func (c *Config) validateDataClasses(ck *checker) {
	for _, name := range sortedKeys(c.Detectors) {
		f := "detectors." + name
		switch {
		case !tagPattern.MatchString(name):
			ck.add(f, "bad detector name %q: letters, digits and _ . -, up to 64", name)
		case detect.IsBuiltin(name) && !detect.Overridable(name):
			ck.add(f, "%q is a built-in detector; only mrn can be replaced by a pattern (give this one another name)", name)
		default:
			if _, err := detect.Compile([]string{name}, c.Detectors); err != nil {
				ck.add(f, "%v", unwrapDetect(err))
			}
		}
	}
	for _, name := range sortedKeys(c.DataClasses) {
		dc := c.DataClasses[name]
		f := "data_classes." + name
		if !tagPattern.MatchString(name) {
			ck.add("data_classes", "bad class name %q", name)
		}
		for _, tag := range dc.Require {
			if !tagPattern.MatchString(tag) {
				ck.add(f, "bad tag %q", tag)
			}
		}
		for i, d := range dc.Detect {
			df := fmt.Sprintf("%s.detect[%d]", f, i)
			_, custom := c.Detectors[d]
			switch {
			case !custom && !detect.IsBuiltin(d):
				ck.add(df, "unknown detector %q (built-in: %s; or name a pattern under detectors)", d, strings.Join(detect.Builtins(), ", "))
			case slices.Index(dc.Detect, d) != i:
				ck.add(df, "detector %q is listed twice", d)
			}
		}
	}
}

// validateDetect checks a key's or route's detect: list, the classes whose
// detectors its requests are scanned with.
func (c *Config) validateDetect(ck *checker, field string, classes []string) {
	for i, name := range classes {
		f := fmt.Sprintf("%s[%d]", field, i)
		dc, ok := c.DataClasses[name]
		switch {
		case !ok:
			ck.add(f, "unknown data class %q (declare it under data_classes)", name)
		case len(dc.Detect) == 0:
			ck.add(f, "data class %q has no detectors (give it detect: [...] under data_classes)", name)
		case slices.Index(classes, name) != i:
			ck.add(f, "data class %q is listed twice", name)
		}
	}
}

// unwrapDetect drops the detector's name from a compile error: the field
// path already names it.
func unwrapDetect(err error) error {
	var de *detect.Error
	if errors.As(err, &de) {
		return de.Err
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
