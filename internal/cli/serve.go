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
	"syscall"
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
	maxConnsPerIP   int
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
	randomPeerIDs   bool
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
	historyBytes    int64
	historyMaxAge   time.Duration
	channelsPerSess int
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", ":8888", "`address` to listen on, host:port (dual-stack when the host is empty)")
	fs.StringVar(&f.port, "port", "", "`port` to listen on (1-65535), replacing the port of --addr, as WebRTC's peerconnection_server takes --port=8888")
	fs.Var(&f.allowOrigins, "allow-origin", "browser `origin` allowed to open WebSockets besides the server's own: a full origin (https://app.example.com), a host pattern (*.example.com) or *; repeatable")
	fs.Int64Var(&f.maxMessageBytes, "max-message-bytes", 1<<20, "largest WebSocket message a client may send, in `bytes`; larger closes with 1009")
	fs.IntVar(&f.maxConnections, "max-connections", 10000, "at most `n` open TCP connections; more are answered 503; 0 means no cap")
	fs.IntVar(&f.maxConnsPerIP, "max-connections-per-ip", 1000, "at most `n` open TCP connections from one client address (IPv6: one /64), so one client cannot take all of --max-connections; more are answered 503; loopback clients (a local reverse proxy, switchboard bench) are exempt; 0 means no cap")
	fs.DurationVar(&f.pingInterval, "ping-interval", 25*time.Second, "WebSocket keepalive ping `interval`; 0 disables")
	fs.DurationVar(&f.pingTimeout, "ping-timeout", 10*time.Second, "how long a peer may stay silent after a ping before it is dropped")
	fs.DurationVar(&f.writeTimeout, "write-timeout", 10*time.Second, "how long a WebSocket write may make no progress, and the deadline for each peerconnection response; a peer that takes no bytes for that long is dropped (a slow but steady WebSocket reader is not: its oldest queued channel publications are dropped instead)")
	fs.DurationVar(&f.headTimeout, "head-timeout", 10*time.Second, "deadline for a client to send its request head")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown waits for connections to close")
	fs.IntVar(&f.queueMessages, "queue-messages", 1024, "outbound queue limit per connection in `messages`; past it the oldest queued channel publications are dropped (clients recover them by offset), and when only replies fill it the connection is closed with 1013")
	fs.IntVar(&f.queueBytes, "queue-bytes", 8<<20, "outbound queue limit per connection in `bytes`; it bounds the backlog, not one message: a message always fits an empty queue, and one that would take a non-empty queue past the limit first drops the oldest queued channel publications (clients recover them by offset), and when only replies fill it the connection is closed with 1013")
	fs.DurationVar(&f.batchDelay, "batch-delay", 0, "let channel publications wait up to this `duration` for the flusher's next timed round, so that more of them share each connection's writev: fewer writes at moderate fan-out for up to this much more delivery latency; 0 writes at once (publications that pile up under load are batched anyway)")
	fs.BoolVar(&f.compression, "compression", true, "negotiate permessage-deflate (RFC 7692) when a client offers it")
	fs.BoolVar(&f.contextTakeover, "compression-context-takeover", false, "let compression keep its context between messages: better ratios, but a compressor of several hundred KB per connection")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.config, "config", "", "messaging configuration `file`, JSON or YAML (.yaml/.yml): channel rules by name prefix, as {\"channels\": [{\"prefix\": \"chat:\", \"publish\": \"clients\", \"history\": 50, \"maxAge\": \"10m\"}]}")
	fs.Var(&f.channels, "channel", "channel `rule` PREFIX[,publish=clients|server][,history=N][,max-age=DURATION], after those of --config; the longest matching prefix wins; built in: group (clients, history 100), stream (server, 60), presence (server, 100); repeatable")
	fs.DurationVar(&f.loginTimeout, "login-timeout", 30*time.Second, "how long a /ws connection may stay without logging in before it is closed with 4000")
	fs.DurationVar(&f.resumeGrace, "resume-grace", 30*time.Second, "how long a session outlives an abnormally closed connection, for a reconnect with its resume token; 0 ends it at once")
	fs.DurationVar(&f.streamInterval, "stream-interval", time.Second, "how often the server publishes its statistics on the stream channel; 0 disables")
	fs.Int64Var(&f.historyBytes, "history-bytes", 256<<20, "at most `bytes` of channel history kept for recovery, all channels together, counted decompressed; past it the oldest publications of any channel are dropped (a subscriber whose since is older gets recovered:false); 0 means no cap; the default is 256 MiB")
	fs.DurationVar(&f.historyMaxAge, "history-max-age", time.Hour, "history max `age` of channels whose rule sets none (--channel max-age); a channel with no subscribers and no history left is removed; 0 keeps publications until the history size or --history-bytes pushes them out")
	fs.IntVar(&f.channelsPerSess, "channels-per-session", 100, "at most `n` channels one session may have created (by publish or subscribe) that are still in use; one more is error 429; 0 means no cap")
	fs.IntVar(&f.roomMembers, "room-max-members", 32, "at most `n` members in one signaling room; a join past it is error 429")
	fs.IntVar(&f.roomsPerSession, "room-max-per-session", 16, "at most `n` rooms per session; a join past it is error 429")
	fs.IntVar(&f.maxDetached, "max-detached", 4096, "at most `n` sessions in their resume grace period (their connection dropped); past it the oldest of them ends at once, as if its grace period had passed; 0 means no cap")
	fs.IntVar(&f.detachedPerIP, "max-detached-per-ip", 64, "at most `n` sessions in their resume grace period whose connections came from one address (an IPv4 address or an IPv6 /64); past it the oldest of that address ends at once; 0 means no cap")
	fs.Var(&f.iceServers, "ice-server", "STUN or TURN `url` (stun:stun.example.com:3478) handed to the web app's video room at /config.json; repeatable; none is needed on a LAN or loopback")
	fs.BoolVar(&f.debugVars, "debug-vars", false, "serve Go runtime statistics (expvar: memory, command line) at /debug/vars, as switchboard bench idle reads them")
	fs.BoolVar(&f.randomPeerIDs, "peerconnection-random-ids", false, "give peerconnection members random ids in 1..2^31-1 instead of 1, 2, 3, ...; WebRTC's native client and test page accept both; random ids cannot be guessed without signing in, but they are not authentication: every sign-in reply lists every member's id")
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

// startLine is the line serve prints once it listens: the address and
// the URLs to open, with localhost for a wildcard host.
func startLine(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "switchboard listening on " + a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	hp := net.JoinHostPort(host, port)
	return fmt.Sprintf("switchboard listening on %s (web app http://%s/, WebSocket ws://%s/ws, peerconnection http://%s)", a, hp, hp, hp)
}

// orNegative maps a flag's 0 ("none") to the server's negative ("off"):
// the server's zero means "default".
func orNegative(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// noCap maps a cap flag's 0 ("no cap") to the server's negative: the
// server's zero means "default".
func noCap[T int | int64](n T) T {
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

// serveIntro is the top of `serve --help`; the flags follow it.
const serveIntro = `Usage: switchboard serve [flags]

Runs the server, all on one port: messaging on /ws (protoo JSON: login,
echo, routed messages, group and stream channels with history and recovery,
WebRTC rooms with join and signal; also on any path whose upgrade offers the
protoo subprotocol, where ?peerId=NAME logs in and &roomId=ROOM joins),
the raw WebSocket echo (/echo), WebRTC peerconnection signaling (/sign_in,
/sign_out, /wait, /message, compatible with WebRTC's peerconnection_client
and server_test.html), the web app at / and /healthz.
It prints one line with the URLs once it listens.
SIGINT or SIGTERM shuts down gracefully: WebSockets are closed with 1001 and
parked peerconnection /wait requests get "Server shutting down".
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve")
	var f serveFlags
	f.register(fs)
	if err := parseFlags(fs, args, serveIntro, stdout, stderr); err != nil {
		return err
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
	case f.maxConnsPerIP < 0:
		return fmt.Errorf("--max-connections-per-ip must not be negative, got %d", f.maxConnsPerIP)
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
	case f.historyBytes < 0 || f.historyMaxAge < 0 || f.channelsPerSess < 0:
		return errors.New("--history-bytes, --history-max-age and --channels-per-session must not be negative")
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
	cfg.PeerConn.RandomIDs = f.randomPeerIDs
	cfg.MaxConnectionsPerIP = f.maxConnsPerIP
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
		HistoryBytes:       noCap(f.historyBytes),
		HistoryMaxAge:      orNegative(f.historyMaxAge),
		ChannelsPerSession: noCap(f.channelsPerSess),
	}
	cfg.Deflate.Disabled = !f.compression
	cfg.Deflate.ContextTakeover = f.contextTakeover

	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("another process listens on %s; pick another with --port", addr)
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := server.New(cfg)
	fmt.Fprintln(stdout, startLine(ln.Addr()))
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
