package reference

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder stands in for a test: it notes Skip and Fatal instead of ending.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()               {}
func (r *recorder) Skip(args ...any)      { r.skipped = args[0].(string) }
func (r *recorder) Fatal(args ...any)     { r.failed = args[0].(string) }
func (r *recorder) Fatalf(string, ...any) { r.failed = "fatalf" }

func TestFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "present.yaml"), []byte("groups: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDir, dir)
	for _, tc := range []struct {
		name, file, ci string
		skip, fail     bool
	}{
		{name: "present", file: "present.yaml", ci: "true"},
		{name: "absent skips", file: "absent.yaml", ci: "", skip: true},
		{name: "absent fails under CI", file: "absent.yaml", ci: "true", fail: true},
		{name: "CI other than true skips", file: "absent.yaml", ci: "1", skip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			p := File(r, tc.file)
			if (r.skipped != "") != tc.skip || (r.failed != "") != tc.fail {
				t.Fatalf("skipped=%q failed=%q, want skip %v fail %v", r.skipped, r.failed, tc.skip, tc.fail)
			}
			if p != filepath.Join(dir, tc.file) {
				t.Errorf("path %s", p)
			}
			for _, msg := range []string{r.skipped, r.failed} {
				if msg != "" && (!strings.Contains(msg, tc.file) || !strings.Contains(msg, "../shared/reference")) {
					t.Errorf("message %q does not name the file and where it lives", msg)
				}
			}
		})
	}
}

func TestDirDefault(t *testing.T) {
	t.Setenv(EnvDir, "")
	want := filepath.Join("shared", "reference", "kubernetes-mixin")
	if d := Dir(); !strings.HasSuffix(filepath.ToSlash(d), filepath.ToSlash(want)) {
		t.Errorf("Dir() = %s, want …/%s", d, want)
	}
}
