package wirejson_test

import (
	"testing"

	"gavel/platforms/wirejson"
)

type msg struct {
	Group string         `json:"GroupId"`
	Seq   int64          `json:"MsgSeq"`
	Body  wirejson.Value `json:"MsgBody"`
}

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    msg
		wantErr bool
	}{
		{name: "exact names", in: `{"GroupId":"g","MsgSeq":7,"MsgBody":[1, 2]}`, want: msg{Group: "g", Seq: 7, Body: wirejson.Value(`[1, 2]`)}},
		{name: "names of another case", in: `{"groupid":"g","MSGSEQ":7}`, want: msg{Group: "g", Seq: 7}},
		{name: "unknown members ignored", in: `{"GroupId":"g","Extra":{"a":[true]}}`, want: msg{Group: "g"}},
		{name: "invalid UTF-8 replaced", in: "{\"GroupId\":\"a\xffb\"}", want: msg{Group: "a\uFFFDb"}},
		{name: "duplicate name", in: `{"GroupId":"a","GroupId":"b"}`, wantErr: true},
		{name: "duplicate name in another case", in: `{"GroupId":"a","groupid":"b"}`, wantErr: true},
		{name: "trailing data", in: `{"GroupId":"a"} {}`, wantErr: true},
		{name: "trailing comma", in: `{"GroupId":"a",}`, wantErr: true},
		{name: "single quotes", in: `{'GroupId':"a"}`, wantErr: true},
		{name: "wrong type", in: `{"MsgSeq":"7"}`, wantErr: true},
		{name: "truncated", in: `{"GroupId":"a"`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got msg
			err := wirejson.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			}
			if err == nil && (got.Group != tt.want.Group || got.Seq != tt.want.Seq || string(got.Body) != string(tt.want.Body)) {
				t.Errorf("Unmarshal(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}
