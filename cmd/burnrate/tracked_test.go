package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedFile bounds the size of one file in the repository, in bytes.
const maxTrackedFile = 5 << 20

// executableMagic are the first bytes of the executable formats Go builds:
// ELF, Mach-O (32- and 64-bit, both byte orders, and universal) and PE.
var executableMagic = [][]byte{
	[]byte("\x7fELF"),
	{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf},
	{0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
	{0xca, 0xfe, 0xba, 0xbe},
	[]byte("MZ"),
}

// TestTrackedFilesAreLight fails when git tracks a built executable or a
// file over 5 MiB: a binary belongs in bin/ (ignored), and large data in a
// module of its own, as lab/recordings is.
func TestTrackedFilesAreLight(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--stage").Output()
	if err != nil {
		t.Skipf("not a git checkout (git ls-files: %v)", err)
	}
	files := 0
	for _, entry := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		// <mode> <object> <stage>\t<path>
		meta, path, ok := strings.Cut(entry, "\t")
		if !ok {
			t.Fatalf("git ls-files --stage: cannot read %q", entry)
		}
		mode := strings.Fields(meta)[0]
		if mode == "160000" || mode == "120000" {
			continue // a submodule or a symbolic link holds no content here
		}
		files++
		if problem := trackedFileProblem(filepath.Join(root, filepath.FromSlash(path)), mode); problem != "" {
			t.Errorf("%s: %s", path, problem)
		}
	}
	if files == 0 {
		t.Fatal("git ls-files listed no files")
	}
}

// trackedFileProblem says what is wrong with the tracked file at path, of
// git mode mode, or "".
func trackedFileProblem(path, mode string) string {
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return "" // deleted in the work tree, not yet committed
	}
	if err != nil {
		return err.Error()
	}
	if fi.Size() > maxTrackedFile {
		return fmt.Sprintf("is %.1f MiB, over the 8 MiB a tracked file may have; move the data out of the module (see lab/recordings)", float64(fi.Size())/(1<<20))
	}
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := f.Read(head)
	head = head[:n]
	for _, m := range executableMagic {
		if bytes.HasPrefix(head, m) {
			return "is a built executable; build into bin/ (ignored) and git rm --cached it"
		}
	}
	if mode == "100755" && !bytes.HasPrefix(head, []byte("#!")) {
		return "is executable but not a script (no #! line); git rm --cached it if it is built output, or git update-index --chmod=-x it"
	}
	return ""
}

func TestTrackedFileProblem(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, mode string
		data       []byte
		size       int64 // when set, a sparse file of this size
		want       string
	}{
		{name: "go source", mode: "100644", data: []byte("package main\n")},
		{name: "script", mode: "100755", data: []byte("#!/bin/sh\necho hi\n")},
		{name: "elf", mode: "100755", data: []byte("\x7fELF\x02\x01\x01"), want: "built executable"},
		{name: "elf not executable", mode: "100644", data: []byte("\x7fELF\x02\x01\x01"), want: "built executable"},
		{name: "mach-o", mode: "100644", data: []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, want: "built executable"},
		{name: "executable data", mode: "100755", data: []byte("hello"), want: "no #! line"},
		{name: "large", mode: "100644", size: maxTrackedFile + 1, want: "over the 8 MiB"},
		{name: "at the limit", mode: "100644", size: maxTrackedFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.size > 0 {
				if err := os.Truncate(p, tc.size); err != nil {
					t.Fatal(err)
				}
			}
			got := trackedFileProblem(p, tc.mode)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("trackedFileProblem = %q, want one containing %q", got, tc.want)
			}
		})
	}
}
