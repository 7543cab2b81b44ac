package radius

import "container/list"

// boundedMap is a map that holds at most limit entries. Setting a new key
// in a full map first forgets the entry set longest ago: every entry of
// one of the server's tables lives for the same time, so that entry is the
// first to expire, and under a flood the newest requests keep working
// while memory stays bounded. It is not safe for concurrent use.
type boundedMap[K comparable, V any] struct {
	limit int
	order *list.List // of *boundedEntry[K, V], the one set longest ago first
	index map[K]*list.Element
}

type boundedEntry[K comparable, V any] struct {
	key K
	val V
}

// newBoundedMap returns an empty map of at most limit (at least 1) entries.
func newBoundedMap[K comparable, V any](limit int) *boundedMap[K, V] {
	return &boundedMap[K, V]{limit: max(limit, 1), order: list.New(), index: make(map[K]*list.Element)}
}

func (m *boundedMap[K, V]) get(k K) (V, bool) {
	if e, ok := m.index[k]; ok {
		return e.Value.(*boundedEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// set gives k the value v and makes it the newest entry. It reports
// whether the oldest entry was forgotten to make room.
func (m *boundedMap[K, V]) set(k K, v V) (forgot bool) {
	if e, ok := m.index[k]; ok {
		e.Value.(*boundedEntry[K, V]).val = v
		m.order.MoveToBack(e)
		return false
	}
	if m.order.Len() >= m.limit {
		oldest := m.order.Front()
		delete(m.index, m.order.Remove(oldest).(*boundedEntry[K, V]).key)
		forgot = true
	}
	m.index[k] = m.order.PushBack(&boundedEntry[K, V]{key: k, val: v})
	return forgot
}

func (m *boundedMap[K, V]) delete(k K) {
	if e, ok := m.index[k]; ok {
		m.order.Remove(e)
		delete(m.index, k)
	}
}

// deleteFunc deletes the entries whose value drop reports true for.
func (m *boundedMap[K, V]) deleteFunc(drop func(V) bool) {
	for e := m.order.Front(); e != nil; {
		next := e.Next()
		if en := e.Value.(*boundedEntry[K, V]); drop(en.val) {
			m.order.Remove(e)
			delete(m.index, en.key)
		}
		e = next
	}
}

func (m *boundedMap[K, V]) len() int { return m.order.Len() }
