package feishu

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"

	"gavel/moderation"
)

func TestCheckResponseCodes(t *testing.T) {
	t.Parallel()
	kinds := map[int]moderation.ErrorKind{
		232001: moderation.Permanent, 232004: moderation.Permanent, 232006: moderation.Permanent,
		232007: moderation.Permanent, 232009: moderation.Permanent, 232010: moderation.Permanent,
		232011: moderation.Permanent, 232014: moderation.Permanent, 232019: moderation.RateLimited,
		232025: moderation.Permanent, 232027: moderation.Permanent, 232029: moderation.Permanent,
		232033: moderation.Permanent, 232034: moderation.Permanent, 232076: moderation.Permanent,
		99991400: moderation.RateLimited, 99991663: moderation.AuthExpired, 99991672: moderation.Permanent,
		230020: moderation.RateLimited, 230026: moderation.Permanent, 230110: moderation.Permanent,
	}
	for code, want := range kinds {
		resp := &larkcore.ApiResp{StatusCode: http.StatusBadRequest, Header: http.Header{}}
		err := checkResponse(context.Background(), "chat.members.delete", resp, larkcore.CodeError{Code: code, Msg: "raw platform text"}, nil)
		var apiErr *moderation.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("code %d: %v is not an APIError", code, err)
		}
		if apiErr.Kind != want || apiErr.Code != code || apiErr.Platform != "feishu" || apiErr.HTTPStatus != 400 {
			t.Errorf("code %d: %+v, want kind %s", code, apiErr, want)
		}
		if apiErr.Message == "" || strings.Contains(apiErr.Message, "raw platform text") || !strings.HasSuffix(apiErr.Message, ".") {
			t.Errorf("code %d: message %q is not our own sentence", code, apiErr.Message)
		}
	}
}

func TestCheckResponseStatus(t *testing.T) {
	t.Parallel()
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name      string
		status    int
		header    http.Header
		code      int
		err       error
		wantNil   bool
		wantKind  moderation.ErrorKind
		wantRetry time.Duration
	}{
		{name: "success", status: 200, wantNil: true},
		{name: "429 with reset header", status: 429, header: hdr("x-ogw-ratelimit-reset", "52"), code: 99991400, wantKind: moderation.RateLimited, wantRetry: 52 * time.Second},
		{name: "legacy 400 rate limit", status: 400, header: hdr("x-ogw-ratelimit-reset", "3"), code: 99991400, wantKind: moderation.RateLimited, wantRetry: 3 * time.Second},
		{name: "232019 with reset header", status: 400, header: hdr("x-ogw-ratelimit-reset", "2"), code: 232019, wantKind: moderation.RateLimited, wantRetry: 2 * time.Second},
		{name: "absurd reset ignored", status: 429, header: hdr("x-ogw-ratelimit-reset", "-4"), code: 99991400, wantKind: moderation.RateLimited},
		{name: "500 unknown code", status: 500, code: 1234, wantKind: moderation.Transient},
		{name: "unknown 4xx code", status: 400, code: 1234, wantKind: moderation.Permanent},
		{name: "200 with error code", status: 200, code: 232014, wantKind: moderation.Permanent},
		{name: "non-JSON 502 from httpDoer", err: &statusError{status: 502}, wantKind: moderation.Transient},
		{name: "non-JSON 429 from httpDoer", err: &statusError{status: 429, retryAfter: time.Second}, wantKind: moderation.RateLimited, wantRetry: time.Second},
		{name: "SDK server timeout", err: &larkcore.ServerTimeoutError{}, wantKind: moderation.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var resp *larkcore.ApiResp
			if tt.err == nil {
				h := tt.header
				if h == nil {
					h = http.Header{}
				}
				resp = &larkcore.ApiResp{StatusCode: tt.status, Header: h}
			}
			err := checkResponse(context.Background(), "op", resp, larkcore.CodeError{Code: tt.code}, tt.err)
			if tt.wantNil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var apiErr *moderation.APIError
			if !errors.As(err, &apiErr) || apiErr.Kind != tt.wantKind || apiErr.RetryAfter != tt.wantRetry {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

func TestHTTPDoerNonJSON(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	_, err := httpDoer{hc: srv.Client()}.Do(req)
	var se *statusError
	if !errors.As(err, &se) || se.status != http.StatusBadGateway {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckResponseContextCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := checkResponse(ctx, "op", nil, larkcore.CodeError{}, errors.New("transport")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
