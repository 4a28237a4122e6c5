package vmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/pipelines/catalogops"
)

// Results of a run, a scenario or a step.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
	// Incomplete is a run in which nothing failed but a scenario was skipped: not enough
	// to promote a release.
	Incomplete = "incomplete"
)

// Files a run writes into its output folder.
const (
	// EvidenceFile is what catalog promotion reads (catalogops.Evidence, strictly).
	EvidenceFile = "vmtest.json"
	// ReportFile is the whole report: every step with its timing, the failure output.
	ReportFile = "vmtest-report.json"
)

// Report is the outcome of one vmtest run.
type Report struct {
	Release   string            `json:"release"`            // the catalog release tested
	Previous  string            `json:"previous,omitempty"` // the release upgraded from
	Result    string            `json:"result"`             // pass, fail or incomplete
	Started   time.Time         `json:"started"`            // UTC
	Finished  time.Time         `json:"finished"`
	Seconds   float64           `json:"seconds"`
	Runner    string            `json:"runner"` // what ran it
	Apps      []string          `json:"apps"`
	Accel     string            `json:"accel"` // kvm or tcg
	Images    map[string]string `json:"images"`
	Scenarios []Scenario        `json:"scenarios"`
}

// Scenario is one scenario's outcome.
type Scenario struct {
	Name    string  `json:"name"`
	Result  string  `json:"result"` // pass, fail or skip
	Seconds float64 `json:"seconds"`
	Detail  string  `json:"detail"`
	Steps   []Step  `json:"steps"`
	// Artifacts is the failure output's folder, relative to the output folder.
	Artifacts string `json:"artifacts,omitempty"`
}

// Step is one timed step of a scenario.
type Step struct {
	Name    string  `json:"name"`
	Result  string  `json:"result"`
	Seconds float64 `json:"seconds"`
	Detail  string  `json:"detail,omitempty"`
}

// result is pass when every scenario passed, fail when one failed, else incomplete.
func result(scenarios []Scenario) string {
	r := Pass
	if len(scenarios) == 0 {
		r = Incomplete
	}
	for _, s := range scenarios {
		switch s.Result {
		case Fail:
			return Fail
		case Pass:
		default:
			r = Incomplete
		}
	}
	return r
}

// testedImages are the images the test site ran: the release's host images and those of
// the apps tested, keyed as catalog promotion compares them.
func testedImages(cat *catalog.Release, apps []string) map[string]string {
	all := catalogops.ReleaseImages(cat)
	out := map[string]string{}
	for _, h := range catalogops.HostImages(cat) {
		out[h.Where] = all[h.Where]
	}
	for _, a := range apps {
		for k, v := range all {
			if strings.HasPrefix(k, a+"/") {
				out[k] = v
			}
		}
	}
	return out
}

// Evidence is the report in the format catalog promotion reads.
func (r *Report) Evidence() catalogops.Evidence {
	ev := catalogops.Evidence{
		Format: catalogops.EvidenceFormat, Release: r.Release, Result: r.Result,
		Started: r.Started, Finished: r.Finished, Runner: r.Runner, Images: r.Images,
		Scenarios: []catalogops.Scenario{},
	}
	for _, s := range r.Scenarios {
		d := s.Detail
		if s.Result == Pass {
			d = ""
		}
		ev.Scenarios = append(ev.Scenarios, catalogops.Scenario{Name: s.Name, Result: s.Result, Seconds: s.Seconds, Detail: d})
	}
	return ev
}

// Write saves the evidence (vmtest.json) and the whole report (vmtest-report.json) in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, ReportFile), r); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, EvidenceFile), r.Evidence())
}

func writeJSON(file string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// ReadReport reads dir/vmtest-report.json.
func ReadReport(dir string) (*Report, error) {
	data, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", ReportFile, err)
	}
	return &r, nil
}

// Summary prints the result, one line per scenario and one per step.
func (r *Report) Summary(w io.Writer) {
	fmt.Fprintf(w, "vmtest of catalog %s: %s in %.0fs (%s; apps: %s)\n", r.Release, r.Result, r.Seconds, r.Accel, strings.Join(r.Apps, ", "))
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "  %-15s %-4s %7.1fs  %s\n", s.Name, s.Result, s.Seconds, firstLine(s.Detail))
		for _, st := range s.Steps {
			fmt.Fprintf(w, "    %-52s %-4s %7.1fs  %s\n", st.Name, st.Result, st.Seconds, firstLine(st.Detail))
		}
		if s.Artifacts != "" {
			fmt.Fprintf(w, "    failure output: %s\n", s.Artifacts)
		}
	}
	if r.Result == Incomplete {
		fmt.Fprintln(w, "incomplete: a scenario was skipped, so this run cannot promote the release")
	}
}
