package respcache_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/respcache"
	"github.com/llm-router/router/shared/respcache/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, &respcache.Memory{}, nil)
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	m := &respcache.Memory{MaxEntries: 3}
	for i := range 3 {
		_ = m.Put(ctx, fmt.Sprint(i), storetest.Entry(fmt.Sprint(i), time.Hour))
	}
	// 0 is read, so 1 is now the least recently used.
	if e, _ := m.Get(ctx, "0", storetest.Epoch); e == nil {
		t.Fatal("0 missing")
	}
	_ = m.Put(ctx, "3", storetest.Entry("3", time.Hour))
	for k, want := range map[string]bool{"0": true, "1": false, "2": true, "3": true} {
		if e, _ := m.Get(ctx, k, storetest.Epoch); (e != nil) != want {
			t.Errorf("%s kept = %v, want %v", k, e != nil, want)
		}
	}
	if m.Len() != 3 {
		t.Errorf("%d entries, bound 3", m.Len())
	}
}

func TestMemoryBoundsBytes(t *testing.T) {
	ctx := context.Background()
	one := storetest.Entry(strings.Repeat("x", 10000), time.Hour)
	m := &respcache.Memory{MaxBytes: 35000}
	for i := range 5 {
		_ = m.Put(ctx, fmt.Sprint(i), one)
		if m.Bytes() > 35000 {
			t.Fatalf("after %d puts the store holds %d bytes, bound 35000", i+1, m.Bytes())
		}
	}
	if m.Len() != 3 {
		t.Errorf("%d entries of ~10 KB in 35 KB, want 3", m.Len())
	}
	for k, want := range map[string]bool{"0": false, "1": false, "2": true, "3": true, "4": true} {
		if e, _ := m.Get(ctx, k, storetest.Epoch); (e != nil) != want {
			t.Errorf("%s kept = %v, want %v", k, e != nil, want)
		}
	}
	// An entry larger than the whole bound is not kept, and evicts nothing.
	_ = m.Put(ctx, "huge", storetest.Entry(strings.Repeat("y", 40000), time.Hour))
	if e, _ := m.Get(ctx, "huge", storetest.Epoch); e != nil || m.Len() != 3 {
		t.Errorf("an entry over the bound: kept %v, %d entries", e != nil, m.Len())
	}
}

func TestMemoryDropsExpiredOnRead(t *testing.T) {
	ctx := context.Background()
	m := &respcache.Memory{}
	_ = m.Put(ctx, "k", storetest.Entry("a", time.Minute))
	if e, _ := m.Get(ctx, "k", storetest.Epoch.Add(time.Minute)); e != nil {
		t.Fatal("served at expiry")
	}
	if m.Len() != 0 || m.Bytes() != 0 {
		t.Errorf("an expired entry read stays: %d entries, %d bytes", m.Len(), m.Bytes())
	}
}

func TestMemoryKeepsItsOwnCopy(t *testing.T) {
	ctx := context.Background()
	m := &respcache.Memory{}
	e := storetest.Entry("mine", time.Minute)
	_ = m.Put(ctx, "k", e)
	copy(e.Body, "XXXXXXXX")
	got, _ := m.Get(ctx, "k", storetest.Epoch)
	if got == nil || strings.Contains(string(got.Body), "XXXX") {
		t.Errorf("the caller's buffer changed the entry: %s", got.Body)
	}
}
