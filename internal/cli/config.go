package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/internal/broker"
)

// fileConfig is the --config file: channel rules by name prefix, in JSON
// or YAML (by the file's extension: .yaml or .yml, else JSON):
//
//	channels:
//	  - prefix: "chat:"
//	    publish: clients   # or server
//	    history: 50        # publications kept for recovery
//	    maxAge: 10m        # history age limit; 0 or absent: --history-max-age
type fileConfig struct {
	Channels []channelRule `json:"channels" yaml:"channels"`
}

type channelRule struct {
	Prefix  *string `json:"prefix" yaml:"prefix"`
	Publish string  `json:"publish" yaml:"publish"`
	History int     `json:"history" yaml:"history"`
	MaxAge  string  `json:"maxAge" yaml:"maxAge"`
}

// loadConfig reads and checks a --config file.
func loadConfig(path string) (broker.Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var fc fileConfig
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
			return nil, fmt.Errorf("--config %s: %v", path, err)
		}
	default:
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fc); err != nil {
			return nil, fmt.Errorf("--config %s: %v", path, err)
		}
	}
	rules := make(broker.Rules, 0, len(fc.Channels))
	for i, c := range fc.Channels {
		r, err := c.rule()
		if err != nil {
			return nil, fmt.Errorf("--config %s: channels[%d]: %v", path, i, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func (c channelRule) rule() (broker.Rule, error) {
	if c.Prefix == nil {
		return broker.Rule{}, errors.New("missing prefix")
	}
	r := broker.Rule{Prefix: *c.Prefix}
	r.Publish = broker.PublishersClients
	if c.Publish != "" {
		p, err := broker.ParsePublishers(c.Publish)
		if err != nil {
			return r, err
		}
		r.Publish = p
	}
	if c.History < 0 {
		return r, fmt.Errorf("history must not be negative, got %d", c.History)
	}
	r.HistorySize = c.History
	if c.MaxAge != "" && c.MaxAge != "0" {
		d, err := time.ParseDuration(c.MaxAge)
		if err != nil || d < 0 {
			return r, fmt.Errorf("maxAge %q is not a positive duration such as 10m", c.MaxAge)
		}
		r.HistoryMaxAge = d
	}
	return r, nil
}

// channelFlag is the repeatable --channel flag:
// PREFIX[,publish=clients|server][,history=N][,max-age=DURATION].
type channelFlag []broker.Rule

func (f *channelFlag) String() string { return "" }

func (f *channelFlag) Set(s string) error {
	parts := strings.Split(s, ",")
	prefix := parts[0]
	c := channelRule{Prefix: &prefix}
	for _, kv := range parts[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q: want key=value", kv)
		}
		switch k {
		case "publish":
			c.Publish = v
		case "history":
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("history %q is not a number", v)
			}
			c.History = n
		case "max-age":
			c.MaxAge = v
		default:
			return fmt.Errorf("unknown key %q (want publish, history or max-age)", k)
		}
	}
	r, err := c.rule()
	if err != nil {
		return err
	}
	*f = append(*f, r)
	return nil
}
