package broker_test

import (
	"testing"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/broker/brokertest"
)

// TestMemorySuite runs the behaviour suite of every Broker against Memory.
func TestMemorySuite(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, cfg brokertest.Config) broker.Broker {
		return broker.NewMemory(broker.MemoryConfig{
			Rules:               cfg.Rules,
			MaxChannels:         cfg.MaxChannels,
			MaxChannelsPerQuota: cfg.MaxChannelsPerQuota,
			MaxHistoryBytes:     cfg.MaxHistoryBytes,
			HistoryMaxAge:       cfg.HistoryMaxAge,
			ReplayBytes:         cfg.ReplayBytes,
			ReplayCount:         cfg.ReplayCount,
			Now:                 cfg.Now,
		})
	})
}
