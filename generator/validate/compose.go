package validate

import (
	"context"
	"fmt"
	"path"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// LoadCompose loads a compose file the way `docker compose` does (schema validation,
// interpolation, consistency checks), with placeholder values for the secrets the host
// provides through --env-file. Every variable the file uses must be one of them.
func LoadCompose(ctx context.Context, name string, body []byte, secrets []string) error {
	env := types.Mapping{}
	for _, s := range secrets {
		env[s] = "placeholder-" + s
	}
	details := types.ConfigDetails{
		WorkingDir:  "/",
		ConfigFiles: []types.ConfigFile{{Filename: name, Content: body}},
		Environment: env,
	}
	var missing []string
	_, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(path.Base(path.Dir(name)), true)
		// Record variables the file uses that the host would not provide: compose would
		// silently put an empty string there.
		lookup := o.Interpolate.LookupValue
		o.Interpolate.LookupValue = func(key string) (string, bool) {
			v, ok := lookup(key)
			if !ok {
				missing = append(missing, key)
			}
			return v, ok
		}
		o.ResolvePaths = false
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: uses variables the host does not provide: %v", name, missing)
	}
	return nil
}
