package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"sync"
)

// MemoryDirectory is the Directory of one node: a map of names under a
// mutex. Resume tokens are kept as SHA-256 hashes, as a shared directory
// would keep them.
type MemoryDirectory struct {
	mu     sync.Mutex
	byName map[string]*dirEntry
}

type dirEntry struct {
	Entry
	resume [sha256.Size]byte
}

var _ Directory = (*MemoryDirectory)(nil)

// NewMemoryDirectory returns an empty directory.
func NewMemoryDirectory() *MemoryDirectory {
	return &MemoryDirectory{byName: make(map[string]*dirEntry)}
}

// Claim implements Directory.
func (d *MemoryDirectory) Claim(e Entry, resume string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byName[e.Name]; ok {
		return ErrNameTaken
	}
	e.Online = true
	d.byName[e.Name] = &dirEntry{Entry: e, resume: sha256.Sum256([]byte(resume))}
	return nil
}

// Lookup implements Directory.
func (d *MemoryDirectory) Lookup(name string) (Entry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.byName[name]; e != nil {
		return e.Entry, true
	}
	return Entry{}, false
}

// Authorize implements Directory. The token is compared in constant time.
func (d *MemoryDirectory) Authorize(name, resume string, viaURL bool) (Entry, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.byName[name]
	if e == nil {
		return Entry{}, false, ErrNoSession
	}
	byToken := false
	if resume != "" {
		h := sha256.Sum256([]byte(resume))
		byToken = subtle.ConstantTimeCompare(h[:], e.resume[:]) == 1
	}
	if !byToken && !(viaURL && e.ViaURL) {
		return Entry{}, false, ErrNameTaken
	}
	return e.Entry, byToken, nil
}

// SetOnline implements Directory.
func (d *MemoryDirectory) SetOnline(name, key string, online bool, resume string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.byName[name]
	if e == nil || e.Key != key {
		return ErrNoSession
	}
	e.Online = online
	if resume != "" {
		e.resume = sha256.Sum256([]byte(resume))
	}
	return nil
}

// Release implements Directory.
func (d *MemoryDirectory) Release(name, key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.byName[name]; e != nil && e.Key == key {
		delete(d.byName, name)
		return true
	}
	return false
}

// Online implements Directory.
func (d *MemoryDirectory) Online(after string, limit int) ([]string, bool) {
	d.mu.Lock()
	names := make([]string, 0, len(d.byName))
	for name, e := range d.byName {
		if e.Online && name > after {
			names = append(names, name)
		}
	}
	d.mu.Unlock()
	slices.Sort(names)
	if len(names) <= limit {
		return names, false
	}
	return names[:limit], true
}
