package etcd

import "testing"

func TestClaimRoundTrip(t *testing.T) {
	for _, c := range []claim{{excl: true}, {n: 1, limit: 2}, {n: 3, limit: 0}, {n: 4, limit: 4}} {
		if got := parseClaim([]byte(c.encode())); got != c {
			t.Errorf("%+v: encoded %q, parsed %+v", c, c.encode(), got)
		}
	}
}

// claimsOf decodes fuzz input into a line of claims: each byte is an
// exclusive claim (low bits 0), or n permits of a limit.
func claimsOf(data []byte) []claim {
	var cs []claim
	for _, b := range data {
		if b&3 == 0 {
			cs = append(cs, claim{excl: true})
			continue
		}
		limit := int64(b>>5) % 5 // 0: no limit
		n := 1 + int64(b>>2)&7
		if limit > 0 && n > limit {
			n = limit
		}
		cs = append(cs, claim{n: n, limit: limit})
	}
	return cs
}

// admitted walks cs with a tally.
func admitted(cs []claim) []bool {
	var t tally
	out := make([]bool, len(cs))
	for i, c := range cs {
		out[i] = t.admit(c)
	}
	return out
}

// FuzzTally checks the walk against its definition, and the two properties
// the recipe rests on: the admitted claims are a prefix of the line, and
// removing any claim never refuses one that was admitted (deletes only let
// keys in, so a session deciding from an older copy decides
// conservatively).
func FuzzTally(f *testing.F) {
	f.Add([]byte{0, 0})
	f.Add([]byte{0x25, 0x25, 0x25, 0x00})
	f.Add([]byte{0x2d, 0x41, 0x29, 0x61, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		cs := claimsOf(data)
		got := admitted(cs)
		// The definition: claim i is admitted iff every claim before it
		// is, an exclusive one stands alone at the head, and the permits so
		// far fit within the smallest limit so far.
		var sum, lim int64
		for i, c := range cs {
			want := i == 0 || got[i-1]
			if c.excl {
				want = want && i == 0
			} else {
				if i > 0 && cs[0].excl {
					want = false
				}
				sum += c.n
				if c.limit > 0 && (lim == 0 || c.limit < lim) {
					lim = c.limit
				}
				want = want && (lim == 0 || sum <= lim)
			}
			if got[i] != want {
				t.Fatalf("claims %+v: claim %d admitted %v, want %v", cs, i, got[i], want)
			}
		}
		for drop := range cs {
			rest := append(append([]claim{}, cs[:drop]...), cs[drop+1:]...)
			after := admitted(rest)
			for i := range rest {
				j := i
				if i >= drop {
					j = i + 1
				}
				if got[j] && !after[i] {
					t.Fatalf("claims %+v: removing %d refused claim %d", cs, drop, j)
				}
			}
		}
	})
}
