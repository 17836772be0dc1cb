package process

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill the child if the program that
// started it dies without stopping it.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
