package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// EnvInstallCheck turns on TestGoInstall, which builds burnrate twice from
// an empty module cache (minutes); make install-check sets it.
const EnvInstallCheck = "BURNRATE_INSTALL_CHECK"

// maxModuleZip bounds the module zip that go install downloads, in bytes.
const maxModuleZip = 5_000_000

// TestGoInstall proves that users can install burnrate the way the
// ecosystem installs Go tools: go install <module>/cmd/burnrate@<version>
// and go get -tool. The module at HEAD of this checkout is zipped as the Go
// command zips a module version (golang.org/x/mod/zip.CreateFromDir) and
// served from a file GOPROXY, with every dependency taken from this
// machine's module download cache (no network), into an empty module
// cache. go install refuses a module whose go.mod has a replace directive,
// and fails when a dependency is missing, so this also checks go.mod. Both
// installed commands run.
func TestGoInstall(t *testing.T) {
	if os.Getenv(EnvInstallCheck) != "1" {
		t.Skipf("skipping: set %s=1 (make install-check) to install burnrate from a module proxy into an empty module cache", EnvInstallCheck)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(mf.Replace) > 0 {
		t.Fatalf("go.mod has %d replace directive(s); go install <module>@<version> refuses such a module", len(mf.Replace))
	}
	const version = "v0.0.0-installcheck"
	mod := module.Version{Path: mf.Module.Mod.Path, Version: version}

	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	dir := filepath.Join(proxy, mod.Path, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// HEAD's tree, as a clone has it (git archive also reads a worktree,
	// which x/mod's CreateFromVCS does not recognise), zipped as the go
	// command zips a module.
	src := filepath.Join(tmp, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("sh", "-c", `git -C "$1" archive HEAD | tar -x -C "$2"`, "sh", root, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("git archive HEAD: %v\n%s", err, out)
	}
	var zip bytes.Buffer
	if err := modzip.CreateFromDir(&zip, mod, src); err != nil {
		t.Fatalf("zip the module at HEAD: %v", err)
	}
	// The module zip is what every user downloads; the lab's recordings
	// live in a module of their own (lab/recordings) to keep it small.
	if zip.Len() >= maxModuleZip {
		t.Errorf("the module zip at HEAD is %d bytes, want under %d: find the large files with unzip -l and move data out of the module", zip.Len(), maxModuleZip)
	}
	t.Logf("module zip: %d bytes", zip.Len())
	info, _ := json.Marshal(map[string]any{"Version": version, "Time": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	for name, data := range map[string][]byte{"list": []byte(version + "\n"), version + ".info": info, version + ".mod": gomod, version + ".zip": zip.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	downloads := filepath.Join(strings.TrimSpace(string(cache)), "cache", "download")
	// The module cache holds what this module's builds read; go get also
	// reads the go.mod of modules the build graph prunes (on a machine
	// whose cache started empty, testify v1.9.0's, required by a
	// dependency): those come from the configured proxy.
	upstream, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		t.Fatal(err)
	}
	proxies := "file://" + filepath.ToSlash(proxy) + ",file://" + filepath.ToSlash(downloads)
	if u := strings.TrimSpace(string(upstream)); u != "" && u != "off" {
		proxies += "," + u
	}
	bin := filepath.Join(tmp, "bin")
	env := append(os.Environ(),
		"GOPROXY="+proxies,
		"GOMODCACHE="+filepath.Join(tmp, "modcache"),
		"GOFLAGS=-modcacherw",
		"GOSUMDB=off", // the checksum database cannot know this version
		"GOBIN="+bin,
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	)
	run := func(dir string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	start := time.Now()
	run(tmp, "go", "install", mod.Path+"/cmd/burnrate@"+version)
	if out := run(tmp, filepath.Join(bin, "burnrate"), "spec"); !strings.Contains(out, "name: kube-apiserver") {
		t.Errorf("installed burnrate spec printed %.200q", out)
	}
	t.Logf("go install: %v", time.Since(start).Round(time.Second))

	start = time.Now()
	user := filepath.Join(tmp, "user")
	if err := os.Mkdir(user, 0o755); err != nil {
		t.Fatal(err)
	}
	run(user, "go", "mod", "init", "example.com/user")
	run(user, "go", "get", "-tool", mod.Path+"/cmd/burnrate@"+version)
	if out := run(user, "go", "tool", "burnrate", "generate", "--format", "mimir", "--out", "rules"); !strings.Contains(out, "1 file(s) generated") {
		t.Errorf("go tool burnrate generate printed %q", out)
	}
	t.Logf("go get -tool and go tool burnrate: %v", time.Since(start).Round(time.Second))
}
