package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrLocked is returned by Lock when another process holds the run lock.
var ErrLocked = errors.New("another activator run holds the lock")

// LockError names the process holding the run lock.
type LockError struct {
	Path    string
	PID     int
	Started time.Time
}

func (e *LockError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = "pid " + strconv.Itoa(e.PID)
		if !e.Started.IsZero() {
			holder += ", started " + e.Started.UTC().Format(time.RFC3339)
		}
	}
	return fmt.Sprintf("another activator run holds the lock on this state database (%s); wait for it to finish, or stop it, then try again", holder)
}

// Unwrap lets callers test for ErrLocked.
func (e *LockError) Unwrap() error { return ErrLocked }

// RunLock is held for the length of an activation run, so that two runs never
// call the portal for the same state database at once. It is an advisory
// flock on a file beside the database: the kernel releases it when the
// process dies, so a crashed run never leaves a stale lock behind.
type RunLock struct {
	f *os.File
}

// Lock takes the run lock without waiting. When it is held, the error is a
// *LockError naming the holder's pid and start time.
func (s *Store) Lock() (*RunLock, error) {
	path := s.path + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open run lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			le := &LockError{Path: path}
			if b, rerr := os.ReadFile(path); rerr == nil {
				fields := strings.Fields(string(b))
				if len(fields) >= 2 {
					le.PID, _ = strconv.Atoi(fields[0])
					le.Started, _ = time.Parse(time.RFC3339, fields[1])
				}
			}
			return nil, le
		}
		return nil, fmt.Errorf("take run lock: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "%d %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
		_ = f.Sync()
	}
	return &RunLock{f: f}, nil
}

// Unlock releases the lock.
func (l *RunLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
	return err
}
