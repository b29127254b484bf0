package gateway

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Source says where a setting's value came from.
type Source string

// The sources of a setting, from the strongest: a flag beats the
// environment, which beats the configuration file, which beats the default.
const (
	SourceFlag    Source = "flag"
	SourceEnv     Source = "env"
	SourceFile    Source = "file"
	SourceDefault Source = "default"
)

// The configuration file is named by --config or PAYGATE_CONFIG (the flag wins).
const (
	ConfigFlag = "config"
	ConfigEnv  = "PAYGATE_CONFIG"
)

// Inputs are where Load reads settings from.
type Inputs struct {
	// Flag returns a flag's value when it was given on the command line.
	Flag func(name string) (string, bool)
	// Env returns an environment variable (os.LookupEnv). A variable set to
	// the empty string counts as unset.
	Env func(name string) (string, bool)
}

// Load reads the settings named by keys (every setting when keys is empty)
// from in and the configuration file it names, strongest first: flag,
// environment, file, default. It returns the Config, where each value came
// from, and the first bad value as an error naming the setting, the place
// and the value. A file key that names no setting is an error too.
func Load(in Inputs, keys ...string) (Config, map[string]Source, error) {
	var c Config
	sources := map[string]Source{}
	flag := in.Flag
	if flag == nil {
		flag = func(string) (string, bool) { return "", false }
	}
	env := func(name string) (string, bool) {
		if in.Env == nil {
			return "", false
		}
		v, ok := in.Env(name)
		return v, ok && v != ""
	}
	path, ok := flag(ConfigFlag)
	if !ok {
		path, _ = env(ConfigEnv)
	}
	file, err := readConfigFile(path)
	if err != nil {
		return c, nil, err
	}
	for _, s := range Settings() {
		if len(keys) > 0 && !slices.Contains(keys, s.Key) {
			continue
		}
		var v, where string
		var src Source
		if fv, ok := flag(s.Flag()); ok {
			v, src, where = fv, SourceFlag, "--"+s.Flag()
		} else if ev, ok := env(s.Env()); ok {
			v, src, where = ev, SourceEnv, s.Env()
		} else if fv, ok := file[s.Key]; ok {
			v, src, where = fv, SourceFile, fmt.Sprintf("%s in %s", s.Key, path)
		} else {
			continue
		}
		if err := s.parse(&c, v); err != nil {
			shown := fmt.Sprintf("%q", v)
			if s.Secret {
				shown = "(masked)"
			}
			return c, nil, fmt.Errorf("setting %s: %s = %s: %v", s.Key, where, shown, err)
		}
		sources[s.Key] = src
	}
	c.setDefaults()
	return c, sources, nil
}

// readConfigFile reads a YAML mapping of setting keys to values; a list
// value (notify_retry_schedule) is joined with commas. "" reads nothing.
func readConfigFile(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	out := map[string]string{}
	if len(doc.Content) == 0 { // an empty file
		return out, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s: want a mapping of settings (key: value)", path)
	}
	var known []string
	for _, s := range Settings() {
		known = append(known, s.Key)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !slices.Contains(known, k.Value) {
			return nil, fmt.Errorf("config file %s line %d: unknown setting %q (settings: %s)", path, k.Line, k.Value, strings.Join(known, ", "))
		}
		switch v.Kind {
		case yaml.ScalarNode:
			out[k.Value] = v.Value
		case yaml.SequenceNode:
			var parts []string
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("config file %s line %d: %s: want a value or a list of values", path, e.Line, k.Value)
				}
				parts = append(parts, e.Value)
			}
			out[k.Value] = strings.Join(parts, ",")
		default:
			return nil, fmt.Errorf("config file %s line %d: %s: want a value or a list of values", path, v.Line, k.Value)
		}
	}
	return out, nil
}
