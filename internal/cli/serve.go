package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/server"
)

// serveFlags are the flags of `switchboard serve`.
type serveFlags struct {
	addr            string
	port            string
	allowOrigins    stringList
	maxMessageBytes int64
	maxConnections  int
	pingInterval    time.Duration
	pingTimeout     time.Duration
	writeTimeout    time.Duration
	headTimeout     time.Duration
	shutdownTimeout time.Duration
	queueMessages   int
	queueBytes      int
	batchDelay      time.Duration
	compression     bool
	contextTakeover bool
	logLevel        string
	allowQuit       bool
	debugVars       bool
	config          string
	channels        channelFlag
	loginTimeout    time.Duration
	resumeGrace     time.Duration
	streamInterval  time.Duration
	roomMembers     int
	roomsPerSession int
	maxDetached     int
	detachedPerIP   int
	iceServers      stringList
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", ":8888", "`address` to listen on, host:port (dual-stack when the host is empty)")
	fs.StringVar(&f.port, "port", "", "`port` to listen on (1-65535), replacing the port of --addr, as WebRTC's peerconnection_server takes --port=8888")
	fs.Var(&f.allowOrigins, "allow-origin", "browser `origin` allowed to open WebSockets besides the server's own: a full origin (https://app.example.com), a host pattern (*.example.com) or *; repeatable")
	fs.Int64Var(&f.maxMessageBytes, "max-message-bytes", 1<<20, "largest WebSocket message a client may send, in `bytes`; larger closes with 1009")
	fs.IntVar(&f.maxConnections, "max-connections", 10000, "most open TCP connections (`n`); more are answered 503; 0 means no cap")
	fs.DurationVar(&f.pingInterval, "ping-interval", 25*time.Second, "WebSocket keepalive ping `interval`; 0 disables")
	fs.DurationVar(&f.pingTimeout, "ping-timeout", 10*time.Second, "how long a peer may stay silent after a ping before it is dropped")
	fs.DurationVar(&f.writeTimeout, "write-timeout", 10*time.Second, "deadline for each socket write; a peer that does not read in time is dropped")
	fs.DurationVar(&f.headTimeout, "head-timeout", 10*time.Second, "deadline for a client to send its request head")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for connections to close")
	fs.IntVar(&f.queueMessages, "queue-messages", 1024, "outbound queue limit per connection in `messages`; past it the oldest queued channel publications are dropped (clients recover them by offset), and when only replies fill it the connection is closed with 1013")
	fs.IntVar(&f.queueBytes, "queue-bytes", 8<<20, "outbound queue limit per connection in `bytes`; past it the oldest queued channel publications are dropped (clients recover them by offset), and when only replies fill it the connection is closed with 1013")
	fs.DurationVar(&f.batchDelay, "batch-delay", 0, "let channel publications wait up to this `long` for the flusher's next timed round, so that more of them share each connection's writev: fewer writes at moderate fan-out for up to this much more delivery latency; 0 writes at once (publications that pile up under load are batched anyway)")
	fs.BoolVar(&f.compression, "compression", true, "negotiate permessage-deflate (RFC 7692) when a client offers it")
	fs.BoolVar(&f.contextTakeover, "compression-context-takeover", false, "let compression keep its context between messages: better ratios, but a compressor of several hundred KB per connection")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.config, "config", "", "messaging configuration `file`, JSON or YAML (.yaml/.yml): channel rules by name prefix, {\"channels\":[{\"prefix\":\"chat:\",\"publish\":\"clients\",\"history\":50,\"maxAge\":\"10m\"}]}")
	fs.Var(&f.channels, "channel", "channel `rule` PREFIX[,publish=clients|server][,history=N][,max-age=DURATION], after those of --config; the longest matching prefix wins; built in: group (clients, history 100), stream (server, 60), presence (server, 100); repeatable")
	fs.DurationVar(&f.loginTimeout, "login-timeout", 30*time.Second, "how long a /ws connection may stay without logging in before it is closed with 4000")
	fs.DurationVar(&f.resumeGrace, "resume-grace", 30*time.Second, "how long a session outlives an abnormally closed connection, for a reconnect with its resume token; 0 ends it at once")
	fs.DurationVar(&f.streamInterval, "stream-interval", time.Second, "how often the server publishes its statistics on the stream channel; 0 disables")
	fs.IntVar(&f.roomMembers, "room-max-members", 32, "most members of one signaling room (`n`); a join past it is error 429")
	fs.IntVar(&f.roomsPerSession, "room-max-per-session", 16, "most rooms one session may be in (`n`); a join past it is error 429")
	fs.IntVar(&f.maxDetached, "max-detached", 4096, "most sessions in their resume grace period (`n`), whose connection dropped; past it the oldest of them ends at once, as if its grace period had passed; 0 means no cap")
	fs.IntVar(&f.detachedPerIP, "max-detached-per-ip", 64, "most sessions in their resume grace period (`n`) whose connections came from one address (an IPv4 address or an IPv6 /64); past it the oldest of that address ends at once; 0 means no cap")
	fs.Var(&f.iceServers, "ice-server", "STUN or TURN `url` (stun:stun.example.com:3478) handed to the web app's video room at /config.json; repeatable; none is needed on a LAN or loopback")
	fs.BoolVar(&f.debugVars, "debug-vars", false, "serve Go runtime statistics (expvar: memory, command line) at /debug/vars, as switchboard bench idle reads them")
	fs.BoolVar(&f.allowQuit, "allow-quit", false, "enable the peerconnection protocol's /quit (from loopback clients only): it answers parked /wait requests with \"Server shutting down\" and the server exits 0; off, /quit is answered like any unknown path")
}

// listenAddr resolves --addr and --port into the address to listen on.
func (f *serveFlags) listenAddr() (string, error) {
	host, port, err := net.SplitHostPort(f.addr)
	if err != nil {
		return "", fmt.Errorf("invalid --addr %q: %v", f.addr, err)
	}
	if f.port != "" {
		// --port replaces the port of --addr and keeps its host.
		p, err := strconv.Atoi(f.port)
		if err != nil || p < 1 || p > 65535 {
			return "", fmt.Errorf("%s is not a valid port.", f.port)
		}
		return net.JoinHostPort(host, strconv.Itoa(p)), nil
	}
	// Port 0 asks the system for a free port, which tests use.
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("%s is not a valid port.", port)
	}
	return net.JoinHostPort(host, port), nil
}

// orNegative maps a flag's 0 ("none") to the server's negative ("off"):
// the server's zero means "default".
func orNegative(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// noCap maps a flag's 0 ("no cap") to the server's negative: the
// server's zero means "default".
func noCap(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: switchboard serve [flags]\n\nRuns the server, all on one port: messaging on /ws (protoo JSON: login,\necho, routed messages, group and stream channels with history and recovery,\nWebRTC rooms with join and signal; also on any path whose upgrade offers the\nprotoo subprotocol, where ?peerId=NAME logs in and &roomId=ROOM joins),\nthe raw WebSocket echo (/echo), WebRTC peerconnection signaling (/sign_in,\n/sign_out, /wait, /message, compatible with WebRTC's peerconnection_client\nand server_test.html), the web app and /healthz.\nSIGINT or SIGTERM shuts down gracefully: WebSockets are closed with 1001 and\nparked peerconnection /wait requests get \"Server shutting down\".\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", strings.Join(fs.Args(), " "))
	}
	addr, err := f.listenAddr()
	if err != nil {
		return err
	}
	level, err := parseLevel(f.logLevel)
	if err != nil {
		return err
	}
	switch {
	case f.maxMessageBytes < 1:
		return fmt.Errorf("--max-message-bytes must be at least 1, got %d", f.maxMessageBytes)
	case f.maxConnections < 0:
		return fmt.Errorf("--max-connections must not be negative, got %d", f.maxConnections)
	case f.pingInterval < 0 || f.pingTimeout <= 0:
		return errors.New("--ping-interval must not be negative and --ping-timeout must be positive")
	case f.shutdownTimeout <= 0:
		return fmt.Errorf("--shutdown-timeout must be positive, got %s", f.shutdownTimeout)
	case f.queueMessages < 1 || f.queueBytes < 1:
		return errors.New("--queue-messages and --queue-bytes must be at least 1")
	case f.loginTimeout <= 0:
		return fmt.Errorf("--login-timeout must be positive, got %s", f.loginTimeout)
	case f.resumeGrace < 0 || f.streamInterval < 0:
		return errors.New("--resume-grace and --stream-interval must not be negative")
	case f.roomMembers < 1 || f.roomsPerSession < 1:
		return errors.New("--room-max-members and --room-max-per-session must be at least 1")
	case f.maxDetached < 0 || f.detachedPerIP < 0:
		return errors.New("--max-detached and --max-detached-per-ip must not be negative")
	}
	for _, u := range f.iceServers {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return fmt.Errorf("--ice-server %q: want a stun:, stuns:, turn: or turns: URL", u)
		}
	}
	var rules []broker.Rule
	if f.config != "" {
		if rules, err = loadConfig(f.config); err != nil {
			return err
		}
	}
	rules = append(rules, f.channels...)
	pingInterval := f.pingInterval
	if pingInterval == 0 {
		pingInterval = -1 // the server's zero means "default"
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := server.Config{
		AllowedOrigins:  f.allowOrigins,
		MaxMessageBytes: f.maxMessageBytes,
		MaxConnections:  f.maxConnections,
		PingInterval:    pingInterval,
		PingTimeout:     f.pingTimeout,
		WriteTimeout:    f.writeTimeout,
		HeadReadTimeout: f.headTimeout,
		QueueMessages:   f.queueMessages,
		QueueBytes:      f.queueBytes,
		BatchDelay:      f.batchDelay,
		Logger:          logger,
	}
	cfg.PeerConn.AllowQuit = f.allowQuit
	cfg.DebugVars = f.debugVars
	cfg.Messaging = server.MessagingConfig{
		LoginTimeout:       f.loginTimeout,
		ResumeGrace:        orNegative(f.resumeGrace),
		Channels:           rules,
		StreamInterval:     orNegative(f.streamInterval),
		MaxRoomMembers:     f.roomMembers,
		MaxRoomsPerSession: f.roomsPerSession,
		MaxDetached:        noCap(f.maxDetached),
		MaxDetachedPerIP:   noCap(f.detachedPerIP),
		ICEServers:         f.iceServers,
	}
	cfg.Deflate.Disabled = !f.compression
	cfg.Deflate.ContextTakeover = f.contextTakeover

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := server.New(cfg)
	fmt.Fprintf(stdout, "switchboard listening on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	case <-srv.Quit():
		logger.Info("peerconnection /quit received")
	}
	logger.Info("shutting down", "timeout", f.shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	if errors.Is(shutErr, context.DeadlineExceeded) {
		// The connections still open were closed by force; that is the
		// end of a shutdown with a deadline, not a failure.
		logger.Warn("shutdown timeout reached; remaining connections were closed", "timeout", f.shutdownTimeout.String())
		shutErr = nil
	}
	if err := <-errc; err != nil && !errors.Is(err, frontdoor.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if shutErr != nil {
		return fmt.Errorf("shutdown: %w", shutErr)
	}
	logger.Info("shut down cleanly")
	return nil
}
