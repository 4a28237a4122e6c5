package site

import (
	"encoding/json"
	"sync"

	"github.com/invopop/jsonschema"
)

// SchemaID is the schema's canonical address.
const SchemaID = "https://nassella.org/schema/site-v1.json"

// Schema returns the JSON Schema of site.yaml, generated from the Go types so the two
// never disagree. Editors validate with it while the customer types.
func Schema() ([]byte, error) {
	schemaOnce.Do(func() { schemaJSON, schemaErr = reflectSchema() })
	// A copy: callers may write into what they get.
	return append([]byte(nil), schemaJSON...), schemaErr
}

// The schema depends only on the Go types, so it is made once per process: every site
// repo carries it, and reflecting it took a tenth of a site's generation time.
var (
	schemaOnce sync.Once
	schemaJSON []byte
	schemaErr  error
)

func reflectSchema() ([]byte, error) {
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		DoNotReference:             true,
		ExpandedStruct:             true,
	}
	s := r.Reflect(&Site{})
	s.ID = SchemaID
	s.Title = "nassella site.yaml"
	s.Description = "One file describes a customer's server and everything on it."
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
