package butane

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	// Butane marshals the Ignition with this fork of encoding/json, which leaves out empty
	// structs; the same marshaller gives the same bytes.
	cjson "github.com/clarketm/json"
	bconfig "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	"github.com/coreos/ignition/v2/config/v3_3/types"
)

// translate is Translate with the same output, faster: most of Butane's time went into a
// new gzip writer at best compression for every file (about 1 MB of tables each, then
// garbage). Here Butane translates without compressing, and the file contents are then
// compressed exactly as Butane would (base/util.MakeDataURL in butane v0.26.0: gzip at
// BestCompression, base64, used when shorter than the plain data URL by more than the
// length of "gzip"), with pooled writers and a cache keyed by the contents. The golden
// trees and `nassella validate`, which re-translates with Butane's own compression and
// compares, hold the two byte-identical.
func translate(butaneYAML []byte, inline map[string]string) ([]byte, error) {
	ign, rep, err := bconfig.TranslateBytes(butaneYAML, common.TranslateBytesOptions{
		Pretty:           true,
		TranslateOptions: common.TranslateOptions{NoResourceAutoCompression: true},
	})
	if err != nil {
		return nil, fmt.Errorf("butane: %w\n%s", err, rep.String())
	}
	if len(rep.Entries) > 0 {
		return nil, fmt.Errorf("butane (strict): %s", strings.TrimSpace(rep.String()))
	}
	var cfg types.Config
	if err := json.Unmarshal(ign, &cfg); err != nil {
		return nil, fmt.Errorf("butane: reading its Ignition: %w", err)
	}
	for i := range cfg.Storage.Files {
		f := &cfg.Storage.Files[i]
		body, ok := inline[f.Path]
		src := f.Contents.Source
		if !ok || src == nil || !strings.HasPrefix(*src, "data:") || f.Contents.Compression == nil || *f.Contents.Compression != "" {
			continue
		}
		gz := ";base64," + compressed(body)
		if len(gz)+len("gzip") < len(*src)-len("data:") {
			s, c := "data:"+gz, "gzip"
			f.Contents.Source, f.Contents.Compression = &s, &c
		}
	}
	out, err := cjson.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("butane: writing the Ignition: %w", err)
	}
	return append(out, '\n'), nil
}

var (
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression)
		return w
	}}
	compressedMu    sync.Mutex
	compressedCache = map[[sha256.Size]byte]string{}
)

// maxCached bounds the cache: the update bot renders a whole fleet in one process, and
// the files most sites share (scripts, units) stay cached while per-site ones churn.
const maxCached = 4096

// compressed returns the base64 of body gzipped at best compression, as Butane makes it.
func compressed(body string) string {
	key := sha256.Sum256([]byte(body))
	compressedMu.Lock()
	s, ok := compressedCache[key]
	compressedMu.Unlock()
	if ok {
		return s
	}
	var buf bytes.Buffer
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	w.Write([]byte(body)) // writes to a bytes.Buffer do not fail
	w.Close()
	gzipWriters.Put(w)
	s = base64.StdEncoding.EncodeToString(buf.Bytes())
	compressedMu.Lock()
	if len(compressedCache) >= maxCached {
		clear(compressedCache)
	}
	compressedCache[key] = s
	compressedMu.Unlock()
	return s
}
