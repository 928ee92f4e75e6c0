package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRouteCache(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(base, "name: r1\n", "name: r1\n    cache: {ttl: 10m, shared: true, cache_phi: true}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Routes[0].Cache; got == nil || got.TTL.D() != 10*time.Minute || !got.Shared || !got.CachePHI {
		t.Errorf("cache = %+v", got)
	}
	c, err = Parse([]byte(base))
	if err != nil || c.Routes[0].Cache != nil {
		t.Errorf("a route without cache: %+v, %v", c.Routes[0].Cache, err)
	}

	for _, tt := range []struct{ cache, msg string }{
		{"{shared: true}", "is required"},
		{"{ttl: 0s}", "is required"},
		{"{ttl: 500ms}", "below the minimum of 1s"},
		{"{ttl: 169h}", "above the maximum of 168h"},
	} {
		t.Run(tt.cache, func(t *testing.T) {
			_, err := Parse([]byte(strings.Replace(base, "name: r1\n", "name: r1\n    cache: "+tt.cache+"\n", 1)))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == "routes[0].cache.ttl" && strings.Contains(fe.Message, tt.msg) {
					return
				}
			}
			t.Errorf("errors = %v; want routes[0].cache.ttl with %q", err, tt.msg)
		})
	}
	if _, err := Parse([]byte(strings.Replace(base, "name: r1\n", "name: r1\n    cache: {ttl: 168h}\n", 1))); err != nil {
		t.Errorf("a week is allowed: %v", err)
	}
}
