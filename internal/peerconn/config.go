package peerconn

import (
	"log/slog"
	"time"
)

// Defaults for the zero values in [Config] (docs/peerconnection.md, "Members,
// queues and expiry").
const (
	DefaultExpireAfter        = 30 * time.Second
	DefaultCheckInterval      = time.Second
	DefaultMaxBodyBytes       = 1 << 20
	DefaultMaxQueueItems      = 1000
	DefaultMaxQueueBytes      = 8 << 20
	DefaultMaxMembers         = 10000
	DefaultMaxNoticeBytes     = 16 << 20
	DefaultMaxTotalQueueBytes = 256 << 20
	DefaultReadTimeout        = 10 * time.Second
	DefaultWriteTimeout       = 10 * time.Second
	DefaultLinger             = 10 * time.Second
)

// Config configures a [Service]. The zero value works, with the defaults
// above (docs/peerconnection.md).
type Config struct {
	// AllowQuit enables /quit (docs/peerconnection.md, "Where Switchboard
	// differs"): from a loopback client it answers the "Quitting..." page,
	// sends "Server shutting down" to every parked /wait, drops every member
	// and calls OnQuit. Default false: /quit is answered like any unknown path
	// (500 Sorry).
	AllowQuit bool

	// OnQuit is called, once, after an allowed /quit was answered. nil
	// does nothing.
	OnQuit func()

	// ExpireAfter is how long a member without a parked /wait lives after
	// it was last seen. Default 30s.
	ExpireAfter time.Duration

	// CheckInterval is how often members are checked for expiry.
	// Default 1s.
	CheckInterval time.Duration

	// MaxBodyBytes limits a POST body; a larger Content-Length is answered
	// 413. Default 1 MiB.
	MaxBodyBytes int

	// MaxQueueItems and MaxQueueBytes limit each member's queue of pending
	// responses. A message beyond them is refused with 503. Presence
	// notices count against MaxQueueItems too: beyond it the member loses
	// its oldest notices (counted in Stats.Dropped). Defaults 1000 and
	// 8 MiB.
	MaxQueueItems int
	MaxQueueBytes int

	// MaxTotalQueueBytes bounds the messages queued for all members
	// together, so that many members that never poll cannot hold
	// MaxMembers × MaxQueueBytes. Past it a message is refused with 503
	// ("the server's queues are full") until members read theirs or go.
	// Default 256 MiB.
	MaxTotalQueueBytes int

	// MaxNoticeBytes bounds the memory of all presence notices not yet
	// read by every member. Each notice is encoded once and shared by all
	// the queues that hold it, and costs its entry ("name,id,1\n", at most
	// 512 bytes of name) plus 48 bytes. Beyond the bound the oldest notices
	// are dropped: members that have not read them (they have not polled
	// for that many sign-ins and sign-outs) lose them, counted in
	// Stats.Dropped. A member that keeps polling is at most a round trip
	// behind, so it loses none unless that much arrives in between.
	// Default 16 MiB.
	MaxNoticeBytes int

	// RandomIDs gives members random ids in 1..2^31-1, unique among the
	// members signed in, instead of the reference server's 1, 2, 3, ...
	// WebRTC's native client and its test page take ids as 32-bit
	// integers and accept either. Random ids cannot be guessed by a client
	// that has not signed in; they are still not authentication: every
	// sign-in reply and presence notice tells every member's id, and
	// whoever knows an id can wait, send and sign out as that member.
	// Default false: ids as the reference server gives them.
	RandomIDs bool

	// MaxMembers caps the members signed in at once; a sign-in beyond it is
	// answered 503. Default 10000.
	MaxMembers int

	// Roster is the member list and id allocator. Default nil: a new
	// [MemoryRoster] with MaxMembers and the ids RandomIDs chooses; a
	// Roster given here applies its own cap and ids instead.
	Roster Roster

	// ReadTimeout bounds reading a POST body, from the moment the handler
	// gets the connection. Default 10s. Parked waits have no read timeout.
	ReadTimeout time.Duration

	// WriteTimeout bounds writing each response. Default 10s.
	WriteTimeout time.Duration

	// Linger is how long a connection stays open after its response, for the
	// client to read it and close first (docs/peerconnection.md, "Model").
	// Default 10s.
	Linger time.Duration

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time

	// Logger receives the service's logs (never message bodies: SDP holds
	// ICE credentials). nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setInt := func(n *int, def int) {
		if *n <= 0 {
			*n = def
		}
	}
	setDur(&c.ExpireAfter, DefaultExpireAfter)
	setDur(&c.CheckInterval, DefaultCheckInterval)
	setDur(&c.ReadTimeout, DefaultReadTimeout)
	setDur(&c.WriteTimeout, DefaultWriteTimeout)
	setDur(&c.Linger, DefaultLinger)
	setInt(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setInt(&c.MaxQueueItems, DefaultMaxQueueItems)
	setInt(&c.MaxQueueBytes, DefaultMaxQueueBytes)
	setInt(&c.MaxMembers, DefaultMaxMembers)
	setInt(&c.MaxNoticeBytes, DefaultMaxNoticeBytes)
	setInt(&c.MaxTotalQueueBytes, DefaultMaxTotalQueueBytes)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
