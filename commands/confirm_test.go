package commands

import (
	"errors"
	"reflect"
	"testing"

	"gavel/moderation"
)

// TestParseConfirm covers /confirm N and /cancel N, in English and
// Chinese, and their usage errors.
func TestParseConfirm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		want    moderation.Command
		wantErr error
	}{
		{name: "confirm", text: "/confirm 12", want: moderation.Command{Verb: moderation.VerbConfirm, CaseID: 12}},
		{name: "confirm with hash", text: "/confirm #7", want: moderation.Command{Verb: moderation.VerbConfirm, CaseID: 7}},
		{name: "确认", text: "/确认 3", want: moderation.Command{Verb: moderation.VerbConfirm, CaseID: 3}},
		{name: "full-width prefix", text: "／确认 3", want: moderation.Command{Verb: moderation.VerbConfirm, CaseID: 3}},
		{name: "cancel", text: "/cancel 12", want: moderation.Command{Verb: moderation.VerbCancel, CaseID: 12}},
		{name: "取消", text: "/取消 12", want: moderation.Command{Verb: moderation.VerbCancel, CaseID: 12}},
		{name: "upper case", text: "/CONFIRM 5", want: moderation.Command{Verb: moderation.VerbConfirm, CaseID: 5}},
		{name: "confirm without number", text: "/confirm", wantErr: ErrBadCaseID},
		{name: "cancel with a word", text: "/cancel it", wantErr: ErrBadCaseID},
		{name: "zero", text: "/确认 0", wantErr: ErrBadCaseID},
		{name: "negative", text: "/confirm -3", wantErr: ErrBadCaseID},
		{name: "overflow", text: "/confirm 99999999999999999999", wantErr: ErrBadCaseID},
	}
	p := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !p.IsCommand(tt.text) {
				t.Fatalf("IsCommand(%q) = false", tt.text)
			}
			got, err := p.Parse(feishuMsg(tt.text), "bot")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %v", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.text, got, err, tt.want)
			}
		})
	}
}
