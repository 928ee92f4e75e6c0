package rawjson

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestFind(t *testing.T) {
	tests := []struct {
		obj, key, want string
		ok             bool
	}{
		{`{"model":"gpt","stream":true}`, "model", `"gpt"`, true},
		{`{"model":"gpt","stream":true}`, "stream", `true`, true},
		{` { "a" : {"model":"inner"} , "model" : "outer" } `, "model", `"outer"`, true},
		{`{"a":"he said \"model\":1","b":[1,{"c":"]"}],"usage":{"prompt_tokens":3}}`, "usage", `{"prompt_tokens":3}`, true},
		{`{"a":1}`, "model", "", false},
		{`{}`, "model", "", false},
		{`{"mo\u0064el":"esc"}`, "model", `"esc"`, true},
		{`{"n":-1.5e3,"x":null}`, "n", `-1.5e3`, true},
		{`{"model":"a","model":"b"}`, "model", `"b"`, true},
		{`[1,2]`, "model", "", false},
		{`{"model":"unterminated}`, "model", "", false},
	}
	for _, tt := range tests {
		got, ok := Find([]byte(tt.obj), tt.key)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("Find(%s, %q) = %s, %v; want %s, %v", tt.obj, tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSet(t *testing.T) {
	tests := []struct{ obj, key, value, want string }{
		{`{"model":"demo","messages":[]}`, "model", `"gpt-4o"`, `{"model":"gpt-4o","messages":[]}`},
		{`{"messages":[]}`, "model", `"m"`, `{"model":"m","messages":[]}`},
		{`{}`, "model", `"m"`, `{"model":"m"}`},
		{` { } `, "a", `1`, ` {"a":1 } `},
		{`{"stream":true,"stream_options":{"include_usage":false}}`, "stream_options", `{"include_usage":true}`,
			`{"stream":true,"stream_options":{"include_usage":true}}`},
	}
	for _, tt := range tests {
		got, err := Set([]byte(tt.obj), tt.key, []byte(tt.value))
		if err != nil || string(got) != tt.want {
			t.Errorf("Set(%s, %q, %s) = %s, %v; want %s", tt.obj, tt.key, tt.value, got, err, tt.want)
		}
	}
}

func TestDelete(t *testing.T) {
	tests := []struct{ obj, key, want string }{
		{`{"a":1,"b":2,"c":3}`, "b", `{"a":1,"c":3}`},
		{`{"a":1,"b":2,"c":3}`, "a", `{"b":2,"c":3}`},
		{`{"a":1,"b":2,"c":3}`, "c", `{"a":1,"b":2}`},
		{`{"a":1}`, "a", `{}`},
		{`{ "a" : 1 , "b" : 2 }`, "b", `{ "a" : 1}`},
		{`{"a":1}`, "zz", `{"a":1}`},
	}
	for _, tt := range tests {
		got, err := Delete([]byte(tt.obj), tt.key)
		if err != nil || string(got) != tt.want {
			t.Errorf("Delete(%s, %q) = %s, %v; want %s", tt.obj, tt.key, got, err, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("Delete(%s, %q) produced invalid JSON %s", tt.obj, tt.key, got)
		}
	}
}

func TestMembers(t *testing.T) {
	var keys []string
	m := MembersOf([]byte(`{"a":1,"b":{"x":[1,2]},"c":"s"}`))
	for m.Next() {
		keys = append(keys, string(m.Key())+"="+string(m.Value()))
	}
	want := []string{"a=1", `b={"x":[1,2]}`, `c="s"`}
	if m.Err() != nil || !reflect.DeepEqual(keys, want) {
		t.Fatalf("Members = %v, %v; want %v", keys, m.Err(), want)
	}
	for _, bad := range []string{`{"a":1,}`, `{"a" 1}`, `{"a":1`, `[1]`, `{"a":1 "b":2}`} {
		m := MembersOf([]byte(bad))
		for m.Next() {
		}
		if m.Err() == nil {
			t.Errorf("Members(%s) found no syntax error", bad)
		}
	}
}

// FuzzFind checks the scanner against encoding/json: on any valid object, the
// value Find returns decodes to the same value encoding/json gives the key, and
// Set and Delete keep the object valid.
func FuzzFind(f *testing.F) {
	for _, s := range []string{`{"model":"x","usage":{"a":[1,"]"]}}`, `{}`, `{"a":"\"}"}`, `{"model":null}`, `{"model":1e5,"b":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		var m map[string]json.RawMessage
		if json.Unmarshal(obj, &m) != nil || m == nil {
			return
		}
		for key, want := range m {
			got, ok := Find(obj, key)
			if !ok {
				t.Fatalf("Find(%s, %q) missed a member", obj, key)
			}
			var g, w any
			if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil || !reflect.DeepEqual(g, w) {
				t.Fatalf("Find(%s, %q) = %s, want %s", obj, key, got, want)
			}
			out, err := Set(obj, key, []byte(`"v"`))
			if err != nil || !json.Valid(out) {
				t.Fatalf("Set(%s, %q) = %s, %v", obj, key, out, err)
			}
			out, err = Delete(obj, key)
			if err != nil || !json.Valid(out) {
				t.Fatalf("Delete(%s, %q) = %s, %v", obj, key, out, err)
			}
		}
		out, err := Set(obj, "added", []byte(`1`))
		if err != nil || !json.Valid(out) {
			t.Fatalf("Set(%s, added) = %s, %v", obj, out, err)
		}
	})
}

// FuzzAppendString checks the escaper against encoding/json: what it writes
// is valid JSON that decodes to the input (invalid UTF-8 aside, which both
// replace with U+FFFD).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote \" and \\ backslash", "ctl \x00\x01\x1f\t\n\r", "ünïcödé ✓ 😀", "bad \xff utf8", "</script>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: invalid JSON: %v", s, out, err)
		}
		want, _ := json.Marshal(s)
		var w string
		_ = json.Unmarshal(want, &w)
		if got != w {
			t.Fatalf("AppendString(%q) decodes to %q, encoding/json gives %q", s, got, w)
		}
		if b := AppendString(nil, []byte(s)); string(b) != string(out) {
			t.Fatalf("string and []byte forms differ: %s vs %s", out, b)
		}
	})
}

func TestElements(t *testing.T) {
	a := ElementsOf([]byte(` [ 1, "a,]", {"b":[2,3]} , null ] `))
	var got []string
	for a.Next() {
		got = append(got, string(a.Value()))
	}
	want := []string{"1", `"a,]"`, `{"b":[2,3]}`, "null"}
	if a.Err() != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Elements = %q, %v; want %q", got, a.Err(), want)
	}
	empty := ElementsOf([]byte(`[]`))
	if empty.Next() || empty.Err() != nil {
		t.Error("an empty array has elements")
	}
	obj := ElementsOf([]byte(`{"a":1}`))
	if obj.Next() || obj.Err() == nil {
		t.Error("an object iterated as an array")
	}
}
