package sqlrow

import (
	"testing"

	"gavel/moderation"
)

func TestPostRoundTrip(t *testing.T) {
	t.Parallel()
	ref := moderation.PostRef{Chat: moderation.ChatRef{Platform: "feishu", ID: "oc_1", Thread: "t"}, MessageID: "om_1"}
	s, err := EncodePost(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := DecodePost(s)
	if err != nil || !ok || got != ref {
		t.Fatalf("DecodePost(%q) = %+v, %v, %v", s, got, ok, err)
	}
	if _, ok, err := DecodePost(""); ok || err != nil {
		t.Fatalf("empty column: ok=%v err=%v, want none recorded", ok, err)
	}
	if _, err := EncodePost(moderation.PostRef{}); err == nil {
		t.Fatal("a post without a message id encoded")
	}
}

// FuzzDecodePost: whatever the column holds, DecodePost returns an error
// or a reference that encodes back to an equal one; it never panics.
func FuzzDecodePost(f *testing.F) {
	for _, s := range []string{"", `{"chat":{"platform":"tim","id":"@TGS#1"},"message_id":"m"}`, "{", "null", `{"message_id":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok, err := DecodePost(s)
		if err != nil || !ok || ref.MessageID == "" {
			return
		}
		enc, err := EncodePost(ref)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", ref, err)
		}
		back, _, err := DecodePost(enc)
		if err != nil || back != ref {
			t.Fatalf("round trip of %q: %+v, %v", s, back, err)
		}
	})
}
