package update

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/testenv/giteatest"
)

// BenchmarkFanOut200 measures one release fanned out to 200 site repos on a real Gitea
// (NASSELLA_BENCH_SITES changes the count, NASSELLA_BENCH_PARALLEL the concurrency, 8 by
// default). Run it once: go test ./pipelines/update -run '^$' -bench FanOut200 -benchtime 1x
// The first iteration opens every pull request; later ones are re-runs (one list each).
func BenchmarkFanOut200(b *testing.B) {
	n, par := 200, 8
	if v, err := strconv.Atoi(os.Getenv("NASSELLA_BENCH_SITES")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("NASSELLA_BENCH_PARALLEL")); err == nil && v > 0 {
		par = v
	}
	g := giteatest.Start(b)
	ctx := context.Background()
	if err := g.CreateOrg(ctx, "fleet"); err != nil {
		b.Fatal(err)
	}
	// The label exists at the organisation, as the docs advise: no per-repo creation.
	if err := g.API(ctx, "POST", "/orgs/fleet/labels", map[string]any{"name": Label, "color": "#1d76db"}, nil); err != nil {
		b.Fatal(err)
	}
	cat0 := catalog.Embedded()
	dir, cat1 := nextCatalog(b, bumpRelease(cat0.Release, 1), "vaultwarden", 1, true)
	fl := &fleet.Fleet{Bot: fleet.DefaultBot}
	setup := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("site-%03d", i)
		fl.Sites = append(fl.Sites, fleet.Site{Name: name, Forge: "gitea", URL: g.URL, Repo: "fleet/" + name, Channel: "stable", TokenEnv: "T"})
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := g.CreateRepo(ctx, "fleet", name); err != nil {
				mu.Lock()
				defer mu.Unlock()
				b.Error(err)
				return
			}
			pushSite(b, g.URL+"/fleet/"+name+".git", g.Token, siteYAML(b, "one-app", "s"+strconv.Itoa(i), false), cat0)
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	b.Logf("setup: %d repos created and pushed in %s", n, time.Since(setup).Round(time.Millisecond))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		bot0, machine0 := cpuSeconds()
		var steps stepTimes
		res, err := Run(ctx, Options{Fleet: fl, Catalog: cat1, CatalogDir: dir, Parallel: par, Getenv: func(string) string { return g.Token }, Trace: steps.add})
		if err != nil {
			for _, r := range res {
				if r.Err != nil {
					b.Log(r.line())
				}
			}
			b.Fatal(err)
		}
		var calls int64
		outcomes := map[string]int{}
		for _, r := range res {
			calls += r.APICalls
			outcomes[r.Outcome]++
		}
		wall := time.Since(start)
		bot1, machine1 := cpuSeconds()
		b.Logf("iteration %d: %d sites in %s with %d at once: %v; %.2f API calls per site", i+1, n, wall.Round(time.Millisecond), par, outcomes, float64(calls)/float64(n))
		// Where the time goes: the bot's own CPU against the whole machine's (the forge, its
		// git and hook processes, the database). A fan-out the forge's CPU bounds gains
		// nothing from more parallelism.
		b.Logf("iteration %d: CPU %.1f s by the bot, %.1f s by the whole machine (%.2f s per site) of %.1f s its %d cores had",
			i+1, bot1-bot0, machine1-machine0, (machine1-machine0)/float64(n), wall.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU())
		b.Logf("iteration %d, time per step over all sites:\n%s", i+1, steps.String())
		if i == 0 {
			b.ReportMetric(wall.Seconds(), "s/fanout")
			b.ReportMetric(float64(calls)/float64(n), "api-calls/site")
		}
	}
}

// cpuSeconds is the CPU time this process used and the CPU time the whole machine was busy
// (/proc/stat: all but idle and iowait, in USER_HZ ticks of 1/100 s on Linux).
func cpuSeconds() (self, machine float64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return self, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		machine += n / 100
	}
	return self, machine
}

// stepTimes sums Options.Trace's reports per step.
type stepTimes struct {
	mu    sync.Mutex
	order []string
	total map[string]time.Duration
	max   map[string]time.Duration
	count map[string]int
}

func (s *stepTimes) add(_, step string, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total == nil {
		s.total, s.max, s.count = map[string]time.Duration{}, map[string]time.Duration{}, map[string]int{}
	}
	if _, ok := s.total[step]; !ok {
		s.order = append(s.order, step)
	}
	s.total[step] += took
	s.count[step]++
	s.max[step] = max(s.max[step], took)
}

func (s *stepTimes) String() string {
	var b strings.Builder
	for _, step := range s.order {
		fmt.Fprintf(&b, "  %-20s %4d× total %9s  mean %8s  max %8s\n", step, s.count[step], s.total[step].Round(time.Millisecond),
			(s.total[step] / time.Duration(s.count[step])).Round(time.Millisecond), s.max[step].Round(time.Millisecond))
	}
	return b.String()
}
