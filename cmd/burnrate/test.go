package main

import (
	"io"

	"github.com/burnrate/burnrate/internal/ruletest"
)

// runTest runs promtool-format rule unit tests in-process.
func runTest(args []string, stdout, stderr io.Writer) int {
	return ruletest.Main(args, stdout, stderr)
}
