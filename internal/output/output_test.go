package output

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	specA = Source{Spec: "a.yaml", Profile: "optimized"}
	specB = Source{Spec: "b.yaml", Profile: "optimized"}
)

// run writes files of sources and returns the plan.
func run(t *testing.T, files []File, sources ...Source) []Change {
	t.Helper()
	changes, err := Write(files, sources, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return changes
}

func files(root string, src Source, nameData ...string) []File {
	var out []File
	for i := 0; i+1 < len(nameData); i += 2 {
		out = append(out, File{Root: root, Rel: nameData[i], Data: []byte(nameData[i+1]), Source: src})
	}
	return out
}

// actions renders a plan as "action base-name" lines, manifests left out.
func actions(changes []Change) []string {
	var out []string
	for _, c := range changes {
		if filepath.Base(c.Path) == ManifestName {
			continue
		}
		out = append(out, c.Action.String()+" "+filepath.Base(c.Path))
	}
	return out
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestPlan runs a first generation, then a second one, and compares the
// second plan and the files left on disk.
func TestPlan(t *testing.T) {
	tests := []struct {
		name   string
		before func(root string) // after the first run
		second func(root string) []File
		srcs   []Source
		want   []string
		exist  []string // files that must still exist afterwards
		gone   []string
	}{
		{
			name:   "unchanged files are not planned",
			second: func(r string) []File { return files(r, specA, "x.yaml", "x1", "y.yaml", "y1") },
			srcs:   []Source{specA},
			want:   nil,
			exist:  []string{"x.yaml", "y.yaml"},
		},
		{
			name:   "a changed file is updated",
			second: func(r string) []File { return files(r, specA, "x.yaml", "x2", "y.yaml", "y1") },
			srcs:   []Source{specA},
			want:   []string{"update x.yaml"},
		},
		{
			name:   "a file no longer produced is deleted",
			second: func(r string) []File { return files(r, specA, "x.yaml", "x1") },
			srcs:   []Source{specA},
			want:   []string{"delete y.yaml"},
			exist:  []string{"x.yaml"},
			gone:   []string{"y.yaml"},
		},
		{
			name:   "an edited file no longer produced is kept",
			before: func(r string) { os.WriteFile(filepath.Join(r, "y.yaml"), []byte("mine"), 0o644) },
			second: func(r string) []File { return files(r, specA, "x.yaml", "x1") },
			srcs:   []Source{specA},
			want:   []string{"keep y.yaml"},
			exist:  []string{"y.yaml"},
		},
		{
			name:   "a file burnrate did not write is never deleted",
			before: func(r string) { os.WriteFile(filepath.Join(r, "z.yaml"), []byte("z"), 0o644) },
			second: func(r string) []File { return files(r, specA, "x.yaml", "x1") },
			srcs:   []Source{specA},
			want:   []string{"delete y.yaml"},
			exist:  []string{"x.yaml", "z.yaml"},
		},
		{
			name:   "another spec's files are left alone",
			second: func(r string) []File { return files(r, specB, "w.yaml", "w1") },
			srcs:   []Source{specB},
			want:   []string{"create w.yaml"},
			exist:  []string{"x.yaml", "y.yaml", "w.yaml"},
		},
		{
			name:   "a file already gone is not planned",
			before: func(r string) { os.Remove(filepath.Join(r, "y.yaml")) },
			second: func(r string) []File { return files(r, specA, "x.yaml", "x1") },
			srcs:   []Source{specA},
			want:   nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "rules")
			first := run(t, files(root, specA, "x.yaml", "x1", "y.yaml", "y1"), specA)
			if got := actions(first); !slices.Equal(got, []string{"create x.yaml", "create y.yaml"}) {
				t.Fatalf("first run: %v", got)
			}
			if tc.before != nil {
				tc.before(root)
			}
			changes := run(t, tc.second(root), tc.srcs...)
			if got := actions(changes); !slices.Equal(got, tc.want) {
				t.Errorf("second run: %v, want %v", got, tc.want)
			}
			for _, f := range tc.exist {
				if _, err := os.Stat(filepath.Join(root, f)); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			for _, f := range tc.gone {
				if _, err := os.Stat(filepath.Join(root, f)); !os.IsNotExist(err) {
					t.Errorf("%s still exists", f)
				}
			}
			// A third identical run changes nothing, manifest included.
			if again, _ := Plan(tc.second(root), tc.srcs); len(again) != 0 {
				t.Errorf("third run plans %v", actions(again))
			}
		})
	}
}

func TestUnchangedFileKeepsItsModTime(t *testing.T) {
	root := t.TempDir()
	run(t, files(root, specA, "x.yaml", "x1", "y.yaml", "y1"), specA)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, f := range []string{"x.yaml", "y.yaml"} {
		os.Chtimes(filepath.Join(root, f), old, old)
	}
	run(t, files(root, specA, "x.yaml", "x2", "y.yaml", "y1"), specA)
	st, _ := os.Stat(filepath.Join(root, "y.yaml"))
	if !st.ModTime().Equal(old) {
		t.Errorf("unchanged y.yaml was rewritten (mtime %v)", st.ModTime())
	}
	if read(t, filepath.Join(root, "x.yaml")) != "x2" {
		t.Error("x.yaml not updated")
	}
}

// TestApplyFailureChangesNothing: when one target cannot be written, no
// file changes and no directory or temporary file is left behind.
func TestApplyFailureChangesNothing(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	run(t, files(rules, specA, "x.yaml", "x1", "y.yaml", "y1"), specA)
	blocker := filepath.Join(dir, "blocker")
	os.WriteFile(blocker, []byte("a file, not a directory"), 0o644)
	next := append(files(rules, specA, "x.yaml", "x2", "y.yaml", "y2", "n/new.yaml", "n"),
		files(filepath.Join(blocker, "runbooks"), specA, "k/Alert.md", "md")...)
	if _, err := Write(next, []Source{specA}, Options{}); err == nil || !strings.Contains(err.Error(), "cannot create output directory") {
		t.Fatalf("Write: %v, want an output directory error", err)
	}
	if read(t, filepath.Join(rules, "x.yaml")) != "x1" || read(t, filepath.Join(rules, "y.yaml")) != "y1" {
		t.Error("existing files changed")
	}
	entries, _ := os.ReadDir(rules)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{ManifestName, "x.yaml", "y.yaml"}; !slices.Equal(names, want) {
		t.Errorf("rules holds %v, want %v (no temporary file, no new directory)", names, want)
	}
}

func TestPlanRefuses(t *testing.T) {
	root := t.TempDir()
	big := make([]byte, MaxBytes/2+1)
	tests := []struct {
		name  string
		setup func()
		files []File
		want  string
	}{
		{"two outputs on one path", nil, files(root, specA, "x.yaml", "1", "x.yaml", "2"), "two outputs would write"},
		{"output over the size limit", nil, []File{{Root: root, Rel: "a", Data: big}, {Root: root, Rel: "b", Data: big}}, "over the limit of 64 MiB"},
		{"bad manifest", func() { os.WriteFile(filepath.Join(root, ManifestName), []byte("../../etc/passwd\tx\ty\tz\n"), 0o644) },
			files(root, specA, "x.yaml", "1"), ".burnrate-manifest:1: not a manifest line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			if _, err := Plan(tc.files, []Source{specA}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Plan: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestApplyUndoesRenames: when a step after the commit point fails (here a
// file to delete was replaced by a directory after the plan, by something
// other than burnrate), the files already renamed get their old content
// back.
func TestApplyUndoesRenames(t *testing.T) {
	root := t.TempDir()
	run(t, files(root, specA, "a.yaml", "a1", "b.yaml", "b1"), specA)
	next := files(root, specA, "a.yaml", "a2", "n.yaml", "n")
	changes, err := Plan(next, []Source{specA})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(changes); !slices.Equal(got, []string{"update a.yaml", "delete b.yaml", "create n.yaml"}) {
		t.Fatalf("plan %v", got)
	}
	setHook(t, func(step string) {
		if step == "planned" {
			os.Remove(filepath.Join(root, "b.yaml"))
			os.MkdirAll(filepath.Join(root, "b.yaml", "inside"), 0o755)
		}
	})
	if _, err := Write(next, []Source{specA}, Options{}); err == nil {
		t.Fatal("Write succeeded")
	}
	if got := read(t, filepath.Join(root, "a.yaml")); got != "a1" {
		t.Errorf("a.yaml = %q after the failed run, want a1", got)
	}
	if _, err := os.Stat(filepath.Join(root, "n.yaml")); !os.IsNotExist(err) {
		t.Error("n.yaml was left behind")
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && e.Name() != ManifestName {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestFormatsKeepEachOthersFiles: runs of one spec in two formats into one
// directory are two sources; the second neither deletes nor claims the
// first's file, and the manifest keeps the format across a read.
func TestFormatsKeepEachOthersFiles(t *testing.T) {
	dir := t.TempDir()
	plain := specA
	mimir := Source{Spec: specA.Spec, Profile: specA.Profile, Format: "mimir"}
	run(t, files(dir, plain, "a.rules.yaml", "r1"), plain)
	if got := actions(run(t, files(dir, mimir, "a.mimir.yaml", "m1"), mimir)); !slices.Equal(got, []string{"create a.mimir.yaml"}) {
		t.Errorf("mimir run: %v, want only the mimir file created", got)
	}
	if got := read(t, filepath.Join(dir, "a.rules.yaml")); got != "r1" {
		t.Errorf("the rules file is now %q", got)
	}
	m := read(t, filepath.Join(dir, ManifestName))
	if !strings.Contains(m, "\ta.yaml\toptimized\tmimir\n") || !strings.Contains(m, "\ta.yaml\toptimized\n") {
		t.Errorf("manifest does not name the format:\n%s", m)
	}
	// A later mimir run that no longer produces that file deletes it, and
	// still leaves the rules file alone: the format was read back.
	if got := actions(run(t, files(dir, mimir, "b.mimir.yaml", "m2"), mimir)); !slices.Equal(got, []string{"delete a.mimir.yaml", "create b.mimir.yaml"}) {
		t.Errorf("second mimir run: %v, want a.mimir.yaml deleted and b.mimir.yaml created", got)
	}
	if got := read(t, filepath.Join(dir, "a.rules.yaml")); got != "r1" {
		t.Errorf("the rules file is now %q", got)
	}
}

// setHook sets the step hook for one test.
func setHook(t *testing.T, h func(step string)) {
	old := hook
	hook = h
	t.Cleanup(func() { hook = old })
}
