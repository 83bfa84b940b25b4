package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// claimScript: KEYS = key; ARGV = value, ttl ms. Sets key to value unless
// it is held, and answers {1, value} when this call set it, else {0, the
// value held}.
var claimScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, ARGV[1]}
end
return {0, redis.call('GET', KEYS[1]) or ''}
`)

// Claim marks key as taken with value for ttl across every replica and
// reports whether this call took it (first is true for exactly one caller
// until the key expires) and the value the key holds: value when first,
// else the first caller's value, so a later caller on any replica can
// compare what it has with what was claimed (Easemob's callId ledger
// compares body digests this way). The key is stored under the cluster's
// prefix and "claim:", so callers name only what they claim (e.g.
// "easemob:callid:<id>").
//
// Claim is on the webhook path: it runs under the webhook guard
// (redis.timeout, redis.cool_down). An error means Redis did not answer,
// or is cooling down after failing (ErrCoolingDown); callers fall back to
// their durable check then.
func (c *Cluster) Claim(ctx context.Context, key, value string, ttl time.Duration) (held string, first bool, err error) {
	if key == "" {
		return "", false, errors.New("cluster claim: empty key")
	}
	if ttl <= 0 {
		return "", false, fmt.Errorf("cluster claim %q: ttl %v must be positive", key, ttl)
	}
	err = c.web.do(ctx, func(ctx context.Context) error {
		res, err := claimScript.Run(ctx, c.rdb, []string{c.prefix + "claim:" + key}, value, ttl.Milliseconds()).Slice()
		if err != nil {
			return err
		}
		if len(res) != 2 {
			return fmt.Errorf("claim script answered %d values", len(res))
		}
		n, _ := res[0].(int64)
		held, _ = res[1].(string)
		first = n == 1
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("redis claim: %w", err)
	}
	return held, first, nil
}
