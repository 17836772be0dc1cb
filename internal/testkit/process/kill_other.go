//go:build !linux

package process

import "os/exec"

// killWithParent is a no-op where the kernel cannot tie a child's life to
// its parent; the caller stops its processes.
func killWithParent(*exec.Cmd) {}
