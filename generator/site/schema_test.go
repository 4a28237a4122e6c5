package site

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/generator/examples"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("site.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("site.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// instance turns site.yaml text into the JSON value an editor validates.
func instance(t *testing.T, text []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(text, &v); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// What editors accept while the customer types must agree with nassella: every example
// passes the schema, and mistakes the loader refuses by shape are refused by it too.
func TestSchemaAgreesWithLoader(t *testing.T) {
	s := compileSchema(t)
	for _, name := range examples.Names() {
		data, _ := examples.Get(name)
		if err := s.Validate(instance(t, data)); err != nil {
			t.Errorf("example %s fails the schema: %v", name, err)
		}
	}
	for _, f := range []string{"bad-name", "bad-domain", "bad-location", "several-errors", "unknown-key", "wrong-type", "wrong-version", "missing-dns", "trailing-dot-domain", "old-server-type"} {
		data := readFile(t, filepath.Join("testdata", "invalid", f+".yaml"))
		if err := s.Validate(instance(t, data)); err == nil {
			t.Errorf("%s passes the schema but nassella refuses it", f)
		}
	}
}

func TestSchemaServerTypesMatchTable(t *testing.T) {
	data, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Properties struct {
			Provider struct {
				Properties struct {
					Hetzner struct {
						Properties struct {
							ServerType struct {
								Enum []string `json:"enum"`
							} `json:"server_type"`
						} `json:"properties"`
					} `json:"hetzner"`
				} `json:"properties"`
			} `json:"provider"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.Properties.Provider.Properties.Hetzner.Properties.ServerType.Enum
	if !slices.Equal(got, serverTypeNames()) {
		t.Errorf("schema server types %s, table %s: update the jsonschema tag in types.go", strings.Join(got, ","), strings.Join(serverTypeNames(), ","))
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
