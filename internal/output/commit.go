package output

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The files a run keeps in an output root while it works. The lock file
// is removed when the run ends; the records and temporary files are
// removed when the run finishes, and by the next run when it was killed.
const (
	// LockName is the lock file (flock(2)) each run holds in every output
	// root it writes, for the whole run.
	LockName = ".burnrate.lock"
	// pendingName records, in each root, what the run will change there:
	// the temporary files it creates, and the renames and deletions that
	// carry out the plan.
	pendingName = ".burnrate-pending"
	// commitName is the commit record, in the first root of the run: once
	// it exists the run is committed and is finished by whoever takes the
	// lock next; before that it is undone.
	commitName = ".burnrate-commit"
	// tmpSuffix ends the name of a new content's temporary file, beside
	// its target: ".<name>" + tmpSuffix.
	tmpSuffix = ".burnrate-tmp"
)

// Options tune Write.
type Options struct {
	// Waiting is called with the path of the lock file when another run
	// holds it; Write then waits until that run ends.
	Waiting func(lock string)
	// Note reports what Write did to finish or undo a run that was killed,
	// one sentence each.
	Note func(msg string)
}

// NotDirError says an output root exists and is not a directory.
type NotDirError struct{ Root string }

func (e *NotDirError) Error() string { return e.Root + " is a file; give a directory" }

// hook is called at every step of Write that changes the disk; the tests
// kill the process at each of them in turn.
var hook = func(step string) {}

// Write carries out a run that produces files for sources: it locks every
// output root (waiting for a run that holds one), finishes or undoes
// whatever a killed run left, plans (see Plan) and applies the plan.
//
// The plan is applied in three phases. First each root gets a record of
// what the run will change there, and every new content is written to a
// temporary file beside its target; a failure or a kill here leaves every
// target as it was, and the next run removes the temporaries. Then the
// commit record is renamed into place in the first root: that rename is
// the run's single commit point. Last the temporaries are renamed over
// their targets and the deletions made; a kill here leaves a committed
// run that the next run into any of its roots finishes before it plans.
// So once a run has taken the lock, every root holds either all of the
// previous run's files or all of the new run's, and no temporary file.
//
// A failure after the commit point (a target replaced by a directory
// meanwhile) puts back the old contents, as far as the process lives.
func Write(files []File, sources []Source, opt Options) ([]Change, error) {
	if opt.Waiting == nil {
		opt.Waiting = func(string) {}
	}
	if opt.Note == nil {
		opt.Note = func(string) {}
	}
	roots := rootsOf(files)
	for _, r := range roots {
		if err := checkRoot(r); err != nil {
			return nil, err
		}
	}
	l := &locker{opt: opt, held: map[string]*heldRoot{}}
	defer l.release(true)
	if err := l.lock(roots); err != nil {
		return nil, err
	}
	hook("locked")
	if err := l.recover(); err != nil {
		return nil, err
	}
	removeStaleTemps(files, opt.Note)
	changes, err := Plan(files, sources)
	if err != nil {
		return nil, err
	}
	hook("planned")
	if err := apply(changes); err != nil {
		return nil, err
	}
	return changes, nil
}

func rootsOf(files []File) []string {
	var roots []string
	for _, f := range files {
		if !slices.Contains(roots, f.Root) {
			roots = append(roots, f.Root)
		}
	}
	slices.Sort(roots)
	return roots
}

// checkRoot refuses an output root that is a file.
func checkRoot(root string) error {
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		return &NotDirError{Root: root}
	}
	return nil
}

// heldRoot is a root whose lock a run holds.
type heldRoot struct {
	root string // as the run names it
	lock *os.File
}

// locker holds the locks of a run's roots.
type locker struct {
	opt     Options
	held    map[string]*heldRoot // by the root's canonical path
	created []string             // directories created to hold a lock
}

// canonical is the path that names root's directory whatever path leads
// there, the key the locks are taken in the order of.
func canonical(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// lock takes the locks of roots (creating the directories) in the order
// of their canonical paths, so that two runs never wait for each other.
func (l *locker) lock(roots []string) error {
	type want struct{ root, key string }
	var ws []want
	for _, r := range roots {
		created, err := mkdirAll(r)
		l.created = append(l.created, created...)
		if err != nil {
			return fmt.Errorf("cannot create output directory %s: %w", r, err)
		}
		key, err := canonical(r)
		if err != nil {
			return fmt.Errorf("output directory %s: %w", r, err)
		}
		if l.held[key] == nil && !slices.ContainsFunc(ws, func(w want) bool { return w.key == key }) {
			ws = append(ws, want{r, key})
		}
	}
	slices.SortFunc(ws, func(a, b want) int { return strings.Compare(a.key, b.key) })
	for _, w := range ws {
		if err := l.lockOne(w.root, w.key); err != nil {
			return err
		}
	}
	return nil
}

func (l *locker) lockOne(root, key string) error {
	path := filepath.Join(key, LockName)
	for tries := 0; ; tries++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if absent(err) && tries < 100 {
			// A run that created the directory and failed removed it.
			if _, err := mkdirAll(key); err != nil {
				return fmt.Errorf("cannot create output directory %s: %w", root, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot lock output directory %s: %w", root, err)
		}
		if err := flock(f, func() { l.opt.Waiting(filepath.Join(root, LockName)) }); err != nil {
			f.Close()
			return fmt.Errorf("cannot lock output directory %s: %w", root, err)
		}
		// The run that held the lock removes the lock file as it ends; a
		// lock on a removed file locks nothing, so take the new one.
		if sameFile(f, path) {
			l.held[key] = &heldRoot{root: root, lock: f}
			return nil
		}
		f.Close()
		if _, err := mkdirAll(key); err != nil {
			return fmt.Errorf("cannot create output directory %s: %w", root, err)
		}
	}
}

// release removes the lock files and lets go of the locks; at the end of
// the run it also removes the directories created for them that stayed
// empty.
func (l *locker) release(end bool) {
	for key, h := range l.held {
		// Removed while still held: a run waiting on it then sees that it
		// was removed and takes a new one (lockOne).
		os.Remove(filepath.Join(key, LockName))
		h.lock.Close()
	}
	clear(l.held)
	if end {
		for i := len(l.created) - 1; i >= 0; i-- {
			os.Remove(l.created[i])
		}
	}
}

// keys are the canonical paths of the held roots, in lock order.
func (l *locker) keys() []string {
	return sortedKeys(l.held)
}

// recover finishes each committed run and undoes each uncommitted one that
// a killed process left in the held roots, first taking the locks of the
// other roots those runs wrote to.
func (l *locker) recover() error {
	for {
		need := map[string]string{} // canonical path → a path to it
		for _, key := range l.keys() {
			p, err := readPending(key)
			if err != nil {
				return err
			}
			if p != nil {
				// Every root of its run: an uncommitted run's temporary
				// files are in all of them, a committed run's renames too.
				for _, r := range append([]string{p.commit}, p.roots...) {
					need[filepath.Join(key, r)] = filepath.Join(key, r)
				}
			}
			c, err := readCommit(key)
			if err != nil {
				return err
			}
			if c != nil {
				for _, r := range c.roots {
					need[filepath.Join(key, r)] = filepath.Join(key, r)
				}
			}
		}
		var extra []string
		for _, path := range need {
			if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
				continue // gone since; nothing to finish there
			}
			key, err := canonical(path)
			if err != nil {
				continue
			}
			if l.held[key] == nil {
				extra = append(extra, key)
			}
		}
		if len(extra) == 0 {
			break
		}
		// Let go and take all of them in lock order.
		all := append(l.keys(), extra...)
		l.release(false)
		if err := l.lock(all); err != nil {
			return err
		}
	}
	for _, key := range l.keys() {
		c, err := readCommit(key)
		if err != nil {
			return err
		}
		if c == nil {
			continue
		}
		var lost []string
		for _, r := range c.roots {
			root := filepath.Join(key, r)
			p, err := readPending(root)
			if err != nil {
				return err
			}
			if p == nil || p.run != c.run {
				continue
			}
			missing, _ := finish(root, p, nil)
			lost = append(lost, missing...)
			if err := removeRecord(filepath.Join(root, pendingName)); err != nil {
				return err
			}
		}
		if err := removeRecord(filepath.Join(key, commitName)); err != nil {
			return err
		}
		msg := fmt.Sprintf("finished an earlier run into %s that was stopped after it committed", l.held[key].root)
		if len(lost) > 0 {
			msg += fmt.Sprintf("; the new content of %s was lost, so this run writes it again if it still produces it", strings.Join(lost, ", "))
		}
		l.opt.Note(msg)
	}
	for _, key := range l.keys() {
		root := l.held[key].root
		p, err := readPending(key)
		if err != nil {
			return err
		}
		if p != nil {
			if err := undo(key, p); err != nil {
				return err
			}
			l.opt.Note(fmt.Sprintf("removed the temporary files of an earlier run into %s that was stopped before it committed; its files are as they were before it", root))
		}
		for _, n := range []string{pendingName + ".tmp", commitName + ".tmp"} {
			os.Remove(filepath.Join(key, n))
		}
	}
	return nil
}

// removeStaleTemps removes the temporary files that runs of burnrate
// before the commit protocol left when they were killed: ".<name>.<digits>"
// (os.CreateTemp) beside each file this run produces and each manifest.
func removeStaleTemps(files []File, note func(string)) {
	seen := map[string]bool{}
	var paths []string
	for _, f := range files {
		for _, p := range []string{f.Path(), filepath.Join(f.Root, ManifestName)} {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	removed := 0
	for _, p := range paths {
		dir, base := filepath.Split(p)
		matches, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(base)+".*"))
		for _, m := range matches {
			digits := strings.TrimPrefix(filepath.Base(m), "."+base+".")
			if _, err := strconv.ParseUint(digits, 10, 64); err == nil && os.Remove(m) == nil {
				removed++
			}
		}
	}
	if removed > 0 {
		note(fmt.Sprintf("removed %d temporary file(s) that a killed run of an earlier burnrate left", removed))
	}
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pending is a root's record of a run: what it changes there.
type pending struct {
	run    string
	commit string   // the root of the commit record, relative to this root
	roots  []string // every root of the run, relative to this root
	dirs   []string // directories it creates, outermost first
	puts   []put
	dels   []del
}

type put struct{ tmp, target, digest string }

type del struct{ target, digest string }

// commitRecord is a committed run: its id and roots.
type commitRecord struct {
	run   string
	roots []string // relative to the commit record's root
}

const recordHeader = "# A burnrate generate run that has not finished: the next run into this\n" +
	"# directory finishes it (committed) or undoes it. Do not edit.\n"

func (p *pending) encode() []byte {
	var b bytes.Buffer
	b.WriteString(recordHeader)
	fmt.Fprintf(&b, "run\t%s\ncommit\t%q\n", p.run, filepath.ToSlash(p.commit))
	for _, r := range p.roots {
		fmt.Fprintf(&b, "root\t%q\n", filepath.ToSlash(r))
	}
	for _, d := range p.dirs {
		fmt.Fprintf(&b, "dir\t%q\n", filepath.ToSlash(d))
	}
	for _, x := range p.puts {
		fmt.Fprintf(&b, "put\t%q\t%q\t%s\n", filepath.ToSlash(x.tmp), filepath.ToSlash(x.target), x.digest)
	}
	for _, x := range p.dels {
		fmt.Fprintf(&b, "del\t%q\t%s\n", filepath.ToSlash(x.target), x.digest)
	}
	return b.Bytes()
}

func (c *commitRecord) encode() []byte {
	var b bytes.Buffer
	b.WriteString(recordHeader)
	fmt.Fprintf(&b, "run\t%s\n", c.run)
	for _, r := range c.roots {
		fmt.Fprintf(&b, "root\t%q\n", filepath.ToSlash(r))
	}
	return b.Bytes()
}

// readRecord reads the record at path as lines of tab-separated fields,
// quoted paths unquoted; nil when there is none.
func readRecord(path string) ([][]string, error) {
	data, err := os.ReadFile(path)
	if absent(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	var lines [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if sc.Text() == "" || strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		for i, s := range f {
			if strings.HasPrefix(s, `"`) {
				u, err := strconv.Unquote(s)
				if err != nil || !filepath.IsLocal(filepath.FromSlash(u)) && !(f[0] == "commit" || f[0] == "root") {
					return nil, badRecord(path, n)
				}
				f[i] = filepath.FromSlash(u)
			}
		}
		lines = append(lines, f)
	}
	if lines == nil {
		lines = [][]string{}
	}
	return lines, sc.Err()
}

func badRecord(path string, n int) error {
	return fmt.Errorf("%s:%d: not a line burnrate wrote; delete the file and check the files beside it, then generate again", path, n)
}

func readPending(root string) (*pending, error) {
	path := filepath.Join(root, pendingName)
	lines, err := readRecord(path)
	if lines == nil || err != nil {
		return nil, err
	}
	p := &pending{}
	for n, f := range lines {
		switch {
		case f[0] == "run" && len(f) == 2:
			p.run = f[1]
		case f[0] == "commit" && len(f) == 2:
			p.commit = f[1]
		case f[0] == "root" && len(f) == 2:
			p.roots = append(p.roots, f[1])
		case f[0] == "dir" && len(f) == 2:
			p.dirs = append(p.dirs, f[1])
		case f[0] == "put" && len(f) == 4:
			p.puts = append(p.puts, put{f[1], f[2], f[3]})
		case f[0] == "del" && len(f) == 3:
			p.dels = append(p.dels, del{f[1], f[2]})
		default:
			return nil, badRecord(path, n+1)
		}
	}
	if p.run == "" || p.commit == "" {
		return nil, badRecord(path, 1)
	}
	return p, nil
}

func readCommit(root string) (*commitRecord, error) {
	path := filepath.Join(root, commitName)
	lines, err := readRecord(path)
	if lines == nil || err != nil {
		return nil, err
	}
	c := &commitRecord{}
	for n, f := range lines {
		switch {
		case f[0] == "run" && len(f) == 2:
			c.run = f[1]
		case f[0] == "root" && len(f) == 2:
			c.roots = append(c.roots, f[1])
		default:
			return nil, badRecord(path, n+1)
		}
	}
	if c.run == "" {
		return nil, badRecord(path, 1)
	}
	return c, nil
}

// writeRecord writes data to path through path.tmp, synced, so that the
// record exists whole or not at all, also after a power loss.
func writeRecord(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, data); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func removeRecord(path string) error {
	if err := os.Remove(path); err != nil && !absent(err) {
		return err
	}
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	return errors.Join(werr, f.Sync(), f.Close(), os.Chmod(path, 0o644))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// apply carries out a plan under the roots' locks (see Write).
func apply(changes []Change) error {
	byRoot := map[string]*pending{}
	data := map[string][]byte{} // temporary file → content
	var olds []Change           // what to put back if the last phase fails
	for _, c := range changes {
		if c.Action != Create && c.Action != Update && c.Action != Delete {
			continue
		}
		p := byRoot[c.root]
		if p == nil {
			p = &pending{}
			byRoot[c.root] = p
		}
		rel, err := filepath.Rel(c.root, c.Path)
		if err != nil {
			return err
		}
		if c.Action == Delete {
			p.dels = append(p.dels, del{rel, digest(c.old)})
			olds = append(olds, c)
			continue
		}
		if fi, err := os.Lstat(c.Path); err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("%s %s: it is not a regular file; move it out of the way", c.Action, c.Path)
		}
		for _, d := range missingDirs(c.root, filepath.Dir(rel)) {
			if !slices.Contains(p.dirs, d) {
				p.dirs = append(p.dirs, d)
			}
		}
		tmp := filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+tmpSuffix)
		p.puts = append(p.puts, put{tmp, rel, digest(c.data)})
		data[filepath.Join(c.root, tmp)] = c.data
		olds = append(olds, c)
	}
	if len(byRoot) == 0 {
		return nil
	}
	roots := sortedKeys(byRoot)
	primary := roots[0]
	run, err := newRunID()
	if err != nil {
		return err
	}
	commit := &commitRecord{run: run}
	for _, r := range roots {
		p := byRoot[r]
		p.run = run
		if p.commit, err = relDir(r, primary); err != nil {
			return err
		}
		for _, other := range roots {
			rel, err := relDir(r, other)
			if err != nil {
				return err
			}
			p.roots = append(p.roots, rel)
		}
		rel, err := relDir(primary, r)
		if err != nil {
			return err
		}
		commit.roots = append(commit.roots, rel)
	}
	undoAll := func() {
		for _, r := range roots {
			undo(r, byRoot[r])
		}
	}

	// Phase 1: the records, then the temporary files.
	for _, r := range roots {
		if err := writeRecord(filepath.Join(r, pendingName), byRoot[r].encode()); err != nil {
			undoAll()
			return fmt.Errorf("cannot write to output directory %s: %w", r, err)
		}
		hook("pending " + r)
	}
	for _, r := range roots {
		p := byRoot[r]
		for _, d := range p.dirs {
			if err := os.Mkdir(filepath.Join(r, d), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				undoAll()
				return fmt.Errorf("cannot create output directory %s: %w", filepath.Join(r, d), err)
			}
			hook("mkdir " + filepath.Join(r, d))
		}
		for _, x := range p.puts {
			tmp := filepath.Join(r, x.tmp)
			if err := writeSynced(tmp, data[tmp]); err != nil {
				undoAll()
				return fmt.Errorf("write %s: %w", filepath.Join(r, x.target), err)
			}
			hook("stage " + filepath.Join(r, x.target))
		}
	}

	// Phase 2: the commit point.
	if err := writeRecord(filepath.Join(primary, commitName), commit.encode()); err != nil {
		undoAll()
		os.Remove(filepath.Join(primary, commitName))
		return fmt.Errorf("cannot write to output directory %s: %w", primary, err)
	}
	hook("commit")

	// Phase 3: renames and deletions, then the records go.
	var done []string
	for _, r := range roots {
		d, err := finish(r, byRoot[r], &done)
		if err == nil && len(d) > 0 {
			err = fmt.Errorf("the temporary file of %s disappeared", d[0])
		}
		if err != nil {
			putBack(olds, done)
			undoAll()
			os.Remove(filepath.Join(primary, commitName))
			return err
		}
	}
	for _, r := range roots {
		if err := removeRecord(filepath.Join(r, pendingName)); err != nil {
			return err
		}
		hook("finished " + r)
	}
	if err := removeRecord(filepath.Join(primary, commitName)); err != nil {
		return err
	}
	hook("done")
	return nil
}

// finish renames root's temporary files over their targets and makes the
// deletions of p; each step is skipped when it was made already. It
// returns the targets whose temporary file is gone while the target does
// not hold the new content; done, when not nil, collects the paths changed.
func finish(root string, p *pending, done *[]string) (lost []string, err error) {
	dirs := map[string]bool{}
	for _, x := range p.puts {
		tmp, target := filepath.Join(root, x.tmp), filepath.Join(root, x.target)
		err := os.Rename(tmp, target)
		if absent(err) {
			if old, rerr := os.ReadFile(target); rerr != nil || digest(old) != x.digest {
				lost = append(lost, target)
			}
			continue
		}
		if err != nil {
			return lost, fmt.Errorf("%s: %w", target, err)
		}
		if done != nil {
			*done = append(*done, target)
		}
		dirs[filepath.Dir(target)] = true
		hook("put " + target)
	}
	for _, x := range p.dels {
		target := filepath.Join(root, x.target)
		old, err := os.ReadFile(target)
		if absent(err) || (err == nil && digest(old) != x.digest) {
			continue // gone already, or changed since: not ours to delete
		}
		if err == nil {
			err = os.Remove(target)
		}
		if err != nil {
			return lost, fmt.Errorf("delete %s: %w", target, err)
		}
		if done != nil {
			*done = append(*done, target)
		}
		dirs[filepath.Dir(target)] = true
		hook("del " + target)
	}
	for d := range dirs {
		syncDir(d)
	}
	return lost, nil
}

// putBack gives the paths in done their content from before the run.
func putBack(changes []Change, done []string) {
	for i := len(done) - 1; i >= 0; i-- {
		for _, c := range changes {
			if c.Path != done[i] {
				continue
			}
			if c.old == nil {
				os.Remove(c.Path)
			} else {
				os.WriteFile(c.Path, c.old, 0o644)
			}
		}
	}
}

// undo removes what the uncommitted run p made in root: its temporary
// files, the directories it created when they are empty, its record.
func undo(root string, p *pending) error {
	for _, x := range p.puts {
		os.Remove(filepath.Join(root, x.tmp))
	}
	for i := len(p.dirs) - 1; i >= 0; i-- {
		os.Remove(filepath.Join(root, p.dirs[i]))
	}
	return removeRecord(filepath.Join(root, pendingName))
}

// missingDirs are the directories from root down to root/rel that do not
// exist, outermost first, relative to root.
func missingDirs(root, rel string) []string {
	var out []string
	for d := rel; d != "." && d != ""; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(root, d)); err == nil {
			break
		}
		out = append(out, d)
	}
	slices.Reverse(out)
	return out
}

// relDir is to relative to from, both directories.
func relDir(from, to string) (string, error) {
	a, err := filepath.Abs(from)
	if err != nil {
		return "", err
	}
	b, err := filepath.Abs(to)
	if err != nil {
		return "", err
	}
	return filepath.Rel(a, b)
}

func newRunID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
