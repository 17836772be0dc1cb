//go:build !unix

package output

import "os"

// flock does not lock where there is no flock(2): concurrent runs into one
// directory are the user's to avoid there.
func flock(*os.File, func()) error { return nil }

func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}
