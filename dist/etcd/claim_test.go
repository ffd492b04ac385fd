package etcd

import "testing"

func TestClaimRoundTrip(t *testing.T) {
	for _, c := range []claim{{excl: true}, {n: 1, limit: 2}, {n: 3, limit: 0}, {n: 4, limit: 4}} {
		if got := parseClaim([]byte(c.encode())); got != c {
			t.Errorf("%+v: encoded %q, parsed %+v", c, c.encode(), got)
		}
	}
}
