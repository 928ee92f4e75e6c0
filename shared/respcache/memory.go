package respcache

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Defaults of a Memory store.
const (
	DefaultMaxEntries = 10000
	DefaultMaxBytes   = 64 << 20
)

// entryOverhead is what an entry costs beyond its strings and body: the
// list element, the map slot and the Entry itself, roughly.
const entryOverhead = 160

// Memory is an in-memory Store, least recently used first out, bounded in
// entries and in bytes. Expired entries are dropped when read. The zero
// value uses the defaults; it is safe for concurrent use.
type Memory struct {
	// MaxEntries and MaxBytes bound the store (0: the defaults).
	MaxEntries int
	MaxBytes   int64

	mu    sync.Mutex
	order list.List // of *memItem, most recently used first
	items map[string]*list.Element
	bytes int64
}

type memItem struct {
	key   string
	entry *Entry
	size  int64
}

var _ Store = (*Memory)(nil)

// Get returns the entry under key unless it has expired at now.
func (m *Memory) Get(_ context.Context, key string, now time.Time) (*Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		return nil, nil
	}
	it := el.Value.(*memItem)
	if !now.Before(it.entry.Expires) {
		m.remove(el)
		return nil, nil
	}
	m.order.MoveToFront(el)
	return it.entry, nil
}

// Put keeps a copy of e under key, evicting the least recently used
// entries until the bounds hold.
func (m *Memory) Put(_ context.Context, key string, e *Entry) error {
	size := int64(len(key)+len(e.Body)+len(e.Model)+len(e.Provider)) + entryOverhead
	if len(e.Body) > MaxBody || size > m.maxBytes() {
		return nil
	}
	cp := *e
	cp.Body = append([]byte(nil), e.Body...)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items == nil {
		m.items = make(map[string]*list.Element)
	}
	if el, ok := m.items[key]; ok {
		m.remove(el)
	}
	m.items[key] = m.order.PushFront(&memItem{key: key, entry: &cp, size: size})
	m.bytes += size
	for m.order.Len() > m.maxEntries() || m.bytes > m.maxBytes() {
		m.remove(m.order.Back())
	}
	return nil
}

// Len and Bytes are the store's entries and their size.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

// Bytes is the size the store counts against MaxBytes.
func (m *Memory) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

func (m *Memory) remove(el *list.Element) {
	it := m.order.Remove(el).(*memItem)
	delete(m.items, it.key)
	m.bytes -= it.size
}

func (m *Memory) maxEntries() int {
	if m.MaxEntries > 0 {
		return m.MaxEntries
	}
	return DefaultMaxEntries
}

func (m *Memory) maxBytes() int64 {
	if m.MaxBytes > 0 {
		return m.MaxBytes
	}
	return DefaultMaxBytes
}
