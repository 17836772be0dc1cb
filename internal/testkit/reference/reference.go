// Package reference finds the kubernetes-mixin renderings that burnrate's
// conformance tests compare against. They are Apache-2.0 files kept beside
// the repository, in ../shared/reference/kubernetes-mixin, never in it, so a
// clone on its own does not have them: tests that need them skip, saying
// what is missing, except under CI=true, where a missing rendering fails.
package reference

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// EnvDir names the environment variable that points at the directory of the
// renderings when they are not at ../shared/reference/kubernetes-mixin.
const EnvDir = "BURNRATE_REFERENCE"

// Dir is the directory the renderings are read from: $BURNRATE_REFERENCE,
// or ../shared/reference/kubernetes-mixin beside the repository.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("..", "shared", "reference", "kubernetes-mixin")
	}
	root := filepath.Join(filepath.Dir(self), "..", "..", "..")
	return filepath.Join(root, "..", "shared", "reference", "kubernetes-mixin")
}

// File returns the path of the rendering name. When it is absent the test
// is skipped with one line naming the file, or fails when CI is "true".
func File(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(Dir(), name)
	if _, err := os.Stat(p); err != nil {
		msg := "kubernetes-mixin reference " + name + " is absent (" + err.Error() + "); it lives in ../shared/reference/kubernetes-mixin beside the repository, or set " + EnvDir
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		} else {
			tb.Skip("skipping: " + msg)
		}
	}
	return p
}

// Read returns the contents of the rendering name, skipping or failing as
// File does when it is absent.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(File(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
