package broker

// Sweep drops the publications past their channel's maximum age and
// removes the channels left idle (no subscribers and no history), so that
// one-off channels do not fill the table. It returns how many it removed.
// Call it periodically; a create on a full table calls it too.
func (b *Memory) Sweep() int {
	chans := b.snapshot()
	now := b.cfg.Now()
	n := 0
	for _, ch := range chans {
		ch.mu.Lock()
		b.expire(ch, now)
		remove := b.idle(ch)
		ch.mu.Unlock()
		if remove {
			b.remove(ch)
			n++
		}
	}
	return n
}

// idle reports whether ch may be removed, and marks it dead if so; ch.mu
// is held.
func (b *Memory) idle(ch *channel) bool {
	if ch.dead || len(ch.subs) > 0 || len(ch.pending) > 0 || len(ch.history) > 0 {
		return false
	}
	ch.dead = true
	return true
}

// remove takes a dead channel out of the table and off its creator's
// quota; its next use starts a new epoch.
func (b *Memory) remove(ch *channel) {
	b.mu.Lock()
	if b.channels[ch.name] == ch {
		delete(b.channels, ch.name)
	}
	b.mu.Unlock()
	ch.creator.Release()
	b.removed.Add(1)
}

// snapshot returns the channels in the table now.
func (b *Memory) snapshot() []*channel {
	b.mu.Lock()
	defer b.mu.Unlock()
	chans := make([]*channel, 0, len(b.channels))
	for _, ch := range b.channels {
		chans = append(chans, ch)
	}
	return chans
}
