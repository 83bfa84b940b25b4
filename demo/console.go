package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"time"

	"gavel/console"
	"gavel/moderation"
)

// demoUser is the console account the demo creates.
const demoUser = "demo"

// addDemoUser creates the demo's console account, granted every chat,
// with a fresh password it returns.
func addDemoUser(ctx context.Context, st moderation.Store) (string, error) {
	pw := "demo-" + rand.Text()[:12]
	hash, err := console.HashPassword(pw)
	if err != nil {
		return "", err
	}
	if err := st.PutConsoleUser(ctx, moderation.ConsoleUser{Name: demoUser, Hash: hash, Grants: []string{"*"}, CreatedAt: time.Now()}); err != nil {
		return "", fmt.Errorf("demo console user: %w", err)
	}
	return pw, nil
}

// freeAddr picks a free loopback port for the console.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
