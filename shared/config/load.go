package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the built-in configuration: a demo route on the built-in
// mock provider, so the router answers with no keys and no AWS account.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Default parses the built-in configuration.
func Default() *Config {
	c, err := Parse(defaultYAML)
	if err != nil {
		panic("config: the built-in default is invalid: " + err.Error())
	}
	return c
}

// Parse decodes a YAML configuration strictly (an unknown field is an error)
// and validates it.
func Parse(data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	c := new(Config)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("config: the file is empty")
		}
		var typeErr *yaml.TypeError
		if errors.As(err, &typeErr) {
			return nil, namedErrors(data, typeErr.Errors)
		}
		return nil, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadFile reads and parses a YAML configuration file.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

var (
	lineMessage = regexp.MustCompile(`^line (\d+): (.*)$`)
	// What a decoder message names: an unknown field, or the offending value.
	fieldHint = regexp.MustCompile(`^field (\S+) not found`)
	valueHint = regexp.MustCompile("(?:`([^`]*)`|\"([^\"]*)\")")
)

// namedErrors turns the decoder's "line N: message" errors into field errors
// naming the path of the key or value the message is about.
func namedErrors(data []byte, msgs []string) error {
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	out := &ValidationError{}
	for _, msg := range msgs {
		fe := &FieldError{Field: "(document)", Message: msg}
		if m := lineMessage.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			fe.Message = m[2] + " (line " + m[1] + ")"
			var key, value string
			if h := fieldHint.FindStringSubmatch(m[2]); h != nil {
				key = h[1]
			} else if h := valueHint.FindStringSubmatch(m[2]); h != nil {
				value = h[1] + h[2]
			}
			if path := findPath(&root, line, key, value, ""); path != "" {
				fe.Field = path
			}
		}
		out.Errors = append(out.Errors, fe)
	}
	return out
}

// findPath returns the path (providers[0].timeout) of the mapping member on
// line whose key is key or whose scalar value is value; with neither given, the
// first member on the line.
func findPath(n *yaml.Node, line int, key, value, path string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := findPath(c, line, key, value, path); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			if k.Line == line {
				switch {
				case key != "" && k.Value == key,
					value != "" && v.Kind == yaml.ScalarNode && v.Value == value,
					key == "" && value == "":
					return child
				}
			}
			if p := findPath(v, line, key, value, child); p != "" {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			child := path + "[" + strconv.Itoa(i) + "]"
			if c.Kind == yaml.ScalarNode && c.Line == line && (value == "" || c.Value == value) && key == "" {
				return child
			}
			if p := findPath(c, line, key, value, child); p != "" {
				return p
			}
		}
	}
	return ""
}
