package vmtest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strings"

	ignition "github.com/coreos/ignition/v2/config/v3_3"
	"github.com/coreos/ignition/v2/config/v3_3/types"
)

// DecodeSource reads an Ignition data URL (RFC 2397), gzip-compressed or not: the only
// sources the generator and the overlay write.
func DecodeSource(src string, compression *string) ([]byte, error) {
	header, body, ok := strings.Cut(strings.TrimPrefix(src, "data:"), ",")
	if !ok || !strings.HasPrefix(src, "data:") {
		return nil, fmt.Errorf("not a data URL: %.60s", src)
	}
	var data []byte
	var err error
	if strings.HasSuffix(header, ";base64") {
		data, err = base64.StdEncoding.DecodeString(body)
	} else {
		var s string
		s, err = url.PathUnescape(body)
		data = []byte(s)
	}
	if err != nil {
		return nil, fmt.Errorf("data URL: %w", err)
	}
	if compression != nil && *compression == "gzip" {
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip data URL: %w", err)
		}
		if data, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("gzip data URL: %w", err)
		}
	}
	return data, nil
}

// ResolveIgnition does what Ignition does with ignition.config.merge, with Ignition's own
// parser and merge: each listed config, itself resolved first (a merged config may merge
// others: Ignition renders them recursively), is merged in order into the one before, the
// later one winning. It returns the result and the resolved merged configs.
func ResolveIgnition(raw []byte) (types.Config, []types.Config, error) {
	return resolveIgnition(raw, 0)
}

func resolveIgnition(raw []byte, depth int) (types.Config, []types.Config, error) {
	if depth > 10 {
		return types.Config{}, nil, fmt.Errorf("configs merged more than 10 deep")
	}
	cfg, rep, err := ignition.Parse(raw)
	if err != nil {
		return types.Config{}, nil, fmt.Errorf("%v\n%s", err, rep.String())
	}
	var parts []types.Config
	merged := cfg
	for _, ref := range cfg.Ignition.Config.Merge {
		if ref.Source == nil {
			return types.Config{}, nil, fmt.Errorf("a merged config has no source")
		}
		data, err := DecodeSource(*ref.Source, ref.Compression)
		if err != nil {
			return types.Config{}, nil, fmt.Errorf("merged config: %w", err)
		}
		child, _, err := resolveIgnition(data, depth+1)
		if err != nil {
			return types.Config{}, nil, fmt.Errorf("merged config: %w", err)
		}
		parts = append(parts, child)
		merged = ignition.Merge(merged, child)
	}
	return merged, parts, nil
}
