package e2eprom

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill the e2e Prometheus if the test
// binary dies without stopping it.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
