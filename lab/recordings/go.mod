// The lab's recordings are data, not code: this file makes the directory a
// module of its own so that the recordings (tens of MB) stay out of the
// github.com/burnrate/burnrate module zip that `go install` downloads. Tests
// in a clone read them by path (lab/recordings/<version>/).
module github.com/burnrate/burnrate/lab/recordings

go 1.26.8
