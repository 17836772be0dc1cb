//go:build unix

package output

import (
	"errors"
	"os"
	"syscall"
)

// flock takes the exclusive lock of f (flock(2)), calling waiting first
// when another process or open file holds it.
func flock(f *os.File, waiting func()) error {
	fd := int(f.Fd())
	err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return err
	}
	waiting()
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// sameFile says whether the open f is still the file at path, so that a
// lock taken on a lock file another run removed meanwhile is taken again.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
