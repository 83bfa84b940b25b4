package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Claim marks key as taken for ttl across every replica (Redis SET NX PX)
// and reports whether this call took it: first is true for exactly one
// caller until the key expires. The key is stored under the cluster's
// prefix and "claim:", so callers name only what they claim (e.g.
// "easemob:callid:<id>").
//
// Claim is on the webhook path: it runs under the webhook guard
// (redis.timeout, redis.cool_down). An error means Redis did not answer,
// or is cooling down after failing (ErrCoolingDown); callers fall back to
// their durable check then.
func (c *Cluster) Claim(ctx context.Context, key string, ttl time.Duration) (first bool, err error) {
	if key == "" {
		return false, errors.New("cluster claim: empty key")
	}
	if ttl <= 0 {
		return false, fmt.Errorf("cluster claim %q: ttl %v must be positive", key, ttl)
	}
	err = c.web.do(ctx, func(ctx context.Context) (err error) {
		first, err = c.rdb.SetNX(ctx, c.prefix+"claim:"+key, "1", ttl).Result()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("redis claim: %w", err)
	}
	return first, nil
}
