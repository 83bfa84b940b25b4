package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
)

// The schema-v4 half of the suite (issue #17): related cases, case links
// (an undo happens once), the mod-log post of a case, and removing
// exactly one warning.

// testRelated: Case.Related is stored, read back, and selects the cases
// that follow from a case; in a Commit too.
func testRelated(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	orig := addCase(t, s, sampleCase("d1", "c1", "alice", t0, "bob"))
	undo := sampleCase("d2", "c1", "carol", t0.Add(time.Minute), "bob")
	undo.Verb, undo.Related = moderation.VerbUndo, orig
	undoID := addCase(t, s, undo)
	addCase(t, s, sampleCase("d3", "c1", "alice", t0.Add(2*time.Minute), "dave"))

	got, err := s.Case(ctx, undoID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Related != orig || got.Verb != moderation.VerbUndo {
		t.Fatalf("case %d read back Related=%d Verb=%s, want %d undo", undoID, got.Related, got.Verb, orig)
	}
	if c, _ := s.Case(ctx, orig); c.Related != 0 {
		t.Fatalf("unrelated case read back Related=%d", c.Related)
	}
	cs, err := s.Cases(ctx, moderation.CaseFilter{Related: orig})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != undoID {
		t.Fatalf("Cases(Related: %d) = %v, want only case %d", orig, caseIDs(cs), undoID)
	}
	if cs, _ := s.Cases(ctx, moderation.CaseFilter{Related: undoID}); len(cs) != 0 {
		t.Fatalf("Cases(Related: %d) = %v, want none", undoID, caseIDs(cs))
	}

	// Through Commit, as the pipeline records cases.
	if !enqueue(t, s, message("c1", "job-1"), t0) {
		t.Fatal("not enqueued")
	}
	job := claim(t, s, "w", 1, time.Minute, t0)[0]
	c := sampleCase("d4", "c1", "carol", t0.Add(3*time.Minute), "bob")
	c.Related = orig
	if err := s.Commit(ctx, job.ID, "w", moderation.Work{Cases: []*moderation.Case{&c}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Case(ctx, c.ID); got.Related != orig {
		t.Fatalf("committed case Related = %d, want %d", got.Related, orig)
	}
	if cs, _ := s.Cases(ctx, moderation.CaseFilter{Related: orig, Platform: "test", ChatID: "c1"}); len(cs) != 2 {
		t.Fatalf("Cases(Related, chat) = %v, want 2 cases", caseIDs(cs))
	}
}

func caseIDs(cs []moderation.Case) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// testCaseLinks: the first delivery to link a case holds the link; the
// same delivery again (a re-run) still holds it; another gets the
// first's; unlinking is the holder's alone; kinds are separate.
func testCaseLinks(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	link := func(id int64, kind, delivery string) moderation.CaseLink {
		t.Helper()
		l, err := s.LinkCase(ctx, moderation.CaseLink{CaseID: id, Kind: kind, DeliveryID: delivery, At: t0})
		if err != nil {
			t.Fatalf("LinkCase(%d, %s, %s): %v", id, kind, delivery, err)
		}
		return l
	}
	if l := link(7, moderation.LinkUndo, "a"); l.DeliveryID != "a" || l.CaseID != 7 || l.Kind != moderation.LinkUndo || !l.At.Equal(t0) {
		t.Fatalf("first link = %+v, want a's", l)
	}
	if l := link(7, moderation.LinkUndo, "a"); l.DeliveryID != "a" {
		t.Fatalf("re-run link = %+v, want a's", l)
	}
	if l := link(7, moderation.LinkUndo, "b"); l.DeliveryID != "a" {
		t.Fatalf("second delivery's link = %+v, want a's (first wins)", l)
	}
	if l := link(7, "other", "b"); l.DeliveryID != "b" {
		t.Fatalf("another kind = %+v, want b's", l)
	}
	if l := link(8, moderation.LinkUndo, "b"); l.DeliveryID != "b" {
		t.Fatalf("another case = %+v, want b's", l)
	}
	if err := s.UnlinkCase(ctx, 7, moderation.LinkUndo, "b"); err != nil {
		t.Fatal(err)
	}
	if l := link(7, moderation.LinkUndo, "c"); l.DeliveryID != "a" {
		t.Fatalf("after a non-holder's unlink = %+v, want a's still", l)
	}
	if err := s.UnlinkCase(ctx, 7, moderation.LinkUndo, "a"); err != nil {
		t.Fatal(err)
	}
	if l := link(7, moderation.LinkUndo, "c"); l.DeliveryID != "c" {
		t.Fatalf("after the holder's unlink = %+v, want c's", l)
	}
	for _, bad := range []moderation.CaseLink{{Kind: "undo", DeliveryID: "x"}, {CaseID: 1, DeliveryID: "x"}, {CaseID: 1, Kind: "undo"}} {
		if _, err := s.LinkCase(ctx, bad); err == nil {
			t.Errorf("LinkCase(%+v) accepted", bad)
		}
	}
}

// testCaseLinkRace: of many deliveries linking one case at once, exactly
// one holds it and every caller is told which.
func testCaseLinkRace(t *testing.T, s moderation.Store) {
	const n = 16
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			l, err := s.LinkCase(t.Context(), moderation.CaseLink{CaseID: 42, Kind: moderation.LinkUndo, DeliveryID: fmt.Sprint("d", i), At: t0})
			got[i], errs[i] = l.DeliveryID, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("callers disagree on the holder: %v", got)
		}
	}
}

// testCasePost: the post of a case is stored, replaced, and read back;
// none is ErrNotFound; a missing case is ErrNotFound.
func testCasePost(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	id := addCase(t, s, sampleCase("d1", "c1", "alice", t0, "bob"))
	if _, err := s.CasePost(ctx, id); !errors.Is(err, moderation.ErrNotFound) {
		t.Fatalf("CasePost before any = %v, want ErrNotFound", err)
	}
	ref := moderation.PostRef{Chat: moderation.ChatRef{Platform: "test", ID: "modlog", Kind: "group", Thread: "t"}, MessageID: "om_1"}
	if err := s.SetCasePost(ctx, id, ref); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CasePost(ctx, id); err != nil || got != ref {
		t.Fatalf("CasePost = %+v, %v; want %+v", got, err, ref)
	}
	ref.MessageID = "om_2"
	if err := s.SetCasePost(ctx, id, ref); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CasePost(ctx, id); got != ref {
		t.Fatalf("CasePost after replace = %+v, want %+v", got, ref)
	}
	if err := s.SetCasePost(ctx, id+100, ref); !errors.Is(err, moderation.ErrNotFound) {
		t.Fatalf("SetCasePost of a missing case = %v, want ErrNotFound", err)
	}
	if _, err := s.CasePost(ctx, id+100); !errors.Is(err, moderation.ErrNotFound) {
		t.Fatalf("CasePost of a missing case = %v, want ErrNotFound", err)
	}
	if err := s.SetCasePost(ctx, id, moderation.PostRef{Chat: ref.Chat}); err == nil {
		t.Fatal("SetCasePost without a message id accepted")
	}
	// The case itself is unchanged by its post.
	if c, err := s.Case(ctx, id); err != nil || c.DeliveryID != "d1" {
		t.Fatalf("Case after SetCasePost = %+v, %v", c, err)
	}
}

// testRemoveWarning removes exactly the warning of a key, once.
func testRemoveWarning(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	chat := moderation.ChatRef{Platform: "tim", ID: "g1"}
	since := t0.Add(-time.Hour)
	for i, key := range []string{"k1", "k2", "k3"} {
		if _, err := s.AddWarning(ctx, moderation.Warning{Chat: chat, UserID: "u", Key: key, At: t0.Add(time.Duration(i) * time.Minute)}, since); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.RemoveWarning(ctx, "k2"); err != nil || !ok {
		t.Fatalf("RemoveWarning(k2) = %v, %v; want true", ok, err)
	}
	if ok, err := s.RemoveWarning(ctx, "k2"); err != nil || ok {
		t.Fatalf("RemoveWarning(k2) again = %v, %v; want false", ok, err)
	}
	ws, err := s.Warnings(ctx, chat, "u", since)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Key != "k1" || ws[1].Key != "k3" {
		t.Fatalf("warnings left = %+v, want k1 and k3", ws)
	}
}
