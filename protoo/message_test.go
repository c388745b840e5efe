package protoo

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind // KindUnknown: invalid
		id   string
		data string
	}{
		{`{"request":true,"id":1,"method":"echo","data":{"a":1}}`, KindRequest, "1", `{"a":1}`},
		{`{"request":1,"id":8.5,"method":"m"}`, KindRequest, "8.5", `{}`},
		{`{"request":true,"id":9007199254740991,"method":"m","data":null}`, KindRequest, "9007199254740991", `{}`},
		{`{"request":"x","id":-3,"method":"m","data":[1]}`, KindRequest, "-3", `[1]`},
		{`{"request":true,"response":true,"id":2,"method":"m","data":0}`, KindRequest, "2", `{}`},
		{`{"request":true,"id":"5","method":"m"}`, KindUnknown, "", ""},
		{`{"request":true,"method":"m"}`, KindUnknown, "", ""},
		{`{"request":true,"id":5,"method":7}`, KindUnknown, "", ""},
		{`{"request":0,"response":true,"id":3,"ok":true,"data":"s"}`, KindResponse, "3", `"s"`},
		{`{"response":true,"id":3,"errorCode":403,"errorReason":"no"}`, KindResponse, "3", ""},
		{`{"response":true}`, KindUnknown, "", ""},
		{`{"notification":true,"method":"n"}`, KindNotification, "", `{}`},
		{`{"notification":true}`, KindUnknown, "", ""},
		{`{"notification":""}`, KindUnknown, "", ""},
		{`{}`, KindUnknown, "", ""},
		{`null`, KindUnknown, "", ""},
		{`[]`, KindUnknown, "", ""},
		{`"x"`, KindUnknown, "", ""},
		{`5`, KindUnknown, "", ""},
		{`{"request":true,`, KindUnknown, "", ""},
		{``, KindUnknown, "", ""},
		{`not json`, KindUnknown, "", ""},
	}
	for _, tt := range tests {
		m, err := Parse([]byte(tt.in))
		if tt.kind == KindUnknown {
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%s) = %v, %v; want an ErrInvalid", tt.in, m, err)
			}
			continue
		}
		if err != nil || m.Kind() != tt.kind {
			t.Errorf("Parse(%s) = %v, %v; want a %s", tt.in, m, err, tt.kind)
			continue
		}
		switch m := m.(type) {
		case *Request:
			if string(m.ID) != tt.id || string(m.Data) != tt.data {
				t.Errorf("Parse(%s): id %s data %s", tt.in, m.ID, m.Data)
			}
		case *Response:
			if string(m.ID) != tt.id || (m.OK && string(m.Data) != tt.data) {
				t.Errorf("Parse(%s): id %s data %s", tt.in, m.ID, m.Data)
			}
			if !m.OK && (m.ErrorCode != CodeForbidden || m.ErrorReason != "no" || !errors.Is(m.Err(), &Error{Code: CodeForbidden})) {
				t.Errorf("Parse(%s): error %d %q", tt.in, m.ErrorCode, m.ErrorReason)
			}
		case *Notification:
			if string(m.Data) != tt.data {
				t.Errorf("Parse(%s): data %s", tt.in, m.Data)
			}
		}
	}
}

func TestAppendRoundTrip(t *testing.T) {
	id := json.RawMessage("8.5")
	cases := [][]byte{
		AppendRequest(nil, id, "echo", json.RawMessage(`{"x":"\u2028"}`)),
		AppendResponse(nil, id, nil),
		AppendError(nil, id, CodeNotFound, `no "bob"`),
		AppendNotification(nil, "message", json.RawMessage(`null`)),
	}
	want := []Kind{KindRequest, KindResponse, KindResponse, KindNotification}
	for i, b := range cases {
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		m, err := Parse(b)
		if err != nil || m.Kind() != want[i] {
			t.Fatalf("Parse(%s) = %v, %v", b, m, err)
		}
	}
	if got := string(cases[2]); got != `{"response":true,"id":8.5,"ok":false,"errorCode":404,"errorReason":"no \"bob\""}` {
		t.Errorf("AppendError = %s", got)
	}
	if got := string(cases[3]); got != `{"notification":true,"method":"message","data":{}}` {
		t.Errorf("AppendNotification with null data = %s", got)
	}
}

func TestCodeOf(t *testing.T) {
	if CodeOf(nil) != 0 || CodeOf(errors.New("x")) != CodeInternal || CodeOf(Errorf(CodeConflict, "taken")) != CodeConflict {
		t.Fatal("CodeOf")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"request":true,"id":1,"method":"echo","data":{"a":1}}`,
		`{"response":true,"id":1,"ok":true,"data":{}}`,
		`{"response":true,"id":1,"errorCode":500,"errorReason":"x"}`,
		`{"notification":true,"method":"n","data":[]}`,
		`null`, `[]`, `"x"`, `5`, `{}`, `{"request":true,"id":"5","method":"m"}`, `{"request":1e999,"id":1e999,"method":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// Whatever parses re-encodes to valid JSON of the same kind.
		var out []byte
		switch m := m.(type) {
		case *Request:
			out = AppendRequest(nil, m.ID, m.Method, m.Data)
		case *Response:
			if m.OK {
				out = AppendResponse(nil, m.ID, m.Data)
			} else {
				out = AppendError(nil, m.ID, m.ErrorCode, m.ErrorReason)
			}
		case *Notification:
			out = AppendNotification(nil, m.Method, m.Data)
		}
		m2, err := Parse(out)
		if err != nil || m2.Kind() != m.Kind() {
			t.Fatalf("re-encoded %s: %v, %v", out, m2, err)
		}
	})
}

// FuzzScanMatchesUnmarshal checks Parse's flat member scan against
// json.Unmarshal into a map, which Parse used before: for every valid JSON
// object both find the same raw value for every member Parse reads
// (escaped names, repeated names, nesting and all).
func FuzzScanMatchesUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"request":true,"id":1,"method":"echo","data":{"a":[1,{"b":"}"}]}}`,
		`{"id":1,"id":2,"\u0069d":3, "method" : "x\"y" ,"data":"]"}`,
		`{"response":true,"ok":false,"errorCode":-1.5e3,"errorReason":"\ud83d\ude00"}`,
		`{"notification":null,"data":[[],{},"",0]}`, `{}`, `{"\"":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.TrimSpace(b)
		if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("valid object did not unmarshal: %v", err)
		}
		var got members
		got.scan(b)
		for name, v := range map[string]json.RawMessage{
			"request": got.request, "response": got.response, "notification": got.notification,
			"id": got.id, "method": got.method, "data": got.data, "ok": got.ok,
			"errorCode": got.errorCode, "errorReason": got.errorReason,
		} {
			if !bytes.Equal(v, want[name]) {
				t.Fatalf("%s: scan found %q, json.Unmarshal %q", name, v, want[name])
			}
		}
	})
}
