// Package output writes the files of one generate run, all or nothing.
//
// A run renders every file in memory first. Write then takes a lock in each
// output root, so that runs into one directory take turns; finishes or
// undoes what a killed run left; plans the changes, writing only the files
// whose bytes differ from what is on disk and deleting the files an earlier
// run of the same source wrote and this one no longer produces; and applies
// them through temporary files and a single commit point (see Write), so
// that every root holds the old run's files or the new run's, never a mix,
// once a run holds the lock. Plan computes the same changes without
// touching anything, for generate --check.
//
// What burnrate wrote is kept in a manifest in each output root (the rules
// directory, the runbooks directory): one line per file with the digest of
// its content, the source spec and the profile. A file is deleted only when
// the manifest says this source wrote it and its content is still what was
// written; a file burnrate did not write, or that was edited since, is never
// deleted.
package output

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// ManifestName is the manifest's file name in each output root.
const ManifestName = ".burnrate-manifest"

// MaxBytes bounds the total size of one run's output. The largest output
// of the embedded spec is under 2 MiB; a spec that renders more than this
// is refused before anything is written.
const MaxBytes = 64 << 20

// File is one rendered file.
type File struct {
	Root   string // the output root it belongs to, which holds the manifest
	Rel    string // its path below Root, slash-separated
	Data   []byte
	Source Source // what produced it
}

// Path is the file's path on disk.
func (f File) Path() string { return filepath.Join(f.Root, filepath.FromSlash(f.Rel)) }

// Source names what produced a run's files: the spec as the user named it
// and the profile. Manifest entries of other sources are left alone.
type Source struct {
	Spec, Profile string
	// Format is generate's --format when it is not the default rule file
	// ("" for that), so that runs of one spec in several formats into one
	// directory keep each other's files.
	Format string
}

// Change is one file a run would create, rewrite or delete.
type Change struct {
	Path   string
	Action Action
	data   []byte // new content (nil for Delete)
	old    []byte // content before, nil when absent
	root   string
}

// Action says what a change does to a file.
type Action int

const (
	Create Action = iota
	Update
	Delete
	// Keep is a file this source wrote that was edited by hand since: it is
	// no longer produced, but it is not deleted either.
	Keep
)

func (a Action) String() string {
	return [...]string{"create", "update", "delete", "keep"}[a]
}

// Plan lists what Write would change when a run of sources produces files,
// in path order. Unchanged files are not listed. The manifests are part of the
// plan: a run that changes nothing else also leaves them alone.
func Plan(files []File, sources []Source) ([]Change, error) {
	total := 0
	seen := map[string]bool{}
	for _, f := range files {
		total += len(f.Data)
		if seen[f.Path()] {
			return nil, fmt.Errorf("two outputs would write %s", f.Path())
		}
		seen[f.Path()] = true
	}
	if total > MaxBytes {
		return nil, fmt.Errorf("the output would be %d MiB, over the limit of %d MiB; check the spec for oversized fields or too many SLOs", total>>20, MaxBytes>>20)
	}

	byRoot := map[string][]File{}
	for _, f := range files {
		byRoot[f.Root] = append(byRoot[f.Root], f)
	}
	var changes []Change
	for _, root := range sortedKeys(byRoot) {
		if err := checkRoot(root); err != nil {
			return nil, err
		}
		for _, rec := range []string{pendingName, commitName} {
			if _, err := os.Lstat(filepath.Join(root, rec)); err == nil {
				return nil, fmt.Errorf("%s: a burnrate generate run into it has not finished (%s): it is running, or it was killed; run burnrate generate (without --check) to finish or undo it", root, rec)
			}
		}
		m, err := readManifest(root)
		if err != nil {
			return nil, err
		}
		produced := map[string]bool{}
		for _, f := range byRoot[root] {
			produced[f.Rel] = true
			c, err := compare(f.Path(), f.Data)
			if err != nil {
				return nil, err
			}
			if c != nil {
				c.root = root
				changes = append(changes, *c)
			}
		}
		next := manifest{}
		for rel, e := range m {
			if produced[rel] || !slices.Contains(sources, e.source) {
				if !produced[rel] {
					next[rel] = e
				}
				continue
			}
			// Written by one of this run's sources and no longer produced.
			p := filepath.Join(root, filepath.FromSlash(rel))
			old, err := os.ReadFile(p)
			switch {
			case absent(err):
			case err != nil:
				return nil, err
			case digest(old) == e.digest:
				changes = append(changes, Change{Path: p, Action: Delete, old: old, root: root})
			default:
				changes = append(changes, Change{Path: p, Action: Keep, root: root})
			}
		}
		for _, f := range byRoot[root] {
			next[f.Rel] = entry{digest(f.Data), f.Source}
		}
		c, err := compare(filepath.Join(root, ManifestName), next.encode())
		if err != nil {
			return nil, err
		}
		if c != nil {
			c.root = root
			changes = append(changes, *c)
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return changes, nil
}

// compare returns the change that writing data to path makes, or nil.
func compare(path string, data []byte) (*Change, error) {
	old, err := os.ReadFile(path)
	switch {
	case absent(err):
		return &Change{Path: path, Action: Create, data: data}, nil
	case err != nil:
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	case bytes.Equal(old, data):
		return nil, nil
	}
	return &Change{Path: path, Action: Update, data: data, old: old}, nil
}

// mkdirAll is os.MkdirAll that returns the directories it created,
// outermost first.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	slices.Reverse(missing)
	for i, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return missing[:i], err
		}
	}
	return missing, nil
}

// entry is one manifest line.
type entry struct {
	digest string
	source Source
}

// manifest maps a path below the root to what wrote it.
type manifest map[string]entry

const manifestHeader = "# Files burnrate generate wrote in this directory, so that a later run can\n" +
	"# remove those it no longer produces. Generated; do not edit.\n" +
	"# path\tsha256\tspec\tprofile\n"

func (m manifest) encode() []byte {
	var b bytes.Buffer
	b.WriteString(manifestHeader)
	for _, rel := range sortedKeys(m) {
		e := m[rel]
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s", rel, e.digest, e.source.Spec, e.source.Profile)
		if e.source.Format != "" {
			fmt.Fprintf(&b, "\t%s", e.source.Format)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func readManifest(root string) (manifest, error) {
	path := filepath.Join(root, ManifestName)
	data, err := os.ReadFile(path)
	if absent(err) {
		return manifest{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	m := manifest{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if (len(f) != 4 && len(f) != 5) || !filepath.IsLocal(filepath.FromSlash(f[0])) {
			return nil, fmt.Errorf("%s:%d: not a manifest line (path, digest, spec, profile and optionally format separated by tabs); delete the manifest and the files it listed, then generate again", path, n)
		}
		src := Source{Spec: f[2], Profile: f[3]}
		if len(f) == 5 {
			src.Format = f[4]
		}
		m[f[0]] = entry{f[1], src}
	}
	return m, sc.Err()
}

// absent reports whether err says a path does not exist, also when one of
// its parents is a file (the directory cannot be created later either, which
// Write reports).
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
