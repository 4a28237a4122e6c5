package catalogops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/nassella/nassella/catalog"
)

// EvidenceFormat is the version of the evidence file format this nassella writes and reads.
const EvidenceFormat = 1

// EvidencePath is where the VM release test's evidence for release lives, relative to the
// catalog folder.
func EvidencePath(release string) string { return "evidence/" + release + "/vmtest.json" }

// Evidence is what the VM release test (nassella vmtest) records about its run against
// one release, in evidence/<release>/vmtest.json. Promotion reads it; the file is
// committed with the promotion, so history keeps what each promotion rested on.
type Evidence struct {
	Format    int        `json:"format"`  // EvidenceFormat
	Release   string     `json:"release"` // the release tested, YYYY.MM.N
	Result    string     `json:"result"`  // "pass" or "fail": pass only when every scenario passed
	Started   time.Time  `json:"started"`
	Finished  time.Time  `json:"finished"`
	Runner    string     `json:"runner"` // what ran it: tool version, machine, CI run URL
	Scenarios []Scenario `json:"scenarios"`
	// Images are the images the test ran, by "app/service" and, for the host images, as
	// Unpinned names them ("proxy/caddy", "host/restic"), each as the full reference
	// image:tag@digest (the values of a site's nassella.lock).
	Images map[string]string `json:"images"`
}

// Scenario is one part of the VM test, such as a fresh install of every app or an
// upgrade from the stable release with data in place.
type Scenario struct {
	Name    string  `json:"name"`
	Result  string  `json:"result"` // "pass" or "fail"
	Seconds float64 `json:"seconds"`
	Detail  string  `json:"detail,omitempty"` // what failed, for a failed scenario
}

// ReadEvidence reads an evidence file strictly: an unknown field is an error, so a
// newer format is not misread.
func ReadEvidence(file string) (Evidence, []byte, error) {
	var ev Evidence
	data, err := os.ReadFile(file)
	if err != nil {
		return ev, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ev, data, fmt.Errorf("%s is not vmtest evidence: %w", file, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ev, data, fmt.Errorf("%s is not vmtest evidence: more than one JSON value", file)
	}
	return ev, data, nil
}

// Problems lists why ev does not show that release passed with exactly the images it
// pins (by "app/service" → image:tag@digest); none means it does.
func (ev Evidence) Problems(release string, images map[string]string) []string {
	var out []string
	if ev.Format != EvidenceFormat {
		out = append(out, fmt.Sprintf("format is %d; this nassella reads format %d", ev.Format, EvidenceFormat))
	}
	if ev.Release != release {
		out = append(out, fmt.Sprintf("it is evidence for release %q, not %s", ev.Release, release))
	}
	if ev.Result != "pass" {
		out = append(out, fmt.Sprintf("the result is %q, not pass", ev.Result))
	}
	if len(ev.Scenarios) == 0 {
		out = append(out, "it lists no scenarios")
	}
	for _, s := range ev.Scenarios {
		if s.Result != "pass" {
			line := fmt.Sprintf("scenario %s: %s", s.Name, s.Result)
			if s.Detail != "" {
				line += ": " + s.Detail
			}
			out = append(out, line)
		}
	}
	if ev.Finished.IsZero() || ev.Finished.Before(ev.Started) {
		out = append(out, "finished is missing or before started")
	}
	for _, k := range sortedKeys(images) {
		switch got, ok := ev.Images[k]; {
		case !ok:
			out = append(out, fmt.Sprintf("%s (%s) was not tested", k, images[k]))
		case got != images[k]:
			out = append(out, fmt.Sprintf("%s: the test ran %s but the release pins %s", k, got, images[k]))
		}
	}
	for _, k := range sortedKeys(ev.Images) {
		if _, ok := images[k]; !ok {
			out = append(out, fmt.Sprintf("%s was tested but is not in the release", k))
		}
	}
	return out
}

// ReleaseImages are the images a release pins, keyed as in Evidence.Images.
func ReleaseImages(r *catalog.Release) map[string]string {
	out := map[string]string{}
	for _, h := range HostImages(r) {
		out[h.Where] = h.Image.Ref()
	}
	for name, a := range r.Apps {
		for sn, s := range a.Services {
			out[name+"/"+sn] = s.Image.Ref()
		}
	}
	return out
}

// Promotion is a release reaching a channel.
type Promotion struct {
	Release string
	Channel string
	Tag     string // channel/<channel>/<release>
	Commit  string // the release's commit, which the tag names
}

// UpdateBot is told about every promotion, to open update pull requests in the site
// repos that follow the channel (pipelines/update.Bot does; PrintingUpdateBot only says
// what to run when no fleet is given).
type UpdateBot interface {
	Promoted(ctx context.Context, p Promotion) error
}

// PrintingUpdateBot says how to open the update pull requests when the promotion was not
// given a fleet.
type PrintingUpdateBot struct{ W io.Writer }

// Promoted prints what the update bot would do.
func (b PrintingUpdateBot) Promoted(_ context.Context, p Promotion) error {
	_, err := fmt.Fprintf(b.W, "no fleet given, so no pull requests were opened: run nassella update --fleet FLEET.yaml --release %s to open them in the site repos following %s (%s)\n", p.Release, p.Channel, p.Tag)
	return err
}

// PromoteOptions says what to promote.
type PromoteOptions struct {
	Dir     string // the catalog folder, inside a git clone of the catalog repo
	Release string
	Channel string // only "stable": releases are cut on testing
	Author  Identity
	Bot     UpdateBot
	Now     func() time.Time
}

// PromoteResult is the promotion made.
type PromoteResult struct {
	Promotion
	Record   string // the commit that records it (channels.yaml and the evidence)
	Evidence Evidence
	SHA256   string // of the evidence file
}

// Promote moves a release to the stable channel, only on recorded evidence that the VM
// test passed with exactly the release's images. It commits the evidence and
// channels.yaml, tags the release's commit channel/stable/<release> with who promoted it
// on which evidence, then tells the update bot.
func Promote(ctx context.Context, opts PromoteOptions) (PromoteResult, error) {
	if opts.Channel != "stable" {
		return PromoteResult{}, fmt.Errorf("releases can be promoted to stable only (they are cut on testing), not to %q", opts.Channel)
	}
	if _, ok := releaseKey(opts.Release); !ok {
		return PromoteResult{}, fmt.Errorf("%q is not a release name; releases are YYYY.MM.N, like 2026.12.0", opts.Release)
	}
	repo, err := OpenRepo(opts.Dir)
	if err != nil {
		return PromoteResult{}, err
	}
	fail := func(format string, args ...any) (PromoteResult, error) {
		return PromoteResult{}, fmt.Errorf("cannot promote %s to stable: "+format, append([]any{opts.Release}, args...)...)
	}
	relCommit, err := repo.tagCommit(ReleaseTagPrefix + opts.Release)
	if err != nil {
		return PromoteResult{}, err
	}
	if relCommit == nil {
		known, _ := repo.tagNames(ReleaseTagPrefix)
		return fail("there is no such release (no tag %s%s); releases: %s", ReleaseTagPrefix, opts.Release, listOr(known, "none yet"))
	}
	tag := StableTagPrefix + opts.Release
	if c, err := repo.tagCommit(tag); err != nil {
		return PromoteResult{}, err
	} else if c != nil {
		return fail("it is already on stable (tag %s)", tag)
	}
	stable, err := repo.tagNames(StableTagPrefix)
	if err != nil {
		return PromoteResult{}, err
	}
	if latest := latestRelease(stable); latest != "" && releaseLess(opts.Release, latest) {
		return fail("stable already serves %s, which is newer", latest)
	}

	evPath := EvidencePath(opts.Release)
	ev, evData, err := ReadEvidence(repo.File(evPath))
	if errors.Is(err, fs.ErrNotExist) {
		return fail("there is no vmtest evidence for it (%s in the catalog folder); run the VM release test on %s first", evPath, opts.Release)
	}
	if err != nil {
		return fail("%v", err)
	}
	files, err := repo.catalogFiles(relCommit)
	if err != nil {
		return PromoteResult{}, err
	}
	rel, err := looseLoad(files)
	if err != nil {
		return PromoteResult{}, fmt.Errorf("release %s: %w", opts.Release, err)
	}
	if problems := ev.Problems(opts.Release, ReleaseImages(rel)); len(problems) > 0 {
		return fail("the vmtest evidence %s does not show that this release passed:\n  - %s", evPath, strings.Join(problems, "\n  - "))
	}
	if staged, err := repo.stagedOutside(); err != nil {
		return PromoteResult{}, err
	} else if len(staged) > 0 {
		return fail("changes outside the catalog folder are staged (%s); commit or unstage them first", strings.Join(staged, ", "))
	}

	sum := sha256.Sum256(evData)
	evSum := hex.EncodeToString(sum[:])
	if err := setChannel(repo.File(ChannelsFile), "stable", opts.Release); err != nil {
		return PromoteResult{}, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	when := now()
	record := promotionRecord(opts, relCommit.Hash.String(), evPath, evSum, ev)
	commit, err := repo.commit([]string{ChannelsFile, evPath}, "catalog: promote "+opts.Release+" to stable\n\n"+record, opts.Author, when)
	if err != nil {
		return PromoteResult{}, fmt.Errorf("committing the promotion: %w", err)
	}
	msg := "Promote catalog " + opts.Release + " to stable\n\n" + record + "Recorded-in: " + commit.String() + "\n"
	if err := repo.tag(tag, relCommit.Hash, msg, opts.Author, when); err != nil {
		return PromoteResult{}, err
	}
	res := PromoteResult{
		Promotion: Promotion{Release: opts.Release, Channel: "stable", Tag: tag, Commit: relCommit.Hash.String()},
		Record:    commit.String(), Evidence: ev, SHA256: evSum,
	}
	if opts.Bot != nil {
		if err := opts.Bot.Promoted(ctx, res.Promotion); err != nil {
			return res, fmt.Errorf("%s is on stable (tag %s), but the update bot failed: %w; run it again for this release", opts.Release, tag, err)
		}
	}
	return res, nil
}

// promotionRecord is the text of a promotion's commit and tag: what, on which evidence,
// by whom.
func promotionRecord(opts PromoteOptions, commit, evPath, evSum string, ev Evidence) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Release: %s (commit %s, tag %s%s)\n", opts.Release, commit, ReleaseTagPrefix, opts.Release)
	fmt.Fprintf(&b, "Evidence: %s sha256:%s\n", evPath, evSum)
	fmt.Fprintf(&b, "VM test: %s, %d scenarios in %s, finished %s", ev.Result, len(ev.Scenarios),
		ev.Finished.Sub(ev.Started).Round(time.Second), ev.Finished.UTC().Format(time.RFC3339))
	if ev.Runner != "" {
		fmt.Fprintf(&b, " by %s", ev.Runner)
	}
	b.WriteString("\n")
	for _, s := range ev.Scenarios {
		fmt.Fprintf(&b, "  - %s: %s (%s)\n", s.Name, s.Result, (time.Duration(s.Seconds * float64(time.Second))).Round(time.Second))
	}
	fmt.Fprintf(&b, "Promoted-by: %s\n", opts.Author)
	return b.String()
}

func listOr(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	return strings.Join(items, ", ")
}
