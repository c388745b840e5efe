package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/protoo"
)

const clientUsage = `Usage: switchboard client [flags] URL
       switchboard client [flags] URL --call METHOD [DATA]

A command-line client of Switchboard's messaging protocol (protoo JSON over
the WebSocket at /ws). URL is ws://host:port/ws, http://host:port or
host:port (the path /ws is added when missing).

With --call it sends one request (after logging in with --login), prints
the reply's data as one line of JSON and exits: 0 on success, 1 with a
one-line error otherwise. DATA is JSON (default {}).

Without --call it reads commands from standard input, one per line, and
prints notifications as they arrive, until end of input or Ctrl-C. It
reconnects by itself, logs in again and recovers its subscriptions.

Commands (TEXT is sent as JSON when it is JSON, else as a string):
  login NAME          log in (the server wants it first)
  echo TEXT           the server sends TEXT back
  send NAME TEXT      a routed message to the client logged in as NAME
  online              the names online
  sub CHANNEL         subscribe (group, stream, presence, ...)
  unsub CHANNEL       unsubscribe
  pub CHANNEL TEXT    publish on a channel
  join ROOM           join a signaling room; prints its members
  leave ROOM          leave it
  signal ROOM NAME TEXT  relay TEXT to the member NAME of ROOM
  call METHOD [JSON]  any request
  help                this list
  quit                close and exit

Output lines:
  message from NAME: DATA          a routed message
  [CHANNEL #OFFSET] NAME: DATA     a publication ("server" when fed by it)
  [ROOM] NAME joined / left        a member of a room you are in
  [ROOM] signal from NAME: DATA    a signal relayed to you
  * EVENT                          disconnected, reconnected, recovered ...
  error: CODE REASON               a command failed; the session goes on

At the end of input the exit status is 0 when every command succeeded,
else 1, so that a script piping commands in sees a failure.
`

// runClient is `switchboard client`.
func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runClientWith(ctx, os.Stdin, args, stdout, stderr)
}

// clientFlags are the flags of `switchboard client`.
type clientFlags struct {
	login   string
	call    string
	timeout time.Duration
}

// parseClientArgs parses flags given before, between or after the
// positional arguments, as `client URL --login alice --call echo '{}'`.
func parseClientArgs(args []string, stdout, stderr io.Writer) (clientFlags, []string, error) {
	var f clientFlags
	fs := newFlagSet("client")
	fs.StringVar(&f.login, "login", "", "log in with this `name` first")
	fs.StringVar(&f.call, "call", "", "send one request with this `method` (and the DATA argument), print the reply and exit")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound on connecting and on each request")
	var pos []string
	for {
		if err := parseFlags(fs, args, clientUsage, stdout, stderr); err != nil {
			return f, nil, err
		}
		if fs.NArg() == 0 {
			return f, pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runClientWith(ctx context.Context, stdin io.Reader, args []string, stdout, stderr io.Writer) error {
	f, pos, err := parseClientArgs(args, stdout, stderr)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fmt.Fprintf(stderr, "Error: client needs a URL\n%s\n", helpHint("client"))
		return errUsage
	}
	target, err := messagingURL(pos[0])
	if err != nil {
		return err
	}
	var data json.RawMessage
	switch {
	case f.call == "" && len(pos) > 1:
		return fmt.Errorf("unexpected arguments %q (DATA goes with --call)", strings.Join(pos[1:], " "))
	case f.call != "" && len(pos) > 2:
		return fmt.Errorf("--call takes one DATA argument, got %d (quote the JSON)", len(pos)-1)
	case f.call != "" && len(pos) == 2:
		if data, err = strictJSON(pos[1]); err != nil {
			return err
		}
	}

	out := &syncWriter{w: stdout}
	opts := []client.Option{}
	if f.call == "" {
		opts = append(opts, client.WithEventHandler(func(e client.Event) {
			if line := describeEvent(e); line != "" {
				out.printf("* %s\n", line)
			}
		}))
	} else {
		opts = append(opts, client.WithReconnect(nil))
	}
	dctx, cancel := context.WithTimeout(ctx, f.timeout)
	c, err := client.Dial(dctx, target, opts...)
	cancel()
	if err != nil {
		return fmt.Errorf("connect to %s: %v", target, err)
	}
	defer c.Close()
	sess := &clientSession{c: c, out: out, timeout: f.timeout}
	c.OnMessage(func(m client.Message) { out.printf("message from %s: %s\n", m.From, m.Data) })
	c.OnNotification("error", func(data json.RawMessage) { out.printf("server error: %s\n", compact(data)) })
	c.OnPeerJoined(func(e client.PeerEvent) {
		if info := compact(e.Info); info != "" && info != "{}" && info != "null" {
			out.printf("[%s] %s joined %s\n", e.Room, e.ID, info)
		} else {
			out.printf("[%s] %s joined\n", e.Room, e.ID)
		}
	})
	c.OnPeerLeft(func(e client.PeerEvent) { out.printf("[%s] %s left\n", e.Room, e.ID) })
	c.OnSignal(func(sg client.Signal) { out.printf("[%s] signal from %s: %s\n", sg.Room, sg.From, compact(sg.Data)) })
	if f.call == "" {
		out.printf("connected to %s; type help for the commands\n", target)
	}
	if f.login != "" {
		if err := sess.login(ctx, f.login, f.call == ""); err != nil {
			return err
		}
	}
	if f.call != "" {
		rctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		reply, err := c.Request(rctx, f.call, data)
		if err != nil {
			return fmt.Errorf("%s: %s", f.call, errTextHint(err, "pass --login NAME"))
		}
		out.printf("%s\n", compact(reply))
		return nil
	}
	return sess.interact(ctx, stdin)
}

// describeEvent says in words what happened to the connection, for the
// "* " lines of the interactive mode; "" for nothing worth a line.
func describeEvent(e client.Event) string {
	switch e.Kind {
	case client.EventDisconnected:
		if e.Err != nil {
			return fmt.Sprintf("disconnected (%v); reconnecting", e.Err)
		}
		return "disconnected; reconnecting"
	case client.EventReconnected:
		return "reconnected; logged in again and subscriptions renewed"
	case client.EventRecovered:
		return fmt.Sprintf("%s: recovered %d missed publications", e.Channel, e.Missed)
	case client.EventLost:
		return fmt.Sprintf("%s: the publications sent while disconnected could not be recovered (the server no longer has them, for example after a restart); new ones follow", e.Channel)
	case client.EventLoginFailed:
		return fmt.Sprintf("reconnected, but logging in again failed: %s", errText(e.Err))
	case client.EventClosed:
		if e.Err != nil {
			return fmt.Sprintf("connection closed for good: %v", e.Err)
		}
		return ""
	}
	return e.String()
}

// messagingURL turns host:port, http(s)://host:port or ws(s)://host:port
// into the URL of the /ws endpoint.
func messagingURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("bad URL %q: want ws://host:port/ws or host:port", s)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("bad URL %q: scheme %s (want ws, wss, http or https)", s, u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/ws"
	}
	return u.String(), nil
}

// strictJSON checks that s is one JSON value.
func strictJSON(s string) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("bad JSON %q: %v", s, err)
	}
	return json.RawMessage(s), nil
}

// textData reads a TEXT argument: JSON when it looks like JSON (it must
// then be valid), else the text as a JSON string.
func textData(s string) (json.RawMessage, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, errors.New("missing TEXT")
	}
	switch c := t[0]; {
	case c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || t == "true" || t == "false" || t == "null":
		return strictJSON(t)
	}
	b, _ := json.Marshal(s)
	return b, nil
}

// compact returns JSON on one line.
func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// errText is the one-line text of a request error in the interactive
// mode: an error reply reads "CODE REASON" (protoo.Error's form), with a
// hint where a user is stuck.
func errText(err error) string {
	return errTextHint(err, "type login NAME, or start with --login NAME")
}

// errTextHint is errText with loginHint after a 401.
func errTextHint(err error, loginHint string) string {
	var pe *protoo.Error
	if errors.As(err, &pe) {
		if pe.Code == protoo.CodeUnauthorized {
			return pe.Error() + " (" + loginHint + ")"
		}
		return pe.Error()
	}
	return err.Error()
}

// syncWriter serializes the lines of the command loop and of the
// notification handlers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) printf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Fprintf(w.w, format, args...)
}

// clientSession is the interactive mode's state.
type clientSession struct {
	c       *client.Client
	out     *syncWriter
	timeout time.Duration
	subs    map[string]*client.Subscription
	failed  int // commands that failed
	total   int // commands run
}

// result is the session's end: nil when every command succeeded, else an
// error, so that the exit status is 1.
func (s *clientSession) result() error {
	if s.failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d commands failed", s.failed, s.total)
}

func (s *clientSession) login(ctx context.Context, name string, interactive bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	r, err := s.c.Login(ctx, name)
	if err != nil {
		return fmt.Errorf("login %s: %s", name, errText(err))
	}
	if interactive {
		s.out.printf("%s (session %s)\n", r.Welcome, r.Key)
	}
	return nil
}

// interact runs commands from in until it ends, ctx is cancelled or the
// client ends.
func (s *clientSession) interact(ctx context.Context, in io.Reader) error {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.c.Done():
			return fmt.Errorf("connection ended: %v", s.c.Err())
		case line, ok := <-lines:
			if !ok {
				return s.result()
			}
			if strings.TrimSpace(line) != "" {
				s.total++
			}
			quit, err := s.command(ctx, line)
			if err != nil {
				s.failed++
				s.out.printf("error: %s\n", err)
			}
			if quit {
				return s.result()
			}
		}
	}
}

// command runs one line.
func (s *clientSession) command(ctx context.Context, line string) (quit bool, err error) {
	name, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	rest = strings.TrimSpace(rest)
	arg1, arg2, _ := strings.Cut(rest, " ")
	arg2 = strings.TrimSpace(arg2)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	need := func(what string, ok bool) error {
		if !ok {
			return fmt.Errorf("usage: %s %s", name, what)
		}
		return nil
	}
	switch name {
	case "":
		return false, nil
	case "quit", "exit":
		return true, nil
	case "help":
		usage, _, _ := strings.Cut(strings.SplitN(clientUsage, "Commands", 2)[1], "\nOutput")
		s.out.printf("Commands%s", usage)
	case "login":
		if err := need("NAME", rest != ""); err != nil {
			return false, err
		}
		return false, s.login(ctx, rest, true)
	case "echo":
		data, err := textData(rest)
		if err != nil {
			return false, err
		}
		reply, err := s.c.Echo(ctx, data)
		if err != nil {
			return false, errors.New(errText(err))
		}
		s.out.printf("echo: %s\n", compact(reply))
	case "send":
		if err := need("NAME TEXT", arg1 != "" && arg2 != ""); err != nil {
			return false, err
		}
		data, err := textData(arg2)
		if err != nil {
			return false, err
		}
		if err := s.c.Send(ctx, arg1, data); err != nil {
			return false, errors.New(errText(err))
		}
		s.out.printf("sent to %s\n", arg1)
	case "online":
		names, err := s.c.Online(ctx)
		if err != nil {
			return false, errors.New(errText(err))
		}
		sort.Strings(names)
		s.out.printf("online: %s\n", strings.Join(names, ", "))
	case "sub":
		if err := need("CHANNEL", rest != "" && !strings.Contains(rest, " ")); err != nil {
			return false, err
		}
		sub, err := s.c.Subscribe(ctx, rest, func(p client.Publication) {
			from := p.From
			if from == "" {
				from = "server"
			}
			s.out.printf("[%s #%d] %s: %s\n", p.Channel, p.Offset, from, compact(p.Data))
		})
		if err != nil {
			return false, errors.New(errText(err))
		}
		if s.subs == nil {
			s.subs = map[string]*client.Subscription{}
		}
		s.subs[rest] = sub
		epoch, offset := sub.Position()
		s.out.printf("subscribed to %s at offset %d (epoch %s)\n", rest, offset, epoch)
	case "unsub":
		sub := s.subs[rest]
		if err := need("CHANNEL (one you subscribed to)", sub != nil); err != nil {
			return false, err
		}
		delete(s.subs, rest)
		if err := sub.Unsubscribe(ctx); err != nil {
			return false, errors.New(errText(err))
		}
		s.out.printf("unsubscribed from %s\n", rest)
	case "pub":
		if err := need("CHANNEL TEXT", arg1 != "" && arg2 != ""); err != nil {
			return false, err
		}
		data, err := textData(arg2)
		if err != nil {
			return false, err
		}
		off, err := s.c.Publish(ctx, arg1, data)
		if err != nil {
			return false, errors.New(errText(err))
		}
		s.out.printf("published to %s at offset %d\n", arg1, off)
	case "join":
		if err := need("ROOM", rest != ""); err != nil {
			return false, err
		}
		j, err := s.c.Join(ctx, rest, nil)
		if err != nil {
			return false, errors.New(errText(err))
		}
		ids := make([]string, len(j.Peers))
		for i, p := range j.Peers {
			ids[i] = p.ID
		}
		if len(ids) == 0 {
			s.out.printf("joined %s; nobody else is here\n", j.Room)
		} else {
			s.out.printf("joined %s; also here: %s\n", j.Room, strings.Join(ids, ", "))
		}
	case "leave":
		if err := need("ROOM", rest != ""); err != nil {
			return false, err
		}
		if err := s.c.Leave(ctx, rest); err != nil {
			return false, errors.New(errText(err))
		}
		s.out.printf("left %s\n", rest)
	case "signal":
		to, text, _ := strings.Cut(arg2, " ")
		text = strings.TrimSpace(text)
		if err := need("ROOM NAME TEXT", arg1 != "" && to != "" && text != ""); err != nil {
			return false, err
		}
		data, err := textData(text)
		if err != nil {
			return false, err
		}
		if err := s.c.Signal(ctx, arg1, to, data); err != nil {
			return false, errors.New(errText(err))
		}
		s.out.printf("signaled %s in %s\n", to, arg1)
	case "call":
		if err := need("METHOD [JSON]", arg1 != ""); err != nil {
			return false, err
		}
		var data json.RawMessage
		if arg2 != "" {
			if data, err = strictJSON(arg2); err != nil {
				return false, err
			}
		}
		reply, err := s.c.Request(ctx, arg1, data)
		if err != nil {
			return false, errors.New(errText(err))
		}
		s.out.printf("%s: %s\n", arg1, compact(reply))
	default:
		return false, fmt.Errorf("unknown command %q (type help)", name)
	}
	return false, nil
}
