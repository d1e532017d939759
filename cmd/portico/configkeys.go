package main

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/internal/suggest"
)

// unknownField is yaml.v3's message for a key that KnownFields refused.
var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)

// wrongType is yaml.v3's message for a value of the wrong type.
var wrongType = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")

// yamlKinds names yaml.v3's tags in the file's terms.
var yamlKinds = map[string]string{"str": "the text", "int": "the number", "float": "the number", "bool": "the boolean",
	"seq": "a list", "map": "a mapping", "null": "null", "timestamp": "the date"}

// wantedType says, in a config file's terms, what a value decoded into the Go
// type named goType must be.
func wantedType(goType string) string {
	switch goType {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number (256)"
	case "float32", "float64":
		return "a number (0.5)"
	case "bool":
		return "true or false"
	case "string":
		return "text"
	case "time.Duration":
		return "a duration (30s, 5m, 1h)"
	}
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping of keys to values"
	}
	return "a mapping of its own keys"
}

// flagOnly are serve's flags that are no portico.yaml key, with what to do
// instead: a file that gives one is told so rather than offered a key.
var flagOnly = map[string]string{
	"new-store": "a one-off flag, not a portico.yaml key: start once with --new-store (or PORTICO_NEW_STORE=true)",
}

// placeKeys explains a config file's keys that it does not know, and values
// of the wrong type (naming the key and what it takes), in the
// file's terms rather than Go's ("field listn not found in type
// app.Settings"): a known key put at the wrong level (max-sandboxes at the
// top level, where the file's key is invoker: max-sandboxes) says where it
// goes, and another names the key of its section it likely meant ("did you
// mean listen?"). err, a yaml.TypeError from decoding raw into a value of type
// t, is returned with its lines so rewritten; other errors are returned as
// they are.
func placeKeys(err error, raw []byte, t reflect.Type) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	places := map[string][]string{}
	keyPlaces(t, "", places)
	keysOf := map[string][]string{} // the keys of each section
	for key, sections := range places {
		for _, sec := range sections {
			keysOf[sec] = append(keysOf[sec], key)
		}
	}
	for _, keys := range keysOf {
		slices.Sort(keys)
	}
	var doc yaml.Node
	if yaml.Unmarshal(raw, &doc) != nil {
		return err
	}
	lines := make([]string, len(te.Errors))
	changed := false
	for i, msg := range te.Errors {
		lines[i] = msg
		if m := wrongType.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			if root := topNode(&doc); root != nil && root.Kind != yaml.MappingNode && line == root.Line {
				// The whole file is one value: most often a first key
				// without its colon (listen 127.0.0.1:8080).
				changed = true
				lines[i] = fmt.Sprintf("line %d: the file must be a mapping of keys (listen: ADDR), not %s", line, notAMapping(root))
				continue
			}
			if key, ok := keyOfValue(&doc, line, ""); ok {
				changed = true
				given, known := yamlKinds[m[2]]
				if !known {
					given = "!!" + m[2]
				}
				if m[3] != "" {
					given += " " + m[3]
				}
				lines[i] = fmt.Sprintf("line %d: %s takes %s, not %s", line, key, wantedType(m[4]), given)
			}
			continue
		}
		m := unknownField.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		key := m[2]
		where, ok := sectionOf(&doc, line, key, "")
		if !ok {
			continue
		}
		changed = true
		if len(places[key]) > 0 {
			lines[i] = fmt.Sprintf("line %d: %s goes %s, not %s", line, key, placeNames(places[key]), placeName(where))
			continue
		}
		if hint, ok := flagOnly[key]; ok && where == "" {
			lines[i] = fmt.Sprintf("line %d: %s is %s", line, key, hint)
			continue
		}
		lines[i] = fmt.Sprintf("line %d: unknown key %s %s", line, key, placeName(where))
		if best := suggest.Closest(key, keysOf[where]); best != "" {
			lines[i] += fmt.Sprintf(" (did you mean %s?)", best)
		}
	}
	if !changed {
		return err
	}
	return fmt.Errorf("yaml: unmarshal errors:\n  %s", strings.Join(lines, "\n  "))
}

// topNode is the value at the top of a parsed document, nil when it is empty.
func topNode(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// notAMapping says what the top-level value n, which is no mapping, is, and
// what likely went wrong.
func notAMapping(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		text := n.Value
		if len(text) > 40 {
			text = text[:40] + "..."
		}
		return fmt.Sprintf("the text %q: is a colon missing after the key?", text)
	case yaml.SequenceNode:
		return "a list: drop the leading `- `"
	}
	return "a " + n.Tag
}

// keyPlaces records in out, for each yaml key of the struct type t (under
// section, "" for the top level), the sections it is a key of, in the order
// the fields are declared.
func keyPlaces(t reflect.Type, section string, out map[string][]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			keyPlaces(f.Type, section, out)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = append(out[name], section)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() != "time" {
			keyPlaces(ft, strings.TrimSpace(section+" "+name+":"), out)
		}
	}
}

// sectionOf finds the key node named key on line in the YAML tree n and returns
// the section it is in ("" for the top level).
func sectionOf(n *yaml.Node, line int, key, section string) (string, bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if s, ok := sectionOf(c, line, key, section); ok {
				return s, true
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Line == line && k.Value == key {
				return section, true
			}
			if s, ok := sectionOf(v, line, key, strings.TrimSpace(section+" "+k.Value+":")); ok {
				return s, true
			}
		}
	}
	return "", false
}

// keyOfValue finds the first key whose value in the YAML tree n starts on line
// and returns it with its section ("invoker: max-sandboxes").
func keyOfValue(n *yaml.Node, line int, section string) (string, bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if k, ok := keyOfValue(c, line, section); ok {
				return k, true
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Line == line && v.Kind != yaml.MappingNode {
				return strings.TrimSpace(section + " " + k.Value), true
			}
			if key, ok := keyOfValue(v, line, strings.TrimSpace(section+" "+k.Value+":")); ok {
				return key, true
			}
		}
	}
	return "", false
}

// placeName says where a key of section is: "at the top level" or "under
// invoker:".
func placeName(section string) string {
	if section == "" {
		return "at the top level"
	}
	return "under " + section
}

// placeNames says where a key of any of sections goes: "under invoker:",
// "under invoker: or listener:", "at the top level".
func placeNames(sections []string) string {
	if len(sections) == 1 {
		return placeName(sections[0])
	}
	names := make([]string, len(sections))
	for i, s := range sections {
		names[i] = strings.TrimPrefix(placeName(s), "under ")
	}
	return "under " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
