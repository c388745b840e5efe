package broker

import (
	"fmt"
	"strings"
	"time"
)

// Publishers says who may publish on a channel.
type Publishers int

// The publisher policies; PublishersUnknown is the zero value.
const (
	PublishersUnknown Publishers = iota
	// PublishersClients lets logged-in clients (and the server) publish.
	PublishersClients
	// PublishersServer makes a server-fed channel: client publishes get 403.
	PublishersServer
)

// String returns the policy's configuration name.
func (p Publishers) String() string {
	switch p {
	case PublishersClients:
		return "clients"
	case PublishersServer:
		return "server"
	}
	return "unknown"
}

// ParsePublishers reads "clients" or "server".
func ParsePublishers(s string) (Publishers, error) {
	switch s {
	case "clients":
		return PublishersClients, nil
	case "server":
		return PublishersServer, nil
	}
	return PublishersUnknown, fmt.Errorf("publish must be \"clients\" or \"server\", got %q", s)
}

// Options are a channel's settings.
type Options struct {
	// Publish says who may publish. PublishersUnknown means clients.
	Publish Publishers
	// HistorySize is how many recent publications are kept for recovery;
	// 0 keeps none.
	HistorySize int
	// HistoryMaxAge drops publications older than this from the history;
	// 0 takes the broker's default (MemoryConfig.HistoryMaxAge, 1 h).
	HistoryMaxAge time.Duration
}

// Rule gives the Options of every channel whose name starts with Prefix.
type Rule struct {
	Prefix string
	Options
}

// Rules match channel names to Options: the rule with the longest matching
// prefix wins, the later one among equals. A name no rule matches gets
// DefaultOptions().
type Rules []Rule

// DefaultOptions returns the options of channels no rule matches: clients
// publish and the last 100 publications are kept.
func DefaultOptions() Options {
	return Options{Publish: PublishersClients, HistorySize: 100}
}

// Built-in channel names.
const (
	ChannelGroup    = "group"    // clients publish, history 100
	ChannelStream   = "stream"   // server-fed statistics, every second
	ChannelPresence = "presence" // server-fed joins and leaves
)

// DefaultRules are the built-in channels' rules; configured rules are
// appended after them and so override them for equal prefixes.
func DefaultRules() Rules {
	return Rules{
		{Prefix: ChannelGroup, Options: Options{Publish: PublishersClients, HistorySize: 100}},
		{Prefix: ChannelStream, Options: Options{Publish: PublishersServer, HistorySize: 60}},
		{Prefix: ChannelPresence, Options: Options{Publish: PublishersServer, HistorySize: 100}},
	}
}

// Options returns the options for channel.
func (r Rules) Options(channel string) Options {
	best, found := -1, false
	var o Options
	for _, rule := range r {
		if strings.HasPrefix(channel, rule.Prefix) && len(rule.Prefix) >= best {
			best, o, found = len(rule.Prefix), rule.Options, true
		}
	}
	if !found {
		o = DefaultOptions()
	}
	if o.Publish == PublishersUnknown {
		o.Publish = PublishersClients
	}
	return o
}
