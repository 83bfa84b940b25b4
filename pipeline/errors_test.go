package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// errTransport is what net/http returns when a gateway hangs up: it names
// an internal host, which must never reach a chat.
var errTransport = errors.New(`post "http://internal-gw.corp:8080/v4/group_open_http_svc/delete_group_member?usersig=x": EOF`)

// failingPlatform is a recorder whose calls fail with err.
type failingPlatform struct {
	*recorder
	capsErr error // Capabilities fails with it
	actErr  error // every action fails with it (moderation.FailAll)
}

func (f *failingPlatform) Capabilities(ctx context.Context, c moderation.ChatRef) (moderation.Capabilities, error) {
	if f.capsErr != nil {
		return nil, f.capsErr
	}
	return f.recorder.Capabilities(ctx, c)
}

func (f *failingPlatform) Remove(_ context.Context, _ moderation.ChatRef, u []string, _ moderation.ActionOptions) []moderation.Result {
	return moderation.FailAll(u, f.actErr)
}

type caseLog struct {
	mu    sync.Mutex
	cases []moderation.Case
}

func (l *caseLog) Record(_ context.Context, c *moderation.Case) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cases = append(l.cases, *c)
	return nil
}

// TestTransportErrorsStayOutOfTheChat: a platform that never answered
// gives the chat a plain sentence; the URL, the host and "EOF" go to the
// case (and the log) only.
func TestTransportErrorsStayOutOfTheChat(t *testing.T) {
	t.Parallel()
	gaveUp := &moderation.GaveUpError{Platform: "tim", Op: "delete_group_member", Tries: 5, Err: errTransport}
	tests := []struct {
		name      string
		capsErr   error
		actErr    error
		wantReply string
	}{
		{name: "lookup gave up", capsErr: gaveUp, wantReply: "did not answer; gave up after 5 tries"},
		{name: "lookup failed once", capsErr: errTransport, wantReply: "did not answer"},
		{name: "action gave up", actErr: gaveUp, wantReply: "the platform did not answer; gave up"},
		{name: "action failed once", actErr: errTransport, wantReply: "internal error: error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pl := &failingPlatform{recorder: &recorder{caps: native, roles: map[string]moderation.Role{"owner": moderation.RoleOwner}},
				capsErr: tt.capsErr, actErr: tt.actErr}
			audit := &caseLog{}
			eng, err := policy.New(policy.Config{}, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(oneAttempt, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{pl}, Policy: eng, Audit: audit, Now: time.Now, Logger: slog.New(slog.DiscardHandler), Parser: commands.New(commands.Config{})})
			if err != nil {
				t.Fatal(err)
			}
			deliver(t, p, moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: "d1",
				Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "fake", ID: "c1"}, MessageID: "m1", SenderID: "owner", Text: "/kick @spammer"}})
			if len(pl.replies) != 1 {
				t.Fatalf("replies %q, want one", pl.replies)
			}
			reply := pl.replies[0]
			for _, leak := range []string{"internal-gw", "http://", "EOF", "usersig", "8080"} {
				if strings.Contains(reply, leak) {
					t.Errorf("reply %q contains %q", reply, leak)
				}
			}
			if !strings.Contains(reply, tt.wantReply) {
				t.Errorf("reply %q, want it to say %q", reply, tt.wantReply)
			}
			if tt.actErr != nil {
				if len(audit.cases) == 0 || len(audit.cases[len(audit.cases)-1].Results) == 0 ||
					!strings.Contains(audit.cases[len(audit.cases)-1].Results[0].Detail, "internal-gw") {
					t.Errorf("the case lost the transport detail: %+v", audit.cases)
				}
			}
		})
	}
}
