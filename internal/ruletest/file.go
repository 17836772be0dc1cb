package ruletest

import (
	"errors"
	"fmt"

	"github.com/burnrate/burnrate/internal/promtest"
)

// The test-file format itself (types, strict decoding as promtool does it,
// line lookup) is package promtest; this file turns its errors into
// inputErrors.

// inputError is a problem with a test file or a rule file it references: the
// exit-code-2 class of error. Line is 0 when no line is known.
type inputError struct {
	File string
	Line int
	Err  error
}

func (e *inputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *inputError) Unwrap() error { return e.Err }

// decodeTestFile decodes content strictly, as promtool does, and turns each
// problem the decoder reports into an inputError with file and line.
func decodeTestFile(path string, content []byte) (*promtest.File, error) {
	tf, err := promtest.Decode(content)
	if err == nil {
		return tf, nil
	}
	de, ok := errors.AsType[*promtest.DecodeError](err)
	if !ok {
		return nil, &inputError{File: path, Err: err}
	}
	errs := make([]error, 0, len(de.Problems))
	for _, p := range de.Problems {
		errs = append(errs, &inputError{File: path, Line: p.Line, Err: fmt.Errorf("invalid test file: %s", p.Msg)})
	}
	return nil, errors.Join(errs...)
}
