package openslo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/OpenSLO/go-sdk/pkg/openslosdk"
	"github.com/nobl9/govy/pkg/govy"
	"gopkg.in/yaml.v3"

	"github.com/burnrate/burnrate/internal/importspec"
)

// The OpenSLO versions burnrate reads.
const (
	v1alpha = "openslo/v1alpha"
	v1      = "openslo/v1"
	v2alpha = "openslo.com/v2alpha"
)

var versions = []string{v1alpha, v1, v2alpha}

// object is one OpenSLO object of a file: its mapping node and what
// identifies it.
type object struct {
	file                string
	node                *yaml.Node
	version, kind, name string
	// rejected says the OpenSLO SDK refused it (reported already).
	rejected bool
}

func (o *object) at(n *yaml.Node) importspec.Pos {
	if n == nil {
		n = o.node
	}
	return importspec.At(o.file, n)
}

// The YAML readers of internal/importspec, by short names.
var (
	key     = importspec.Key
	keyNode = importspec.KeyNode
	str     = importspec.Str
)

// at is the node at path under n, or its closest existing parent's key.
func at(n *yaml.Node, path ...string) *yaml.Node {
	best := n
	for _, p := range path {
		k, v := keyNode(n, p), key(n, p)
		if v == nil {
			return best
		}
		best, n = k, v
	}
	return best
}

// read splits a file into its OpenSLO objects (documents, or lists of
// objects in a document, as the SDK reads them), decodes each with the
// OpenSLO SDK and validates it with the SDK's own rules, reporting the
// SDK's findings at their lines.
func read(file string, data []byte, p *importspec.Problems) []*object {
	var out []*object
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.Fail(importspec.Pos{File: file}, "not YAML: %v", err)
			return nil
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		items := []*yaml.Node{top}
		switch {
		case top.Kind == yaml.SequenceNode:
			items = top.Content
		case top.Kind == yaml.ScalarNode && top.Tag == "!!null":
			continue
		}
		for _, n := range items {
			if n.Kind != yaml.MappingNode {
				p.Fail(importspec.At(file, n), "want an OpenSLO object: a mapping with apiVersion, kind, metadata and spec")
				continue
			}
			o := &object{file: file, node: n, version: str(n, "apiVersion"), kind: str(n, "kind"), name: str(n, "metadata", "name")}
			if !slices.Contains(versions, o.version) {
				p.Fail(o.at(at(n, "apiVersion")), "apiVersion %q: burnrate import openslo reads %s", o.version, strings.Join(versions, ", "))
				continue
			}
			o.rejected = !sdkCheck(o, p)
			out = append(out, o)
		}
	}
	return out
}

// sdkCheck decodes o with the OpenSLO SDK (which refuses unknown fields
// and kinds a version does not have) and validates it with the SDK's
// rules; false when either fails.
func sdkCheck(o *object, p *importspec.Problems) bool {
	b, err := yaml.Marshal(o.node)
	if err != nil {
		p.Fail(o.at(nil), "%v", err)
		return false
	}
	objs, err := openslosdk.Decode(bytes.NewReader(b), openslosdk.FormatYAML)
	if err != nil {
		p.Fail(o.at(nil), "%s %s %q: the OpenSLO SDK cannot read it: %v", o.version, o.kind, o.name, err)
		return false
	}
	err = openslosdk.Validate(objs...)
	if err == nil {
		return true
	}
	var verrs govy.ValidatorErrors
	if !errors.As(err, &verrs) {
		p.Fail(o.at(nil), "%s %q: %v", o.kind, o.name, err)
		return false
	}
	for _, ve := range verrs {
		for _, pe := range ve.Errors {
			var msgs []string
			for _, re := range pe.Errors {
				msgs = append(msgs, re.Message)
			}
			path := strings.TrimPrefix(pe.PropertyPath.String(), "$.")
			p.Fail(o.at(nodeAtPath(o.node, path)), "%s %q: %s: %s (OpenSLO's rules, as the OpenSLO SDK checks them)", o.kind, o.name, path, strings.Join(msgs, "; "))
		}
	}
	return false
}

var segmentRE = regexp.MustCompile(`[^.\[\]]+|\[\d+\]`)

// nodeAtPath is the node at a JSONPath-like path (spec.objectives[0].target)
// under n, or its closest existing parent.
func nodeAtPath(n *yaml.Node, path string) *yaml.Node {
	best := n
	for _, seg := range segmentRE.FindAllString(path, -1) {
		if strings.HasPrefix(seg, "[") {
			i, _ := strconv.Atoi(strings.Trim(seg, "[]"))
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return best
			}
			n = n.Content[i]
			best = n
			continue
		}
		k, v := keyNode(n, seg), key(n, seg)
		if v == nil {
			return best
		}
		best, n = k, v
	}
	return best
}

func describe(o *object) string { return fmt.Sprintf("%s %q", o.kind, o.name) }
