package server

import "testing"

func TestEndpointPath(t *testing.T) {
	tests := []struct {
		target string
		want   string
		ok     bool
	}{
		{"/echo", "/echo", true},
		{"/echo?x=1", "/echo", true},
		{"/%65cho", "/echo", true},
		{"/./echo", "/echo", true},
		{"/a/../echo", "/echo", true},
		{"http://127.0.0.1:8888/echo?x", "/echo", true},
		{"http://127.0.0.1:8888", "/", true},
		{"/", "/", true},
		{"echo", "", false},
		{"/%zz", "", false},
	}
	for _, tt := range tests {
		got, err := endpointPath(tt.target)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("endpointPath(%q) = %q, %v; want %q ok=%v", tt.target, got, err, tt.want, tt.ok)
		}
	}
}
