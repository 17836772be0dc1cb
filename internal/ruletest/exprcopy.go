package ruletest

import (
	"reflect"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// copyExpr returns a deep copy of the parsed expression e, or false if e
// holds something it cannot copy safely. It walks the tree by reflection, so
// a node type or field that a Prometheus upgrade adds is copied without a
// change here. Every pointer, slice, map and interface is copied, with two
// exceptions that the parser itself shares between trees and that nothing
// mutates: compiled label matchers (*labels.Matcher) and function
// definitions (*parser.Function). It refuses, and the caller parses again,
// when it meets what a parser's result never holds: a non-nil interface
// whose value is not a parser.Node (a selector's series, attached during
// evaluation), an unexported field that is a non-nil pointer, slice, map or
// interface or a non-zero struct or array (v0.316.0's nodes have only
// unexported bools), a channel or a function value.
func copyExpr(e parser.Expr) (parser.Expr, bool) {
	if e == nil {
		return nil, true
	}
	src := reflect.ValueOf(e)
	if src.Kind() == reflect.Pointer && !src.IsNil() {
		// Every node type is a pointer: copy what it points to straight
		// into a new node.
		p := reflect.New(src.Type().Elem())
		if !copyInto(p.Elem(), src.Elem()) {
			return nil, false
		}
		return p.Interface().(parser.Expr), true
	}
	dst := reflect.New(reflect.TypeFor[parser.Expr]()).Elem()
	if !copyInto(dst, reflect.ValueOf(&e).Elem()) {
		return nil, false
	}
	return dst.Interface().(parser.Expr), true
}

var (
	nodeType        = reflect.TypeFor[parser.Node]()
	matcherPtrType  = reflect.TypeFor[*labels.Matcher]()
	functionPtrType = reflect.TypeFor[*parser.Function]()
	isNode          sync.Map // reflect.Type → bool: whether it implements parser.Node
)

// implementsNode reports whether t implements parser.Node, remembering the
// answer per type.
func implementsNode(t reflect.Type) bool {
	if ok, found := isNode.Load(t); found {
		return ok.(bool)
	}
	ok := t.Implements(nodeType)
	isNode.Store(t, ok)
	return ok
}

// fieldPlan is a field of a struct type that copyInto must look into.
type fieldPlan struct {
	index    int
	exported bool
}

var structPlans sync.Map // reflect.Type → []fieldPlan

// fieldsToCopy returns the fields of struct type t that can hold references:
// pointers, slices, maps, interfaces, channels, functions, and structs and
// arrays that may contain them. The answer is remembered per type.
func fieldsToCopy(t reflect.Type) []fieldPlan {
	if fps, ok := structPlans.Load(t); ok {
		return fps.([]fieldPlan)
	}
	var fps []fieldPlan
	for i := range t.NumField() {
		f := t.Field(i)
		if k := f.Type.Kind(); isReference(k) || k == reflect.Struct || k == reflect.Array {
			fps = append(fps, fieldPlan{index: i, exported: f.IsExported()})
		}
	}
	structPlans.Store(t, fps)
	return fps
}

// isReference reports whether values of kind k can point to other memory.
func isReference(k reflect.Kind) bool {
	switch k {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	}
	return false
}

// copyInto sets dst, a settable value of src's type, to a deep copy of src
// as described at copyExpr, and reports whether it could.
func copyInto(dst, src reflect.Value) bool {
	switch src.Kind() {
	case reflect.Pointer:
		if t := src.Type(); src.IsNil() || t == matcherPtrType || t == functionPtrType {
			dst.Set(src)
			return true
		}
		p := reflect.New(src.Type().Elem())
		if !copyInto(p.Elem(), src.Elem()) {
			return false
		}
		dst.Set(p)
		return true
	case reflect.Interface:
		if src.IsNil() {
			dst.Set(src)
			return true
		}
		elem := src.Elem()
		if !implementsNode(elem.Type()) {
			return false
		}
		if elem.Kind() == reflect.Pointer && !elem.IsNil() {
			// Every node type is a pointer: copy what it points to
			// straight into a new node.
			p := reflect.New(elem.Type().Elem())
			if !copyInto(p.Elem(), elem.Elem()) {
				return false
			}
			dst.Set(p)
			return true
		}
		c := reflect.New(elem.Type()).Elem()
		if !copyInto(c, elem) {
			return false
		}
		dst.Set(c)
		return true
	case reflect.Slice:
		if src.IsNil() {
			dst.Set(src)
			return true
		}
		n := src.Len()
		if n == 0 {
			dst.Set(reflect.MakeSlice(src.Type(), 0, 0)) // empty, not nil, and not shared
			return true
		}
		// Growing the settable dst allocates only the array, where
		// MakeSlice would allocate a slice header too.
		dst.SetZero()
		dst.Grow(n)
		dst.SetLen(n)
		for i := range n {
			if !copyInto(dst.Index(i), src.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if src.IsNil() {
			dst.Set(src)
			return true
		}
		c := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			k := reflect.New(it.Key().Type()).Elem()
			v := reflect.New(it.Value().Type()).Elem()
			if !copyInto(k, it.Key()) || !copyInto(v, it.Value()) {
				return false
			}
			c.SetMapIndex(k, v)
		}
		dst.Set(c)
		return true
	case reflect.Struct:
		dst.Set(src) // every field, unexported ones included; references are replaced below
		for _, fp := range fieldsToCopy(src.Type()) {
			f := src.Field(fp.index)
			if !fp.exported {
				if !f.IsZero() {
					return false
				}
				continue
			}
			if !copyInto(dst.Field(fp.index), f) {
				return false
			}
		}
		return true
	case reflect.Array:
		for i := range src.Len() {
			if !copyInto(dst.Index(i), src.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		if !src.IsNil() {
			return false
		}
		dst.Set(src)
		return true
	default:
		dst.Set(src)
		return true
	}
}
