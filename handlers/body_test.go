package handlers

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// TestReadBodyHoldsOnlyWhatWasSent: a sender announcing 1 MiB and sending
// 10 bytes makes Gavel allocate about the first buffer, not the
// announced length (the old reader allocated all of it up front).
func TestReadBodyHoldsOnlyWhatWasSent(t *testing.T) {
	// Not parallel: TotalAlloc counts every goroutine's allocations.
	const limit = 1 << 20
	req := httptest.NewRequest(http.MethodPost, "/webhook/fake", bytes.NewReader([]byte("0123456789")))
	req.ContentLength = limit
	w := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readBody(w, req, limit)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("10 of 1 MiB announced: err = %v, want a short-body error", err)
	}
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("announced 1 MiB, sent 10 bytes: %d bytes allocated", got)
	if got > 64<<10 {
		t.Fatalf("allocated %d bytes for a 10-byte body announced as 1 MiB; want at most 64 KiB", got)
	}
}

// TestReadBody: bodies of every size around the buffer's steps come back
// whole, with or without an announced length; more than the limit is a
// MaxBytesError (413).
func TestReadBody(t *testing.T) {
	t.Parallel()
	sizes := []int{0, 1, 10, firstBodyBuffer - 1, firstBodyBuffer, firstBodyBuffer + 1, 3*firstBodyBuffer + 7, 200_000}
	const limit = 256 << 10
	for _, n := range sizes {
		body := bytes.Repeat([]byte("gavel"), n/5+1)[:n]
		for _, announce := range []bool{true, false} {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.ContentLength = -1
			if announce {
				req.ContentLength = int64(n)
			}
			got, err := readBody(httptest.NewRecorder(), req, limit)
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("%d bytes (announced %v): got %d bytes, err %v", n, announce, len(got), err)
			}
		}
	}
	tooBig := bytes.Repeat([]byte("x"), limit+1)
	for _, length := range []int64{-1, limit, limit + 1} {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(tooBig))
		req.ContentLength = length
		_, err := readBody(httptest.NewRecorder(), req, limit)
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			t.Errorf("limit+1 bytes, Content-Length %d: err = %v, want MaxBytesError", length, err)
		}
	}
}
