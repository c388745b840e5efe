package bench

import (
	"fmt"
	"syscall"
)

// fdReserve is the file descriptors kept free for everything besides the
// load's connections (listeners, pipes, HTTP polls, the publisher).
const fdReserve = 200

// RaiseFileLimit raises the soft open-files limit to the hard one (child
// processes inherit it) and returns the new limit.
func RaiseFileLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return 0, err
		}
	}
	return r.Cur, nil
}

// CheckConnections says whether n connections fit the open-files limit:
// the generator holds one socket per connection and so does the server,
// each in its own process, so each process needs n plus a reserve.
func CheckConnections(n int, limit uint64) error {
	if uint64(n)+fdReserve > limit {
		return fmt.Errorf("%d connections do not fit the open-files limit of %d (ulimit -Hn): each of the generator and the server holds one socket per connection; use at most %d, or raise the hard limit", n, limit, int(limit)-fdReserve)
	}
	return nil
}
