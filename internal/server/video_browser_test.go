package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/browser"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

// webrtcFlags let Chromium pair loopback candidates with each other:
// by default it gathers none on loopback and hides host addresses behind
// mDNS names.
var webrtcFlags = []string{"allow-loopback-in-peer-connection", "disable-features=WebRtcHideLocalIpsWithMdns"}

// peerStats is what VideoRoom.stats() in room.js returns per member.
type peerStats struct {
	FramesDecoded int    `json:"framesDecoded"`
	Playing       bool   `json:"playing"`
	Connection    string `json:"connection"`
	Signaling     string `json:"signaling"`
	ICE           string `json:"ice"`
	Channel       string `json:"channel"`
	Error         string `json:"error,omitempty"`
}

// roomStats reads the page's per-member WebRTC figures (getStats).
func roomStats(p *appPage) map[string]peerStats {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, appTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.switchboardApp.room.stats().then(JSON.stringify)`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: stats: %v", p.name, err)
	}
	var out map[string]peerStats
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		p.t.Fatalf("%s: stats %s: %v", p.name, s, err)
	}
	return out
}

// newWindow opens another page of the browser of ctx, in a window of its
// own so that every page is visible (a hidden page may pause its videos).
func newWindow(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	wctx, cancel := chromedp.NewContext(ctx, chromedp.WithNewWindow(true))
	t.Cleanup(cancel)
	created := make(chan error, 1)
	go func() { created <- chromedp.Do(wctx) }()
	select {
	case err := <-created:
		if err != nil {
			t.Fatalf("new window: %v", err)
		}
	case <-time.After(appTimeout):
		t.Fatalf("no new window within %v", appTimeout)
	}
	return wctx
}

// joinVideo opens the Video room tab and joins room.
func joinVideo(p *appPage, room string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.ID("tab-video")))
	p.clear("video-room")
	p.do(chromedp.SendKeys(chromedp.ID("video-room"), room+"\n"))
	p.waitFor("joined", fmt.Sprintf(`window.switchboardApp.room.state === 'joined' && window.switchboardApp.room.room === %q`, room))
}

// TestVideoRoomBrowser opens the web app in three headless-Chromium pages
// with fake camera and microphone, joins them to one video room and waits
// until every page plays both remote videos: decoded frames (getStats)
// keep increasing and each <video> is playing. Then one page leaves and
// the two others remove its video. It runs in a loopback-only network
// namespace (browser.InLoopbackNetns).
func TestVideoRoomBrowser(t *testing.T) {
	if !browser.InLoopbackNetns(t) {
		return
	}
	ts := servertest.Start(t, server.Config{})
	url := ts.URL("http", "/")
	ctx := browser.New(t, browser.WithFakeMedia(), browser.WithFlags(append(webrtcFlags, "window-size=900,800")...))
	names := []string{"ann", "ben", "cat"}
	pages := make([]*appPage, len(names))
	for i, name := range names {
		pctx := ctx
		if i > 0 {
			pctx = newWindow(t, ctx)
		}
		pages[i] = openApp(t, pctx, url, name)
	}
	start := time.Now()
	for _, p := range pages {
		joinVideo(p, "call")
	}
	joined := time.Since(start)

	// Every page: two remote videos, frames decoded and playing.
	others := func(me string) []string {
		var o []string
		for _, n := range names {
			if n != me {
				o = append(o, n)
			}
		}
		return o
	}
	first := make(map[string]map[string]int)
	for _, p := range pages {
		var st map[string]peerStats
		playing := func() bool {
			st = roomStats(p)
			if len(st) != 2 {
				return false
			}
			for _, o := range others(p.name) {
				if s := st[o]; s.FramesDecoded == 0 || !s.Playing {
					return false
				}
			}
			first[p.name] = map[string]int{}
			for o, s := range st {
				first[p.name][o] = s.FramesDecoded
			}
			return true
		}
		if !testutil.Poll(60*time.Second, playing) {
			all := map[string]map[string]peerStats{}
			for _, q := range pages {
				all[q.name] = roomStats(q)
			}
			t.Fatalf("timed out after 60s waiting for %s playing two remote videos: %+v; every page: %+v", p.name, st, all)
		}
	}
	firstFrames := time.Since(start)
	for _, p := range pages {
		testutil.WaitFor(t, 30*time.Second, p.name+"'s decoded frames increasing", func() bool {
			st := roomStats(p)
			for _, o := range others(p.name) {
				if st[o].FramesDecoded <= first[p.name][o] || !st[o].Playing {
					return false
				}
			}
			return true
		})
		if n := eval[int](p, `document.querySelectorAll('#video-grid figure.remote video').length`); n != 2 {
			t.Errorf("%s shows %d remote videos, want 2", p.name, n)
		}
		for _, o := range others(p.name) {
			caption := p.text(fmt.Sprintf(`#video-grid figure[data-peer=%q] figcaption`, o))
			if caption != o+" · connected" {
				t.Errorf("%s: caption of %s's video %q", p.name, o, caption)
			}
		}
	}
	t.Logf("3 pages joined in %v; every page decoding both remote videos %v after the first join", joined.Round(time.Millisecond), firstFrames.Round(time.Millisecond))
	for _, p := range pages {
		t.Logf("%s: %+v", p.name, roomStats(p))
	}
	browser.Screenshot(t, pages[0].ctx, "ann-call")

	// Mute: the local audio track is disabled and the button says so.
	pages[1].do(chromedp.Click(chromedp.ID("video-mic")))
	pages[1].waitFor("muted", `document.getElementById('video-mic').getAttribute('aria-pressed') === 'true' && !window.switchboardApp.room.enabled('audio')`)
	pages[1].do(chromedp.Click(chromedp.ID("video-mic")))
	pages[1].waitFor("unmuted", `window.switchboardApp.room.enabled('audio')`)

	// ann leaves: ben and cat drop her video.
	pages[0].do(chromedp.Click(chromedp.ID("video-leave")))
	for _, p := range pages[1:] {
		p.waitFor("ann's video removed", `!document.querySelector('#video-grid figure[data-peer="ann"]') && window.switchboardApp.room.peers.size === 1`)
		if n := eval[int](p, `document.querySelectorAll('#video-grid figure.remote').length`); n != 1 {
			t.Errorf("%s shows %d remote videos after ann left, want 1", p.name, n)
		}
	}
	if m := ts.Hub().RoomMembers("call"); len(m) != 2 {
		t.Errorf("members after ann left: %v", m)
	}
	browser.Screenshot(t, pages[1].ctx, "ben-after-leave")
}

// TestVideoRoomTestPattern: a browser without camera or microphone joins
// with the generated test pattern, and a page with fake devices decodes
// and plays it (and the other way round).
func TestVideoRoomTestPattern(t *testing.T) {
	if !browser.InLoopbackNetns(t) {
		return
	}
	ts := servertest.Start(t, server.Config{})
	url := ts.URL("http", "/")
	withCam := openApp(t, browser.New(t, browser.WithFakeMedia(), browser.WithFlags(webrtcFlags...)), url, "cam")
	noCam := openApp(t, browser.New(t, browser.WithFlags(webrtcFlags...)), url, "pat")
	joinVideo(withCam, "pattern")
	joinVideo(noCam, "pattern")
	if !eval[bool](noCam, `window.switchboardApp.room.pattern`) || eval[bool](withCam, `window.switchboardApp.room.pattern`) {
		t.Fatal("the page without devices should use the test pattern, the one with fake devices its camera")
	}
	if got := noCam.text("#video-local-name"); got != "pat (you, test pattern)" {
		t.Errorf("local caption %q", got)
	}
	for _, p := range []*appPage{withCam, noCam} {
		var st map[string]peerStats
		playing := func() bool {
			st = roomStats(p)
			for _, s := range st {
				return s.FramesDecoded > 5 && s.Playing
			}
			return false
		}
		if !testutil.Poll(60*time.Second, playing) {
			t.Fatalf("timed out after 60s waiting for %s playing the other's video: cam %+v, pat %+v", p.name, roomStats(withCam), roomStats(noCam))
		}
	}
	browser.Screenshot(t, withCam.ctx, "cam-sees-pattern")
}

// TestVideoRoomUXBrowser checks what the video room shows a user: a
// "camera off" card with the name for a member whose camera is off (not a
// black tile), "Switch room" offered only for another room, the chat
// newest last with own lines under the user's name, and the "nobody to
// send to" error gone once someone joined. Screenshots at 1280 and 390 px.
func TestVideoRoomUXBrowser(t *testing.T) {
	if !browser.InLoopbackNetns(t) {
		return
	}
	ts := servertest.Start(t, server.Config{})
	url := ts.URL("http", "/")
	ctx := browser.New(t, browser.WithFakeMedia(), browser.WithFlags(append(webrtcFlags, fmt.Sprintf("window-size=%d,%d", desktopWidth, desktopHeight))...))
	ann := openApp(t, ctx, url, "ann")
	ben := openApp(t, newWindow(t, ctx), url, "ben")

	joinVideo(ann, "call")
	joinDisabled := `document.getElementById('video-join').disabled`
	if !eval[bool](ann, joinDisabled) || ann.text("#video-join") != "Switch room" {
		t.Errorf("in room call with call in the field: button %q, disabled %v; want a disabled Switch room", ann.text("#video-join"), eval[bool](ann, joinDisabled))
	}
	ann.do(chromedp.SendKeys(chromedp.ID("video-room"), "2"))
	ann.waitFor("Switch room offered for call2", `!`+joinDisabled)
	ann.do(chromedp.KeyEvent(kb.Backspace))
	ann.waitFor("Switch room disabled again", joinDisabled)

	// Alone in the room: a chat message has nobody to go to. The error
	// goes when someone is there to read.
	ann.do(chromedp.SendKeys(chromedp.ID("video-chat-input"), "anyone?\n"))
	ann.waitFor("the error", `document.getElementById('video-error').textContent.startsWith('Nobody to send to')`)
	if !eval[bool](ann, sameErrorStyle("video-error")) {
		t.Errorf("the video error %q is not in the error style", ann.text("#video-error"))
	}
	joinVideo(ben, "call")
	cleared := func() bool { return eval[bool](ann, `document.getElementById('video-error').textContent === ''`) }
	if !testutil.Poll(60*time.Second, cleared) {
		t.Fatalf("ann's error %q not cleared within 60s of ben joining; ann: %+v; ben: %+v", ann.text("#video-error"), roomStats(ann), roomStats(ben))
	}
	for _, p := range []*appPage{ann, ben} {
		other := map[string]string{"ann": "ben", "ben": "ann"}[p.name]
		on := fmt.Sprintf(`document.querySelector('#video-grid figure[data-peer=%q]')?.dataset.video === 'on'`, other)
		if !testutil.Poll(60*time.Second, func() bool { return eval[bool](p, on) }) {
			t.Fatalf("%s: no video from %s within 60s: %+v; tracks %s", p.name, other, roomStats(p), eval[string](p,
				`JSON.stringify([...switchboardApp.room.peers.values()].map(p => ({remoteVideo: p.remoteVideo, chat: p.dc.readyState,
					tracks: p.stream.getTracks().map(t => t.kind + ' ' + t.readyState + (t.muted ? ' muted' : ''))})))`))
		}
	}

	// ben turns his camera off: ann sees his name, not a black tile.
	ben.do(chromedp.Click(chromedp.ID("video-cam")))
	ben.waitFor("the camera off", `!window.switchboardApp.room.enabled('video') && document.querySelector('#video-grid figure.local').dataset.video === 'off'`)
	tile := `#video-grid figure[data-peer="ben"]`
	ann.waitFor("the camera-off card", fmt.Sprintf(`document.querySelector('%s').dataset.video === 'off'`, tile))
	if got := ann.text(tile + " .off-text"); got != "camera off" {
		t.Errorf("ben's card says %q, want camera off", got)
	}
	if got := ann.text(tile + " .avatar"); got != "B" {
		t.Errorf("ben's card shows %q, want his initial B", got)
	}
	if !eval[bool](ann, fmt.Sprintf(`getComputedStyle(document.querySelector('%s .off')).display !== 'none'`, tile)) {
		t.Error("ben's camera-off card is not visible")
	}

	// The chat: newest last, own lines under the user's name.
	ann.clear("video-chat-input") // still "anyone?", kept when it could not be sent
	ann.do(chromedp.SendKeys(chromedp.ID("video-chat-input"), "hello ben\n"))
	ben.waitFor("ann's message", logHas("video-chat-log", "ann", "hello ben"))
	ben.do(chromedp.SendKeys(chromedp.ID("video-chat-input"), "hi ann\n"))
	ann.waitFor("ben's answer", logHas("video-chat-log", "ben", "hi ann"))
	if got := eval[string](ann, `[...document.querySelectorAll('#video-chat-log li')].map(li => li.querySelector('.from').textContent + ':' + li.querySelector('.text').textContent).join()`); got != "ann:hello ben,ben:hi ann" {
		t.Errorf("ann's chat %q, want her own line as ann, the newest last", got)
	}
	if !eval[bool](ann, `document.querySelector('#video-chat-log li').classList.contains('own')`) {
		t.Error("ann's own chat line is not marked as hers")
	}
	shots(ann, "ann-sees-camera-off")

	// The camera back on: the video again.
	ben.do(chromedp.Click(chromedp.ID("video-cam")))
	ann.waitFor("ben's video back", fmt.Sprintf(`document.querySelector('%s').dataset.video === 'on'`, tile))
}
