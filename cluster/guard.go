package cluster

import "errors"

// ErrCoolingDown is returned without asking Redis while a guard is
// cooling down after Redis failed or did not answer in time; callers fall
// back as they do when Redis refuses connections.
var ErrCoolingDown = errors.New("redis cooling down after a failure")
