package feishu

// EventAge exposes the header.create_time check to the fuzz target.
var EventAge = eventAge
