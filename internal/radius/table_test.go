package radius

import (
	"slices"
	"testing"
)

func TestBoundedMap(t *testing.T) {
	type op struct {
		set    bool // set key to its own name; otherwise delete it
		key    string
		forgot bool // set's answer
	}
	tests := []struct {
		name string
		ops  []op
		want []string // keys, the one set longest ago first
	}{
		{"a map below its limit keeps everything", []op{{true, "a", false}, {true, "b", false}}, []string{"a", "b"}},
		{"setting a new key in a full map forgets the oldest", []op{
			{true, "a", false}, {true, "b", false}, {true, "c", false}, {true, "d", true}, {true, "e", true},
		}, []string{"c", "d", "e"}},
		{"setting an existing key makes it the newest and forgets nothing", []op{
			{true, "a", false}, {true, "b", false}, {true, "c", false}, {true, "a", false}, {true, "d", true},
		}, []string{"c", "a", "d"}},
		{"deleting makes room", []op{
			{true, "a", false}, {true, "b", false}, {true, "c", false}, {false, "b", false}, {true, "d", false},
		}, []string{"a", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newBoundedMap[string, string](3)
			for i, o := range tt.ops {
				if !o.set {
					m.delete(o.key)
				} else if forgot := m.set(o.key, o.key); forgot != o.forgot {
					t.Fatalf("operation %d, set(%q): forgot %v, want %v", i, o.key, forgot, o.forgot)
				}
			}
			var got []string
			for e := m.order.Front(); e != nil; e = e.Next() {
				got = append(got, e.Value.(*boundedEntry[string, string]).key)
			}
			if !slices.Equal(got, tt.want) || m.len() != len(tt.want) || len(m.index) != len(tt.want) {
				t.Fatalf("keys %q (len %d, index %d), want %q", got, m.len(), len(m.index), tt.want)
			}
			for _, k := range tt.want {
				if v, ok := m.get(k); !ok || v != k {
					t.Fatalf("get(%q) = %q, %v; want %q, true", k, v, ok, k)
				}
			}
		})
	}
	t.Run("deleteFunc deletes what it is told to and keeps the order", func(t *testing.T) {
		m := newBoundedMap[string, int](5)
		for i, k := range []string{"a", "b", "c", "d"} {
			m.set(k, i)
		}
		m.deleteFunc(func(v int) bool { return v%2 == 1 })
		if _, ok := m.get("b"); ok || m.len() != 2 || m.order.Front().Value.(*boundedEntry[string, int]).key != "a" {
			t.Fatalf("after deleting odd values: len %d, b present %v; want a and c", m.len(), ok)
		}
	})
}
