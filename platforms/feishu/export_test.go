package feishu

// EventAge exposes the header.create_time check to the fuzz target.
var EventAge = eventAge

// ErrCardTooLarge is what Post and UpdatePost wrap for a card over the
// 30 KB body limit; MaxButtonTargets is how many targets a button carries.
var (
	ErrCardTooLarge  = errCardTooLarge
	MaxButtonTargets = maxButtonTargets
)
