package slo

import (
	"errors"
	"fmt"
)

// Collisions refuses specs that would write the same files (two specs with
// one name), or the same records into one Prometheus, and so read each
// other's: two specs with the same service
// (their records are told apart by service and SLO alone), or two without
// one (both are the kube-apiserver's, whose records carry the mixin's names
// and the SLI label alone). Each error is at the line of the second spec
// and names the first by file and line.
func Collisions(specs []*Spec) error {
	var errs []error
	first := map[string]*Spec{}
	names := map[string]*Spec{}
	for _, s := range specs {
		if prev, dup := names[s.Name]; dup {
			errs = append(errs, s.Errors([]FieldError{{Path: Path{"name"},
				Msg: fmt.Sprintf("%q is also the name of %s; both would write the files of that name (%s.rules.yaml, …); give each spec its own name", s.Name, prev.at(Path{"name"}), s.Name)}}))
			continue
		}
		names[s.Name] = s
		prev, dup := first[s.Service]
		if !dup {
			first[s.Service] = s
			continue
		}
		if s.Service == "" {
			errs = append(errs, s.Errors([]FieldError{{Path: Path{"name"},
				Msg: fmt.Sprintf("this spec has no service, nor has %s, so both are rendered as the kube-apiserver and would write the same records (the mixin's names, told apart by %s alone), each alert reading the other's errors; render one kube-apiserver spec per run, or add the line \"service: %s\" to this one", prev.at(Path{"name"}), s.SLILabel, serviceFor(s))}}))
			continue
		}
		errs = append(errs, s.Errors([]FieldError{{Path: Path{"service"},
			Msg: fmt.Sprintf("%q is also the service of %s; both would write the same records and alerts, each reading the other's errors; give each spec its own service", s.Service, prev.at(Path{"service"}))}}))
	}
	return errors.Join(errs...)
}

// at names the field at path p as file:line (just the file when the spec
// was not parsed from one).
func (s *Spec) at(p Path) string {
	if s.src == nil {
		return "spec"
	}
	if line := lineOf(s.src.root, p); line > 0 {
		return fmt.Sprintf("%s:%d", s.src.file, line)
	}
	return s.src.file
}
