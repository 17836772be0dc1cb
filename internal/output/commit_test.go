package output

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestConcurrentRunsKeepEveryEntry runs eight runs of eight specs into
// the same two roots at once, five rounds: every run's files and manifest
// entries survive the others, and a file a spec stops producing is
// deleted (before the lock, runs lost each other's entries and left such
// files behind).
func TestConcurrentRunsKeepEveryEntry(t *testing.T) {
	dir := t.TempDir()
	rules, books := filepath.Join(dir, "rules"), filepath.Join(dir, "runbooks")
	const runs = 8
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make([]error, runs)
		for i := range runs {
			src := Source{Spec: fmt.Sprintf("s%d.yaml", i), Profile: "optimized"}
			fs := files(rules, src, fmt.Sprintf("s%d.rules.yaml", i), fmt.Sprintf("r%d-%d", i, round))
			if round%2 == 0 {
				fs = append(fs, files(rules, src, fmt.Sprintf("s%d.extra.test.yaml", i), "t")...)
			}
			fs = append(fs, files(books, src, fmt.Sprintf("c%d/Alert.md", i), fmt.Sprintf("m%d-%d", i, round))...)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = Write(fs, []Source{src}, Options{})
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for i := range runs {
			if got, want := read(t, filepath.Join(rules, fmt.Sprintf("s%d.rules.yaml", i))), fmt.Sprintf("r%d-%d", i, round); got != want {
				t.Errorf("round %d: s%d.rules.yaml = %q, want %q", round, i, got, want)
			}
			_, err := os.Stat(filepath.Join(rules, fmt.Sprintf("s%d.extra.test.yaml", i)))
			if exists := err == nil; exists != (round%2 == 0) {
				t.Errorf("round %d: s%d.extra.test.yaml exists: %v", round, i, exists)
			}
		}
		for _, root := range []string{rules, books} {
			m, err := readManifest(root)
			if err != nil {
				t.Fatal(err)
			}
			for i := range runs {
				found := false
				for rel, e := range m {
					if e.source.Spec == fmt.Sprintf("s%d.yaml", i) {
						found = true
						data, err := os.ReadFile(filepath.Join(root, rel))
						if err != nil || digest(data) != e.digest {
							t.Errorf("round %d: %s lists %s, which does not hold what it says (%v)", round, ManifestName, rel, err)
						}
					}
				}
				if !found {
					t.Errorf("round %d: %s lost spec s%d's entries", round, filepath.Join(root, ManifestName), i)
				}
			}
			if n := len(m); n != runs*map[bool]int{true: 2, false: 1}[root == rules && round%2 == 0] {
				t.Errorf("round %d: %s has %d entries", round, root, n)
			}
		}
		if hidden := hiddenFiles(t, dir); len(hidden) > 0 {
			t.Errorf("round %d: left behind %v", round, hidden)
		}
	}
}

// TestSecondRunWaits: a run into a directory whose lock another run holds
// says so and waits, then writes.
func TestSecondRunWaits(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rules")
	first := &locker{held: map[string]*heldRoot{}, opt: Options{Waiting: func(string) {}}}
	if err := first.lock([]string{root}); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		_, err := Write(files(root, specA, "x.yaml", "x1"), []Source{specA}, Options{Waiting: func(lock string) { waiting <- lock }})
		done <- err
	}()
	select {
	case lock := <-waiting:
		if lock != filepath.Join(root, LockName) {
			t.Errorf("waits for %s", lock)
		}
	case err := <-done:
		t.Fatalf("the second run did not wait: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the second run neither waited nor wrote")
	}
	select {
	case err := <-done:
		t.Fatalf("the second run ended while the first held the lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	first.release(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(root, "x.yaml")) != "x1" {
		t.Error("x.yaml not written")
	}
	if hidden := hiddenFiles(t, root); len(hidden) > 0 {
		t.Errorf("left behind %v", hidden)
	}
}

func TestOutIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rules")
	os.WriteFile(file, []byte("x"), 0o644)
	for name, f := range map[string]func() error{
		"Write": func() error {
			_, err := Write(files(file, specA, "x.yaml", "1"), []Source{specA}, Options{})
			return err
		},
		"Plan": func() error { _, err := Plan(files(file, specA, "x.yaml", "1"), []Source{specA}); return err },
	} {
		var nd *NotDirError
		if err := f(); !errors.As(err, &nd) || err.Error() != file+" is a file; give a directory" {
			t.Errorf("%s: %v, want %s is a file; give a directory", name, err, file)
		}
	}
}

// The sets of files of the kill test: a spec's old and new output in two
// roots, and another spec's file that no run of the first may touch.
func oldSet(dir string) []File {
	return append(files(filepath.Join(dir, "rules"), specA, "a.rules.yaml", "a1", "a.test.yaml", "t1", "old.test.yaml", "o1"),
		files(filepath.Join(dir, "runbooks"), specA, "svc/A.md", "m1")...)
}

func newSet(dir string) []File {
	return append(files(filepath.Join(dir, "rules"), specA, "a.rules.yaml", "a2", "a.test.yaml", "t1", "new/n.test.yaml", "n2"),
		files(filepath.Join(dir, "runbooks"), specA, "svc/A.md", "m2", "svc2/B.md", "b2")...)
}

// nextRun is the run after a kill: spec C's file into one root only, so
// that a run into the runbooks alone must take the rules' lock too to
// finish a run committed there.
func nextRun(dir, root string) []File {
	return files(filepath.Join(dir, root), specC, "c.md", "c1")
}

var specC = Source{Spec: "c.yaml", Profile: "optimized"}

// killHelper is the process the kill test kills: it runs the step the
// environment names and SIGKILLs itself after step number KILL_AT.
func killHelper(t *testing.T) {
	dir := os.Getenv("BURNRATE_OUTPUT_DIR")
	at, _ := strconv.Atoi(os.Getenv("BURNRATE_OUTPUT_KILL_AT"))
	n := 0
	hook = func(string) {
		if n == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		}
		n++
	}
	var err error
	switch mode := os.Getenv("BURNRATE_OUTPUT_HELPER"); mode {
	case "new":
		_, err = Write(newSet(dir), []Source{specA}, Options{})
	default: // the next run, into root mode
		_, err = Write(nextRun(dir, mode), []Source{specC}, Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestKillAtEveryStep kills (SIGKILL) a run of the new set over the old
// one after each step in turn, in a child process, then starts the next
// run (another spec's, into one of the two roots). Up to the commit point
// the files are the old set, untouched. Once the next run has taken the
// lock, both roots hold the old set (killed before the commit point) or
// the new one (after it), and no temporary file is left anywhere; the
// root it wrote holds nothing else, while the other may keep a lock file
// or a small record until a run into it, after which the whole tree is
// what uninterrupted runs leave. A kill of that next run at each of its
// own steps is finished by the runs after it.
func TestKillAtEveryStep(t *testing.T) {
	if os.Getenv("BURNRATE_OUTPUT_HELPER") != "" {
		killHelper(t)
		return
	}
	// The steps of an uninterrupted run, and the trees to expect.
	var steps []string
	ref := func(sets ...[]File) map[string]string {
		dir := t.TempDir()
		for _, s := range sets {
			src := s[0].Source
			for i := range s {
				s[i].Root = filepath.Join(dir, strings.TrimPrefix(s[i].Root, "X"))
			}
			if _, err := Write(s, []Source{src}, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		return tree(t, dir)
	}
	{
		dir := t.TempDir()
		if _, err := Write(oldSet(dir), []Source{specA}, Options{}); err != nil {
			t.Fatal(err)
		}
		setHook(t, func(step string) { steps = append(steps, step) })
		if _, err := Write(newSet(dir), []Source{specA}, Options{}); err != nil {
			t.Fatal(err)
		}
		hook = func(string) {}
	}
	commit := slices.Index(steps, "commit")
	if commit < 0 {
		t.Fatalf("no commit step in %v", steps)
	}
	t.Logf("%d steps: %s", len(steps), strings.Join(steps, ", "))
	firstPending := slices.IndexFunc(steps, func(s string) bool { return strings.HasPrefix(s, "pending ") })
	wantOld := map[string]map[string]string{}
	wantNew := map[string]map[string]string{}
	for _, root := range []string{"rules", "runbooks"} {
		wantOld[root] = ref(oldSet("X"), nextRun("X", root))
		wantNew[root] = ref(oldSet("X"), newSet("X"), nextRun("X", root))
	}
	before := ref(oldSet("X"))
	wantAllOld := ref(oldSet("X"), nextRun("X", "rules"), nextRun("X", "runbooks"))
	wantAllNew := ref(oldSet("X"), newSet("X"), nextRun("X", "rules"), nextRun("X", "runbooks"))

	child := func(dir, mode string, at int) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillAtEveryStep$")
		cmd.Env = append(os.Environ(), "BURNRATE_OUTPUT_HELPER="+mode, "BURNRATE_OUTPUT_DIR="+dir, "BURNRATE_OUTPUT_KILL_AT="+strconv.Itoa(at))
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("%s run to be killed after step %d: %v\n%s", mode, at, err, out)
		}
	}
	for k, step := range steps {
		root := []string{"rules", "runbooks"}[k%2]
		dir := t.TempDir()
		if _, err := Write(oldSet(dir), []Source{specA}, Options{}); err != nil {
			t.Fatal(err)
		}
		child(dir, "new", k)
		got := tree(t, dir)
		if k < commit && !maps.Equal(visible(got), visible(before)) {
			t.Errorf("killed after step %d (%s), before the commit point: the files changed:\n%v\nwant\n%v", k, step, visible(got), visible(before))
		}
		var notes []string
		note := Options{Note: func(m string) { notes = append(notes, m) }}
		if _, err := Write(nextRun(dir, root), []Source{specC}, note); err != nil {
			t.Fatalf("killed after step %d (%s): the next run: %v", k, step, err)
		}
		want, wantBoth := wantOld[root], wantAllOld
		if k >= commit {
			want, wantBoth = wantNew[root], wantAllNew
		}
		got = tree(t, dir)
		if !maps.Equal(visible(got), visible(want)) || !maps.Equal(under(got, root), under(want, root)) || len(temps(got)) > 0 {
			t.Errorf("killed after step %d (%s), then a run into %s (notes %q):\n%s\nwant\n%s", k, step, root, notes, show(got), show(want))
		}
		other := map[string]string{"rules": "runbooks", "runbooks": "rules"}[root]
		if _, err := Write(nextRun(dir, other), []Source{specC}, note); err != nil {
			t.Fatalf("killed after step %d (%s): the run after: %v", k, step, err)
		}
		if got := tree(t, dir); !maps.Equal(got, wantBoth) {
			t.Errorf("killed after step %d (%s), then a run into each root (notes %q):\n%s\nwant\n%s", k, step, notes, show(got), show(wantBoth))
		}
		if left := k >= firstPending && k < slices.Index(steps, "done"); left != (len(notes) > 0) {
			t.Errorf("killed after step %d (%s): the next runs' notes %q (a record left: %v)", k, step, notes, left)
		}
	}

	// A kill of the run that finishes a committed run, at each of its own
	// steps, leaves it for the run after.
	for j := 0; ; j++ {
		dir := t.TempDir()
		if _, err := Write(oldSet(dir), []Source{specA}, Options{}); err != nil {
			t.Fatal(err)
		}
		child(dir, "new", commit)
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillAtEveryStep$")
		cmd.Env = append(os.Environ(), "BURNRATE_OUTPUT_HELPER=runbooks", "BURNRATE_OUTPUT_DIR="+dir, "BURNRATE_OUTPUT_KILL_AT="+strconv.Itoa(j))
		out, err := cmd.CombinedOutput()
		if err == nil {
			if j < 3 {
				t.Errorf("the finishing run took only %d steps", j)
			}
			break // j is past its last step
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("finishing run: %v\n%s", err, out)
		}
		for _, root := range []string{"rules", "runbooks"} {
			if _, err := Write(nextRun(dir, root), []Source{specC}, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := tree(t, dir); !maps.Equal(got, wantAllNew) {
			t.Errorf("finishing run killed after its step %d, then a run into each root:\n%s\nwant\n%s", j, show(got), show(wantAllNew))
		}
	}
}

// tree maps every file below dir (slash paths relative to it) to its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// visible is a tree without hidden files (temporaries, records, locks,
// manifests).
func visible(tr map[string]string) map[string]string {
	out := map[string]string{}
	for p, v := range tr {
		if !strings.HasPrefix(filepath.Base(p), ".") {
			out[p] = v
		}
	}
	return out
}

// under is the part of a tree below root.
func under(tr map[string]string, root string) map[string]string {
	out := map[string]string{}
	for p, v := range tr {
		if strings.HasPrefix(p, root+"/") {
			out[p] = v
		}
	}
	return out
}

// temps are a tree's temporary files.
func temps(tr map[string]string) []string {
	var out []string
	for p := range tr {
		if strings.HasSuffix(p, tmpSuffix) {
			out = append(out, p)
		}
	}
	return out
}

func show(tr map[string]string) string {
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(tr)) {
		v := tr[p]
		if filepath.Base(p) == ManifestName {
			v = fmt.Sprintf("(%d lines)", strings.Count(v, "\n"))
		}
		fmt.Fprintf(&b, "  %s: %q\n", p, v)
	}
	return b.String()
}

// hiddenFiles are the files below dir whose names start with a dot, other
// than manifests.
func hiddenFiles(t *testing.T, dir string) []string {
	var out []string
	for p := range tree(t, dir) {
		if b := filepath.Base(p); strings.HasPrefix(b, ".") && b != ManifestName {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// TestCheckSeesUnfinishedRun: Plan (generate --check) says when a run has
// not finished in a root, rather than judging its half-written files.
func TestCheckSeesUnfinishedRun(t *testing.T) {
	for _, rec := range []string{pendingName, commitName} {
		root := t.TempDir()
		run(t, files(root, specA, "x.yaml", "x1"), specA)
		os.WriteFile(filepath.Join(root, rec), []byte(recordHeader+"run\tx\n"), 0o644)
		_, err := Plan(files(root, specA, "x.yaml", "x1"), []Source{specA})
		if want := root + ": a burnrate generate run into it has not finished (" + rec + "): it is running, or it was killed; run burnrate generate (without --check) to finish or undo it"; err == nil || err.Error() != want {
			t.Errorf("Plan: %v, want %s", err, want)
		}
	}
}

// TestOldTemporariesRemoved: the temporaries that killed runs of the
// burnrate before the commit protocol left (os.CreateTemp's
// ".<name>.<digits>" beside each target and the manifest) go with the next
// run; a hidden file of another shape stays.
func TestOldTemporariesRemoved(t *testing.T) {
	root := t.TempDir()
	run(t, files(root, specA, "x.yaml", "x1", "sub/y.yaml", "y1"), specA)
	stale := []string{".x.yaml.2874561", "sub/.y.yaml.12", "." + ManifestName + ".99"}
	for _, f := range append(slices.Clone(stale), ".x.yaml.bak", ".x.yaml.12.swp") {
		os.WriteFile(filepath.Join(root, f), []byte("old"), 0o644)
	}
	var notes []string
	if _, err := Write(files(root, specA, "x.yaml", "x1", "sub/y.yaml", "y1"), []Source{specA}, Options{Note: func(m string) { notes = append(notes, m) }}); err != nil {
		t.Fatal(err)
	}
	if got, want := hiddenFiles(t, root), []string{".x.yaml.12.swp", ".x.yaml.bak"}; !slices.Equal(got, want) {
		t.Errorf("hidden files %v, want %v", got, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "removed 3 temporary file(s)") {
		t.Errorf("notes %q", notes)
	}
}
