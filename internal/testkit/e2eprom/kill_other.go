//go:build !linux

package e2eprom

import "os/exec"

// killWithParent is a no-op where the kernel cannot tie a child's life to
// its parent; TestMain stops the server.
func killWithParent(*exec.Cmd) {}
