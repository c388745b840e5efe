package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Protocol is how a load speaks to a server beyond plain echo.
type Protocol int

const (
	// ProtocolUnknown is the zero value.
	ProtocolUnknown Protocol = iota
	// ProtocolSwitchboard is Switchboard: raw echo on /echo, protoo
	// login, subscribe and publish on /ws.
	ProtocolSwitchboard
	// ProtocolSimple is the comparison servers' protocol (bench/peers):
	// echo on /echo, subscribers on /sub, a publisher on /pub.
	ProtocolSimple
)

func (p Protocol) String() string {
	switch p {
	case ProtocolSwitchboard:
		return "switchboard"
	case ProtocolSimple:
		return "simple"
	}
	return "unknown"
}

// ParseProtocol parses a Protocol name.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "switchboard":
		return ProtocolSwitchboard, nil
	case "simple":
		return ProtocolSimple, nil
	}
	return ProtocolUnknown, fmt.Errorf("unknown protocol %q (switchboard or simple)", s)
}

// Target is a server under load.
type Target struct {
	Name     string
	Addr     string // host:port
	Protocol Protocol
	// PID is the server's process, for its resident memory; 0 when
	// unknown (then only /debug/vars is read).
	PID int
}

// Memory is a server's memory at one moment.
type Memory struct {
	RSSBytes  int64 `json:"rss_bytes"`  // VmRSS from /proc/PID/status; 0 unknown
	HeapBytes int64 `json:"heap_bytes"` // Go HeapInuse from /debug/vars; 0 unknown
}

// readMemory reads t's memory: RSS from /proc and the Go heap from
// /debug/vars (expvar), whichever is available.
func readMemory(ctx context.Context, t Target) Memory {
	var m Memory
	if t.PID > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", t.PID)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
					f := strings.Fields(rest)
					if len(f) > 0 {
						kb, _ := strconv.ParseInt(f[0], 10, 64)
						m.RSSBytes = kb << 10
					}
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Addr+"/debug/vars", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return m
	}
	defer resp.Body.Close()
	var v struct {
		Memstats struct {
			HeapInuse int64
		} `json:"memstats"`
	}
	if b, err := io.ReadAll(resp.Body); err == nil && json.Unmarshal(b, &v) == nil {
		m.HeapBytes = v.Memstats.HeapInuse
	}
	return m
}

// protoo speaks just enough protoo for the loads: requests with
// increasing ids, answers matched by reading until the response arrives.
type protoo struct {
	c  *wsConn
	id atomic.Int64
}

func (p *protoo) request(method string, data any) error {
	d, err := json.Marshal(data)
	if err != nil {
		return err
	}
	id := p.id.Add(1)
	msg := fmt.Appendf(nil, `{"request":true,"id":%d,"method":%q,"data":%s}`, id, method, d)
	return p.c.write(0x1, msg)
}

// call sends a request and waits for its response (skipping
// notifications), returning an error for ok:false.
func (p *protoo) call(method string, data any) error {
	if err := p.request(method, data); err != nil {
		return err
	}
	want := p.id.Load()
	var buf []byte
	for {
		_, msg, err := p.c.read(buf)
		if err != nil {
			return err
		}
		buf = msg
		var r struct {
			Response    bool   `json:"response"`
			ID          int64  `json:"id"`
			OK          bool   `json:"ok"`
			ErrorReason string `json:"errorReason"`
		}
		if json.Unmarshal(msg, &r) != nil || !r.Response || r.ID != want {
			continue
		}
		if !r.OK {
			return fmt.Errorf("%s: %s", method, r.ErrorReason)
		}
		return nil
	}
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times (100
// on every Linux architecture Go supports).
const clockTicks = 100

// cpuSeconds returns the CPU time (user + system) process pid has used, or
// -1 when it cannot be read.
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces; fields after it start
	// after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return float64(u+k) / clockTicks
}

// cpuMeter measures the CPU a server uses over a window.
type cpuMeter struct {
	pid   int
	start float64
}

func startCPU(pid int) cpuMeter { return cpuMeter{pid: pid, start: cpuSeconds(pid)} }

// used returns the CPU seconds since start, or 0 when unknown.
func (m cpuMeter) used() float64 {
	end := cpuSeconds(m.pid)
	if m.start < 0 || end < 0 {
		return 0
	}
	return end - m.start
}
