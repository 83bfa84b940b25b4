package tim

import "testing"

func BenchmarkDecodeCallback(b *testing.B) {
	raw := []byte(`{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"@TGS#2J4SZEAEL","Type":"Public","From_Account":"jared","Operator_Account":"admin","Random":2010324946,"MsgSeq":123,"MsgTime":1490686222,"MsgId":"144115233406643804-1727580296-4026038328","OnlineOnlyFlag":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"大家好，今天的会议改到下午三点，请大家准时参加 and don't forget the slides for the quarterly review"}}],"CloudCustomData":"your cloud custom data","EventTime":1670574414123}`)
	b.ReportAllocs()
	for b.Loop() {
		body, err := decodeCallback("", raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := messageEvent(body, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
