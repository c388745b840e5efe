package websocket

// QueueState is how full a connection's outbound queue is.
type QueueState struct {
	// Messages and Bytes are queued and not yet taken by the writer
	// (droppable ones included).
	Messages, Bytes int
	// MaxMessages and MaxBytes are the queue's limits
	// (Config.QueueMessages and Config.QueueBytes).
	MaxMessages, MaxBytes int
}

// Queued reports how full the outbound queue is, so that a service can
// refuse one client's messages to this connection before the slow-consumer
// rule closes it.
func (c *Conn) Queued() QueueState {
	q := &c.out
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueState{Messages: len(q.data), Bytes: q.bytes, MaxMessages: c.cfg.QueueMessages, MaxBytes: c.cfg.QueueBytes}
}
