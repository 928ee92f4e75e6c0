package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/llm-router/router/shared/config"
)

// fileStore is the router's YAML file. Only the lines of the keys section
// are replaced, and within it only the members that change are re-encoded:
// every other byte of the file stays as its author wrote it.
type fileStore struct {
	path string
	info os.FileInfo
	raw  []byte
	doc  yaml.Node
}

func (s *fileStore) read(context.Context) (*config.Config, error) {
	info, err := os.Stat(s.path)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(s.path)
	if err != nil {
		return nil, err
	}
	c, err := config.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	if err := yaml.Unmarshal(raw, &s.doc); err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	if len(s.doc.Content) == 0 || s.doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a YAML mapping", s.path)
	}
	s.info, s.raw = info, raw
	return c, nil
}

func (s *fileStore) write(_ context.Context, c *config.Config) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	root := s.doc.Content[0]
	var old *yaml.Node
	first, next := 0, 0 // lines of the keys member and of the member after it
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch {
		case root.Content[i].Value == "keys":
			old, first = root.Content[i+1], root.Content[i].Line
		case first > 0 && next == 0:
			next = root.Content[i].Line
		}
	}
	keys, err := keysNode(old, c.Keys)
	if err != nil {
		return "", err
	}
	section, err := encodeSection(keys)
	if err != nil {
		return "", err
	}
	out := splice(s.raw, section, first, next)
	// What is written must read back as exactly this configuration.
	back, err := config.Parse(out)
	if err != nil {
		return "", fmt.Errorf("the edited file would not load (nothing written): %w", err)
	}
	if !sameJSON(back, c) {
		return "", fmt.Errorf("the edited file reads back a different configuration (nothing written)")
	}
	now, err := os.Stat(s.path)
	if err != nil {
		return "", err
	}
	if !os.SameFile(now, s.info) || now.Size() != s.info.Size() || !now.ModTime().Equal(s.info.ModTime()) {
		return "", fmt.Errorf("%s changed meanwhile: run the command again", s.path)
	}
	if err := replaceFile(s.path, out, s.info.Mode().Perm()); err != nil {
		return "", err
	}
	return s.path, nil
}

// encodeSection is the YAML text of a top-level keys member.
func encodeSection(keys *yaml.Node) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map",
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "keys"}, keys}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// splice replaces the lines of the keys section of raw, from line first up
// to the member that starts on line next (0: the end), with section. Blank
// and unindented comment lines just before the next member are its own
// heading and stay. With no keys section (first 0) the section is appended.
func splice(raw, section []byte, first, next int) []byte {
	lines := bytes.SplitAfter(raw, []byte("\n"))
	if first == 0 {
		out := bytes.Clone(raw)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		return append(out, section...)
	}
	end := len(lines) // index of the first line after the section
	if next > 0 {
		end = next - 1
	}
	for end > first {
		l := bytes.TrimRight(lines[end-1], "\r\n")
		if len(bytes.TrimSpace(l)) != 0 && l[0] != '#' {
			break
		}
		end--
	}
	out := make([]byte, 0, len(raw)+len(section))
	for _, l := range lines[:first-1] {
		out = append(out, l...)
	}
	out = append(out, section...)
	for _, l := range lines[end:] {
		out = append(out, l...)
	}
	return out
}

// replaceFile writes data next to path and renames it over path, so a
// router reading the file sees the old version or the new one, never half.
func replaceFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// keysNode is the YAML of keys, reusing old's node of every key that did not
// change and patching those that did member by member.
func keysNode(old *yaml.Node, keys []config.Key) (*yaml.Node, error) {
	byID := map[string]*yaml.Node{}
	if old != nil && old.Kind == yaml.SequenceNode {
		for _, n := range old.Content {
			var k config.Key
			if n.Kind == yaml.MappingNode && n.Decode(&k) == nil {
				byID[k.ID] = n
			}
		}
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if old != nil && old.Kind == yaml.SequenceNode {
		seq.Style, seq.HeadComment, seq.LineComment, seq.FootComment = old.Style, old.HeadComment, old.LineComment, old.FootComment
	}
	for i := range keys {
		fresh, err := keyNode(&keys[i])
		if err != nil {
			return nil, err
		}
		if n := byID[keys[i].ID]; n != nil {
			patch(n, fresh)
			fresh = n
		}
		seq.Content = append(seq.Content, fresh)
	}
	seq.Style &^= yaml.FlowStyle // block style, one key per item
	return seq, nil
}

// keyNode encodes a key with its lists and maps in flow style, as the
// documented examples write them.
func keyNode(k *config.Key) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(k); err != nil {
		return nil, err
	}
	for i := 1; i < len(n.Content); i += 2 {
		if v := n.Content[i]; v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode {
			v.Style = yaml.FlowStyle
		}
	}
	return &n, nil
}

// patch makes mapping n hold fresh's members: unchanged members (and their
// comments) stay, changed values are replaced, new members are added and
// members fresh lacks are removed.
func patch(n, fresh *yaml.Node) {
	want := map[string]bool{}
	for i := 0; i+1 < len(fresh.Content); i += 2 {
		k, v := fresh.Content[i], fresh.Content[i+1]
		want[k.Value] = true
		found := false
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value != k.Value {
				continue
			}
			found = true
			if !sameValue(n.Content[j+1], v) {
				v.LineComment = n.Content[j+1].LineComment
				n.Content[j+1] = v
			}
		}
		if !found {
			n.Content = append(n.Content, k, v)
		}
	}
	kept := n.Content[:0]
	for j := 0; j+1 < len(n.Content); j += 2 {
		if want[n.Content[j].Value] {
			kept = append(kept, n.Content[j], n.Content[j+1])
		}
	}
	n.Content = kept
}

func sameValue(a, b *yaml.Node) bool {
	var va, vb any
	if a.Decode(&va) != nil || b.Decode(&vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
