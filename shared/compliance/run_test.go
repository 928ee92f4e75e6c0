package compliance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/llm-router/router/shared/wiring"
)

// runner builds routers as main does and drives them over HTTP.
type runner struct {
	dir string
	// runs numbers the runs, so a marker never matches a request of another
	// run (a dead provider's port could be reused by a live upstream).
	runs atomic.Int64
}

// markerRE finds the marker a request carries in its prompt text.
func markerRE() *regexp.Regexp { return regexp.MustCompile(`mk[0-9]+q[0-9]+z`) }

// run is one case's outcome.
type run struct {
	markers []string
	// ids are the routers' request ids (X-Request-Id), which name the
	// audit lines.
	ids []string
	got []outcomeOf
	// stray counts upstream requests that carried no marker of this run.
	stray int
}

func (c *Case) marker(run int64, i int) string { return fmt.Sprintf("mk%dq%dz", run, i) }

// body is request i's JSON body.
func (r *Request) body(marker string) []byte {
	var m map[string]any
	text := marker + " patient note: follow-up in two weeks"
	schema := map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "string"}},
		"required": []string{"a"}}
	switch {
	case r.Embeddings:
		m = map[string]any{"model": r.Model, "input": marker + " summary of a clinic visit"}
	case r.API == "responses":
		m = map[string]any{"model": r.Model, "input": text}
		if r.MaxTokens > 0 {
			m["max_output_tokens"] = r.MaxTokens
		}
		if r.JSON {
			m["text"] = map[string]any{"format": map[string]any{"type": "json_schema", "name": "answer", "schema": schema}}
		}
	case r.API == "messages":
		// Messages requires max_tokens.
		m = map[string]any{"model": r.Model, "max_tokens": 1024, "messages": []any{map[string]any{"role": "user", "content": text}}}
		if r.MaxTokens > 0 {
			m["max_tokens"] = r.MaxTokens
		}
		if r.JSON {
			m["output_config"] = map[string]any{"format": map[string]any{"type": "json_schema", "schema": schema}}
		}
	default:
		m = map[string]any{"model": r.Model, "messages": []any{map[string]any{"role": "user", "content": text}}}
		if r.MaxTokens > 0 {
			m["max_tokens"] = r.MaxTokens
		}
		if r.JSON {
			m["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "answer",
				"schema": schema}}
		}
	}
	if r.Stream {
		m["stream"] = true
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func (r *Request) path() string {
	switch {
	case r.Embeddings:
		return "/v1/embeddings"
	case r.API != "":
		return "/v1/" + r.API
	}
	return "/v1/chat/completions"
}

// endpoint is the request's endpoint as the audit line names it.
func (r *Request) endpoint() string {
	switch {
	case r.Embeddings:
		return "embeddings"
	case r.API != "":
		return r.API
	}
	return "chat.completions"
}

// header is the request's header, one field line per value.
func (r *Request) header(marker string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Client-Request-Id", marker)
	for _, id := range r.Auth {
		if r.API == "messages" {
			h.Add("X-Api-Key", token(id))
		} else {
			h.Add("Authorization", "Bearer "+token(id))
		}
	}
	for _, v := range r.RouteHeader {
		h.Add("X-Router-Route", v)
	}
	for _, line := range r.Classes {
		h.Add("X-Router-Data-Class", strings.Join(line, ", "))
	}
	for _, v := range r.Tags {
		h.Add("X-Router-Tags", v)
	}
	return h
}

// run builds a router from the case's configuration, sends its requests,
// and collects what the router said (status, audit line) and what the
// upstreams saw. An error means the router could not be built.
func (rn *runner) run(c *Case) (*run, error) {
	no := rn.runs.Add(1)
	res := &run{markers: make([]string, len(c.Reqs)), ids: make([]string, len(c.Reqs)), got: make([]outcomeOf, len(c.Reqs))}
	scripts := map[string]map[string][]outcome{}
	for i := range c.Reqs {
		res.markers[i] = c.marker(no, i)
		for p, s := range c.Reqs[i].Script {
			if scripts[p] == nil {
				scripts[p] = map[string][]outcome{}
			}
			scripts[p][res.markers[i]] = s
		}
	}
	cfg := c.clone().Cfg
	env := map[string]string{}
	ups := map[string]*upstream{}
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		env[strings.TrimPrefix(p.Key, "env:")] = "sk-upstream-" + p.Name
		if c.dead(p.Name) {
			p.BaseURL = refusingURL()
			continue
		}
		u := startUpstream(p.Name, markerRE(), scripts[p.Name])
		ups[p.Name] = u
		p.BaseURL = u.baseURL()
	}
	closeUpstreams := func() {
		for _, u := range ups {
			u.close()
		}
	}
	dir, err := os.MkdirTemp(rn.dir, "case")
	if err != nil {
		closeUpstreams()
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "router.yaml")
	if err := os.WriteFile(path, cfg.yaml(), 0o600); err != nil {
		closeUpstreams()
		return nil, err
	}
	env["ROUTER_CONFIG"] = path
	env["ROUTER_CACHE_TTL"] = "1h"
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	settings, err := wiring.ParseSettings(lookup)
	if err != nil {
		closeUpstreams()
		return nil, err
	}
	var stdout bytes.Buffer
	router, err := wiring.Build(context.Background(), wiring.Process{Env: lookup, Stdout: &stdout, Stderr: io.Discard}, settings)
	if err != nil {
		closeUpstreams()
		return nil, err
	}
	front := httptest.NewServer(router.Gateway)
	client := front.Client()
	send := func(i int) {
		r := &c.Reqs[i]
		req, err := http.NewRequest(http.MethodPost, front.URL+r.path(), bytes.NewReader(r.body(res.markers[i])))
		if err != nil {
			panic(err)
		}
		req.Header = r.header(res.markers[i])
		resp, err := client.Do(req)
		if err != nil {
			res.got[i].status = -1
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		res.got[i].status = resp.StatusCode
		res.ids[i] = resp.Header.Get("X-Request-Id")
	}
	if c.Parallel <= 1 {
		for i := range c.Reqs {
			send(i)
		}
	} else {
		next := make(chan int)
		var wg sync.WaitGroup
		for range c.Parallel {
			wg.Go(func() {
				for i := range next {
					send(i)
				}
			})
		}
		for i := range c.Reqs {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	// Closing waits for every handler, so every audit record is emitted.
	front.Close()
	if err := router.Audit.Flush(); err != nil {
		closeUpstreams()
		return nil, err
	}
	closeUpstreams()

	index := make(map[string]int, len(res.markers))
	for i, m := range res.markers {
		index[m] = i
	}
	for name, u := range ups {
		for _, h := range u.log() {
			i, ok := index[h.Marker]
			if !ok {
				res.stray++
				continue
			}
			if !slices.Contains(res.got[i].hits, name) {
				res.got[i].hits = append(res.got[i].hits, name)
			}
		}
	}
	for i := range res.got {
		slices.Sort(res.got[i].hits)
	}
	byID := make(map[string]int, len(res.ids))
	for i, id := range res.ids {
		if id != "" {
			byID[id] = i
		}
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a auditLine
		if json.Unmarshal(sc.Bytes(), &a) != nil || a.Type != "audit" {
			continue
		}
		if i, ok := byID[a.RequestID]; ok {
			res.got[i].audit = &a
		}
	}
	return res, sc.Err()
}

// refusingURL is a loopback address nothing listens on.
func refusingURL() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/v1"
}

// verdicts judges every request of a run.
func verdicts(c *Case, r *run) [][]violation {
	out := make([][]violation, len(c.Reqs))
	for i := range c.Reqs {
		e := expect(&c.Cfg, &c.Reqs[i])
		out[i] = judge(&c.Cfg, &c.Reqs[i], e, &r.got[i])
	}
	return out
}
