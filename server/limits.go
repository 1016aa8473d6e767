package server

import (
	"errors"
	"log/slog"
	"slices"
	"sync"
)

// slots counts the clients the listeners serve against a limit that an
// administrator may change while the server runs (SetMaxClients): a
// lowered limit stops the listeners accepting until enough clients have
// left, as libvirtd suspends its services, and the clients already
// connected stay; a raised one lets the clients waiting in the listen
// queue in at once.
type slots struct {
	mu    sync.Mutex
	max   int
	used  int           // slots taken, including one a listener holds while it waits in Accept
	wake  chan struct{} // closed and replaced whenever used or max changes
	limit int           // the limit as set, for reports
}

func (s *slots) init(max int) {
	s.max, s.limit, s.wake = max, max, make(chan struct{})
}

// take waits for a free slot, or for quit to close (false).
func (s *slots) take(quit <-chan struct{}) bool {
	for {
		s.mu.Lock()
		if s.used < s.max {
			s.used++
			s.mu.Unlock()
			return true
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-quit:
			return false
		}
	}
}

// admit tells whether a slot taken before the limit was lowered is still
// within it.
func (s *slots) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used <= s.max
}

// give frees a slot.
func (s *slots) give() {
	s.mu.Lock()
	s.used--
	s.changed()
	s.mu.Unlock()
}

// changed wakes the listeners waiting in take; s.mu is held.
func (s *slots) changed() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// ErrBadLimit is matched (errors.Is) by the error of a limit set out of
// its range.
var ErrBadLimit = errors.New("server: limit out of range")

// SetMaxClients changes how many clients the server's listeners serve
// at once (WithMaxClients) while it runs; libvirt's admin API sets it
// with virAdmServerSetClientLimits (nclients_max). Lowering it below the
// clients connected disconnects none of them: the listeners accept no
// one until enough have left. n must be at least 1.
func (s *Server) SetMaxClients(n int) error {
	if n < 1 {
		return ErrBadLimit
	}
	s.slots.mu.Lock()
	s.slots.max, s.slots.limit = n, n
	s.slots.changed()
	s.slots.mu.Unlock()
	return nil
}

// Limits are a server's client limits and counts now.
type Limits struct {
	// MaxClients is the limit of clients served at once (WithMaxClients,
	// SetMaxClients).
	MaxClients int
	// Clients is how many clients the listeners serve now (connections
	// given to ServeConn are not counted, as they do not count against
	// the limit).
	Clients int
	// MaxRequests is the calls one client may have running at once
	// (WithMaxRequests).
	MaxRequests int
	// Calls is how many calls run now, over all clients.
	Calls int
	// MaxAnonymous is the limit of clients yet to authenticate
	// (WithMaxAnonymousClients); 0 when there is none.
	MaxAnonymous int
	// Anonymous is how many clients have yet to authenticate now.
	Anonymous int
}

// Limits returns the server's client limits and its load now.
func (s *Server) Limits() Limits {
	s.slots.mu.Lock()
	l := Limits{MaxClients: s.slots.limit, MaxRequests: s.cfg.maxRequests, MaxAnonymous: cap(s.anonymous)}
	s.slots.mu.Unlock()
	for _, c := range s.Clients() {
		l.Calls += len(c.sem)
		if c.authPending.Load() {
			l.Anonymous++
		}
		if c.slot {
			l.Clients++
		}
	}
	return l
}

// Clients returns the server's connected clients in the order they came
// (by Identity().ID), for an administrator's listing.
func (s *Server) Clients() []*Conn {
	s.mu.Lock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *Conn) int {
		switch {
		case a.ident.ID < b.ident.ID:
			return -1
		case a.ident.ID > b.ident.ID:
			return 1
		}
		return 0
	})
	return out
}

// Client returns the connected client whose Identity().ID is id.
func (s *Server) Client(id uint64) (*Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.ident.ID == id {
			return c, true
		}
	}
	return nil, false
}

// Logger returns the server's logger (WithLogger), for a program serving
// beside it (such as the admin program) to log alike.
func (s *Server) Logger() *slog.Logger { return s.log }
